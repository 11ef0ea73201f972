//! Replays S0, the build worker whose clock jumped, against three
//! keepalive strategies, or runs a scenario of your own.
//!
//! ```text
//! cargo run --example simulate                  # a simulated year of S0
//! cargo run --example simulate -- --trace       # one incident, timelines
//! cargo run --example simulate -- --svg incident.svg   # it as a picture
//! cargo run --example simulate -- --scenario examples/scenarios/s0.toml
//! cargo run --example simulate -- --seed 7 --days 30
//! ```
//!
//! All the logic lives in `keepalive::sim`; this program only reads the
//! command line and the scenario file, and draws the picture
//! (`simulate/picture.rs`).
//!
//! # Scenario files
//!
//! TOML. Every field is optional: one left out keeps its S0 value.
//! Durations are seconds as numbers (`idle = 570.0`), probabilities run
//! from 0 to 1, and a rate or period of 0 turns the feature off.
//! `docs/scenario-format.md` describes each field;
//! `examples/scenarios/s0.toml` spells out S0 in full.
//!
//! ```toml
//! days = 365.0            # real time to simulate
//! seed = 2                # the same seed replays the same run
//! reconnect_after = 5.0   # after a verdict, connect again this much later
//!
//! [machine]               # this crate's Config
//! idle = 570.0
//! reply_window = 30.0
//! max_misses = 1
//! # max_step, tolerance: derived from reply_window unless given
//! # send_every = 60.0
//! mode = "active"         # or "passive"
//!
//! [models]                # the two older designs
//! interval = 600.0
//! timeout = 30.0
//!
//! [peer]
//! latency_min = 0.005
//! latency_max = 0.5
//! slow_probability = 0.01
//! slow_latency = 2.0
//! heartbeat_every = 0.0   # 0: no heartbeats
//! mean_life = 864000.0    # 0: no random deaths
//! deaths = []             # real times of extra deaths
//!
//! [clock]
//! jumps = [{ at = 560.0, by = 45.0 }, { at = 900.0, by = -5.0 }]
//!
//! [clock.random]          # per_day = 0: no random jumps
//! per_day = 12.0
//! min = 10.0
//! max = 120.0
//! backward_probability = 0.0
//!
//! [driver]
//! sleep = "absolute"      # or "relative"
//! lateness_max = 0.0
//! early_probability = 0.0
//! spurious_probability = 0.0
//! order = "input-first"   # or "timer-first"
//! resume_hint = "slept"   # or "unknown", "off"
//! stalls = [{ at = 100.0, length = 2.5 }]
//! suspends = [{ at = 3600.0, length = 120.0 }]
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use keepalive::sim::{
    compare, incident, Comparison, Jump, Order, Pause, RandomJumps, ResumeHint, Scenario, Sleep,
    StrategyKind,
};
use keepalive::Config;
use serde::Deserialize;

// The picture lives in its own file so that `tests/picture.rs` can
// include it too.
#[path = "simulate/picture.rs"]
#[allow(dead_code)] // The panels' pixel areas are for the test only.
mod picture;

/// Replays S0 (a build worker whose clock jumps) against three keepalive
/// strategies and prints how often each dropped a healthy master and how
/// fast each noticed a dead one.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Print one incident as timelines: the first healthy master dropped
    /// by two-timers, from 600 s before to 60 s after.
    #[arg(long)]
    trace: bool,

    /// Draw the same incident as --trace into this SVG file: the
    /// process's clock against real time, and one lane of markers per
    /// strategy. An error when two-timers dropped no healthy master.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

    /// Run the scenario in this TOML file (fields left out keep their S0
    /// value).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,

    /// Seed for every random draw (default: S0's, 2, or the file's).
    #[arg(long)]
    seed: Option<u64>,

    /// Days of real time to simulate (default: 365, or the file's).
    #[arg(long)]
    days: Option<f64>,
}

fn main() -> ExitCode {
    match simulate(Args::parse()) {
        Ok(report) => {
            // A closed pipe (`| head`) is not worth a panic.
            let _ = std::io::stdout().write_all(report.as_bytes());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs what the arguments ask for and returns the report to print.
fn simulate(args: Args) -> Result<String, String> {
    let mut scenario = Scenario::s0();
    if let Some(path) = &args.scenario {
        load(path, &mut scenario).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(days) = args.days {
        scenario.duration = in_days("--days", days)?;
    }

    let days = scenario.duration.as_secs_f64() / 86_400.0;
    let unit = if days == 1.0 { "day" } else { "days" };
    let days = number(days);
    if args.trace || args.svg.is_some() {
        let (before, after) = (picture::BEFORE, picture::AFTER);
        let Some(found) = incident(&scenario, before, after).map_err(|e| e.to_string())? else {
            let none = format!("two-timers dropped no healthy master in {days} {unit}");
            return match args.svg {
                Some(path) => Err(format!(
                    "{none}: no incident to draw into {}; try another --seed or more --days",
                    path.display()
                )),
                None => Ok(format!("{none}\n")),
            };
        };
        let mut report = String::new();
        if args.trace {
            report += &found.to_string();
        }
        if let Some(path) = &args.svg {
            let name = picture::name(args.scenario.as_deref(), scenario.seed);
            picture::write(&found, &name, path)?;
            if !args.trace {
                let at = found.at;
                report += &format!(
                    "drew the incident at real time {}.{:03} s into {}\n",
                    at.as_secs(),
                    at.subsec_millis(),
                    path.display()
                );
            }
        }
        return Ok(report);
    }

    let comparison = compare(&scenario).map_err(|e| e.to_string())?;
    let mut report = format!(
        "{days} simulated {unit}, seed {}\n\n{comparison}\n",
        scenario.seed
    );
    for kind in StrategyKind::ALL {
        report += &format!("{:<14} {}\n", kind.name(), kind.summary());
    }
    report += &format!("\n{}\n", Comparison::LEGEND);
    Ok(report)
}

// ---- The scenario file ---------------------------------------------------

/// Overrides `scenario` with the file at `path` and checks the result.
fn load(path: &Path, scenario: &mut Scenario) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let file: File = toml::from_str(&text).map_err(|e| e.to_string())?;
    file.apply(scenario)?;
    scenario.validate().map_err(|e| e.to_string())
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct File {
    days: Option<f64>,
    seed: Option<u64>,
    reconnect_after: Option<f64>,
    machine: MachineFile,
    models: ModelsFile,
    peer: PeerFile,
    clock: ClockFile,
    driver: DriverFile,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct MachineFile {
    idle: Option<f64>,
    reply_window: Option<f64>,
    max_misses: Option<u32>,
    max_step: Option<f64>,
    tolerance: Option<f64>,
    send_every: Option<f64>,
    mode: Option<Mode>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Active,
    Passive,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ModelsFile {
    interval: Option<f64>,
    timeout: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PeerFile {
    latency_min: Option<f64>,
    latency_max: Option<f64>,
    slow_probability: Option<f64>,
    slow_latency: Option<f64>,
    heartbeat_every: Option<f64>,
    mean_life: Option<f64>,
    deaths: Option<Vec<f64>>,
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
    at: f64,
    /// Negative steps back.
    by: f64,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RandomFile {
    per_day: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    backward_probability: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct DriverFile {
    sleep: Option<SleepFile>,
    lateness_max: Option<f64>,
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
    at: f64,
    length: f64,
}

/// A number as a person would write it: plain, or in scientific notation
/// when very large or very small.
fn number(value: f64) -> String {
    let size = value.abs();
    if size == 0.0 || (1e-6..1e15).contains(&size) || !size.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

/// A field in seconds as a duration, or an error naming the field.
fn seconds(field: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        let value = number(value);
        format!("{field} = {value}: not a number of seconds from 0 up")
    })
}

/// A field in days as a duration, at most [`Scenario::MAX_DURATION`].
fn in_days(field: &str, days: f64) -> Result<Duration, String> {
    let max = Scenario::MAX_DURATION.as_secs_f64() / 86_400.0;
    let problem = if days.is_nan() || days < 0.0 {
        "not a number of days from 0 up"
    } else if days > max {
        "longer than 100 years (36,500 days)"
    } else if let Ok(duration) = Duration::try_from_secs_f64(days * 86_400.0) {
        return Ok(duration);
    } else {
        "not a number of days from 0 up"
    };
    Err(format!("{field} = {}: {problem}", number(days)))
}

/// Overwrites `target` with the field's value when the file gives one.
fn set(target: &mut Duration, field: &str, value: Option<f64>) -> Result<(), String> {
    if let Some(value) = value {
        *target = seconds(field, value)?;
    }
    Ok(())
}

/// A field where 0 turns the feature off.
fn optional(field: &str, value: f64) -> Result<Option<Duration>, String> {
    let duration = seconds(field, value)?;
    Ok((!duration.is_zero()).then_some(duration))
}

fn pauses(field: &str, list: Vec<PauseFile>) -> Result<Vec<Pause>, String> {
    list.into_iter()
        .map(|p| {
            Ok(Pause {
                at: seconds(&format!("{field}.at"), p.at)?,
                length: seconds(&format!("{field}.length"), p.length)?,
            })
        })
        .collect()
}

impl File {
    fn apply(self, scenario: &mut Scenario) -> Result<(), String> {
        if let Some(days) = self.days {
            scenario.duration = in_days("days", days)?;
        }
        scenario.seed = self.seed.unwrap_or(scenario.seed);
        let again = &mut scenario.reconnect_after;
        set(again, "reconnect_after", self.reconnect_after)?;
        scenario.machine = self.machine.build(&scenario.machine)?;

        let (models, file) = (&mut scenario.models, self.models);
        set(&mut models.interval, "models.interval", file.interval)?;
        set(&mut models.timeout, "models.timeout", file.timeout)?;

        let (peer, file) = (&mut scenario.peer, self.peer);
        set(&mut peer.latency_min, "peer.latency_min", file.latency_min)?;
        set(&mut peer.latency_max, "peer.latency_max", file.latency_max)?;
        set(
            &mut peer.slow_latency,
            "peer.slow_latency",
            file.slow_latency,
        )?;
        if let Some(p) = file.slow_probability {
            peer.slow_probability = p;
        }
        if let Some(every) = file.heartbeat_every {
            peer.heartbeat_every = optional("peer.heartbeat_every", every)?;
        }
        if let Some(mean) = file.mean_life {
            peer.mean_life = optional("peer.mean_life", mean)?;
        }
        if let Some(deaths) = file.deaths {
            peer.deaths = deaths
                .into_iter()
                .map(|at| seconds("peer.deaths", at))
                .collect::<Result<_, _>>()?;
        }

        self.clock.apply(&mut scenario.clock)?;
        self.driver.apply(&mut scenario.driver)
    }
}

impl MachineFile {
    /// The machine's config: `base` overridden by the file. Step and
    /// tolerance stay derived from the window unless the file sets them.
    fn build(self, base: &Config) -> Result<Config, String> {
        let mut builder = Config::builder()
            .idle(base.idle())
            .reply_window(base.reply_window())
            .max_misses(self.max_misses.unwrap_or(base.max_misses()));
        if let Some(idle) = self.idle {
            builder = builder.idle(seconds("machine.idle", idle)?);
        }
        if let Some(window) = self.reply_window {
            builder = builder.reply_window(seconds("machine.reply_window", window)?);
        }
        if let Some(step) = self.max_step {
            builder = builder.max_step(seconds("machine.max_step", step)?);
        }
        if let Some(tolerance) = self.tolerance {
            builder = builder.tolerance(seconds("machine.tolerance", tolerance)?);
        }
        let every = match self.send_every {
            Some(every) => Some(seconds("machine.send_every", every)?),
            None => base.send_every(),
        };
        if let Some(every) = every {
            builder = builder.send_every(every);
        }
        let passive = match self.mode {
            Some(mode) => mode == Mode::Passive,
            None => base.mode() == keepalive::Mode::Passive,
        };
        if passive {
            builder = builder.passive();
        }
        builder.build().map_err(|e| format!("[machine]: {e}"))
    }
}

impl ClockFile {
    fn apply(self, clock: &mut keepalive::sim::ClockModel) -> Result<(), String> {
        if let Some(jumps) = self.jumps {
            clock.jumps = jumps
                .into_iter()
                .map(|jump| {
                    let at = seconds("clock.jumps.at", jump.at)?;
                    let by = Duration::try_from_secs_f64(jump.by.abs()).map_err(|_| {
                        let by = number(jump.by);
                        format!("clock.jumps.by = {by}: not a finite number of seconds")
                    })?;
                    Ok(if jump.by < 0.0 {
                        Jump::backward(at, by)
                    } else {
                        Jump::forward(at, by)
                    })
                })
                .collect::<Result<_, String>>()?;
        }

        let file = self.random;
        let mut random = clock.random.unwrap_or(RandomJumps {
            per_day: 0.0,
            min: Duration::ZERO,
            max: Duration::ZERO,
            backward_probability: 0.0,
        });
        set(&mut random.min, "clock.random.min", file.min)?;
        set(&mut random.max, "clock.random.max", file.max)?;
        if let Some(per_day) = file.per_day {
            random.per_day = per_day;
        }
        if let Some(p) = file.backward_probability {
            random.backward_probability = p;
        }
        clock.random = (random.per_day != 0.0).then_some(random);
        Ok(())
    }
}

impl DriverFile {
    fn apply(self, driver: &mut keepalive::sim::DriverModel) -> Result<(), String> {
        if let Some(sleep) = self.sleep {
            driver.sleep = match sleep {
                SleepFile::Absolute => Sleep::Absolute,
                SleepFile::Relative => Sleep::Relative,
            };
        }
        if let Some(order) = self.order {
            driver.order = match order {
                OrderFile::InputFirst => Order::InputFirst,
                OrderFile::TimerFirst => Order::TimerFirst,
            };
        }
        if let Some(hint) = self.resume_hint {
            driver.resume_hint = match hint {
                HintFile::Off => ResumeHint::Off,
                HintFile::Unknown => ResumeHint::Unknown,
                HintFile::Slept => ResumeHint::Slept,
            };
        }
        let lateness = &mut driver.lateness_max;
        set(lateness, "driver.lateness_max", self.lateness_max)?;
        if let Some(p) = self.early_probability {
            driver.early_probability = p;
        }
        if let Some(p) = self.spurious_probability {
            driver.spurious_probability = p;
        }
        if let Some(stalls) = self.stalls {
            driver.stalls = pauses("driver.stalls", stalls)?;
        }
        if let Some(suspends) = self.suspends {
            driver.suspends = pauses("driver.suspends", suspends)?;
        }
        Ok(())
    }
}
