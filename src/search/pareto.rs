//! Multi-objective view of a search: the trials no other trial beats on both
//! accuracy (higher is better) and estimated cost (lower is better).

/// Indices of the non-dominated points of `(accuracy, cost)`, sorted by cost.
/// A point is dominated when another is at least as accurate and at most as
/// costly, and strictly better in one of the two. Ties keep the first.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    // By cost ascending, then accuracy descending, then index for stability.
    order.sort_by(|&a, &b| points[a].1.total_cmp(&points[b].1).then(points[b].0.total_cmp(&points[a].0)).then(a.cmp(&b)));
    let mut front = Vec::new();
    let mut best_acc = f64::NEG_INFINITY;
    for i in order {
        if points[i].0 > best_acc {
            best_acc = points[i].0;
            front.push(i);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_of_a_small_set() {
        let pts = [(0.70, 10.0), (0.75, 20.0), (0.72, 30.0), (0.75, 15.0), (0.60, 5.0), (0.60, 5.0)];
        assert_eq!(pareto_front(&pts), vec![4, 0, 3]);
        assert!(pareto_front(&[]).is_empty());
    }
}
