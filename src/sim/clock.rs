//! The observed clock: what the simulated process's clock shows at each
//! instant of real time.

use std::ops::Range;
use std::time::Duration;

use super::driver::Pause;
use super::rng::Rng;
use super::trace::Reading;
use crate::Nanos;

/// Where the observed clock stands at real time zero: 10^6 s, so that
/// backward jumps (up to about eleven days of them) never reach zero.
/// Below zero it saturates.
pub const CLOCK_ORIGIN: Nanos = Nanos::from_secs(1_000_000);

/// One step of the observed clock at a given real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Jump {
    /// Real time of the step.
    pub at: Duration,
    /// Its size.
    pub by: Duration,
    /// True when the clock steps back.
    pub backward: bool,
}

impl Jump {
    /// The clock steps forward `by` at real time `at`.
    pub fn forward(at: Duration, by: Duration) -> Self {
        Jump {
            at,
            by,
            backward: false,
        }
    }

    /// The clock steps back `by` at real time `at`.
    pub fn backward(at: Duration, by: Duration) -> Self {
        Jump {
            at,
            by,
            backward: true,
        }
    }

    fn signed_nanos(&self) -> i128 {
        let by = self.by.as_nanos() as i128;
        if self.backward {
            -by
        } else {
            by
        }
    }
}

/// Jumps at random: a Poisson process in real time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomJumps {
    /// Mean number of jumps per day of real time.
    pub per_day: f64,
    /// Smallest size, drawn uniformly up to `max`.
    pub min: Duration,
    /// Largest size.
    pub max: Duration,
    /// The chance that a jump steps back instead of forward.
    pub backward_probability: f64,
}

/// How the process's clock departs from real time. Host sleeps, which
/// also stop the clock, belong to [`super::DriverModel::suspends`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClockModel {
    /// Jumps at given real times.
    pub jumps: Vec<Jump>,
    /// Jumps drawn from the run's seed, added to `jumps`.
    pub random: Option<RandomJumps>,
}

/// What happens to the observed clock at one real time.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// It steps by this many (signed) nanoseconds.
    Step(i128),
    /// It stops: the host sleeps.
    Freeze,
    /// It runs again.
    Thaw,
}

/// A stretch of real time from `from` on, until the next piece, over
/// which the observed clock is linear.
#[derive(Clone, Copy, Debug)]
struct Piece {
    from: Duration,
    /// Observed nanoseconds at `from` (may fall below zero).
    observed: i128,
    /// The host sleeps: the observed clock stands still.
    frozen: bool,
}

impl Piece {
    fn at(&self, real: Duration) -> i128 {
        if self.frozen {
            return self.observed;
        }
        self.observed + (real.saturating_sub(self.from)).as_nanos() as i128
    }
}

/// The observed clock of one run, as a piecewise linear function of real
/// time, built once from the whole schedule so that a timer's firing time
/// is known when it is armed.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    jumps: Vec<Jump>,
    pieces: Vec<Piece>,
}

impl Clock {
    pub(crate) fn new(model: &ClockModel, suspends: &[Pause], seed: u64, until: Duration) -> Self {
        let mut jumps = model.jumps.clone();
        if let Some(random) = &model.random {
            let mut rng = Rng::stream(seed, 1);
            let gap = 86_400.0 / random.per_day;
            let mean = Duration::try_from_secs_f64(gap).unwrap_or(Duration::MAX);
            let mut at = rng.arrival_after(Duration::ZERO, mean);
            while at < until {
                let by = rng.between(random.min, random.max);
                let backward = rng.chance(random.backward_probability);
                jumps.push(Jump { at, by, backward });
                at = rng.arrival_after(at, mean);
            }
        }
        jumps.sort_by_key(|jump| jump.at);

        let mut changes: Vec<(Duration, Change)> = jumps
            .iter()
            .map(|jump| (jump.at, Change::Step(jump.signed_nanos())))
            .collect();
        for pause in suspends {
            changes.push((pause.at, Change::Freeze));
            changes.push((pause.end(), Change::Thaw));
        }
        // At equal times the order does not matter: a step moves the
        // reading whether or not the clock runs.
        changes.sort_by_key(|&(at, _)| at);

        let mut pieces = vec![Piece {
            from: Duration::ZERO,
            observed: CLOCK_ORIGIN.0.into(),
            frozen: false,
        }];
        for (at, change) in changes {
            let last = *pieces.last().expect("the first piece is never removed");
            let mut piece = Piece {
                from: at,
                observed: last.at(at),
                frozen: last.frozen,
            };
            match change {
                Change::Step(by) => piece.observed += by,
                Change::Freeze => piece.frozen = true,
                Change::Thaw => piece.frozen = false,
            }
            pieces.push(piece);
        }
        Clock { jumps, pieces }
    }

    fn piece(&self, real: Duration) -> usize {
        // The first piece starts at zero, so one always matches.
        self.pieces.partition_point(|piece| piece.from <= real) - 1
    }

    /// What the process's clock shows at `real`.
    pub(crate) fn observed(&self, real: Duration) -> Nanos {
        let value = self.pieces[self.piece(real)].at(real);
        Nanos(value.clamp(0, u64::MAX.into()) as u64)
    }

    /// The first real time from `from` on when the observed clock shows
    /// `target` or later: when a sleep to that instant ends.
    pub(crate) fn reaches(&self, from: Duration, target: Nanos) -> Duration {
        let target = i128::from(target.0);
        let mut index = self.piece(from);
        let mut real = from;
        loop {
            let piece = self.pieces[index];
            let value = piece.at(real).max(0);
            if value >= target {
                return real;
            }
            let next = self.pieces.get(index + 1).map(|next| next.from);
            if !piece.frozen {
                let wait = u64::try_from(target - value).unwrap_or(u64::MAX);
                let when = real.saturating_add(Duration::from_nanos(wait));
                if next.map_or(true, |next| when < next) {
                    return when;
                }
            }
            // The last piece never freezes (every sleep ends), so the loop
            // returns before running out of pieces.
            match next {
                Some(next) => (index, real) = (index + 1, next),
                None => return Duration::MAX,
            }
        }
    }

    /// The corners of the observed clock over `span`: its readings at the
    /// span's ends and on either side of every change within it.
    pub(crate) fn corners(&self, span: Range<Duration>) -> Vec<Reading> {
        let reading = |real: Duration, value: i128| Reading {
            real,
            observed: Nanos(value.clamp(0, u64::MAX.into()) as u64),
        };
        let first = self.piece(span.start);
        let mut corners = vec![reading(span.start, self.pieces[first].at(span.start))];
        for pair in self.pieces[first..].windows(2) {
            let (before, piece) = (pair[0], pair[1]);
            if piece.from >= span.end {
                break;
            }
            corners.push(reading(piece.from, before.at(piece.from)));
            corners.push(reading(piece.from, piece.observed));
        }
        // The span ends before a change at its end, as the trace does.
        let last = self.pieces.partition_point(|piece| piece.from < span.end);
        let last = last.saturating_sub(1).max(first);
        corners.push(reading(span.end, self.pieces[last].at(span.end)));
        // A host sleep's start and end do not move the reading, and
        // changes at one real time coincide: both leave repeated corners.
        corners.dedup();
        corners
    }

    /// The jumps whose real time falls in `span`.
    pub(crate) fn jumps_in(&self, span: Range<Duration>) -> &[Jump] {
        let start = self.jumps.partition_point(|jump| jump.at < span.start);
        let end = self.jumps.partition_point(|jump| jump.at < span.end);
        &self.jumps[start..end.max(start)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn clock(jumps: Vec<Jump>, suspends: &[Pause]) -> Clock {
        let model = ClockModel {
            jumps,
            random: None,
        };
        Clock::new(&model, suspends, 0, secs(1000))
    }

    #[test]
    fn a_sleep_to_an_instant_ends_at_once_when_a_jump_passes_it() {
        let clock = clock(vec![Jump::forward(secs(10), secs(60))], &[]);

        let end = clock.reaches(secs(0), CLOCK_ORIGIN + secs(30));

        assert_eq!(end, secs(10));
    }

    #[test]
    fn a_sleep_to_an_instant_oversleeps_a_backward_step() {
        let clock = clock(vec![Jump::backward(secs(10), secs(5))], &[]);

        let end = clock.reaches(secs(0), CLOCK_ORIGIN + secs(30));

        assert_eq!(end, secs(35));
    }

    #[test]
    fn the_corners_show_a_jump_as_a_step_and_a_host_sleep_as_a_flat() {
        let sleep = Pause {
            at: secs(20),
            length: secs(10),
        };
        let clock = clock(vec![Jump::backward(secs(10), secs(5))], &[sleep]);
        let at = |real: u64, observed: u64| Reading {
            real: secs(real),
            observed: CLOCK_ORIGIN + secs(observed),
        };

        let corners = clock.corners(secs(5)..secs(40));

        let expected = [
            at(5, 5),
            at(10, 10),
            at(10, 5),
            at(20, 15),
            at(30, 15),
            at(40, 25),
        ];
        assert_eq!(corners, expected);
    }

    #[test]
    fn the_corners_leave_out_changes_outside_the_span() {
        let jumps = vec![
            Jump::forward(secs(10), secs(5)),
            Jump::forward(secs(50), secs(5)),
        ];
        let clock = clock(jumps, &[]);
        let at = |real: u64, observed: u64| Reading {
            real: secs(real),
            observed: CLOCK_ORIGIN + secs(observed),
        };

        let corners = clock.corners(secs(20)..secs(50));

        assert_eq!(corners, [at(20, 25), at(50, 55)]);
    }

    #[test]
    fn the_clock_stands_still_while_the_host_sleeps() {
        let sleep = Pause {
            at: secs(10),
            length: secs(100),
        };
        let clock = clock(Vec::new(), &[sleep]);

        assert_eq!(clock.observed(secs(50)), CLOCK_ORIGIN + secs(10));
        assert_eq!(clock.reaches(secs(0), CLOCK_ORIGIN + secs(30)), secs(130));
    }
}
