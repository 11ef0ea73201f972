//! Instants: the trait the machine is generic over, and a plain
//! nanosecond instant for tests, simulations and embedded users.

use core::fmt;
use core::ops::Add;
use core::time::Duration;

/// A point on a monotonic-ish clock that the driver reads and passes in.
///
/// The machine never reads a clock. It only compares the instants it is
/// given, measures the step between two of them and adds a duration to the
/// latest one to say when it wants to be woken. The clock behind them may
/// jump forward, step backward or stand still; the machine copes with all
/// three (see [`crate::Machine`]).
///
/// Measured steps must add up: for instants `a <= b <= c`, the duration
/// from `a` to `c` is the one from `a` to `b` plus the one from `b` to
/// `c`, and `a` moved forward by `d` is `d` after `a`. The machine relies
/// on it to credit a run of inbound traffic in one step (any clock that
/// counts ticks does this).
///
/// Implemented for [`std::time::Instant`] (with the `std` feature) and for
/// [`Nanos`]. Other clocks plug in through a newtype or a conversion:
/// `tokio::time::Instant` converts with `into_std()` on the way in and
/// `tokio::time::Instant::from_std()` on the way out, which keeps tokio's
/// paused test clock working.
pub trait Instant: Copy + Ord {
    /// How long after `earlier` this instant is, or zero if `earlier` is
    /// later than `self`.
    fn saturating_duration_since(&self, earlier: Self) -> Duration;

    /// This instant moved `duration` forward, or `None` if the type cannot
    /// represent the result.
    fn checked_add(&self, duration: Duration) -> Option<Self>;
}

#[cfg(feature = "std")]
impl Instant for std::time::Instant {
    fn saturating_duration_since(&self, earlier: Self) -> Duration {
        std::time::Instant::saturating_duration_since(self, earlier)
    }

    fn checked_add(&self, duration: Duration) -> Option<Self> {
        std::time::Instant::checked_add(self, duration)
    }
}

/// An instant counted in nanoseconds from an arbitrary origin.
///
/// The simulator, the tests and the fuzz targets use it, and it suits
/// embedded users whose timer hands out a tick count. `u64` nanoseconds
/// cover 584 years.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub u64);

impl Nanos {
    /// The instant `secs` seconds after the origin, saturating.
    pub const fn from_secs(secs: u64) -> Self {
        Nanos(secs.saturating_mul(1_000_000_000))
    }

    /// The instant `millis` milliseconds after the origin, saturating.
    pub const fn from_millis(millis: u64) -> Self {
        Nanos(millis.saturating_mul(1_000_000))
    }

    /// The time since the origin.
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.0)
    }
}

impl Instant for Nanos {
    fn saturating_duration_since(&self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    fn checked_add(&self, duration: Duration) -> Option<Self> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Nanos)
    }
}

impl Add<Duration> for Nanos {
    type Output = Nanos;

    /// Saturates at the largest instant instead of overflowing.
    fn add(self, rhs: Duration) -> Nanos {
        Nanos(self.0.saturating_add(nanos_of(rhs)))
    }
}

impl fmt::Debug for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Nanos({}.{:09}s)",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// A duration as whole nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn nanos_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `instant + duration`, or the farthest instant the type can represent on
/// the way there when the sum overflows.
///
/// The search halves the remaining distance, so it makes at most about 64
/// calls to `checked_add` and only runs when the plain sum overflowed.
pub(crate) fn add_or_farthest<I: Instant>(instant: I, duration: Duration) -> I {
    if let Some(sum) = instant.checked_add(duration) {
        return sum;
    }

    let mut reachable = 0u64;
    let mut unreachable = nanos_of(duration);
    while unreachable - reachable > 1 {
        let middle = reachable + (unreachable - reachable) / 2;
        if instant.checked_add(Duration::from_nanos(middle)).is_some() {
            reachable = middle;
        } else {
            unreachable = middle;
        }
    }
    instant
        .checked_add(Duration::from_nanos(reachable))
        .unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflowing_wake_up_lands_on_the_farthest_representable_instant() {
        let near_end = Nanos(u64::MAX - 10);

        let farthest = add_or_farthest(near_end, Duration::from_secs(1));

        assert_eq!(farthest, Nanos(u64::MAX));
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_instants_measure_and_add_like_std_does() {
        let start = std::time::Instant::now();
        let later = Instant::checked_add(&start, Duration::from_secs(3))
            .expect("three seconds ahead is representable");

        assert_eq!(later, start + Duration::from_secs(3));
        assert_eq!(
            Instant::saturating_duration_since(&later, start),
            Duration::from_secs(3)
        );
        assert_eq!(
            Instant::saturating_duration_since(&start, later),
            Duration::ZERO
        );
    }

    #[test]
    fn nanos_print_as_seconds_with_every_digit() {
        assert_eq!(format!("{:?}", Nanos(1_500_000_007)), "Nanos(1.500000007s)");
    }

    #[test]
    fn a_step_to_an_earlier_instant_measures_zero() {
        assert_eq!(Nanos(5).saturating_duration_since(Nanos(9)), Duration::ZERO);
    }
}
