//! A simulator that replays liveness strategies against a misbehaving
//! clock, a slow or dying peer and an unreliable driver (`std` only).
//!
//! Real time is the ground truth. The process only ever sees its
//! *observed* clock: real time plus every jump so far, standing still
//! while the host sleeps. Every input a strategy gets is stamped with the
//! observed instant; the peer, the deaths and the driver's timers live in
//! real time.
//!
//! * [`Scenario`] bundles the models: [`PeerModel`], [`ClockModel`],
//!   [`DriverModel`], the crate's [`crate::Config`] and the
//!   [`ModelConfig`] of the older designs. [`Scenario::s0`] is the
//!   founding case.
//! * [`run`] drives one [`Strategy`] through a scenario and returns its
//!   [`Stats`] and, for a chosen span, a [`Trace`] whose `Display` is a
//!   readable timeline.
//! * [`run_recorded`] does the same and also returns a [`Record`] of every
//!   probe, heartbeat, overdue input and verdict in real time, which
//!   [`check::check_scenario`] holds against the bounds of
//!   `docs/guarantees.md`.
//! * [`compare`] runs the three built-in strategies ([`StrategyKind`])
//!   and renders a table; [`incident`] finds a healthy master dropped by
//!   [`Design::TwoTimers`] and traces all three around it.
//!
//! The same seed replays the same run, forever: every random draw comes
//! from an in-house generator keyed by [`Scenario::seed`].
//!
//! ```
//! use std::time::Duration;
//! use keepalive::sim::{compare, Scenario};
//!
//! let mut scenario = Scenario::s0();
//! scenario.duration = Duration::from_secs(86_400);
//! let comparison = compare(&scenario).expect("S0 is a valid scenario");
//!
//! let crate_stats = comparison.stats.last().expect("three strategies");
//! assert!(crate_stats.healthy_drops.is_empty());
//! print!("{comparison}");
//! ```

pub mod check;
mod clock;
mod driver;
pub mod fuzz;
mod peer;
mod record;
mod report;
mod rng;
mod run;
mod scenario;
mod strategy;
mod trace;

pub use clock::{ClockModel, Jump, RandomJumps, CLOCK_ORIGIN};
pub use driver::{DriverModel, Order, Pause, ResumeHint, Sleep};
pub use peer::PeerModel;
pub use record::{Handed, Heard, HeartbeatFact, Overdue, ProbeFact, Record, VerdictFact};
pub use report::{compare, incident, Comparison, Detection, Incident, Spread, Stats};
pub use run::{run, run_recorded, Outcome, RunOptions};
pub use scenario::{Bound, Scenario, SimError};
pub use strategy::{
    Design, Event, MachineStrategy, Model, ModelConfig, Response, Sent, Strategy, StrategyKind,
    Wake,
};
pub use trace::{Entry, Note, Reading, Row, Step, Trace};
