//! The simulated driver: how the process sleeps until the wake-up a
//! strategy asked for, and when the process cannot run at all.

use std::time::Duration;

use super::clock::Clock;
use super::rng::Rng;
use crate::{Instant, Nanos};

/// How the driver sleeps until a wake-up instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    /// Until the observed clock shows the instant, like tokio's
    /// `sleep_until`: a forward jump past it ends the sleep at once, a
    /// backward step makes it oversleep by the step.
    Absolute,
    /// For the wait the instant implied when the timer was armed, counted
    /// in real time (a `CLOCK_BOOTTIME` style timer): jumps do not move it.
    /// One that ends while the host sleeps fires when the host wakes.
    Relative,
}

/// What runs first when the timer and queued input are ready together,
/// after a stall or a host sleep, or at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Input first: the correct way to drive the machine.
    InputFirst,
    /// The late timer first, then the input that waited behind it (the
    /// fault of S5). Timers armed while handling them still run after
    /// the queued input.
    TimerFirst,
}

/// What the driver tells the strategy when the host wakes from a sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeHint {
    /// Nothing: the strategy must notice by itself.
    Off,
    /// That the host slept, without saying how long.
    Unknown,
    /// That the host slept, and how long.
    Slept,
}

/// A stretch of real time: a process stall or a host sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When it starts, in real time.
    pub at: Duration,
    /// How long it lasts.
    pub length: Duration,
}

impl Pause {
    /// When it ends.
    pub fn end(&self) -> Duration {
        self.at.saturating_add(self.length)
    }
}

/// How the simulated process runs and sleeps.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverModel {
    /// How a wake-up instant becomes a sleep.
    pub sleep: Sleep,
    /// Every timer fires late by up to this much (uniform).
    pub lateness_max: Duration,
    /// The chance that a timer fires early, at a uniform time within the
    /// sleep. Must be below 1.
    pub early_probability: f64,
    /// The chance, per armed timer, of one extra wake-up at a uniform time
    /// within the sleep; the timer itself still fires.
    pub spurious_probability: f64,
    /// The process is stopped: nothing runs and input queues up, while
    /// its clock keeps running.
    pub stalls: Vec<Pause>,
    /// The host sleeps: nothing runs and the observed clock stands still.
    pub suspends: Vec<Pause>,
    /// What the strategy hears when the host wakes.
    pub resume_hint: ResumeHint,
    /// Timer or input first when both are ready.
    pub order: Order,
}

impl Default for DriverModel {
    /// A driver that sleeps to absolute instants, is never late, never
    /// pauses, delivers input first and reports host sleeps with their
    /// length.
    fn default() -> Self {
        DriverModel {
            sleep: Sleep::Absolute,
            lateness_max: Duration::ZERO,
            early_probability: 0.0,
            spurious_probability: 0.0,
            stalls: Vec::new(),
            suspends: Vec::new(),
            resume_hint: ResumeHint::Slept,
            order: Order::InputFirst,
        }
    }
}

/// When an armed timer fires: its wake-up, and a spurious one before it.
pub(crate) struct Firing {
    pub(crate) at: Duration,
    pub(crate) spurious: Option<Duration>,
    /// When the sleep itself ends: either wake-up may come later than
    /// this, by the lateness drawn for the timer.
    pub(crate) ends: Duration,
}

/// The driver of one run.
#[derive(Clone, Debug)]
pub(crate) struct Driver {
    model: DriverModel,
    rng: Rng,
    /// Stalls and host sleeps, merged where they overlap, by start.
    blocked: Vec<Pause>,
}

impl Driver {
    pub(crate) fn new(model: &DriverModel, seed: u64) -> Self {
        let all = model.stalls.iter().chain(&model.suspends);
        Driver {
            model: model.clone(),
            rng: Rng::stream(seed, 4),
            blocked: merge(all.copied()),
        }
    }

    pub(crate) fn blocked(&self) -> &[Pause] {
        &self.blocked
    }

    /// Arms a timer at real time `now` for the observed instant `wake`.
    pub(crate) fn arm(&mut self, clock: &Clock, now: Duration, wake: Nanos) -> Firing {
        let due = match self.model.sleep {
            Sleep::Absolute => clock.reaches(now, wake),
            Sleep::Relative => {
                let wait = wake.saturating_duration_since(clock.observed(now));
                now.saturating_add(wait)
            }
        };
        let ends = due;
        let late = self.rng.between(Duration::ZERO, self.model.lateness_max);
        let due = due.saturating_add(late);

        let early = self.rng.chance(self.model.early_probability);
        let within = self.rng.between(now, due);
        let spurious = self.rng.chance(self.model.spurious_probability);
        let extra = self.rng.between(now, due);
        Firing {
            at: if early { within } else { due },
            spurious: spurious.then_some(extra),
            ends,
        }
    }

    /// If `at` falls in a stall or host sleep, when that ends.
    pub(crate) fn blocked_until(&self, at: Duration) -> Option<Duration> {
        let index = self.blocked.partition_point(|pause| pause.at <= at);
        let pause = self.blocked.get(index.checked_sub(1)?)?;
        (at < pause.end()).then(|| pause.end())
    }
}

/// Sorts pauses and joins those that overlap or touch.
pub(crate) fn merge(pauses: impl Iterator<Item = Pause>) -> Vec<Pause> {
    let mut sorted: Vec<Pause> = pauses.filter(|p| !p.length.is_zero()).collect();
    sorted.sort_by_key(|pause| pause.at);

    let mut merged: Vec<Pause> = Vec::with_capacity(sorted.len());
    for pause in sorted {
        match merged.last_mut() {
            Some(last) if pause.at <= last.end() => {
                let end = last.end().max(pause.end());
                last.length = end - last.at;
            }
            _ => merged.push(pause),
        }
    }
    merged
}
