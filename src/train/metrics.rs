//! Classification metrics: accuracy and one-vs-rest ROC AUC per class.

/// Fraction of rows of `probs` (row-major, `n_classes` columns) whose argmax is the label.
pub fn accuracy(probs: &[f32], n_classes: usize, labels: &[u8]) -> f64 {
    let hits = probs.chunks(n_classes).zip(labels).filter(|(row, &y)| argmax_f32(row) == y as usize).count();
    hits as f64 / labels.len().max(1) as f64
}

pub fn argmax_f32(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// ROC AUC of `scores` for the positives in `positive` (Mann–Whitney U, ties
/// counted as one half). `None` when one side is empty.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f32, bool)> = scores.iter().copied().zip(positive.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n_pos = pairs.iter().filter(|p| p.1).count() as f64;
    let n_neg = pairs.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// Per-class one-vs-rest AUC of probabilities.
pub fn per_class_auc(probs: &[f32], n_classes: usize, labels: &[u8]) -> Vec<Option<f64>> {
    (0..n_classes)
        .map(|c| {
            let scores: Vec<f32> = probs.chunks(n_classes).map(|r| r[c]).collect();
            let pos: Vec<bool> = labels.iter().map(|&y| y as usize == c).collect();
            roc_auc(&scores, &pos)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(accuracy(&[0.9, 0.1, 0.2, 0.8], 2, &[0, 0]), 0.5);
    }
}
