//! Constant matrix–vector multiplication with shared sub-expressions (the
//! method of da4ml's `cmvm`, arXiv 2507.04535, written anew): every weight
//! of a dense layer is split into its CSD digits, so each output is a sum of
//! signed, shifted inputs `±(x_i << s)`. The pair of such terms that occurs
//! most often across the layer's outputs (the same two inputs, the same
//! relative shift and the same relative sign, at any common shift and sign)
//! becomes one shared adder, a new node that replaces the pair wherever it
//! occurs; pairs of nodes are extracted the same way until no pair occurs
//! twice. Pairs are ranked by the adder bits they save (occurrences − 1
//! times the carry bits of the shared adder), ties by fewer levels and then
//! by the pair itself, so the result is deterministic.
//!
//! What is left per output (a few terms over inputs and shared nodes, plus
//! the bias) is summed by `adder_tree::sum_by_arrival`, which adds the
//! earliest, narrowest terms first.
//!
//! Input: a layer's raw weights (`[n_in][n_out]`, row-major) and the value
//! interval of each input. Output: [`CmvmGraph`], which `layer` turns into
//! Verilog and [`CmvmGraph::eval`] evaluates on integers (for tests).
use super::csd::csd_digits;
use super::netlist::signed_bits;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// One signed, shifted operand: `±(node << shift)`. Nodes `0..n_in` are the
/// layer's inputs, node `n_in + k` is shared adder `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operand {
    pub node: usize,
    pub shift: u32,
    pub negative: bool,
}

/// A shared adder `a + b` (each operand signed and shifted; one of the two
/// shifts is 0 and `a` is never negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedAdder {
    pub a: Operand,
    pub b: Operand,
}

/// The layer's sums as a graph of shared adders and per-output terms.
#[derive(Clone, Debug)]
pub struct CmvmGraph {
    pub n_in: usize,
    pub adders: Vec<SharedAdder>,
    /// Per output, the terms whose sum is the output (before bias).
    pub outputs: Vec<Vec<Operand>>,
    /// Value interval of every node (inputs, then shared adders).
    pub intervals: Vec<(i128, i128)>,
    /// Adder levels of every node (inputs 0).
    pub levels: Vec<u32>,
    /// CSD digits of all weights (the terms before sharing).
    pub digits: usize,
}

/// A pair pattern: `first` at relative shift 0 ... see [`pair_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    n1: usize,
    n2: usize,
    /// `shift(second) − shift(first)`.
    d: i64,
    /// The two terms have opposite signs.
    sub: bool,
}

/// The pattern of two terms of one output, independent of their common shift and sign.
fn pair_key(p: Operand, q: Operand) -> Key {
    let (p, q) = if (p.node, p.shift) <= (q.node, q.shift) { (p, q) } else { (q, p) };
    Key { n1: p.node, n2: q.node, d: q.shift as i64 - p.shift as i64, sub: p.negative != q.negative }
}

impl Key {
    /// The shared adder of this pattern: `(n1 << s1) ± (n2 << s2)` with the smaller shift 0.
    fn adder(&self) -> SharedAdder {
        let (s1, s2) = if self.d >= 0 { (0, self.d as u32) } else { ((-self.d) as u32, 0) };
        SharedAdder {
            a: Operand { node: self.n1, shift: s1, negative: false },
            b: Operand { node: self.n2, shift: s2, negative: self.sub },
        }
    }
}

/// Interval of `a + b` for signed shifted operands.
fn sum_interval(a: Operand, b: Operand, iv: &[(i128, i128)]) -> (i128, i128) {
    let term = |o: Operand| {
        let (lo, hi) = iv[o.node];
        let (lo, hi) = (lo << o.shift, hi << o.shift);
        if o.negative {
            (-hi, -lo)
        } else {
            (lo, hi)
        }
    };
    let (ta, tb) = (term(a), term(b));
    (ta.0 + tb.0, ta.1 + tb.1)
}

/// Output bits of a shared adder that need carry logic: its width less the
/// low bits that pass straight through from the unshifted operand.
fn adder_carry_bits(add: &SharedAdder, iv: &[(i128, i128)]) -> u32 {
    let (lo, hi) = sum_interval(add.a, add.b, iv);
    let pass = add.a.shift.max(add.b.shift);
    signed_bits(lo, hi).saturating_sub(pass).max(1)
}

impl CmvmGraph {
    /// Decompose `weights` (`[n_in][n_out]`) and share sub-expressions.
    /// `inputs[i]` is the interval of input `i`. `max_level` bounds the adder
    /// levels of a shared node (0: no bound).
    pub fn solve(weights: &[i64], n_in: usize, n_out: usize, inputs: &[(i128, i128)], max_level: u32) -> CmvmGraph {
        assert_eq!(weights.len(), n_in * n_out, "weights are [n_in][n_out]");
        assert_eq!(inputs.len(), n_in);
        let mut digits = 0;
        let mut outputs: Vec<Vec<Operand>> = (0..n_out)
            .map(|o| {
                let mut terms = Vec::new();
                for i in 0..n_in {
                    for d in csd_digits(weights[i * n_out + o]) {
                        terms.push(Operand { node: i, shift: d.shift, negative: d.negative });
                    }
                }
                digits += terms.len();
                terms
            })
            .collect();
        let mut g = CmvmGraph { n_in, adders: Vec::new(), outputs: Vec::new(), intervals: inputs.to_vec(), levels: vec![0; n_in], digits };

        // Occurrences of every pair pattern, and a lazy max-heap over their scores.
        let mut counts: HashMap<Key, i64> = HashMap::new();
        for terms in &outputs {
            for (j, &q) in terms.iter().enumerate() {
                for &p in &terms[..j] {
                    *counts.entry(pair_key(p, q)).or_insert(0) += 1;
                }
            }
        }
        type Entry = (i64, Reverse<u32>, Reverse<Key>);
        let score = |k: &Key, count: i64, g: &CmvmGraph| -> Option<Entry> {
            if count < 2 {
                return None;
            }
            let level = g.levels[k.n1].max(g.levels[k.n2]) + 1;
            if max_level > 0 && level > max_level {
                return None;
            }
            let bits = adder_carry_bits(&k.adder(), &g.intervals) as i64;
            Some(((count - 1) * bits, Reverse(level), Reverse(*k)))
        };
        let mut heap: BinaryHeap<Entry> = counts.iter().filter_map(|(k, &c)| score(k, c, &g)).collect();
        let mut banned: HashSet<Key> = HashSet::new();
        while let Some(entry) = heap.pop() {
            let key = entry.2 .0;
            let count = counts.get(&key).copied().unwrap_or(0);
            if banned.contains(&key) || score(&key, count, &g) != Some(entry) {
                continue; // stale: a fresher entry is in the heap, or none is due
            }
            // Find non-overlapping occurrences in every output.
            let mut found: Vec<(usize, Operand, Operand)> = Vec::new();
            for (o, terms) in outputs.iter().enumerate() {
                let mut used: HashSet<(usize, u32)> = HashSet::new();
                let mut firsts: Vec<Operand> = terms.iter().copied().filter(|t| t.node == key.n1).collect();
                firsts.sort();
                for p in firsts {
                    let s2 = p.shift as i64 + key.d;
                    if s2 < 0 || used.contains(&(p.node, p.shift)) {
                        continue;
                    }
                    let q =
                        terms.iter().copied().find(|t| t.node == key.n2 && t.shift as i64 == s2 && (t.negative != p.negative) == key.sub);
                    if let Some(q) = q {
                        if used.contains(&(q.node, q.shift)) || (q.node, q.shift) == (p.node, p.shift) {
                            continue;
                        }
                        used.insert((p.node, p.shift));
                        used.insert((q.node, q.shift));
                        found.push((o, p, q));
                    }
                }
            }
            if found.len() < 2 {
                banned.insert(key); // only overlapping occurrences: nothing to share
                continue;
            }
            let add = key.adder();
            let node = n_in + g.adders.len();
            g.intervals.push(sum_interval(add.a, add.b, &g.intervals));
            g.levels.push(g.levels[key.n1].max(g.levels[key.n2]) + 1);
            g.adders.push(add);
            let mut touched: HashSet<Key> = HashSet::new();
            for (o, p, q) in found {
                let terms = &mut outputs[o];
                terms.retain(|t| *t != p && *t != q);
                for &r in terms.iter() {
                    for k in [pair_key(p, r), pair_key(q, r)] {
                        *counts.get_mut(&k).expect("counted pair") -= 1;
                        touched.insert(k);
                    }
                }
                *counts.get_mut(&pair_key(p, q)).expect("counted pair") -= 1;
                touched.insert(pair_key(p, q));
                // p + q = ±(node << base): the sign of the first of the two (by node, shift).
                let (first, second) = if (p.node, p.shift) <= (q.node, q.shift) { (p, q) } else { (q, p) };
                let t = Operand { node, shift: first.shift.min(second.shift), negative: first.negative };
                for &r in terms.iter() {
                    let k = pair_key(t, r);
                    *counts.entry(k).or_insert(0) += 1;
                    touched.insert(k);
                }
                terms.push(t);
            }
            for k in touched {
                let c = counts[&k];
                if c <= 0 {
                    counts.remove(&k);
                } else if let Some(e) = score(&k, c, &g) {
                    heap.push(e);
                }
            }
        }
        for terms in &mut outputs {
            terms.sort();
        }
        g.outputs = outputs;
        g
    }

    /// Every node's value for integer inputs `x` (inputs, then shared adders).
    pub fn node_values(&self, x: &[i128]) -> Vec<i128> {
        let mut v: Vec<i128> = x.to_vec();
        for add in &self.adders {
            let value = operand_value(add.a, &v) + operand_value(add.b, &v);
            v.push(value);
        }
        v
    }

    /// The outputs `Σ_i w[i][o]·x[i]` as the graph computes them.
    pub fn eval(&self, x: &[i128]) -> Vec<i128> {
        let v = self.node_values(x);
        self.outputs.iter().map(|terms| terms.iter().map(|&t| operand_value(t, &v)).sum()).collect()
    }

    /// Adders the graph needs: the shared ones plus (terms − 1) per output.
    pub fn adder_count(&self) -> usize {
        self.adders.len() + self.outputs.iter().map(|t| t.len().saturating_sub(1)).sum::<usize>()
    }
}

fn operand_value(o: Operand, v: &[i128]) -> i128 {
    let x = v[o.node] << o.shift;
    if o.negative {
        -x
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift) so the tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }
    }

    fn reference(w: &[i64], n_in: usize, n_out: usize, x: &[i128]) -> Vec<i128> {
        (0..n_out).map(|o| (0..n_in).map(|i| w[i * n_out + o] as i128 * x[i]).sum()).collect()
    }

    #[test]
    fn graph_computes_w_times_x_exactly_on_random_matrices() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..60 {
            let n_in = rng.range(1, 12) as usize;
            let n_out = rng.range(1, 12) as usize;
            let bits = rng.range(2, 9);
            let m = (1i64 << (bits - 1)) - 1;
            let sparsity = rng.range(0, 3);
            let w: Vec<i64> = (0..n_in * n_out).map(|_| if rng.range(0, 9) < sparsity { 0 } else { rng.range(-m - 1, m) }).collect();
            let iv: Vec<(i128, i128)> = (0..n_in).map(|_| if rng.range(0, 1) == 0 { (-128, 127) } else { (0, 63) }).collect();
            let max_level = [0, 2, 4][case % 3];
            let g = CmvmGraph::solve(&w, n_in, n_out, &iv, max_level);
            if max_level > 0 {
                assert!(g.levels.iter().all(|&l| l <= max_level), "case {case}: levels {:?}", g.levels);
            }
            for _ in 0..50 {
                let x: Vec<i128> = iv.iter().map(|&(lo, hi)| rng.range(lo as i64, hi as i64) as i128).collect();
                assert_eq!(g.eval(&x), reference(&w, n_in, n_out, &x), "case {case}: w {w:?} x {x:?}");
            }
            // Interval corners: every node's value stays inside its interval.
            for corner in 0..4u32 {
                let x: Vec<i128> = iv.iter().enumerate().map(|(i, &(lo, hi))| if (corner >> (i % 2)) & 1 == 1 { hi } else { lo }).collect();
                for (n, v) in g.node_values(&x).into_iter().enumerate() {
                    assert!(v >= g.intervals[n].0 && v <= g.intervals[n].1, "case {case}: node {n} = {v} outside {:?}", g.intervals[n]);
                }
            }
            let plain: usize =
                (0..n_out).map(|o| (0..n_in).map(|i| csd_digits(w[i * n_out + o]).len()).sum::<usize>().saturating_sub(1)).sum();
            assert!(g.adder_count() <= plain, "case {case}: sharing never adds adders ({} > {plain})", g.adder_count());
        }
    }

    #[test]
    fn a_repeated_pattern_becomes_one_shared_adder() {
        // Columns 3·x0 + 5·x1 and 6·x0 + 10·x1 (the same pattern shifted by one),
        // and −3·x0 − 5·x1 (negated): (x0 + 2·x0) … share.
        let w = vec![3, 6, -3, 5, 10, -5];
        let g = CmvmGraph::solve(&w, 2, 3, &[(-8, 7), (-8, 7)], 0);
        assert!(!g.adders.is_empty());
        let plain: usize = g.digits - 3; // one tree per output without sharing
        assert!(g.adder_count() < plain, "{} adders with sharing, {plain} without", g.adder_count());
        for x0 in -8..=7 {
            for x1 in -8..=7 {
                assert_eq!(g.eval(&[x0, x1]), reference(&w, 2, 3, &[x0, x1]));
            }
        }
    }

    #[test]
    fn zero_columns_and_identity_have_no_shared_adders() {
        let g = CmvmGraph::solve(&[0, 1, 0, 0], 2, 2, &[(0, 3), (0, 3)], 0);
        assert!(g.adders.is_empty());
        assert!(g.outputs[0].is_empty());
        assert_eq!(g.eval(&[3, 2]), vec![0, 3]);
    }
}
