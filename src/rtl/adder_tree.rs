//! Balanced adder trees over signed terms `±(x << k)` and a constant, one
//! logic level per tree level. Signs are carried up the tree so subtraction
//! replaces negation: only a tree whose every term is negative needs a final
//! negation. Each node's width comes from its exact value interval, capped at
//! the accumulator width (two's-complement wrap-around is what the
//! accumulator does anyway). A node that computes the same sum of the same
//! shifted signals at the same level as one built before in the module (two
//! outputs whose trees pair the same weights of the same inputs) is that node:
//! synthesis would merge the duplicate anyway (Yosys `opt_merge`), and the
//! structural cost then counts what the netlist keeps.
//!
//! Input: terms from `layer` (CSD digits of weights times inputs, bias).
//! Output: one signal per tree in the module being built.
use super::delay::Op;
use super::netlist::{literal, signed_bits, ModuleBuilder, SigId};

/// One operand of a tree: a signal shifted left, or a constant.
#[derive(Clone, Debug)]
pub struct Term {
    pub source: Source,
    /// The node's value is `-(operand)` when set.
    pub negative: bool,
    /// Interval of the operand (before `negative`).
    pub lo: i128,
    pub hi: i128,
    /// Logic level at which the operand is available (0: inputs).
    pub level: u32,
}

#[derive(Clone, Debug)]
pub enum Source {
    Shifted { sig: SigId, shift: u32 },
    Const(i128),
}

impl Term {
    pub fn shifted(m: &ModuleBuilder, sig: SigId, shift: u32, negative: bool, level: u32) -> Term {
        let s = m.sig(sig);
        Term { source: Source::Shifted { sig, shift }, negative, lo: s.lo << shift, hi: s.hi << shift, level }
    }
    pub fn constant(value: i128, level: u32) -> Term {
        Term { source: Source::Const(value), negative: false, lo: value, hi: value, level }
    }
    fn expr(&self, names: &mut std::slice::Iter<'_, String>) -> String {
        match &self.source {
            Source::Shifted { shift: 0, .. } => names.next().expect("operand").clone(),
            Source::Shifted { shift, .. } => format!("({} <<< {shift})", names.next().expect("operand")),
            Source::Const(v) => literal(*v, signed_bits(*v, *v) + 1),
        }
    }
    /// Low bits known to be zero (the shift, or a constant's trailing zeros).
    fn zero_low_bits(&self) -> u32 {
        match self.source {
            Source::Shifted { shift, .. } => shift,
            Source::Const(0) => 0,
            Source::Const(v) => v.trailing_zeros(),
        }
    }
    /// The operand divided by 2^`by` (its low `by` bits are zero).
    fn shifted_down(self, by: u32) -> Term {
        let source = match self.source {
            Source::Shifted { sig, shift } => Source::Shifted { sig, shift: shift - by },
            Source::Const(v) => Source::Const(v >> by),
        };
        Term { source, lo: self.lo >> by, hi: self.hi >> by, ..self }
    }
    /// What the operand is, without its sign: equal keys, equal values.
    fn key(&self) -> String {
        match self.source {
            Source::Shifted { sig, shift } => format!("s{sig}<{shift}"),
            Source::Const(v) => format!("c{v}"),
        }
    }
    fn operand(&self) -> Option<SigId> {
        match self.source {
            Source::Shifted { sig, .. } => Some(sig),
            Source::Const(_) => None,
        }
    }
}

/// What a tree costs.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct TreeStats {
    pub adders: u64,
    pub adder_bits: u64,
    /// Deepest tree level (0 for a single term).
    pub depth: u32,
}

/// The sum of no terms: a zero wire at the level after `start`.
fn zero_sum(m: &mut ModuleBuilder, base: &str, start: u32) -> (SigId, u32) {
    let id = m.assign(&format!("{base}_zero"), (0, 0), None, start + 1, Op::Wire, &[], |_| "1'sb0".to_string());
    (id, start + 1)
}

/// All constant terms as one, available at `start`.
fn fold_constants(terms: &mut Vec<Term>, start: u32) {
    let constant: i128 = terms.iter().filter_map(|t| if let Source::Const(v) = t.source { Some(v) } else { None }).sum();
    terms.retain(|t| !matches!(t.source, Source::Const(_)));
    if constant != 0 {
        terms.push(Term::constant(constant, start));
    }
}

/// Sum `terms` into one signal named `base`, wrapping at `cap` bits.
/// Returns the signal (not negated: the sum's true value) and its level.
pub fn sum_tree(m: &mut ModuleBuilder, base: &str, mut terms: Vec<Term>, cap: u32, stats: &mut TreeStats) -> (SigId, u32) {
    let start = terms.iter().map(|t| t.level).max().unwrap_or(0);
    if terms.is_empty() {
        return zero_sum(m, base, start);
    }
    fold_constants(&mut terms, start);
    let mut depth = 0;
    let mut level = start;
    while terms.len() > 1 {
        level += 1;
        depth += 1;
        let mut next = Vec::with_capacity(terms.len() / 2 + 1);
        let mut iter = terms.into_iter();
        let mut k = 0;
        while let Some(a) = iter.next() {
            let Some(b) = iter.next() else {
                next.push(a);
                break;
            };
            next.push(add_pair(m, &format!("{base}_t{depth}_{k}"), a, b, cap, level, stats));
            k += 1;
        }
        terms = next;
    }
    stats.depth = stats.depth.max(depth);
    let root = terms.pop().expect("one term");
    // A lone term has no tree level of its own: it takes the next one.
    let at = if depth == 0 { start + 1 } else { level };
    finish_root(m, base, root, cap, at)
}

/// `a ± b` as one adder at `level` (a positive term first so that mixed signs
/// subtract; the result carries the sign of both when both are negative).
pub fn add_pair(m: &mut ModuleBuilder, name: &str, a: Term, b: Term, cap: u32, level: u32, stats: &mut TreeStats) -> Term {
    let (a, b) = if a.negative && !b.negative { (b, a) } else { (a, b) };
    let subtract = a.negative != b.negative;
    // Low bits both operands have zero are not computed: the node adds the
    // operands shifted down and is used shifted up, so pairs that differ only
    // by a power of two (weights 2a, 2b and a, b) are one node.
    let shift = a.zero_low_bits().min(b.zero_low_bits()).min(cap.saturating_sub(1));
    let (a, b) = (a.shifted_down(shift), b.shifted_down(shift));
    let node_cap = cap - shift;
    let (lo, hi) = if subtract { (a.lo - b.hi, a.hi - b.lo) } else { (a.lo + b.lo, a.hi + b.hi) };
    // The node holds a ± b of the operands' magnitudes (the pair's sign travels
    // in the term), so a sum is known by its operands alone; one whose values
    // fit its width is exact, whatever the cap.
    let wraps_at = if signed_bits(lo, hi) > node_cap { node_cap.to_string() } else { "exact".into() };
    let (ka, kb) = (a.key(), b.key());
    let key = match subtract {
        true => format!("{ka}-{kb}@{level}/{wraps_at}"),
        false if ka <= kb => format!("{ka}+{kb}@{level}/{wraps_at}"),
        false => format!("{kb}+{ka}@{level}/{wraps_at}"),
    };
    let id = match m.shared_nodes.get(&key) {
        Some(&id) => id,
        None => {
            let operands: Vec<SigId> = a.operand().into_iter().chain(b.operand()).collect();
            let op = if subtract { "-" } else { "+" };
            let carry = carry_bits(&a, &b, subtract, signed_bits(lo, hi).min(node_cap));
            let id = m.assign(name, (lo, hi), Some(node_cap), level, Op::Add(carry), &operands, |names| {
                let mut it = names.iter();
                let left = a.expr(&mut it);
                let right = b.expr(&mut it);
                format!("{left} {op} {right}")
            });
            stats.adders += 1;
            let width = m.sig(id).width;
            stats.adder_bits += width as u64;
            m.cost.add_adder(width, carry_bits(&a, &b, subtract, width));
            m.shared_nodes.insert(key, id);
            m.adder_nodes.push(id);
            id
        }
    };
    let s = m.sig(id);
    let (lo, hi) = (s.lo << shift, s.hi << shift);
    Term { source: Source::Shifted { sig: id, shift }, negative: a.negative, lo, hi, level }
}

/// The root's true value as a plain signal (a leaf or a negative root gets one more wire at `at`).
fn finish_root(m: &mut ModuleBuilder, base: &str, root: Term, cap: u32, at: u32) -> (SigId, u32) {
    let plain_signal = matches!(root.source, Source::Shifted { shift: 0, .. }) && !root.negative;
    if plain_signal {
        if let Source::Shifted { sig, .. } = root.source {
            return (sig, root.level);
        }
    }
    let (lo, hi) = if root.negative { (-root.hi, -root.lo) } else { (root.lo, root.hi) };
    let operands: Vec<SigId> = root.operand().into_iter().collect();
    let width = signed_bits(lo, hi).min(cap);
    let op = if root.negative { Op::Add(width.saturating_sub(root.zero_low_bits())) } else { Op::Wire };
    let id = m.assign(&format!("{base}_sum"), (lo, hi), Some(cap), at, op, &operands, |names| {
        let e = root.expr(&mut names.iter());
        if root.negative {
            format!("-{e}")
        } else {
            e
        }
    });
    if root.negative {
        let width = m.sig(id).width;
        m.cost.add_adder(width, width.saturating_sub(root.zero_low_bits()));
    }
    (id, at)
}

/// Sum `terms` (each available at its own level) into one signal named
/// `base`, wrapping at `cap` bits, always adding the two terms that are
/// available first (the narrower first among those of one level): a tree
/// balanced by arrival and width, as the shared-sub-expression layers need
/// (their terms come from shared adders of different depths). Constants are
/// folded into one term available at `start`. Returns the signal (the sum's
/// true value) and its level.
pub fn sum_by_arrival(
    m: &mut ModuleBuilder,
    base: &str,
    mut terms: Vec<Term>,
    cap: u32,
    start: u32,
    stats: &mut TreeStats,
) -> (SigId, u32) {
    if terms.is_empty() {
        return zero_sum(m, base, start);
    }
    fold_constants(&mut terms, start);
    // Min-heap by (level, width, insertion order).
    let key = |t: &Term| (t.level, signed_bits(t.lo, t.hi));
    let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(u32, u32, usize)>> = std::collections::BinaryHeap::new();
    let mut slots: Vec<Option<Term>> = Vec::new();
    for t in terms {
        let (l, w) = key(&t);
        heap.push(std::cmp::Reverse((l, w, slots.len())));
        slots.push(Some(t));
    }
    let mut k = 0;
    while heap.len() > 1 {
        let std::cmp::Reverse((la, _, ia)) = heap.pop().expect("two terms");
        let std::cmp::Reverse((lb, _, ib)) = heap.pop().expect("two terms");
        let (a, b) = (slots[ia].take().expect("live term"), slots[ib].take().expect("live term"));
        let level = la.max(lb) + 1;
        let t = add_pair(m, &format!("{base}_a{k}"), a, b, cap, level, stats);
        k += 1;
        let (l, w) = key(&t);
        heap.push(std::cmp::Reverse((l, w, slots.len())));
        slots.push(Some(t));
    }
    let std::cmp::Reverse((_, _, i)) = heap.pop().expect("one term");
    let root = slots[i].take().expect("live term");
    stats.depth = stats.depth.max(root.level.saturating_sub(start));
    let at = if k == 0 { root.level + 1 } else { root.level };
    let (id, level) = finish_root(m, base, root, cap, at);
    stats.depth = stats.depth.max(level.saturating_sub(start));
    (id, level)
}

/// Output bits of `a ± b` that need carry logic: below both operands' zero
/// low bits nothing is computed, and between the two the lower operand's bits
/// pass straight through unless it is the one subtracted.
pub fn carry_bits(a: &Term, b: &Term, subtract: bool, width: u32) -> u32 {
    let (za, zb) = (a.zero_low_bits(), b.zero_low_bits());
    let low = za.min(zb);
    let pass = if subtract && zb < za { 0 } else { za.abs_diff(zb) };
    width.saturating_sub(low + pass)
}
