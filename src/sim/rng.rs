//! The simulator's seeded pseudo-random numbers.
//!
//! SplitMix64, written here rather than taken from a crate for two reasons:
//! the library (simulator included) stays free of dependencies, and a seed
//! must replay the same run in every future version, so the sequence may
//! never change under us with a dependency's update. SplitMix64 is a
//! published, fixed algorithm; its statistical quality is ample for
//! latencies and jump times.

use std::time::Duration;

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// An independent stream for one `purpose` of a run with this `seed`,
    /// so that drawing more numbers for one purpose (say, one more
    /// latency) never shifts what another purpose (the jump schedule)
    /// gets.
    pub(crate) fn stream(seed: u64, purpose: u64) -> Self {
        let mut mixer = Rng {
            state: seed ^ purpose.wrapping_mul(0xA076_1D64_78BD_642F),
        };
        Rng {
            state: mixer.next_u64(),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[low, high]` to the nanosecond; `low` when `high` is not
    /// above it.
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high
            .saturating_sub(low)
            .as_nanos()
            .min(u128::from(u64::MAX));
        let offset = (u128::from(self.next_u64()) * (span + 1)) >> 64;
        low.saturating_add(Duration::from_nanos(offset as u64))
    }

    /// The next arrival after `at` of a Poisson process with mean gap
    /// `mean`. Callers draw whatever else an arrival needs before the
    /// next one, so that a shorter run sees the same first arrivals.
    pub(crate) fn arrival_after(&mut self, at: Duration, mean: Duration) -> Duration {
        // -ln(1 - u) for u in [0, 1) is finite: at most about 36.7.
        let gap = -(1.0 - self.unit()).ln() * mean.as_secs_f64();
        at.saturating_add(Duration::try_from_secs_f64(gap).unwrap_or(Duration::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_the_published_splitmix64() {
        // The first output of SplitMix64 from state zero, as published.
        let mut rng = Rng { state: 0 };

        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn the_sequence_for_a_seed_never_changes() {
        // Pinned: a change here would silently change every seeded run.
        let mut rng = Rng::stream(1, 0);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();

        assert_eq!(
            first,
            [
                6791897765849424158,
                17405687883870564846,
                834844254806117752
            ]
        );
    }

    #[test]
    fn a_draw_between_equal_bounds_is_that_bound() {
        let mut rng = Rng::stream(7, 0);
        let bound = Duration::from_millis(200);

        assert_eq!(rng.between(bound, bound), bound);
    }
}
