//! Durations sorted once and kept between KPI requests (a month of a window's whole days),
//! and the exact percentiles of several sorted lists taken together, found by bisection on
//! the value instead of copying a year of durations and selecting among them again.
use super::kpi::{Durations, Summary};

/// Millisecond durations in ascending order, with their exact sum.
#[derive(Debug, Clone, Default)]
pub struct SortedMs {
    ms: Box<[i64]>,
    sum: i128,
}

impl SortedMs {
    /// The durations `ms`, sorted.
    pub fn new(mut ms: Vec<i64>) -> Self {
        ms.sort_unstable();
        let sum = ms.iter().map(|&v| i128::from(v)).sum();
        SortedMs { ms: ms.into(), sum }
    }

    /// How many durations it holds.
    pub fn len(&self) -> usize {
        self.ms.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.ms.is_empty()
    }
}

/// A group's first-response and resolution durations, sorted.
#[derive(Debug, Clone, Default)]
pub struct KeptDurations {
    /// Received -> first public response.
    pub first: SortedMs,
    /// Received -> resolved.
    pub resolution: SortedMs,
}

impl KeptDurations {
    /// The durations of `summaries`, sorted.
    pub fn of<'a>(summaries: impl Iterator<Item = &'a Summary>) -> Self {
        let (mut first, mut resolution) = (Vec::new(), Vec::new());
        for s in summaries {
            let (f, r) = s.durations();
            first.extend_from_slice(f);
            resolution.extend_from_slice(r);
        }
        KeptDurations { first: SortedMs::new(first), resolution: SortedMs::new(resolution) }
    }

    /// The durations of all of `groups` together, sorted.
    pub fn union<'a>(groups: impl Iterator<Item = &'a KeptDurations> + Clone) -> Self {
        let all = |of: fn(&KeptDurations) -> &SortedMs| {
            let mut ms = Vec::with_capacity(groups.clone().map(|g| of(g).len()).sum());
            groups.clone().for_each(|g| ms.extend_from_slice(&of(g).ms));
            SortedMs::new(ms)
        };
        KeptDurations { first: all(|g| &g.first), resolution: all(|g| &g.resolution) }
    }

    /// Bytes it holds.
    pub fn bytes(&self) -> usize {
        (self.first.len() + self.resolution.len()) * size_of::<i64>()
    }
}

/// Average, p50 and p90 (as `percentile_cont`), in seconds, of the kept sorted lists and the
/// unsorted `more` together; `None` when there are no values at all.
pub fn durations_of(kept: &[&SortedMs], mut more: Vec<i64>) -> Option<Durations> {
    more.sort_unstable();
    let lists: Vec<&[i64]> =
        kept.iter().map(|k| &*k.ms).chain([more.as_slice()]).filter(|l| !l.is_empty()).collect();
    let n: usize = lists.iter().map(|l| l.len()).sum();
    if n == 0 {
        return None;
    }
    let sum = kept.iter().map(|k| k.sum).sum::<i128>()
        + more.iter().map(|&v| i128::from(v)).sum::<i128>();
    let at = |p: f64| {
        let rank = p * (n - 1) as f64;
        let lo = rank.floor() as usize;
        let (low, high) = kth_and_next(&lists, n, lo);
        let high = if rank > lo as f64 { high } else { low };
        let (low, high) = (low as f64 / 1000.0, high as f64 / 1000.0);
        low + (rank - lo as f64) * (high - low)
    };
    Some(Durations { avg: sum as f64 / 1000.0 / n as f64, p50: at(0.5), p90: at(0.9) })
}

/// The `k`-th smallest value (from 0) of the ascending non-empty `lists` taken together (`n`
/// values, `k` below it), and the one after it (itself at the last rank): the least value
/// with more than `k` values at or below it, by bisection on the value.
fn kth_and_next(lists: &[&[i64]], n: usize, k: usize) -> (i64, i64) {
    // Bounds that hold whatever the lists: at or below list i's value at rank
    // ceil((k+1)·len/n) - 1 lie at least k + 1 values in all, below its value at rank
    // floor(k·len/n) at most k. With lists alike the two are close, and the bisection short.
    let share = |len: usize, of: usize| (len as u128 * of as u128 / n as u128) as usize;
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for l in lists {
        lo = lo.min(l[share(l.len(), k).min(l.len() - 1)]);
        let up = share(l.len(), k + 1) + usize::from(share(l.len(), k + 1) * n < l.len() * (k + 1));
        hi = hi.max(l[up.clamp(1, l.len()) - 1]);
    }
    // Per list, the values below `lo` and those at or below `hi`: each search looks only
    // between them.
    let mut below: Vec<usize> = lists.iter().map(|l| l.partition_point(|&v| v < lo)).collect();
    let mut upto: Vec<usize> = lists.iter().map(|l| l.partition_point(|&v| v <= hi)).collect();
    // Each step's counts, swapped into `below` or `upto` (no allocation per step).
    let mut at = vec![0; lists.len()];
    while lo < hi {
        // Halfway without overflow, rounded towards lo (for negative values too).
        let mid = lo + ((i128::from(hi) - i128::from(lo)) / 2) as i64;
        for (a, (l, (&b, &u))) in at.iter_mut().zip(lists.iter().zip(below.iter().zip(&upto))) {
            *a = b + l[b..u].partition_point(|&v| v <= mid);
        }
        if at.iter().sum::<usize>() > k {
            hi = mid;
            std::mem::swap(&mut upto, &mut at);
        } else {
            lo = mid + 1;
            std::mem::swap(&mut below, &mut at);
        }
    }
    // `upto` counts the values at or below the k-th: if rank k + 1 is among them, it is the
    // same value; else it is the least value above it.
    let next = if upto.iter().sum::<usize>() > k + 1 || k + 1 == n {
        lo
    } else {
        let above = lists.iter().zip(&upto).filter_map(|(l, &u)| l.get(u).copied());
        above.min().unwrap_or(lo)
    };
    (lo, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kpi::percentile_of_sorted;

    /// Pseudo-random values with many ties (and negative ones: a response dated before the
    /// complaint is bad data, not a crash).
    fn values(seed: &mut u64, n: usize, spread: i64) -> Vec<i64> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((*seed >> 33) as i64) % spread - spread / 10
            })
            .collect()
    }

    #[test]
    fn percentiles_of_kept_lists_and_more_equal_those_of_all_values_sorted() {
        let mut seed = 11;
        for case in 0..400 {
            let lists = case % 14;
            let kept: Vec<SortedMs> = (0..lists)
                .map(|i| SortedMs::new(values(&mut seed, (case * 7 + i * 13) % 90, 40_000)))
                .collect();
            let more = values(&mut seed, case % 23, if case % 2 == 0 { 40_000 } else { 7 });
            let mut all: Vec<i64> = kept.iter().flat_map(|k| k.ms.iter().copied()).collect();
            all.extend(&more);
            all.sort_unstable();
            let got = durations_of(&kept.iter().collect::<Vec<_>>(), more);
            if all.is_empty() {
                assert_eq!(got, None, "case {case}");
                continue;
            }
            let n = all.len();
            let at = |p: f64| percentile_of_sorted(&all, p);
            let avg = all.iter().sum::<i64>() as f64 / 1000.0 / n as f64;
            let got = got.expect("values");
            assert_eq!((got.p50, got.p90), (at(0.5), at(0.9)), "case {case}: n = {n}");
            assert!((got.avg - avg).abs() < 1e-9, "case {case}: {} against {avg}", got.avg);
        }
    }

    #[test]
    fn the_extreme_values_of_the_type_are_ranked_too() {
        // Sorted: MIN, 0, MAX, MAX. p50 at rank 1.5 (between 0 and MAX), p90 at 2.7.
        let kept = SortedMs::new(vec![i64::MAX, i64::MIN, 0]);
        let d = durations_of(&[&kept], vec![i64::MAX]).expect("values");
        let max = i64::MAX as f64 / 1000.0;
        assert_eq!((d.p50, d.p90), (max / 2.0, max));
    }
}
