//! A scenario: everything one run needs, checked before it starts.

use std::fmt;
use std::time::Duration;

use super::clock::{ClockModel, RandomJumps};
use super::driver::DriverModel;
use super::peer::PeerModel;
use super::strategy::ModelConfig;
use crate::Config;

const DAY: Duration = Duration::from_secs(86_400);

/// The longest run: a hundred years of real time, far inside what
/// [`crate::Nanos`] can count from [`super::CLOCK_ORIGIN`].
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The most random jumps, deaths or heartbeats one run may have, so that
/// a typo in a rate cannot exhaust memory or run for hours.
const MAX_DRAWS: f64 = 10_000_000.0;

/// One simulated situation, for every strategy alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// How much real time to simulate.
    pub duration: Duration,
    /// Seeds every random draw: the same seed replays the same run.
    pub seed: u64,
    /// The crate's machine.
    pub machine: Config,
    /// The two older designs.
    pub models: ModelConfig,
    /// The peer.
    pub peer: PeerModel,
    /// The process's clock.
    pub clock: ClockModel,
    /// How the process runs and sleeps.
    pub driver: DriverModel,
    /// After a verdict the worker connects again this much later.
    pub reconnect_after: Duration,
}

/// How long after its death a dead peer may go unnoticed, see
/// [`Scenario::bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// With no discontinuity in the detection span.
    pub base: Duration,
    /// Added for every clock jump in the span.
    pub per_jump: Duration,
    /// Added for every wake-up in the span: the driver's lateness beyond
    /// the tolerance, which the machine does not credit.
    pub per_wakeup: Duration,
}

/// Why a run could not be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// A scenario field cannot work.
    Invalid {
        /// The field, as `section.name`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The strategy kept the loop busy without end: more inputs than
    /// the step limit allows, or too many at one real instant.
    Runaway {
        /// The strategy's name.
        strategy: &'static str,
        /// Inputs handled.
        steps: u64,
        /// Real time when the loop gave up.
        at: Duration,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Invalid { field, problem } => write!(f, "{field}: {problem}"),
            SimError::Runaway {
                strategy,
                steps,
                at,
            } => write!(
                f,
                "runaway loop: strategy {strategy} took {steps} inputs by real \
                 time {at:?}; it keeps asking to be woken while time stands \
                 still"
            ),
        }
    }
}

impl std::error::Error for SimError {}

impl Scenario {
    /// The longest run [`Scenario::validate`] accepts: a hundred years
    /// (36,500 days).
    pub const MAX_DURATION: Duration = MAX_DURATION;

    /// S0, the build worker in a virtual machine: a year of 12 forward
    /// jumps a day of 10 to 120 s, a master answering in 5 to 500 ms (1 %
    /// of replies take 2 s) that dies every ten days on average, and a
    /// worker that reconnects 5 s after a verdict.
    ///
    /// Seed 2: check-at-send's failure needs a jump of 30 s or more to land
    /// in the fraction of a second between a keepalive and its reply, about
    /// twice a year at this rate; seed 1 happens to give it none, seed 2
    /// shows it.
    ///
    /// The models run the era's defaults, interval 600 s and timeout
    /// 30 s (keepalive at 570 s, check at 600 s); the machine is set to
    /// match: idle 570 s, reply window 30 s, one miss, the builder's
    /// step and tolerance (7.5 s and 1.5 s).
    pub fn s0() -> Self {
        let machine = Config::builder()
            .idle(Duration::from_secs(570))
            .reply_window(Duration::from_secs(30))
            .max_misses(1)
            .build()
            .expect("S0's config satisfies every rule of the builder");
        Scenario {
            duration: 365 * DAY,
            seed: 2,
            machine,
            models: ModelConfig {
                interval: Duration::from_secs(600),
                timeout: Duration::from_secs(30),
            },
            peer: PeerModel {
                latency_min: Duration::from_millis(5),
                latency_max: Duration::from_millis(500),
                slow_probability: 0.01,
                slow_latency: Duration::from_secs(2),
                heartbeat_every: None,
                deaths: Vec::new(),
                mean_life: Some(10 * DAY),
            },
            clock: ClockModel {
                jumps: Vec::new(),
                random: Some(RandomJumps {
                    per_day: 12.0,
                    min: Duration::from_secs(10),
                    max: Duration::from_secs(120),
                    backward_probability: 0.0,
                }),
            },
            driver: DriverModel::default(),
            reconnect_after: Duration::from_secs(5),
        }
    }

    /// A quiet scenario for `machine`, to change field by field: a run of
    /// ten detection times, seed 0, a peer that answers every probe in a
    /// tenth of the reply window and never dies, a clock that never jumps,
    /// the [`DriverModel::default`] driver, reconnection after one reply
    /// window, and S0's older designs (which [`super::check`] ignores).
    ///
    /// Every field is public, so a property test or a fuzz target builds
    /// its scenario from plain data by starting here.
    pub fn quiet(machine: Config) -> Self {
        let window = machine.reply_window();
        let latency = window / 10;
        Scenario {
            duration: machine
                .detection_time()
                .saturating_mul(10)
                .min(MAX_DURATION),
            seed: 0,
            machine,
            models: Scenario::s0().models,
            peer: PeerModel {
                latency_min: latency,
                latency_max: latency,
                slow_probability: 0.0,
                slow_latency: latency,
                heartbeat_every: None,
                deaths: Vec::new(),
                mean_life: None,
            },
            clock: ClockModel::default(),
            driver: DriverModel::default(),
            reconnect_after: window,
        }
    }

    /// How long after its death a dead peer may go unnoticed by the
    /// crate's machine, per [`crate::Machine`]'s guarantee:
    ///
    /// * `base`: `idle + max_misses × reply_window` from the peer's last
    ///   traffic, plus the slowest reply (a probe sent just before the
    ///   death is still answered after it), plus `S + E` for the wake-up
    ///   that finds the window expired (`2E` if the tolerance exceeds the
    ///   step);
    /// * `per_jump`: `S + E` for each clock jump in the detection span;
    /// * `per_wakeup`: the driver's lateness beyond `E`, for each timer
    ///   wake-up in the span.
    ///
    /// A run also adds, per detection, the size of each backward step in
    /// the span (capped at `idle` when the driver sleeps for relative
    /// durations: the most credit a step can cancel), and the length of
    /// each stall or host sleep that overlaps it. The detection span
    /// runs from the peer's last traffic before its death (or the death,
    /// if a reply came after it) to the verdict.
    pub fn bound(&self) -> Bound {
        let step = self.machine.max_step();
        let tolerance = self.machine.tolerance();
        let base = self
            .machine
            .detection_time()
            .saturating_add(self.peer.slowest())
            .saturating_add(step.max(tolerance) + tolerance);
        Bound {
            base,
            per_jump: step + tolerance,
            per_wakeup: self.driver.lateness_max.saturating_sub(tolerance),
        }
    }

    /// Checks every field that could make a run meaningless or endless.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |field, problem| Err(SimError::Invalid { field, problem });
        let secs = self.duration.as_secs_f64();
        let days = secs / DAY.as_secs_f64();

        if self.duration > MAX_DURATION {
            return invalid("duration", "longer than 100 years (36,500 days)");
        }
        let ModelConfig { interval, timeout } = self.models;
        if timeout.is_zero() || timeout >= interval {
            return invalid(
                "models.timeout",
                "must be above zero and below models.interval",
            );
        }

        let peer = &self.peer;
        if peer.latency_min > peer.latency_max {
            return invalid("peer.latency_min", "is above peer.latency_max");
        }
        probability("peer.slow_probability", peer.slow_probability)?;
        if let Some(every) = peer.heartbeat_every {
            if every.is_zero() || secs / every.as_secs_f64() > MAX_DRAWS {
                let problem = "too short: more than ten million heartbeats";
                return invalid("peer.heartbeat_every", problem);
            }
        }
        if let Some(mean) = peer.mean_life {
            if mean.is_zero() || secs / mean.as_secs_f64() > MAX_DRAWS {
                let problem = "too short: more than ten million deaths";
                return invalid("peer.mean_life", problem);
            }
        }

        if let Some(random) = &self.clock.random {
            if !(random.per_day > 0.0 && random.per_day * days <= MAX_DRAWS) {
                return invalid(
                    "clock.random.per_day",
                    "must be above zero, for ten million jumps a run at most",
                );
            }
            if random.min > random.max {
                return invalid("clock.random.min", "is above clock.random.max");
            }
            let backward = random.backward_probability;
            probability("clock.random.backward_probability", backward)?;
        }

        let driver = &self.driver;
        // An early wake-up every time would approach the deadline forever.
        let early = driver.early_probability;
        if !(0.0..1.0).contains(&early) {
            let problem = "must be a probability from 0 to below 1";
            return invalid("driver.early_probability", problem);
        }
        probability("driver.spurious_probability", driver.spurious_probability)
    }
}

fn probability(field: &'static str, p: f64) -> Result<(), SimError> {
    if (0.0..=1.0).contains(&p) {
        return Ok(());
    }
    let problem = "must be a probability from 0 to 1";
    Err(SimError::Invalid { field, problem })
}
