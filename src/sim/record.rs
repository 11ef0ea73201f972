//! What a recorded run adds to its [`super::Outcome`]: the per-probe,
//! per-heartbeat, per-wake-up and per-verdict facts that the bound checks
//! in [`super::check`] need, in real time.
//!
//! The counters in [`super::Stats`] say *whether* a healthy peer was
//! dropped or a death went unnoticed; these facts say *under which
//! conditions*, so that a check can tell a broken guarantee from a run
//! the guarantee does not cover.

use std::time::Duration;

use super::clock::Jump;
use super::driver::Pause;

/// A probe a strategy sent, and what became of its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeFact {
    /// The connection it was sent on (counted from 1).
    pub conn: u64,
    /// The input that emitted it (counted from 1, as [`super::Stats::inputs`]).
    pub input: u64,
    /// Real time of the emission.
    pub at: Duration,
    /// Its sequence number.
    pub seq: u64,
    /// Real time the reply reaches the process's socket; `None` when the
    /// peer was dead at the emission and never answers.
    pub reply: Option<Duration>,
    /// When the reply was handed to the strategy, if it was.
    pub handed: Option<Handed>,
}

/// A heartbeat the peer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatFact {
    /// The connection it was sent on.
    pub conn: u64,
    /// Real time it reaches the process's socket.
    pub arrives: Duration,
    /// When it was handed to the strategy, if it was.
    pub handed: Option<Handed>,
}

/// The input a reply or heartbeat was handed over on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handed {
    /// The input (counted from 1).
    pub input: u64,
    /// Its real time.
    pub at: Duration,
}

/// An input handed to the strategy after the sleep of the timer armed at
/// the time had ended: a timer that fired late, or any other input that
/// came while the timer was overdue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    /// The input.
    pub input: u64,
    /// Its real time.
    pub at: Duration,
    /// How long after the end of the sleep it came, leaving out any time
    /// the process was stalled or asleep meanwhile (that is a pause of its
    /// own in [`Record::blocked`]).
    pub by: Duration,
}

/// The last inbound traffic of a connection at some moment, and the
/// peer's death if it had died by then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    /// The connection.
    pub conn: u64,
    /// Real time the last inbound traffic (or the connection itself) was
    /// handed to the strategy.
    pub at: Duration,
    /// That input.
    pub input: u64,
    /// Real time the peer died, if it had.
    pub died: Option<Duration>,
}

/// A verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerdictFact {
    /// The input that returned it.
    pub input: u64,
    /// Real time of the verdict.
    pub at: Duration,
    /// The connection's last inbound traffic before it, and the peer's
    /// death (`None`: a healthy peer was dropped).
    pub heard: Heard,
}

/// The facts of one recorded run, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Every probe.
    pub probes: Vec<ProbeFact>,
    /// Every heartbeat the peer sent.
    pub heartbeats: Vec<HeartbeatFact>,
    /// Every input that came after the armed timer's sleep had ended.
    pub overdue: Vec<Overdue>,
    /// Every verdict.
    pub verdicts: Vec<VerdictFact>,
    /// Real time each connection opened, connection 1 first.
    pub connects: Vec<Duration>,
    /// The connection still open when the run ended, if any.
    pub open_at_end: Option<Heard>,
    /// When the sleep of its timer, still armed when the run ended,
    /// ends (or ended).
    pub armed_until: Option<Duration>,
    /// Every clock jump of the run, by real time.
    pub jumps: Vec<Jump>,
    /// Every stall and host sleep, merged where they overlap, by start.
    pub blocked: Vec<Pause>,
    /// Real time when the run ended.
    pub end: Duration,
}
