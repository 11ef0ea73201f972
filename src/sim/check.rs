//! Checks of the machine's guarantees, shared by the property tests, the
//! fuzz targets and the corpus tests. None of them panics: each returns
//! the broken rule as an error value.
//!
//! * [`Checker`] and [`check_inputs`] follow a machine call by call and
//!   check its well-formedness rules (P1): the timer is never armed in the
//!   past, nothing comes out after a verdict until a reset, at most one
//!   verdict per connection, a live machine always has exactly one pending
//!   wake-up that the actions announced, and the machine never asks to be
//!   woken at the same instant over and over.
//! * [`check_scenario`] (and [`check_scenario_within`], with a budget)
//!   runs the machine through a simulated [`Scenario`] and checks P1 on
//!   every call, then the bounds of `docs/guarantees.md`: a healthy peer
//!   is not declared dead while the safety precondition holds (P2), and a
//!   dead one is declared dead within the liveness bound (P3).

use core::fmt;
use core::time::Duration;

use super::run::blocked_within;
use super::{
    run_recorded, Jump, MachineStrategy, Pause, Record, RunOptions, Scenario, SimError, Sleep,
    Stats, VerdictFact,
};
use crate::{Action, Actions, Input, Instant, Machine, Mode, Wakeup};

/// How many calls in a row may answer with a wake-up at the very instant
/// they were made. The grace turn needs one; anything beyond two is a
/// loop.
pub const MAX_ZERO_LENGTH_WAKEUPS: u32 = 2;

/// A broken well-formedness rule, with the call it was seen on (counted
/// from zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A wake-up earlier than the instant of the input it answered.
    ArmedInThePast {
        /// The call.
        call: u64,
    },
    /// Actions came out of a machine that had declared the peer dead.
    ActionAfterVerdict {
        /// The call.
        call: u64,
    },
    /// A live machine without a pending wake-up, or a dead one with one.
    WakeupMismatch {
        /// The call.
        call: u64,
    },
    /// The pending wake-up or its reason changed without an `ArmTimer`
    /// action, or the action disagrees with `next_wakeup`.
    SilentRearm {
        /// The call.
        call: u64,
    },
    /// A verdict came with a timer, or a timer after the verdict.
    TimerWithVerdict {
        /// The call.
        call: u64,
    },
    /// Too many wake-ups in a row at the instant of the call.
    ZeroLengthLoop {
        /// The call.
        call: u64,
    },
    /// A live machine answered the peer's probe with neither a reply nor
    /// an abuse verdict, or a reply came without a peer probe.
    UnansweredPeerProbe {
        /// The call.
        call: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, call) = match self {
            Violation::ArmedInThePast { call } => {
                ("a wake-up was armed before the input's instant", call)
            }
            Violation::ActionAfterVerdict { call } => ("actions came out after the verdict", call),
            Violation::WakeupMismatch { call } => {
                ("a live machine had no wake-up, or a dead one had one", call)
            }
            Violation::SilentRearm { call } => {
                ("the pending wake-up moved without an ArmTimer action", call)
            }
            Violation::TimerWithVerdict { call } => {
                ("a timer was armed together with the verdict", call)
            }
            Violation::ZeroLengthLoop { call } => {
                ("the machine kept asking to be woken at once", call)
            }
            Violation::UnansweredPeerProbe { call } => (
                "the peer's probe got no reply in the same call, or a reply \
                 came unasked",
                call,
            ),
        };
        write!(f, "call {call}: {what}")
    }
}

impl std::error::Error for Violation {}

/// Follows one machine through its calls and checks each one.
///
/// Call [`Checker::new`] right after creating the machine, then
/// [`Checker::check`] after every input with what the call returned.
#[derive(Clone, Debug)]
pub struct Checker<I> {
    armed: Option<Wakeup<I>>,
    dead: bool,
    calls: u64,
    zero_length: u32,
}

impl<I: Instant + fmt::Debug> Checker<I> {
    /// Starts following `machine`, which must not have been fed yet.
    pub fn new(machine: &Machine<I>) -> Self {
        Checker {
            armed: machine.next_wakeup(),
            dead: machine.is_dead(),
            calls: 0,
            zero_length: 0,
        }
    }

    /// Checks the call `machine.handle(now, input)` that returned
    /// `actions`.
    pub fn check(
        &mut self,
        machine: &Machine<I>,
        now: I,
        input: Input,
        actions: &Actions<I>,
    ) -> Result<(), Violation> {
        let call = self.calls;
        self.calls += 1;
        let pending = machine.next_wakeup();

        if self.dead && input != Input::Reset {
            if !actions.is_empty() {
                return Err(Violation::ActionAfterVerdict { call });
            }
            if pending.is_some() {
                return Err(Violation::WakeupMismatch { call });
            }
            return Ok(());
        }
        if input == Input::Reset {
            self.dead = false;
        }

        let answered = matches!(
            actions.output,
            Some(Action::SendReply | Action::Misbehaving(_))
        );
        if answered != (input == Input::PeerProbe) {
            return Err(Violation::UnansweredPeerProbe { call });
        }
        let verdict = matches!(
            actions.output,
            Some(Action::Dead(_) | Action::Misbehaving(_))
        );
        if verdict {
            if actions.timer.is_some() {
                return Err(Violation::TimerWithVerdict { call });
            }
            self.dead = true;
        }
        if machine.is_dead() != pending.is_none() || machine.is_dead() != verdict {
            return Err(Violation::WakeupMismatch { call });
        }
        let Some(pending) = pending else {
            self.armed = None;
            return Ok(());
        };

        if pending.at < now {
            return Err(Violation::ArmedInThePast { call });
        }
        match actions.timer {
            Some(timer) if timer != pending => {
                return Err(Violation::SilentRearm { call });
            }
            // The reason counts too: a driver that logs why it wakes
            // must hear of a new reason even at the same instant.
            None if self.armed != Some(pending) => {
                return Err(Violation::SilentRearm { call });
            }
            _ => {}
        }
        self.armed = Some(pending);

        // At the last instant the type can hold no later wake-up can be
        // expressed, so waking at once there is the only honest answer.
        let end_of_time = now.checked_add(Duration::from_nanos(1)).is_none();
        if pending.at == now && input == Input::Timer && !end_of_time {
            self.zero_length += 1;
            if self.zero_length > MAX_ZERO_LENGTH_WAKEUPS {
                return Err(Violation::ZeroLengthLoop { call });
            }
        } else {
            self.zero_length = 0;
        }
        Ok(())
    }
}

/// Feeds `inputs` to `machine` in order and checks every call.
pub fn check_inputs<I: Instant + fmt::Debug>(
    machine: &mut Machine<I>,
    inputs: impl IntoIterator<Item = (I, Input)>,
) -> Result<(), Violation> {
    let mut checker = Checker::new(machine);
    for (now, input) in inputs {
        let actions = machine.handle(now, input);
        checker.check(machine, now, input, &actions)?;
    }
    Ok(())
}

// ---- Scenarios: safety (P2) and liveness (P3) -------------------------

/// What [`check_scenario`] found in a run that kept every guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioReport {
    /// The simulator's counts for the run.
    pub stats: Stats,
    /// How far the safety guarantee (P2) applied.
    pub safety: Safety,
    /// Every death of a connected peer, with the bound it was held to.
    pub deaths: Vec<DeathCheck>,
}

/// How far the safety guarantee applied to a run.
///
/// The guarantee says nothing about a reply window whose precondition
/// `L + J·(S + E) < W` fails (passive mode: a heartbeat gap with
/// `L + J·(S + E) < I + W` failing, `L` counted from the previous
/// inbound traffic). A run in which some window fails it is not a
/// violation; the healthy peers dropped after such a window are listed in
/// `excused`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Safety {
    /// Reply windows (passive mode: gaps before a heartbeat) examined:
    /// one per probe a live peer answered, or per heartbeat sent.
    pub windows: usize,
    /// Those for which the precondition failed.
    pub unmet: usize,
    /// Real times of verdicts against a live peer whose fatal window
    /// failed the precondition (or whose next heartbeat the run never
    /// saw, so that the precondition cannot be decided).
    pub excused: Vec<Duration>,
}

impl Safety {
    /// True when the precondition held for every window of the run, so
    /// that P2 covered all of it.
    pub fn applies(&self) -> bool {
        self.unmet == 0 && self.excused.is_empty()
    }
}

/// The conditions of one reply window (passive mode: one heartbeat gap),
/// in real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowFacts {
    /// Where the window starts: the probe's emission (passive mode: the
    /// previous inbound traffic).
    pub from: Duration,
    /// When the reply or heartbeat reached the process.
    pub arrives: Duration,
    /// `L`: the time from `from` to `arrives` during which the process
    /// could run. A stall or host sleep in between is counted in `jumps`
    /// instead, at `S + E`, which is all it can credit.
    pub latency: Duration,
    /// `J`: the forward clock jumps, stalls and host sleeps from `from`
    /// until the reply could be handed over. A wake-up more than `E` late
    /// with neither inside its step is not counted: the machine credits
    /// it `E` past the wake-up, less than the real time it took, so it
    /// cannot bring a window's end closer.
    pub jumps: u32,
    /// `L + J·(S + E)`.
    pub cost: Duration,
    /// What `cost` must stay below: `W` (passive mode `I + W`).
    pub limit: Duration,
}

impl WindowFacts {
    /// True when the safety precondition holds for this window.
    pub fn precondition_holds(&self) -> bool {
        self.cost < self.limit
    }
}

/// One death of a connected peer and the liveness bound (P3) it was held
/// to, all in real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeathCheck {
    /// When the peer died.
    pub died: Duration,
    /// `t`: when its last inbound traffic was handed to the machine.
    pub heard: Duration,
    /// When the verdict came; `None` when the run ended first.
    pub verdict: Option<Duration>,
    /// How long after `heard` the verdict was allowed to come.
    pub allowed: Allowance,
}

impl DeathCheck {
    /// The latest real time the verdict may come at.
    pub fn deadline(&self) -> Duration {
        self.heard.saturating_add(self.allowed.total())
    }
}

/// The liveness bound of `docs/guarantees.md`, term by term: how long after
/// the last inbound traffic a dead peer may go undeclared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance {
    /// `I + N·W + 2E` (passive mode `I + N·W + E`).
    pub base: Duration,
    /// `E` once when the span holds a forward jump, a stall or a host
    /// sleep: such a discontinuity can make the last window expire on a
    /// late call, whose grace turn waits one more wake-up, up to `E` late
    /// (`docs/guarantees.md` counts forward jumps and resume hints at
    /// nothing, which misses this wake-up).
    pub grace: Duration,
    /// Every input in the span that came more than `E` after the end of
    /// the armed timer's sleep (a late wake-up, or any input while the
    /// timer was that overdue), at its full lateness; and, for a run that
    /// ended without the verdict, how overdue the armed timer was then.
    pub late: Duration,
    /// Every stall and host sleep that overlaps the span, at its length.
    pub blocked: Duration,
    /// Every backward step in the span: `min(B, asked) + E`, where
    /// `asked` is the longest wait the machine can ask for (`S` in a
    /// window and in passive mode, `I` before an active machine's first
    /// probe), plus `B` itself when the driver sleeps to absolute
    /// instants.
    pub backward: Duration,
}

impl Allowance {
    /// The sum of the terms.
    pub fn total(&self) -> Duration {
        self.base
            .saturating_add(self.grace)
            .saturating_add(self.late)
            .saturating_add(self.blocked)
            .saturating_add(self.backward)
    }
}

/// A guarantee a simulated run broke, or a scenario that could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioViolation {
    /// The scenario was refused before running ([`Scenario::validate`]):
    /// not a fault of the machine. Fuzz targets skip such inputs.
    Invalid(SimError),
    /// The machine kept the simulator busy without end
    /// ([`SimError::Runaway`]).
    Runaway(SimError),
    /// The run needed more inputs than [`check_scenario_within`] allowed:
    /// not a fault, the scenario is too long to check.
    OverBudget {
        /// Inputs handled when the run stopped.
        inputs: u64,
    },
    /// A call broke a well-formedness rule (P1).
    Malformed(Violation),
    /// A healthy peer was declared dead although its fatal window met the
    /// safety precondition (P2).
    HealthyDrop {
        /// Real time of the verdict.
        at: Duration,
        /// The first window of the run of unanswered windows that ended
        /// in the verdict.
        window: Box<WindowFacts>,
    },
    /// A dead peer was declared dead later than the liveness bound (P3).
    LateVerdict(Box<DeathCheck>),
    /// The run ended past the liveness bound of a dead peer with no
    /// verdict (P3).
    MissedDeath(Box<DeathCheck>),
}

impl fmt::Display for ScenarioViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioViolation::Invalid(error) => write!(f, "invalid scenario: {error}"),
            ScenarioViolation::Runaway(error) => write!(f, "{error}"),
            ScenarioViolation::OverBudget { inputs } => {
                write!(f, "the run needed more than {inputs} inputs; not checked")
            }
            ScenarioViolation::Malformed(violation) => write!(f, "{violation}"),
            ScenarioViolation::HealthyDrop { at, window } => write!(
                f,
                "a healthy peer was declared dead at real time {at:?}; its \
                 window from {:?} had L = {:?} and J = {}, L + J(S + E) = \
                 {:?} below {:?}",
                window.from, window.latency, window.jumps, window.cost, window.limit
            ),
            ScenarioViolation::LateVerdict(death) => write!(
                f,
                "a peer dead since {:?} and last heard at {:?} was declared \
                 dead at {:?}, after the bound {:?} ({:?})",
                death.died,
                death.heard,
                death.verdict.unwrap_or_default(),
                death.deadline(),
                death.allowed
            ),
            ScenarioViolation::MissedDeath(death) => write!(
                f,
                "a peer dead since {:?} and last heard at {:?} was never \
                 declared dead, and the bound {:?} passed ({:?})",
                death.died,
                death.heard,
                death.deadline(),
                death.allowed
            ),
        }
    }
}

impl std::error::Error for ScenarioViolation {}

/// Runs the crate's machine through `scenario` in the simulator and checks
/// what `docs/guarantees.md` promises about it:
///
/// * **P1**: every call is well-formed ([`Checker`]), and the run ends.
/// * **P2 safety**: a peer that is alive is never declared dead when the
///   reply window that started the fatal run of misses met the
///   precondition `L + J·(S + E) < W` (see [`WindowFacts`]; passive mode
///   `< I + W`, `L` counted from the previous inbound traffic to the next
///   heartbeat). Windows that do not meet it are counted in
///   [`Safety::unmet`]; P2 makes no claim about them.
/// * **P3 liveness**: a dead peer is declared dead within the
///   [`Allowance`] of its last inbound traffic, and a run that ends past
///   that bound without a verdict misses it.
///
/// Never panics on a scenario that [`Scenario::validate`] accepts, and
/// returns [`ScenarioViolation::Invalid`] for one it refuses.
pub fn check_scenario(scenario: &Scenario) -> Result<ScenarioReport, ScenarioViolation> {
    check_run(scenario, None)
}

/// [`check_scenario`] with a budget: a run that needs more than
/// `max_inputs` machine inputs stops with [`ScenarioViolation::OverBudget`]
/// instead of running on. Fuzz targets use it, because a valid scenario
/// may ask for years of wake-ups a few nanoseconds apart.
pub fn check_scenario_within(
    scenario: &Scenario,
    max_inputs: u64,
) -> Result<ScenarioReport, ScenarioViolation> {
    check_run(scenario, Some(max_inputs))
}

fn check_run(
    scenario: &Scenario,
    max_inputs: Option<u64>,
) -> Result<ScenarioReport, ScenarioViolation> {
    let mut strategy = MachineStrategy::checked(scenario.machine);
    let options = RunOptions {
        trace: None,
        max_steps: max_inputs,
    };
    let (outcome, record) = match run_recorded(scenario, &mut strategy, &options) {
        Ok(ran) => ran,
        Err(error @ SimError::Invalid { .. }) => return Err(ScenarioViolation::Invalid(error)),
        Err(SimError::Runaway { steps, .. }) if max_inputs.is_some_and(|max| steps > max) => {
            return Err(ScenarioViolation::OverBudget { inputs: steps });
        }
        Err(error) => return Err(ScenarioViolation::Runaway(error)),
    };
    if let Some(violation) = strategy.violation() {
        return Err(ScenarioViolation::Malformed(violation.clone()));
    }

    let facts = Facts::new(scenario, &record);
    let safety = facts.safety()?;
    let deaths = facts.liveness()?;
    Ok(ScenarioReport {
        stats: outcome.stats,
        safety,
        deaths,
    })
}

/// A recorded run and the config terms the bounds use.
struct Facts<'a> {
    scenario: &'a Scenario,
    record: &'a Record,
    /// `S + E`: the most one forward discontinuity credits.
    jump_cost: Duration,
}

impl<'a> Facts<'a> {
    fn new(scenario: &'a Scenario, record: &'a Record) -> Self {
        let config = &scenario.machine;
        Facts {
            scenario,
            record,
            jump_cost: config.max_step().saturating_add(config.tolerance()),
        }
    }

    fn passive(&self) -> bool {
        self.scenario.machine.mode() == Mode::Passive
    }

    // -- P2 ---------------------------------------------------------------

    fn safety(&self) -> Result<Safety, ScenarioViolation> {
        let mut safety = Safety::default();
        for window in self.all_windows() {
            safety.windows += 1;
            if !window.precondition_holds() {
                safety.unmet += 1;
            }
        }

        let healthy = self
            .record
            .verdicts
            .iter()
            .filter(|v| v.heard.died.is_none());
        for verdict in healthy {
            match self.fatal_window(verdict) {
                Some(window) if window.precondition_holds() => {
                    return Err(ScenarioViolation::HealthyDrop {
                        at: verdict.at,
                        window: Box::new(window),
                    });
                }
                _ => safety.excused.push(verdict.at),
            }
        }
        Ok(safety)
    }

    /// Every window of the run, for [`Safety::windows`] and
    /// [`Safety::unmet`].
    fn all_windows(&self) -> Vec<WindowFacts> {
        if self.passive() {
            return self.heartbeat_gaps();
        }
        self.record
            .probes
            .iter()
            .filter_map(|probe| Some(self.window(probe.at, probe.reply?)))
            .collect()
    }

    /// The gap before each heartbeat the peer sent, from the inbound
    /// traffic handed over just before it arrived (or from the opening of
    /// its connection).
    fn heartbeat_gaps(&self) -> Vec<WindowFacts> {
        let mut heard: Vec<(u64, Duration)> = self
            .record
            .heartbeats
            .iter()
            .filter_map(|beat| Some((beat.conn, beat.handed?.at)))
            .collect();
        heard.extend((1u64..).zip(self.record.connects.iter().copied()));
        heard.sort();

        self.record
            .heartbeats
            .iter()
            .filter_map(|beat| {
                // The latest traffic on the same connection handed over
                // before this heartbeat arrived.
                let end = heard.partition_point(|&(conn, at)| {
                    conn < beat.conn || (conn == beat.conn && at < beat.arrives)
                });
                let (conn, from) = *heard.get(end.checked_sub(1)?)?;
                (conn == beat.conn).then(|| self.window(from, beat.arrives))
            })
            .collect()
    }

    /// The window that began the run of unanswered windows ending in
    /// `verdict`: the first probe after the last inbound traffic (passive
    /// mode: the gap from that traffic to the next heartbeat). `None` when
    /// the run holds no such probe or heartbeat.
    fn fatal_window(&self, verdict: &VerdictFact) -> Option<WindowFacts> {
        let heard = &verdict.heard;
        if self.passive() {
            let unheard = self.record.heartbeats.iter().filter(|beat| {
                beat.conn == heard.conn && beat.handed.map_or(true, |h| h.input > verdict.input)
            });
            let next = unheard.map(|beat| beat.arrives).min()?;
            return Some(self.window(heard.at, next));
        }
        // Inbound traffic closes every window, and a probe sent by the
        // same call (a send obligation that fell due) opens the next one.
        let first = self
            .record
            .probes
            .iter()
            .find(|probe| probe.conn == heard.conn && probe.input >= heard.input)?;
        Some(self.window(first.at, first.reply?))
    }

    /// The facts of a window from `from` whose reply or heartbeat reached
    /// the process at `arrives`.
    fn window(&self, from: Duration, arrives: Duration) -> WindowFacts {
        let config = &self.scenario.machine;
        // A reply that arrives while the process cannot run is handed over
        // when it runs again.
        let handed = self.blocked_until(arrives).unwrap_or(arrives);
        let latency = arrives
            .saturating_sub(from)
            .saturating_sub(self.blocked_within(from, arrives));
        let forward = self
            .jumps_in(from, handed)
            .iter()
            .filter(|jump| !jump.backward)
            .count();
        let pauses = self.pauses_in(from, handed).len();
        let jumps = u32::try_from(forward + pauses).unwrap_or(u32::MAX);
        let cost = latency.saturating_add(self.jump_cost.saturating_mul(jumps));
        let limit = if self.passive() {
            config.idle().saturating_add(config.reply_window())
        } else {
            config.shortest_reply_window()
        };
        WindowFacts {
            from,
            arrives,
            latency,
            jumps,
            cost,
            limit,
        }
    }

    // -- P3 ---------------------------------------------------------------

    fn liveness(&self) -> Result<Vec<DeathCheck>, ScenarioViolation> {
        let mut deaths = Vec::new();
        for verdict in &self.record.verdicts {
            let Some(died) = verdict.heard.died else {
                continue;
            };
            let death = DeathCheck {
                died,
                heard: verdict.heard.at,
                verdict: Some(verdict.at),
                allowed: self.allowance(verdict.heard.at, verdict.at),
            };
            if verdict.at > death.deadline() {
                return Err(ScenarioViolation::LateVerdict(Box::new(death)));
            }
            deaths.push(death);
        }

        let open = self.record.open_at_end;
        if let Some((heard, died)) = open.and_then(|open| Some((open.at, open.died?))) {
            let end = self.record.end;
            let mut allowed = self.allowance(heard, end);
            // The input that brings the verdict will be at least as late
            // past the armed timer as the end of the run is, and every
            // other term only grows with the span: a verdict still to
            // come would come later than this bound allows.
            let tolerance = self.scenario.machine.tolerance();
            if let Some(ends) = self.record.armed_until.filter(|&ends| ends < end) {
                let late = (end - ends).saturating_sub(self.blocked_within(ends, end));
                if late > tolerance {
                    allowed.late = allowed.late.saturating_add(late);
                }
            }
            let death = DeathCheck {
                died,
                heard,
                verdict: None,
                allowed,
            };
            if end > death.deadline() {
                return Err(ScenarioViolation::MissedDeath(Box::new(death)));
            }
            deaths.push(death);
        }
        Ok(deaths)
    }

    /// The liveness allowance for a peer last heard at `from`, over the
    /// span up to `to`.
    fn allowance(&self, from: Duration, to: Duration) -> Allowance {
        let config = &self.scenario.machine;
        let tolerance = config.tolerance();
        let tail = if self.passive() {
            tolerance
        } else {
            tolerance.saturating_mul(2)
        };
        let windows = config.reply_window().saturating_mul(config.max_misses());
        let base = config
            .longest_idle()
            .saturating_add(windows)
            .saturating_add(tail);

        let late = self
            .record
            .overdue
            .iter()
            .filter(|overdue| from < overdue.at && overdue.at <= to && overdue.by > tolerance)
            .fold(Duration::ZERO, |sum, overdue| {
                sum.saturating_add(overdue.by)
            });
        let blocked = self
            .pauses_in(from, to)
            .iter()
            .fold(Duration::ZERO, |sum, pause| {
                sum.saturating_add(pause.length)
            });

        let asked = if self.passive() {
            config.max_step()
        } else {
            config.max_step().max(config.longest_idle())
        };
        let absolute = self.scenario.driver.sleep == Sleep::Absolute;
        let backward = self
            .jumps_in(from, to)
            .iter()
            .filter(|jump| jump.backward)
            .fold(Duration::ZERO, |sum, jump| {
                let mut cost = jump.by.min(asked).saturating_add(tolerance);
                if absolute {
                    cost = cost.saturating_add(jump.by);
                }
                sum.saturating_add(cost)
            });

        let forward = self.jumps_in(from, to).iter().any(|jump| !jump.backward);
        let paused = !self.pauses_in(from, to).is_empty();
        let grace = if forward || paused {
            tolerance
        } else {
            Duration::ZERO
        };

        Allowance {
            base,
            grace,
            late,
            blocked,
            backward,
        }
    }

    // -- Real-time spans ----------------------------------------------------

    /// The jumps with real time in `(from, to]`: those the inputs after
    /// one at `from` can see, up to an input at `to`.
    fn jumps_in(&self, from: Duration, to: Duration) -> &[Jump] {
        let jumps = &self.record.jumps;
        let start = jumps.partition_point(|jump| jump.at <= from);
        let end = jumps.partition_point(|jump| jump.at <= to);
        &jumps[start..end.max(start)]
    }

    /// The stalls and host sleeps that overlap `(from, to)`.
    fn pauses_in(&self, from: Duration, to: Duration) -> &[Pause] {
        let blocked = &self.record.blocked;
        let start = blocked.partition_point(|pause| pause.end() <= from);
        let end = blocked.partition_point(|pause| pause.at < to);
        &blocked[start..end.max(start)]
    }

    /// How much of `[from, to]` the process spent stalled or asleep.
    fn blocked_within(&self, from: Duration, to: Duration) -> Duration {
        blocked_within(&self.record.blocked, from..to)
    }

    /// If the process cannot run at `at`, when it runs again.
    fn blocked_until(&self, at: Duration) -> Option<Duration> {
        let blocked = &self.record.blocked;
        let index = blocked.partition_point(|pause| pause.at <= at);
        let pause = blocked.get(index.checked_sub(1)?)?;
        (at < pause.end()).then(|| pause.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Nanos};

    #[test]
    fn a_timer_held_at_the_armed_instant_forever_is_not_a_loop() {
        let mut machine = Machine::new(Config::default(), Nanos(0));
        let mut inputs = Vec::new();
        let mut now = Nanos(0);
        for _ in 0..200 {
            now = machine.next_wakeup().map_or(now, |wakeup| wakeup.at);
            inputs.push((now, Input::Timer));
            let _ = machine.handle(now, Input::Timer);
        }

        let mut fresh = Machine::new(Config::default(), Nanos(0));
        assert_eq!(check_inputs(&mut fresh, inputs), Ok(()));
    }

    #[test]
    fn anything_after_the_verdict_is_caught() {
        let mut machine = Machine::new(Config::default(), Nanos(0));
        let mut checker = Checker::new(&machine);
        let now = loop {
            let now = machine.next_wakeup().expect("live until the verdict").at;
            let actions = machine.on_timer(now);
            checker
                .check(&machine, now, Input::Timer, &actions)
                .expect("a silent peer is checked cleanly");
            if actions.dead().is_some() {
                break now;
            }
        };
        let made_up = Actions {
            output: Some(Action::SendHeartbeat),
            ..Actions::none()
        };

        let seen = checker.check(&machine, now, Input::Timer, &made_up);

        assert!(matches!(seen, Err(Violation::ActionAfterVerdict { .. })));
    }

    // ---- Scenarios ---------------------------------------------------------

    fn secs(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// Idle 30 s, window 20 s, step 5 s, tolerance 1 s.
    fn standard(misses: u32) -> Config {
        Config::builder()
            .idle(secs(30))
            .reply_window(secs(20))
            .max_misses(misses)
            .build()
            .expect("the defaults with a few misses build")
    }

    #[test]
    fn a_month_of_s0_keeps_every_guarantee() {
        let mut scenario = Scenario::s0();
        scenario.duration = secs(30 * 86_400);

        let report = check_scenario(&scenario).expect("the machine keeps its bounds");

        assert!(report.safety.applies());
        assert!(report.safety.windows > 1_000);
        assert!(!report.deaths.is_empty());
        for death in &report.deaths {
            let verdict = death.verdict.expect("every death is noticed");
            assert!(verdict <= death.deadline());
        }
    }

    #[test]
    fn a_verdict_against_a_peer_slower_than_the_window_is_excused() {
        let mut scenario = Scenario::quiet(standard(1));
        scenario.peer.latency_min = secs(25);
        scenario.peer.latency_max = secs(25);

        let report = check_scenario(&scenario).expect("slow replies break no guarantee");

        assert!(!report.safety.excused.is_empty());
        assert_eq!(report.safety.unmet, report.safety.windows);
        assert!(!report.safety.applies());
    }

    #[test]
    fn a_quiet_death_is_held_to_idle_plus_the_windows_plus_two_tolerances() {
        let mut scenario = Scenario::quiet(standard(3));
        scenario.peer.deaths = vec![secs(1)];
        scenario.duration = secs(200);

        let report = check_scenario(&scenario).expect("the verdict comes in time");

        let death = report.deaths[0];
        // Last heard at the connection, real time zero; an on-time driver
        // declares the peer dead at exactly 30 + 3 x 20.
        assert_eq!(death.heard, Duration::ZERO);
        assert_eq!(death.verdict, Some(secs(90)));
        assert_eq!(death.deadline(), secs(92));
    }

    #[test]
    fn an_invalid_scenario_is_reported_as_invalid() {
        let mut scenario = Scenario::quiet(standard(1));
        scenario.peer.latency_min = secs(2);
        scenario.peer.latency_max = secs(1);

        let seen = check_scenario(&scenario);

        assert!(matches!(seen, Err(ScenarioViolation::Invalid(_))));
    }

    #[test]
    fn a_run_longer_than_the_budget_stops_without_a_verdict_on_the_machine() {
        let seen = check_scenario_within(&Scenario::s0(), 100);

        assert_eq!(seen, Err(ScenarioViolation::OverBudget { inputs: 101 }));
    }
}
