//! The strategies the simulator compares: this crate's machine and two
//! small models of older timer designs, all behind one trait so that the
//! same driver loop runs each.

use std::time::Duration;

use super::check::{Checker, Violation};
use super::scenario::Scenario;
use crate::{Action, Config, Discontinuity, Input, Instant, Machine, Nanos, ProbeReason, Reason};

/// What the simulated worker hands a strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A (new) connection to the peer is open.
    Connect,
    /// The reply to probe `seq` arrived.
    Reply {
        /// The probe's sequence number.
        seq: u64,
    },
    /// A heartbeat from the peer arrived.
    Heartbeat,
    /// The timer fired (on time, late, early or spuriously).
    Timer,
    /// The host woke from a sleep of `slept`, if known.
    Resume {
        /// How long, if the driver knows.
        slept: Option<Duration>,
    },
}

/// A probe a strategy sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its sequence number, which the reply carries back.
    pub seq: u64,
    /// Why it went out, for the trace.
    pub why: &'static str,
}

/// What a strategy did with one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// A clock discontinuity the strategy noticed.
    pub discontinuity: Option<Discontinuity>,
    /// A probe to send.
    pub probe: Option<Sent>,
    /// A heartbeat to send (passive mode with a send obligation).
    pub heartbeat: bool,
    /// The peer was declared dead after this much silence, as the
    /// strategy measured it.
    pub dead: Option<Duration>,
}

/// The wake-up a strategy asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wake {
    /// The observed instant.
    pub at: Nanos,
    /// Why, for the trace.
    pub why: &'static str,
}

/// A liveness strategy the simulator can drive.
///
/// Every event comes with the observed instant it happened at. After a
/// verdict the simulator sends nothing until it delivers
/// [`Event::Connect`] for the next connection.
pub trait Strategy {
    /// A short name for tables and traces.
    fn name(&self) -> &'static str;

    /// Handles one event at the observed instant `now`.
    fn handle(&mut self, now: Nanos, event: Event) -> Response;

    /// The earliest pending wake-up, if any.
    fn wakeup(&self) -> Option<Wake>;

    /// The strategy's own clock, for strategies that keep one.
    fn credited(&self) -> Option<Duration> {
        None
    }
}

/// The timers of the two [`Model`]s, in the terms of the S0 worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// The longest silence from the master allowed (600 s in S0).
    pub interval: Duration,
    /// How long a keepalive may wait for its answer (30 s in S0). The
    /// keepalive goes out `interval - timeout` after the last activity.
    pub timeout: Duration,
}

/// The three built-in strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyKind {
    /// A [`Model`] of [`Design::TwoTimers`].
    TwoTimers,
    /// A [`Model`] of [`Design::CheckAtSend`].
    CheckAtSend,
    /// [`MachineStrategy`].
    Machine,
}

impl StrategyKind {
    /// All three, oldest design first.
    pub const ALL: [StrategyKind; 3] = [
        StrategyKind::TwoTimers,
        StrategyKind::CheckAtSend,
        StrategyKind::Machine,
    ];

    /// A new strategy of this kind, configured by `scenario`.
    pub fn build(self, scenario: &Scenario) -> Box<dyn Strategy> {
        let design = match self {
            StrategyKind::TwoTimers => Design::TwoTimers,
            StrategyKind::CheckAtSend => Design::CheckAtSend,
            StrategyKind::Machine => {
                return Box::new(MachineStrategy::new(scenario.machine));
            }
        };
        Box::new(Model::new(design, scenario.models))
    }

    /// The name its strategies report.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::TwoTimers => "two-timers",
            StrategyKind::CheckAtSend => "check-at-send",
            StrategyKind::Machine => "keepalive",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            StrategyKind::TwoTimers => {
                "S0's worker: keepalive and activity check armed together \
                 after each activity"
            }
            StrategyKind::CheckAtSend => {
                "the mailing-list fix: the check is armed when the \
                 keepalive is sent"
            }
            StrategyKind::Machine => "this crate's machine, on credited time",
        }
    }
}

/// This crate's [`Machine`] as a strategy.
///
/// The simulator feeds it no [`crate::Input::Sent`]: the worker sends
/// nothing but the machine's own probes and heartbeats, which the machine
/// counts by itself.
#[derive(Clone, Debug)]
pub struct MachineStrategy {
    config: Config,
    machine: Option<Machine<Nanos>>,
    /// Follows every call when the strategy was made with
    /// [`MachineStrategy::checked`].
    checker: Option<Checker<Nanos>>,
    checked: bool,
    violation: Option<Violation>,
}

impl MachineStrategy {
    /// A strategy that creates its machine on the first connection.
    pub fn new(config: Config) -> Self {
        MachineStrategy {
            config,
            machine: None,
            checker: None,
            checked: false,
            violation: None,
        }
    }

    /// Like [`MachineStrategy::new`], and every call is also checked with
    /// a [`Checker`]; the first broken rule is kept in
    /// [`MachineStrategy::violation`]. The run goes on regardless, so the
    /// simulator's own results stay those of [`MachineStrategy::new`].
    pub fn checked(config: Config) -> Self {
        MachineStrategy {
            checked: true,
            ..MachineStrategy::new(config)
        }
    }

    /// The first well-formedness rule a call broke, if the strategy is
    /// checked and one did.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The machine, once the first connection created it.
    pub fn machine(&self) -> Option<&Machine<Nanos>> {
        self.machine.as_ref()
    }
}

impl Strategy for MachineStrategy {
    fn name(&self) -> &'static str {
        StrategyKind::Machine.name()
    }

    fn handle(&mut self, now: Nanos, event: Event) -> Response {
        let Some(machine) = &mut self.machine else {
            if event == Event::Connect {
                let machine = Machine::new(self.config, now);
                if self.checked {
                    self.checker = Some(Checker::new(&machine));
                }
                self.machine = Some(machine);
            }
            return Response::default();
        };
        let input = match event {
            Event::Connect => Input::Reset,
            Event::Reply { seq } => Input::Reply { seq },
            Event::Heartbeat => Input::Inbound,
            Event::Timer => Input::Timer,
            Event::Resume { slept } => Input::Resume { slept },
        };
        let actions = machine.handle(now, input);
        if let Some(checker) = &mut self.checker {
            if let Err(violation) = checker.check(machine, now, input, &actions) {
                self.violation.get_or_insert(violation);
            }
        }

        // The timer is re-read through `wakeup` by the simulator.
        let mut response = Response {
            discontinuity: actions.discontinuity,
            ..Response::default()
        };
        match actions.output {
            Some(Action::SendProbe(probe)) => {
                response.probe = Some(Sent {
                    seq: probe.seq,
                    why: probe_reason(probe.reason),
                });
            }
            Some(Action::SendHeartbeat) => response.heartbeat = true,
            Some(Action::Dead(evidence)) => response.dead = Some(evidence.silence),
            _ => {}
        }
        response
    }

    fn wakeup(&self) -> Option<Wake> {
        let wakeup = self.machine.as_ref()?.next_wakeup()?;
        Some(Wake {
            at: wakeup.at,
            why: wake_reason(wakeup.reason),
        })
    }

    fn credited(&self) -> Option<Duration> {
        self.machine.as_ref().map(Machine::credited)
    }
}

fn probe_reason(reason: ProbeReason) -> &'static str {
    match reason {
        ProbeReason::Idle => "idle",
        ProbeReason::Retry => "retry",
        ProbeReason::SendObligation => "send obligation",
        ProbeReason::Discontinuity => "discontinuity",
        ProbeReason::Resume => "resume",
    }
}

fn wake_reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Idle => "idle",
        Reason::SendObligation => "send obligation",
        Reason::WindowEnd => "window end",
        Reason::Watch => "watch",
        Reason::Grace => "grace",
    }
}

/// Which older design a [`Model`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// The S0 worker's design: two independent timers.
    ///
    /// After any activity from the master at observed time `a` it arms a
    /// "send keepalive" timer at `a + interval - timeout` and a "check
    /// activity" timer at `a + interval`. The check drops the connection
    /// when nothing arrived in the last `interval` of observed time; since
    /// every activity re-arms it, a check that comes due always drops. A
    /// jump past both instants fires them back to back, keepalive first:
    /// the check runs before the reply can arrive.
    TwoTimers,
    /// The fix proposed on the mailing list for S0.
    ///
    /// The keepalive timer is armed as in `TwoTimers`; the activity check
    /// is armed only when the keepalive is sent, `timeout` after the send,
    /// and drops the connection when no activity came since the send
    /// (activity cancels it). A jump that lands before the send is
    /// harmless; one of `timeout` or more that lands between the send and
    /// the reply still drops a healthy master.
    CheckAtSend,
}

/// A small model of an older keepalive design, written from the public
/// descriptions of S0 to compare the machine with; it models the timer
/// logic only, not any product.
///
/// Both designs fire every timer that is due when woken, keepalive first,
/// and take heartbeats as activity like replies. Host sleeps mean nothing
/// to them.
#[derive(Clone, Debug)]
pub struct Model {
    design: Design,
    config: ModelConfig,
    last_activity: Nanos,
    keepalive: Option<Nanos>,
    check: Option<Nanos>,
    next_seq: u64,
}

impl Model {
    /// A model of `design` with these timers.
    pub fn new(design: Design, config: ModelConfig) -> Self {
        Model {
            design,
            config,
            last_activity: Nanos(0),
            keepalive: None,
            check: None,
            next_seq: 0,
        }
    }
}

impl Strategy for Model {
    fn name(&self) -> &'static str {
        match self.design {
            Design::TwoTimers => StrategyKind::TwoTimers.name(),
            Design::CheckAtSend => StrategyKind::CheckAtSend.name(),
        }
    }

    fn handle(&mut self, now: Nanos, event: Event) -> Response {
        let mut response = Response::default();
        let ModelConfig { interval, timeout } = self.config;
        match event {
            Event::Connect | Event::Reply { .. } | Event::Heartbeat => {
                self.last_activity = now;
                self.keepalive = Some(now + interval.saturating_sub(timeout));
                self.check = match self.design {
                    Design::TwoTimers => Some(now + interval),
                    Design::CheckAtSend => None,
                };
            }
            Event::Timer => {
                if self.keepalive.is_some_and(|at| at <= now) {
                    self.keepalive = None;
                    response.probe = Some(Sent {
                        seq: self.next_seq,
                        why: "keepalive timer",
                    });
                    self.next_seq += 1;
                    if self.design == Design::CheckAtSend {
                        self.check = Some(now + timeout);
                    }
                }
                if self.check.is_some_and(|at| at <= now) {
                    self.check = None;
                    let silence = now.saturating_duration_since(self.last_activity);
                    response.dead = Some(silence);
                }
            }
            Event::Resume { .. } => {}
        }
        response
    }

    fn wakeup(&self) -> Option<Wake> {
        let keepalive = self.keepalive.map(|at| Wake {
            at,
            why: "keepalive",
        });
        let check = self.check.map(|at| Wake { at, why: "check" });
        match (keepalive, check) {
            (Some(k), Some(c)) => Some(if c.at < k.at { c } else { k }),
            (k, c) => k.or(c),
        }
    }
}
