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
//! command line and (in `file.rs`) the scenario file, and draws the
//! picture (`picture.rs`).
//!
//! # Scenario files
//!
//! TOML. Every field is optional: one left out keeps its S0 value.
//! Durations are strings such as `"9m 30s"`, `"500ms"` or `"1.5s"`, or
//! plain numbers of seconds (`idle = 570`); probabilities run from 0 to 1,
//! and a rate or period of 0 turns the feature off.
//! `docs/scenario-format.md` describes each field;
//! `examples/scenarios/s0.toml` spells out S0 in full.
//!
//! ```toml
//! days = 365              # real time to simulate, in days (or "36h")
//! seed = 2                # the same seed replays the same run
//! reconnect_after = "5s"  # after a verdict, connect again this much later
//!
//! [machine]               # this crate's Config
//! idle = "9m 30s"
//! reply_window = "30s"
//! max_misses = 1
//! # max_step, tolerance: derived from reply_window unless given
//! # send_every = "1m"
//! mode = "active"         # or "passive"
//!
//! [models]                # the two older designs
//! interval = "10m"
//! timeout = "30s"
//!
//! [peer]
//! latency_min = "5ms"
//! latency_max = "500ms"
//! slow_probability = 0.01
//! slow_latency = "2s"
//! heartbeat_every = 0     # 0: no heartbeats
//! mean_life = "10 days"   # 0: no random deaths
//! deaths = []             # real times of extra deaths
//!
//! [clock]
//! jumps = [{ at = "9m 20s", by = "45s" }, { at = "15m", by = "-5s" }]
//!
//! [clock.random]          # per_day = 0: no random jumps
//! per_day = 12.0
//! min = "10s"
//! max = "2m"
//! backward_probability = 0.0
//!
//! [driver]
//! sleep = "absolute"      # or "relative"
//! lateness_max = 0
//! early_probability = 0.0
//! spurious_probability = 0.0
//! order = "input-first"   # or "timer-first"
//! resume_hint = "slept"   # or "unknown", "off"
//! stalls = [{ at = "100s", length = "2.5s" }]
//! suspends = [{ at = "1h", length = "2m" }]
//! ```

mod file;
// The picture lives in its own file so that `tests/picture.rs` can
// include it too.
#[allow(dead_code)] // The panels' pixel areas are for the test only.
mod picture;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keepalive::sim::{compare, incident, Comparison, Scenario, StrategyKind};

use file::{in_days, number};

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
        file::load(path, &mut scenario).map_err(|e| format!("{}: {e}", path.display()))?;
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
