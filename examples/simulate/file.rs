//! The scenario file: TOML, every field optional, each one left out keeping
//! its S0 value. `docs/scenario-format.md` describes the fields.
//!
//! Durations go through `keepalive::serde_duration`: a string such as
//! `"1m 30s"` or `"500ms"`, or a plain number of seconds. A value it
//! refuses is reported by the TOML reader with the line it is on.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use keepalive::serde_duration::{self, HumanDuration};
use keepalive::sim::{Jump, Order, Pause, RandomJumps, ResumeHint, Scenario, Sleep};
use keepalive::Config;
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::Deserialize;

/// Overrides `scenario` with the file at `path` and checks the result.
pub fn load(path: &Path, scenario: &mut Scenario) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    read(&text, scenario)
}

/// Overrides `scenario` with the scenario file `text` and checks the
/// result.
pub fn read(text: &str, scenario: &mut Scenario) -> Result<(), String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    file.apply(scenario)?;
    scenario.validate().map_err(|e| e.to_string())
}

/// A number as a person would write it: plain, or in scientific notation
/// when very large or very small.
pub fn number(value: f64) -> String {
    let size = value.abs();
    if size == 0.0 || (1e-6..1e15).contains(&size) || !size.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

/// A field in days as a duration, at most [`Scenario::MAX_DURATION`].
pub fn in_days(field: &str, days: f64) -> Result<Duration, String> {
    let max = Scenario::MAX_DURATION.as_secs_f64() / 86_400.0;
    let problem = if days.is_nan() || days < 0.0 {
        "not a number of days from 0 up"
    } else if days > max {
        TOO_LONG
    } else if let Ok(duration) = Duration::try_from_secs_f64(days * 86_400.0) {
        return Ok(duration);
    } else {
        "not a number of days from 0 up"
    };
    Err(format!("{field} = {}: {problem}", number(days)))
}

const TOO_LONG: &str = "longer than 100 years (36,500 days)";

// ---- What the file holds -------------------------------------------------

// Durations left out stay `None` through the container's `default`, which
// also covers the fields read `with` a helper.

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct File {
    days: Option<Days>,
    seed: Option<u64>,
    #[serde(with = "serde_duration::option")]
    reconnect_after: Option<Duration>,
    machine: MachineFile,
    models: ModelsFile,
    peer: PeerFile,
    clock: ClockFile,
    driver: DriverFile,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct MachineFile {
    #[serde(with = "serde_duration::option")]
    idle: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    reply_window: Option<Duration>,
    max_misses: Option<u32>,
    #[serde(with = "serde_duration::option")]
    max_step: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    tolerance: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    send_every: Option<Duration>,
    mode: Option<keepalive::Mode>,
    #[serde(with = "serde_duration::option")]
    adaptive_reply_window: Option<Duration>,
    jitter: Option<keepalive::Jitter>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ModelsFile {
    #[serde(with = "serde_duration::option")]
    interval: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    timeout: Option<Duration>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PeerFile {
    #[serde(with = "serde_duration::option")]
    latency_min: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    latency_max: Option<Duration>,
    slow_probability: Option<f64>,
    #[serde(with = "serde_duration::option")]
    slow_latency: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    heartbeat_every: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    mean_life: Option<Duration>,
    deaths: Option<Vec<HumanDuration>>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ClockFile {
    jumps: Option<Vec<JumpFile>>,
    random: RandomFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JumpFile {
    #[serde(with = "serde_duration")]
    at: Duration,
    by: Step,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RandomFile {
    per_day: Option<f64>,
    #[serde(with = "serde_duration::option")]
    min: Option<Duration>,
    #[serde(with = "serde_duration::option")]
    max: Option<Duration>,
    backward_probability: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct DriverFile {
    sleep: Option<SleepFile>,
    #[serde(with = "serde_duration::option")]
    lateness_max: Option<Duration>,
    early_probability: Option<f64>,
    spurious_probability: Option<f64>,
    order: Option<OrderFile>,
    resume_hint: Option<HintFile>,
    stalls: Option<Vec<PauseFile>>,
    suspends: Option<Vec<PauseFile>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum SleepFile {
    Absolute,
    Relative,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum OrderFile {
    InputFirst,
    TimerFirst,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum HintFile {
    Off,
    Unknown,
    Slept,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseFile {
    #[serde(with = "serde_duration")]
    at: Duration,
    #[serde(with = "serde_duration")]
    length: Duration,
}

// ---- Values that are not plain durations ---------------------------------

/// `days`: a number of days (`365`), or a duration string (`"36h"`).
enum Days {
    Count(f64),
    Span(Duration),
}

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DaysVisitor;

        impl Visitor<'_> for DaysVisitor {
            type Value = Days;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of days, or a duration such as \"36h\"")
            }

            fn visit_i64<E: de::Error>(self, days: i64) -> Result<Days, E> {
                Ok(Days::Count(days as f64))
            }

            fn visit_u64<E: de::Error>(self, days: u64) -> Result<Days, E> {
                Ok(Days::Count(days as f64))
            }

            fn visit_f64<E: de::Error>(self, days: f64) -> Result<Days, E> {
                Ok(Days::Count(days))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Days, E> {
                let span: HumanDuration = text.parse().map_err(E::custom)?;
                Ok(Days::Span(span.0))
            }
        }

        deserializer.deserialize_any(DaysVisitor)
    }
}

impl Days {
    fn duration(self) -> Result<Duration, String> {
        match self {
            Days::Count(days) => in_days("days", days),
            Days::Span(span) if span > Scenario::MAX_DURATION => {
                Err(format!("days = \"{}\": {TOO_LONG}", HumanDuration(span)))
            }
            Days::Span(span) => Ok(span),
        }
    }
}

/// A clock jump's `by`: a duration, negative to step back (`-5`,
/// `"-5s"`).
struct Step {
    back: bool,
    by: Duration,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl Visitor<'_> for StepVisitor {
            type Value = Step;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"45s\" or \"-5s\", or a number of seconds")
            }

            fn visit_i64<E: de::Error>(self, by: i64) -> Result<Step, E> {
                let size = Duration::from_secs(by.unsigned_abs());
                Ok(Step {
                    back: by < 0,
                    by: size,
                })
            }

            fn visit_u64<E: de::Error>(self, by: u64) -> Result<Step, E> {
                Ok(Step {
                    back: false,
                    by: Duration::from_secs(by),
                })
            }

            fn visit_f64<E: de::Error>(self, by: f64) -> Result<Step, E> {
                // The size is read like any other duration, so NaN and
                // numbers beyond a `Duration` get the same message.
                let size = serde_duration::deserialize(by.abs().into_deserializer())?;
                Ok(Step {
                    back: by < 0.0,
                    by: size,
                })
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Step, E> {
                let trimmed = text.trim_start();
                let (back, size) = match trimmed.strip_prefix('-') {
                    Some(size) => (true, size),
                    None => (false, trimmed),
                };
                let size: HumanDuration = size.parse().map_err(E::custom)?;
                Ok(Step { back, by: size.0 })
            }
        }

        deserializer.deserialize_any(StepVisitor)
    }
}

// ---- Applying the file to a scenario -------------------------------------

/// Overwrites `target` with the field's value when the file gives one.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// A duration where 0 turns the feature off.
fn optional(duration: Duration) -> Option<Duration> {
    (!duration.is_zero()).then_some(duration)
}

fn pauses(list: Vec<PauseFile>) -> Vec<Pause> {
    list.into_iter()
        .map(|p| Pause {
            at: p.at,
            length: p.length,
        })
        .collect()
}

impl File {
    fn apply(self, scenario: &mut Scenario) -> Result<(), String> {
        if let Some(days) = self.days {
            scenario.duration = days.duration()?;
        }
        set(&mut scenario.seed, self.seed);
        set(&mut scenario.reconnect_after, self.reconnect_after);
        scenario.machine = self.machine.build(&scenario.machine)?;

        let (models, file) = (&mut scenario.models, self.models);
        set(&mut models.interval, file.interval);
        set(&mut models.timeout, file.timeout);

        let (peer, file) = (&mut scenario.peer, self.peer);
        set(&mut peer.latency_min, file.latency_min);
        set(&mut peer.latency_max, file.latency_max);
        set(&mut peer.slow_latency, file.slow_latency);
        set(&mut peer.slow_probability, file.slow_probability);
        set(
            &mut peer.heartbeat_every,
            file.heartbeat_every.map(optional),
        );
        set(&mut peer.mean_life, file.mean_life.map(optional));
        if let Some(deaths) = file.deaths {
            peer.deaths = deaths.into_iter().map(Duration::from).collect();
        }

        self.clock.apply(&mut scenario.clock);
        self.driver.apply(&mut scenario.driver);
        Ok(())
    }
}

impl MachineFile {
    /// The machine's config: `base` overridden by the file. Step and
    /// tolerance stay derived from the window unless the file sets them.
    fn build(self, base: &Config) -> Result<Config, String> {
        let mut builder = Config::builder()
            .idle(self.idle.unwrap_or(base.idle()))
            .reply_window(self.reply_window.unwrap_or(base.reply_window()))
            .max_misses(self.max_misses.unwrap_or(base.max_misses()));
        if let Some(step) = self.max_step {
            builder = builder.max_step(step);
        }
        if let Some(tolerance) = self.tolerance {
            builder = builder.tolerance(tolerance);
        }
        if let Some(every) = self.send_every.or(base.send_every()) {
            builder = builder.send_every(every);
        }
        if self.mode.unwrap_or(base.mode()) == keepalive::Mode::Passive {
            builder = builder.passive();
        }
        if let Some(min) = self.adaptive_reply_window.or(base.adaptive_reply_window()) {
            builder = builder.adaptive_reply_window(min);
        }
        builder
            .jitter(self.jitter.unwrap_or(base.jitter()))
            .build()
            .map_err(|e| format!("[machine]: {e}"))
    }
}

impl ClockFile {
    fn apply(self, clock: &mut keepalive::sim::ClockModel) {
        if let Some(jumps) = self.jumps {
            clock.jumps = jumps
                .into_iter()
                .map(|jump| match jump.by {
                    Step { back: true, by } => Jump::backward(jump.at, by),
                    Step { back: false, by } => Jump::forward(jump.at, by),
                })
                .collect();
        }

        let file = self.random;
        let mut random = clock.random.unwrap_or(RandomJumps {
            per_day: 0.0,
            min: Duration::ZERO,
            max: Duration::ZERO,
            backward_probability: 0.0,
        });
        set(&mut random.min, file.min);
        set(&mut random.max, file.max);
        set(&mut random.per_day, file.per_day);
        set(&mut random.backward_probability, file.backward_probability);
        clock.random = (random.per_day != 0.0).then_some(random);
    }
}

impl DriverFile {
    fn apply(self, driver: &mut keepalive::sim::DriverModel) {
        set(
            &mut driver.sleep,
            self.sleep.map(|sleep| match sleep {
                SleepFile::Absolute => Sleep::Absolute,
                SleepFile::Relative => Sleep::Relative,
            }),
        );
        set(
            &mut driver.order,
            self.order.map(|order| match order {
                OrderFile::InputFirst => Order::InputFirst,
                OrderFile::TimerFirst => Order::TimerFirst,
            }),
        );
        set(
            &mut driver.resume_hint,
            self.resume_hint.map(|hint| match hint {
                HintFile::Off => ResumeHint::Off,
                HintFile::Unknown => ResumeHint::Unknown,
                HintFile::Slept => ResumeHint::Slept,
            }),
        );
        set(&mut driver.lateness_max, self.lateness_max);
        set(&mut driver.early_probability, self.early_probability);
        set(&mut driver.spurious_probability, self.spurious_probability);
        set(&mut driver.stalls, self.stalls.map(pauses));
        set(&mut driver.suspends, self.suspends.map(pauses));
    }
}
