//! Property tests: the guarantees of `docs/guarantees.md` over generated
//! configs, peers, clocks and drivers.
//!
//! | property | what it checks | how |
//! |---|---|---|
//! | P1 total | no panic, every call well-formed, a forward discontinuity re-probes | direct driving with arbitrary instants, and the simulator |
//! | P2 safety | a healthy peer within the precondition is never declared dead | `check_scenario` |
//! | P3 liveness | a dead peer is declared dead within the bound | `check_scenario` |
//! | P4 input first | input right after a late wake-up beats the expiring window | direct driving |
//! | P5 determinism | same inputs, same outputs; a clone follows the original | both |
//! | P6 no surprises | without discontinuities the machine is a plain reference model | direct driving |
//! | P7 polite prober | a peer probing no faster than the limit is struck only through backward steps the machine cannot see | a prober under jumping clocks |
//! | P8 abusive prober | the abuse verdict comes exactly at the strike past the limit | the same, against a strike count |
//! | P9 jitter | every jittered idle period lies within its range, and a seed replays them | direct driving |
//! | P10 boot clock | a suspend, a stall and a clock step are told apart, the sleep measured exactly | direct driving with a boot clock |
//!
//! Each property runs `PROPTEST_CASES` cases (256 by default; CI sets
//! 10,000). Failures are saved to `proptest-regressions/properties.txt`,
//! which is committed so that a case once found is replayed first forever.

mod strategies;

use std::time::Duration;

use keepalive::sim::check::{check_scenario, Checker, ScenarioReport, ScenarioViolation};
use keepalive::sim::{run_recorded, MachineStrategy, RunOptions, Scenario};
use keepalive::{
    Action, Actions, Cause, Config, DiscontinuityKind, Evidence, Input, Jitter, Machine, Mode,
    Nanos, Probe, ProbeReason, Reason, Wakeup,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use strategies::{nanos, ns, Call, Focus, What};

/// The cases come from `PROPTEST_CASES` (proptest's default reads it);
/// failures go to the committed regressions file.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// The calls a direct-driving property makes at most. Long enough to cross
/// several windows, a verdict and a reset; short enough that a case costs
/// well under a millisecond.
const CALLS: usize = 160;

/// More wake-ups than a silent peer takes to exhaust any `sim_config`
/// (four windows of at most twenty wake-ups each, after an idle period
/// of at most four windows). A run that reaches it is a machine that
/// never lets a window end.
const WAKE_UP_LIMIT: usize = 10_000;

// ---- Driving the machine directly --------------------------------------------

/// One call made, and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Made {
    now: Nanos,
    input: Input,
    /// Inbound traffic or a reply to a probe issued since the last reset.
    heard: bool,
    /// Credited time of the last send (a probe, a heartbeat or `Sent`)
    /// before the call, since the last reset.
    last_send: Duration,
    actions: Actions<Nanos>,
    wakeup: Option<Wakeup<Nanos>>,
}

/// Turns the described calls into concrete `(instant, input)` pairs
/// against `machine`, feeding each one, and returns what every call made.
/// `on_call` sees the machine before and after each call.
fn drive(
    machine: &mut Machine<Nanos>,
    start: Nanos,
    calls: &[Call],
    mut on_call: impl FnMut(&Machine<Nanos>, &Machine<Nanos>, &Made) -> Result<(), TestCaseError>,
) -> Result<Vec<Made>, TestCaseError> {
    let tolerance = machine.config().tolerance();
    let mut checker = Checker::new(machine);
    let mut last = start;
    let mut issued = Vec::new();
    // Where the probes issued since the last reset start in `issued`.
    let mut since_reset = 0;
    let mut last_send = Duration::ZERO;
    let mut made = Vec::with_capacity(calls.len());
    for call in calls {
        let wake = machine.next_wakeup().map(|wakeup| wakeup.at);
        let now = call.when.resolve(last, wake, tolerance);
        let input = call.what.resolve(&issued);
        let heard = match input {
            Input::Inbound | Input::PeerProbe => true,
            Input::Reply { seq } => issued[since_reset..].contains(&seq),
            _ => false,
        };
        let before = machine.clone();

        let actions = machine.handle(now, input);

        if input == Input::Reset {
            since_reset = issued.len();
        }
        if let Some(probe) = actions.probe() {
            issued.push(probe.seq);
        }
        let step = Made {
            now,
            input,
            heard,
            last_send,
            actions,
            wakeup: machine.next_wakeup(),
        };
        checker
            .check(machine, now, input, &actions)
            .map_err(|violation| TestCaseError::fail(format!("{violation} ({step:?})")))?;
        on_call(&before, machine, &step)?;
        let sent = matches!(
            actions.output,
            Some(Action::SendProbe(_) | Action::SendHeartbeat | Action::SendReply)
        );
        if input == Input::Reset {
            last_send = Duration::ZERO;
        } else if (sent || input == Input::Sent) && !before.is_dead() {
            last_send = machine.credited();
        }
        last = now;
        made.push(step);
    }
    Ok(made)
}

/// Rules e and g, checked call by call. In active mode:
///
/// * a forward discontinuity (a late step or a resume hint) on any input
///   but inbound traffic sends a probe in the same call when none was
///   outstanding;
/// * a resume hint sends one even when one was, unless something was sent
///   at that very credited instant already (several hints at one instant
///   send one probe);
/// * and only then: a late step with a probe outstanding, a backward step
///   or inbound traffic sends no discontinuity probe (one probe per
///   discontinuity, never a burst).
fn reprobes_after_discontinuity(
    before: &Machine<Nanos>,
    after: &Machine<Nanos>,
    made: &Made,
) -> Result<(), TestCaseError> {
    let active = before.config().mode() == Mode::Active;
    if made.input == Input::Reset || !active || before.is_dead() || after.is_dead() {
        return Ok(());
    }
    let kind = made.actions.discontinuity.map(|seen| seen.kind);
    let resume = matches!(kind, Some(DiscontinuityKind::Resume { .. }));
    let late = matches!(kind, Some(DiscontinuityKind::Late { .. }));
    let unprobed = late && !before.window_open() && !made.heard;

    match made.actions.probe().map(|probe| probe.reason) {
        Some(ProbeReason::Discontinuity) => {
            prop_assert!(unprobed, "a discontinuity probe without cause: {made:?}");
        }
        Some(ProbeReason::Resume) => {
            prop_assert!(resume, "a resume probe without a hint: {made:?}");
        }
        _ => {}
    }

    let repeated = before.window_open() && made.last_send == after.credited();
    let due = unprobed || resume && !made.heard && !repeated;
    prop_assert!(
        !due || made.actions.probe().is_some(),
        "a forward discontinuity sent no probe: {made:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// P1: any config, any instants (the ends of the `Nanos` range, steps
    /// back and forth across all of it, exactly at and one past every
    /// boundary), any inputs: no panic, every call well-formed, and every
    /// forward discontinuity followed by its probe.
    #[test]
    fn p1_any_instants_and_inputs_give_well_formed_actions(
        config in strategies::any_config(),
        start in strategies::start(),
        calls in strategies::calls(CALLS),
    ) {
        let mut machine = Machine::new(config, start);
        drive(&mut machine, start, &calls, |before, after, made| {
            prop_assert!(made.actions.into_iter().count() <= 3);
            reprobes_after_discontinuity(before, after, made)
        })?;
    }

    /// P1 through the simulator: arbitrary peers, clocks and drivers, every
    /// call checked. The bounds of P2 and P3 are checked on the same runs.
    #[test]
    fn p1_simulated_runs_are_well_formed_and_keep_the_bounds(
        scenario in strategies::scenario(Focus::Any),
    ) {
        expect_kept(&scenario)?;
    }

    /// P2: a peer that never dies is never declared dead when the window
    /// that began the fatal run of misses met `L + J·(S + E) < W`.
    #[test]
    fn p2_a_healthy_peer_within_the_precondition_is_never_declared_dead(
        scenario in strategies::scenario(Focus::Healthy),
    ) {
        expect_kept(&scenario)?;
    }

    /// P3: a peer that dies is declared dead within the bound of
    /// `docs/guarantees.md`, every jump, stall, sleep and backward step
    /// counted at its allowance.
    #[test]
    fn p3_a_dead_peer_is_declared_dead_within_the_bound(
        scenario in strategies::scenario(Focus::Dying),
    ) {
        expect_kept(&scenario)?;
    }
}

/// Fails the case with the broken guarantee and the scenario's numbers.
fn expect_kept(scenario: &Scenario) -> Result<ScenarioReport, TestCaseError> {
    check_scenario(scenario).map_err(|violation| match violation {
        ScenarioViolation::Invalid(error) => {
            TestCaseError::fail(format!("the strategy made an invalid scenario: {error}"))
        }
        violation => TestCaseError::fail(violation.to_string()),
    })
}

// ---- P4: input first ---------------------------------------------------------------

/// How the late call that reaches the window's end comes about.
#[derive(Clone, Copy, Debug)]
enum LateCall {
    /// The timer fires this long past `E` after its instant (a stall, a
    /// forward jump, a host sleep the clock counted).
    Timer(u64),
    /// The host resumed, this long past `E` after the pending wake-up.
    Resume(u64),
}

/// When the input that waited behind the late call is delivered,
/// relative to the late call.
#[derive(Clone, Copy, Debug)]
enum Behind {
    /// At the same instant: it was queued behind the timer.
    Same,
    /// Later, by any amount (a jump between the two calls).
    Later(u64),
    /// Earlier: the clock stepped back between the two calls.
    Earlier(u64),
}

/// What the waiting input is.
#[derive(Clone, Copy, Debug)]
enum Waiting {
    Inbound,
    /// The reply to the first unanswered probe.
    FirstReply,
    /// The reply to the latest probe.
    LatestReply,
}

fn late_call() -> impl Strategy<Value = LateCall> {
    let beyond = prop_oneof![1u64..=1_000, 1u64..=1 << 40, 1u64..=1 << 62];
    prop_oneof![
        3 => beyond.clone().prop_map(LateCall::Timer),
        1 => beyond.prop_map(LateCall::Resume),
    ]
}

fn behind() -> impl Strategy<Value = Behind> {
    prop_oneof![
        3 => Just(Behind::Same),
        1 => prop_oneof![0u64..=1_000, 0u64..=1 << 62].prop_map(Behind::Later),
        1 => prop_oneof![1u64..=1_000, 1u64..=1 << 62].prop_map(Behind::Earlier),
    ]
}

fn waiting() -> impl Strategy<Value = Waiting> {
    prop_oneof![
        Just(Waiting::Inbound),
        Just(Waiting::FirstReply),
        Just(Waiting::LatestReply),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// P4: a reply (passive mode: a heartbeat) delivered right after a late
    /// wake-up wins over the window that wake-up would have expired.
    ///
    /// The late call is placed where it matters: at the first wake-up
    /// whose credit (the wait plus `E`) reaches the window's end, in the
    /// window chosen by `window` (the last one before the verdict by
    /// default), so that without the grace turn the call would count the
    /// miss, or declare the peer dead.
    #[test]
    fn p4_input_behind_a_late_wake_up_wins_over_the_expiring_window(
        config in strategies::sim_config(),
        start in 0u64..=1 << 62,
        window in prop_oneof![3 => Just(None), 1 => (0u32..4).prop_map(Some)],
        late in late_call(),
        behind in behind(),
        waiting in waiting(),
    ) {
        let start = Nanos(start);
        let mut machine = Machine::new(config, start);
        let last = config.max_misses() - 1;
        let target = window.map_or(last, |window| window.min(last));
        let tolerance = nanos(config.tolerance());

        let window_length = nanos(config.reply_window());

        // The silent peer: every timer on time until the late call is due.
        // `opened` is where the first window started in credited time
        // (passive mode: the idle deadline); window `k` ends `k + 1`
        // windows after it, anchored to the first.
        let mut now = start;
        let mut probes: Vec<u64> = Vec::new();
        let mut opened = None;
        let mut calls = 0;
        let wake = loop {
            calls += 1;
            prop_assert!(calls <= WAKE_UP_LIMIT, "the target window never came to its end");
            let wake = machine.next_wakeup().expect("no verdict before the target window");
            let credited_wake = nanos(machine.credited()) + (wake.at.0 - now.0);
            if let Some(opened) = opened {
                let end = opened + window_length * u64::from(machine.misses() + 1);
                if machine.misses() == target && credited_wake + tolerance >= end {
                    break wake;
                }
            }
            now = wake.at;
            let actions = machine.on_timer(now);
            prop_assert!(actions.dead().is_none(), "dead before the target window");
            if let Some(probe) = actions.probe() {
                probes.push(probe.seq);
            }
            if machine.window_open() && opened.is_none() {
                opened = Some(match config.mode() {
                    Mode::Active => nanos(machine.credited()),
                    Mode::Passive => nanos(config.idle()),
                });
            }
        };
        let misses = machine.misses();

        let (at, actions) = match late {
            LateCall::Timer(beyond) => {
                let at = Nanos(wake.at.0.saturating_add(tolerance).saturating_add(beyond));
                (at, machine.on_timer(at))
            }
            LateCall::Resume(beyond) => {
                let at = Nanos(wake.at.0.saturating_add(tolerance).saturating_add(beyond));
                (at, machine.on_resume(at, None))
            }
        };
        prop_assert!(actions.dead().is_none(), "the late call declared the peer dead");
        prop_assert_eq!(machine.misses(), misses, "the late call counted a miss");
        prop_assert_eq!(
            machine.next_wakeup().map(|w| w.reason),
            Some(Reason::Grace),
            "the late call gave no grace turn"
        );

        let behind_at = match behind {
            Behind::Same => at,
            Behind::Later(by) => Nanos(at.0.saturating_add(by)),
            Behind::Earlier(by) => Nanos(at.0.saturating_sub(by)),
        };
        let input = match (config.mode(), waiting) {
            (Mode::Passive, _) | (_, Waiting::Inbound) => Input::Inbound,
            (Mode::Active, Waiting::FirstReply) => Input::Reply { seq: probes[0] },
            (Mode::Active, Waiting::LatestReply) => Input::Reply {
                seq: *probes.last().expect("a window is open, so a probe went out"),
            },
        };
        let actions = machine.handle(behind_at, input);
        prop_assert!(actions.dead().is_none(), "the waiting input lost to the window");
        prop_assert_eq!(machine.misses(), 0, "the expired window was counted");
        // A window may be open again at once, but only for a send
        // obligation that fell due, never as a retry of the old one.
        let retried = actions.probe().is_some_and(|probe| probe.reason == ProbeReason::Retry);
        prop_assert!(!retried, "the expired window was retried");
    }
}

// ---- P5: determinism ------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// P5 through the simulator: the same scenario twice gives the same
    /// trace, the same counts and the same recorded facts.
    #[test]
    fn p5_the_same_scenario_gives_the_same_run(scenario in strategies::scenario(Focus::Any)) {
        let options = RunOptions {
            trace: Some(Duration::ZERO..scenario.duration),
            max_steps: None,
        };
        let once = run_recorded(&scenario, &mut MachineStrategy::new(scenario.machine), &options);
        let twice = run_recorded(&scenario, &mut MachineStrategy::new(scenario.machine), &options);
        prop_assert_eq!(once, twice);
    }

    /// P5 directly: a clone taken anywhere and fed the same suffix answers
    /// exactly as the original does.
    #[test]
    fn p5_a_clone_fed_the_same_suffix_answers_the_same(
        config in strategies::any_config(),
        start in strategies::start(),
        calls in strategies::calls(CALLS),
        split in any::<prop::sample::Index>(),
    ) {
        let split = split.index(calls.len() + 1);
        let mut machine = Machine::new(config, start);
        let prefix = drive(&mut machine, start, &calls[..split], |_, _, _| Ok(()))?;
        let last = prefix.last().map_or(start, |made| made.now);

        let mut clone = machine.clone();
        let original = drive(&mut machine, last, &calls[split..], |_, _, _| Ok(()))?;
        let copy = drive(&mut clone, last, &calls[split..], |_, _, _| Ok(()))?;
        prop_assert_eq!(original, copy);
    }
}

// ---- P6: no jumps, no surprises ----------------------------------------------------

/// The machine as the contract describes it when nothing jumps: a driver
/// whose every input comes at most `E` after the wake-up the machine asked
/// for, never earlier than the previous input and never with a resume
/// hint. Time is then simply the time since creation; no grace turn, no
/// discontinuity probe and no clamp can come into play.
///
/// Written from `docs/design.md`, rule by rule, without looking at how the
/// machine stores its state.
#[derive(Clone, Debug)]
struct Reference {
    idle: u64,
    window: u64,
    step: u64,
    send_every: Option<u64>,
    misses_allowed: u32,
    passive: bool,

    /// Where time zero is: the creation or the last reset.
    origin: Nanos,
    now: u64,
    /// The pending wake-up and its reason.
    wake: u64,
    reason: Reason,
    dead: bool,

    last_inbound: u64,
    last_send: u64,
    /// The open window: its start and its end.
    open: Option<(u64, u64)>,
    misses: u32,
    /// Evidence since the last inbound traffic.
    probes_sent: u32,
    waited: Option<(u64, u64)>,

    /// Probes issued since the last reset, and the next number.
    first_seq: u64,
    next_seq: u64,
}

impl Reference {
    fn new(config: &Config, origin: Nanos) -> Self {
        let mut reference = Reference {
            idle: nanos(config.idle()),
            window: nanos(config.reply_window()),
            step: nanos(config.max_step()),
            send_every: config.send_every().map(nanos),
            misses_allowed: config.max_misses(),
            passive: config.mode() == Mode::Passive,
            origin,
            now: 0,
            wake: 0,
            reason: Reason::Idle,
            dead: false,
            last_inbound: 0,
            last_send: 0,
            open: None,
            misses: 0,
            probes_sent: 0,
            waited: None,
            first_seq: 0,
            next_seq: 0,
        };
        reference.schedule();
        reference
    }

    fn wakeup(&self) -> Option<Wakeup<Nanos>> {
        (!self.dead).then(|| Wakeup {
            at: self.origin + ns(self.wake),
            reason: self.reason,
        })
    }

    fn call(&mut self, at: Nanos, input: Input) -> Actions<Nanos> {
        if input == Input::Reset {
            // A new connection: everything but the config and the
            // sequence numbers starts over.
            *self = Reference {
                origin: at,
                first_seq: self.next_seq,
                ..Reference::new_like(self)
            };
            return Actions {
                timer: self.wakeup(),
                ..Actions::none()
            };
        }
        if self.dead {
            return Actions::none();
        }
        self.now = at.0 - self.origin.0;
        let before = (self.wake, self.reason);

        // Inbound traffic and sends only note the time while nothing is
        // due: the idle and send deadlines move lazily.
        let heard = match input {
            Input::Inbound | Input::PeerProbe => true,
            Input::Reply { seq } => (self.first_seq..self.next_seq).contains(&seq),
            _ => false,
        };
        if heard {
            self.last_inbound = self.now;
            if self.open.is_none() && self.now < self.wake {
                return Actions::none();
            }
            self.open = None;
            self.misses = 0;
            self.probes_sent = 0;
            self.waited = None;
        }
        if input == Input::Sent {
            self.last_send = self.now;
            if self.now < self.wake {
                return Actions::none();
            }
        }

        let mut output = None;
        // A window's end: a miss, then a retry one window later, or the
        // verdict.
        if let Some((start, end)) = self.open {
            if self.now >= end {
                let waited = self.now - start;
                self.waited = Some(match self.waited {
                    None => (waited, waited),
                    Some((short, long)) => (short.min(waited), long.max(waited)),
                });
                self.misses += 1;
                if self.misses >= self.misses_allowed {
                    self.dead = true;
                    return Actions {
                        output: Some(Action::Dead(self.evidence())),
                        ..Actions::none()
                    };
                }
                self.open = Some((self.now, end + self.window));
                if !self.passive {
                    output = Some(self.probe(ProbeReason::Retry));
                }
            }
        }
        // The idle deadline: a probe (passive: the allowed delay starts at
        // the deadline itself).
        let due = self.last_inbound + self.idle;
        if self.open.is_none() && self.now >= due {
            if self.passive {
                self.open = Some((due, due + self.window));
            } else {
                self.open = Some((self.now, self.now + self.window));
                output = Some(self.probe(ProbeReason::Idle));
            }
        }
        // The send obligation, when nothing else went out.
        if let Some(every) = self.send_every {
            if output.is_none() && self.now >= self.last_send + every {
                if self.passive {
                    self.last_send = self.now;
                    output = Some(Action::SendHeartbeat);
                } else {
                    if self.open.is_none() {
                        self.open = Some((self.now, self.now + self.window));
                    }
                    output = Some(self.probe(ProbeReason::SendObligation));
                }
            }
        }

        self.schedule();
        Actions {
            discontinuity: None,
            output,
            // The driver hears of a new wake-up, or of a new reason for
            // the same one.
            timer: ((self.wake, self.reason) != before)
                .then(|| self.wakeup())
                .flatten(),
        }
    }

    /// A fresh reference with the config and sequence numbers of `like`.
    fn new_like(like: &Reference) -> Reference {
        let mut fresh = Reference {
            now: 0,
            wake: 0,
            reason: Reason::Idle,
            dead: false,
            last_inbound: 0,
            last_send: 0,
            open: None,
            misses: 0,
            probes_sent: 0,
            waited: None,
            ..like.clone()
        };
        fresh.schedule();
        fresh
    }

    fn probe(&mut self, reason: ProbeReason) -> Action<Nanos> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.probes_sent += 1;
        self.last_send = self.now;
        Action::SendProbe(Probe { seq, reason })
    }

    fn evidence(&self) -> Evidence {
        let (short, long) = self.waited.unwrap_or((0, 0));
        Evidence {
            probes_sent: self.probes_sent,
            windows_missed: self.misses,
            shortest_window: ns(short),
            longest_window: ns(long),
            silence: ns(self.now - self.last_inbound),
            discontinuities: 0,
        }
    }

    /// The earliest of: the window's end (or the idle deadline when none
    /// is open), a watch step while a window is open or at all times in
    /// passive mode, and the send obligation.
    fn schedule(&mut self) {
        let (mut wake, mut reason) = match self.open {
            Some((_, end)) => (end, Reason::WindowEnd),
            None => (self.last_inbound + self.idle, Reason::Idle),
        };
        if (self.open.is_some() || self.passive) && self.now + self.step < wake {
            (wake, reason) = (self.now + self.step, Reason::Watch);
        }
        if let Some(every) = self.send_every {
            if self.last_send + every < wake {
                (wake, reason) = (self.last_send + every, Reason::SendObligation);
            }
        }
        self.wake = wake;
        self.reason = reason;
    }
}

/// An input of a run without discontinuities.
#[derive(Clone, Copy, Debug)]
enum QuietWhen {
    /// At the wake-up plus this share (per mille) of `E`.
    OnTime(u16),
    /// This share (per mille) of the way from the previous input to the
    /// wake-up: early or spurious.
    Early(u16),
}

fn quiet_calls() -> impl Strategy<Value = Vec<(QuietWhen, What)>> {
    let when = prop_oneof![
        3 => Just(QuietWhen::OnTime(0)),
        1 => Just(QuietWhen::OnTime(1000)),
        2 => (0u16..=1000).prop_map(QuietWhen::OnTime),
        3 => (0u16..=1000).prop_map(QuietWhen::Early),
    ];
    let what = prop_oneof![
        8 => Just(What::Timer),
        2 => Just(What::Inbound),
        3 => (0u8..4).prop_map(What::ReplyTo),
        1 => any::<u64>().prop_map(What::ReplyAny),
        2 => Just(What::Sent),
        1 => Just(What::Reset),
    ];
    prop::collection::vec((when, what), 0..=CALLS)
}

proptest! {
    #![proptest_config(config())]

    /// P6: with no clock jump, no stall, no resume hint and a driver at
    /// most `E` late (early and spurious wake-ups allowed), the machine
    /// answers every call exactly like the reference model: the same
    /// probes, heartbeats, verdicts with the same evidence, and wake-ups at
    /// the same instants for the same reasons.
    #[test]
    fn p6_without_discontinuities_the_machine_is_the_reference_model(
        config in strategies::sim_config()
            .prop_filter("the reference has no jitter and a fixed window", |config| {
                config.jitter() == Jitter::None && config.adaptive_reply_window().is_none()
            }),
        start in 0u64..=1 << 62,
        calls in quiet_calls(),
    ) {
        let start = Nanos(start);
        let mut machine = Machine::new(config, start);
        let mut reference = Reference::new(&config, start);
        prop_assert_eq!(machine.next_wakeup(), reference.wakeup());

        let tolerance = nanos(config.tolerance());
        let mut last = start;
        let mut issued = Vec::new();
        for (index, (when, what)) in calls.into_iter().enumerate() {
            // After a verdict only a reset does anything; keep time still.
            let wake = machine.next_wakeup().map_or(last, |wakeup| wakeup.at);
            let now = match when {
                QuietWhen::OnTime(share) => {
                    Nanos(wake.0 + u64::from(share) * tolerance / 1000)
                }
                QuietWhen::Early(share) => {
                    Nanos(last.0 + (wake.0 - last.0) / 1000 * u64::from(share))
                }
            };
            let input = what.resolve(&issued);

            let actual = machine.handle(now, input);
            let expected = reference.call(now, input);

            prop_assert_eq!(
                actual, expected,
                "call {} ({:?} at {:?}) differs from the reference", index, input, now
            );
            prop_assert_eq!(machine.next_wakeup(), reference.wakeup());
            if let Some(probe) = actual.probe() {
                issued.push(probe.seq);
            }
            last = now;
        }
    }
}

// ---- P7, P8: the peer's probes -----------------------------------------------------

/// One run of a peer that probes us: what came of each of its probes.
#[derive(Debug, Default)]
struct ProbedRun {
    /// The index of the probe that got the abuse verdict.
    verdict: Option<usize>,
    /// For each probe answered or struck: its gap in credited time from
    /// the previous probe, whether a discontinuity came between them (or
    /// with it), and whether other traffic did.
    gaps: Vec<(u64, bool, bool)>,
}

/// Real time in nanoseconds from the run's start, and the clock the
/// driver reads: real time plus every jump so far, from an origin with
/// room for backward steps.
fn reading(real: u64, offset: i128) -> Nanos {
    let nanos = i128::from(1u64 << 50) + i128::from(real) + offset;
    Nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Drives a machine through a peer that probes at the real-time `gaps`
/// while the clock jumps by `jumps` (real instant, signed step) and the
/// process stalls for `stalls` (real instant, length). The driver sleeps
/// relative to now and wakes on time when it runs; whatever came during a
/// stall (probes, then the timer) is handed over when it ends, input
/// first. The peer answers each of our probes at once.
fn run_probed(
    config: Config,
    gaps: &[u64],
    jumps: &[(u64, i64)],
    stalls: &[(u64, u64)],
) -> Result<ProbedRun, TestCaseError> {
    let mut arrivals = Vec::with_capacity(gaps.len());
    let mut real = 0u64;
    for gap in gaps {
        real += gap;
        arrivals.push(real);
    }
    let mut jumps = jumps.to_vec();
    jumps.sort_unstable();
    // When something that happens at `at` reaches the machine: the end of
    // the stalls it falls in, overlapping ones taken together.
    let handed = |mut at: u64| {
        while let Some(end) = stalls
            .iter()
            .filter(|&&(from, length)| from <= at && at < from.saturating_add(length))
            .map(|&(from, length)| from.saturating_add(length))
            .max()
        {
            at = end;
        }
        at
    };
    let (min_interval, _) = config.peer_probe_limit().unwrap_or_default();
    let min_interval = nanos(min_interval);

    let (mut real, mut offset) = (0u64, 0i128);
    let mut machine = Machine::new(config, reading(0, 0));
    let mut checker = Checker::new(&machine);
    let arm = |machine: &Machine<Nanos>, real: u64, offset: i128| {
        machine.next_wakeup().map(|wakeup| {
            let wait = wakeup.at.0.saturating_sub(reading(real, offset).0);
            real.saturating_add(wait)
        })
    };
    let mut wake = arm(&machine, real, offset);
    let (mut next_probe, mut next_jump) = (0, 0);
    let mut quiet_until = 0u64;
    let mut cleared = false;
    let mut last_credited = 0u64;
    let mut run = ProbedRun::default();

    for _ in 0..WAKE_UP_LIMIT * 10 {
        let Some(probe_at) = arrivals.get(next_probe).map(|&at| handed(at)) else {
            return Ok(run);
        };
        let jump_at = jumps.get(next_jump).map(|jump| jump.0);
        let timer_at = wake.map(handed);
        // A jump comes first, then the probe (input first), then the timer.
        let input =
            if jump_at.is_some_and(|at| at <= probe_at && timer_at.map_or(true, |w| at <= w)) {
                real = real.max(jumps[next_jump].0);
                offset += i128::from(jumps[next_jump].1);
                next_jump += 1;
                continue;
            } else if timer_at.map_or(true, |w| probe_at <= w) {
                real = real.max(probe_at);
                next_probe += 1;
                Input::PeerProbe
            } else {
                real = real.max(timer_at.unwrap_or(real));
                Input::Timer
            };

        let now = reading(real, offset);
        let actions = machine.handle(now, input);
        checker
            .check(&machine, now, input, &actions)
            .map_err(|violation| TestCaseError::fail(violation.to_string()))?;
        let credited = nanos(machine.credited());
        if actions.discontinuity.is_some() {
            quiet_until = credited.saturating_add(min_interval);
        }
        if input == Input::PeerProbe {
            let voided = credited < quiet_until;
            run.gaps
                .push((credited.wrapping_sub(last_credited), voided, cleared));
            last_credited = credited;
            cleared = false;
            if actions.misbehaving().is_some() {
                run.verdict = Some(next_probe - 1);
                return Ok(run);
            }
        }
        if let Some(probe) = actions.probe() {
            let reply = machine.handle(now, Input::Reply { seq: probe.seq });
            checker
                .check(&machine, now, Input::Reply { seq: probe.seq }, &reply)
                .map_err(|violation| TestCaseError::fail(violation.to_string()))?;
            cleared = true;
        }
        prop_assert!(!machine.is_dead(), "the answering peer was declared dead");
        wake = arm(&machine, real, offset);
    }
    Err(TestCaseError::fail("runaway run"))
}

/// An active config from `sim_config` with a peer-probe limit of `share`
/// per cent of idle (above the tolerance) and `strikes` forgiven. (In
/// passive mode probes this sparse would let the peer die of silence.)
fn limited_config() -> impl Strategy<Value = Config> {
    (strategies::sim_config(), 10u64..=100, 0u16..=3).prop_map(|(config, share, strikes)| {
        let idle = nanos(config.idle());
        let min_interval =
            ns(idle / 100 * share + idle % 100 * share / 100).max(config.tolerance() * 2 + ns(2));
        let builder = Config::builder()
            .idle(config.idle().max(min_interval))
            .reply_window(config.reply_window())
            .max_misses(config.max_misses())
            .max_step(config.max_step())
            .tolerance(config.tolerance())
            .peer_probe_limit(min_interval, strikes);
        builder.build().expect("a limit above the tolerance builds")
    })
}

/// Clock jumps at real instants within the run: forward and backward, from
/// a nanosecond to days.
fn clock_jumps(max_at: u64) -> impl Strategy<Value = Vec<(u64, i64)>> {
    let step = prop_oneof![
        1i64..=1_000,
        -1_000i64..=-1,
        1i64..=1 << 47,
        -(1i64 << 47)..=-1,
    ];
    prop::collection::vec((0..=max_at, step), 0..8)
}

proptest! {
    #![proptest_config(config())]

    /// P7: a peer that never probes more often than the minimum interval
    /// less the tolerance is never found to misbehave through forward jumps
    /// of any size or stalls the machine sees, however many probes queue
    /// up behind them: a gap is only measured from `min_interval` after
    /// the last discontinuity on, where it credits the whole real gap or
    /// more. A
    /// backward step between two calls that the machine cannot see (it is
    /// smaller than the time between them) shortens the gap it falls in
    /// by its size, so a verdict needs more than `strikes` gaps that a
    /// backward step shortened below the limit.
    #[test]
    fn p7_a_peer_probing_no_faster_than_the_limit_is_struck_only_through_hidden_backward_steps(
        (config, gaps) in limited_config().prop_flat_map(|config| {
            let (min_interval, _) = config.peer_probe_limit().expect("limited");
            let low = nanos(min_interval - config.tolerance());
            (Just(config), prop::collection::vec(low..=low * 3, 1..60))
        }),
        jump_shares in clock_jumps(1000),
        forward_only in any::<bool>(),
        stall_shares in prop::collection::vec((0u64..=1000, 101u64..=1000), 0..4),
    ) {
        let (min_interval, forgiven) = config.peer_probe_limit().expect("limited");
        let low = nanos(min_interval - config.tolerance());
        let span: u64 = gaps.iter().sum();
        let jumps: Vec<_> = jump_shares
            .iter()
            .map(|&(share, step)| (span / 1000 * share, step))
            .filter(|&(_, step)| step > 0 || !forward_only)
            .collect();
        // Stalls longer than idle plus the tolerance, which the machine
        // always sees (its wake-up is never further away than idle); only
        // with a clock that does not step back, which could hide them.
        let idle = nanos(config.idle()) + nanos(config.tolerance());
        let stalls: Vec<_> = stall_shares
            .iter()
            .filter(|_| forward_only)
            .map(|&(share, length)| (span / 1000 * share, idle + 1 + idle / 100 * length))
            .collect();

        let run = run_probed(config, &gaps, &jumps, &stalls)?;

        if forward_only {
            prop_assert_eq!(run.verdict, None, "gaps: {:?}", run.gaps);
        }
        // Gaps that backward steps inside them shortened below the limit.
        let mut arrival = 0;
        let mut shortened = 0;
        for gap in &gaps[1..] {
            let from = arrival + gaps[0];
            arrival += gap;
            let back: u64 = jumps
                .iter()
                .filter(|&&(at, step)| step < 0 && at > from && at <= arrival + gaps[0])
                .map(|&(_, step)| step.unsigned_abs())
                .sum();
            if gap.saturating_sub(back) < low {
                shortened += 1;
            }
        }
        if run.verdict.is_some() {
            prop_assert!(
                shortened > forgiven,
                "a verdict with {} shortened gaps: {:?}", shortened, run.gaps
            );
        }
    }

    /// P8: the abuse verdict comes exactly at the first probe that makes
    /// the strikes exceed the forgiven ones, counting a measured short gap
    /// as one more and a run of `strikes + 1` polite ones as one fewer
    /// since the last other traffic; with a steady clock and every gap
    /// short that is the probe numbered `strikes + 1` (the first has no
    /// gap).
    #[test]
    fn p8_a_peer_probing_too_often_is_found_at_the_strike_past_the_limit(
        (config, gaps) in limited_config().prop_flat_map(|config| {
            let (min_interval, _) = config.peer_probe_limit().expect("limited");
            let high = nanos(min_interval - config.tolerance()) - 1;
            // Mostly short gaps, some polite ones.
            let gap = prop_oneof![4 => 0..=high, 1 => high + 1..=high * 3 + 1];
            (Just(config), prop::collection::vec(gap, 1..40))
        }),
        jump_shares in prop_oneof![Just(Vec::new()), clock_jumps(1000)],
    ) {
        let (min_interval, forgiven) = config.peer_probe_limit().expect("limited");
        let tolerance = nanos(config.tolerance());
        let span: u64 = gaps.iter().sum();
        let jumps: Vec<_> = jump_shares
            .iter()
            .map(|&(share, step)| (span / 1000 * share, step))
            .collect();

        let run = run_probed(config, &gaps, &jumps, &[])?;

        let (mut strikes, mut polite): (u16, u16) = (0, 0);
        let mut expected = None;
        for (index, &(gap, voided, cleared)) in run.gaps.iter().enumerate() {
            if index == 0 || cleared {
                (strikes, polite) = (0, 0);
                continue;
            }
            if voided {
                continue;
            }
            if gap + tolerance < nanos(min_interval) {
                (strikes, polite) = (strikes + 1, 0);
            } else {
                polite += 1;
                if polite > forgiven {
                    (strikes, polite) = (strikes.saturating_sub(1), 0);
                }
            }
            if strikes > forgiven {
                expected = Some(index);
                break;
            }
        }
        prop_assert_eq!(run.verdict, expected, "gaps: {:?}", run.gaps);
        let short = nanos(min_interval - config.tolerance());
        let all_short = gaps.iter().skip(1).all(|&gap| gap < short);
        if jumps.is_empty() && all_short && gaps.len() > forgiven as usize + 1 {
            prop_assert_eq!(run.verdict, Some(forgiven as usize + 1));
        }
    }
}

// ---- P9: jitter ------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// P9: with any active config, jitter and seed, and a peer that answers
    /// each probe at once, every idle period (from a reply to the next idle
    /// probe) lies within the jitter's range around `idle` and is never
    /// zero, and the same seed gives the same periods.
    #[test]
    fn p9_every_jittered_idle_period_lies_within_its_range(
        config in strategies::any_config()
            .prop_filter("active", |config| config.mode() == Mode::Active),
        jitter in strategies::jitter(),
        seed in any::<u64>(),
        start in 0u64..=1 << 62,
    ) {
        let Ok(config) = Config::builder()
            .idle(config.idle())
            .reply_window(config.reply_window())
            .max_misses(config.max_misses())
            .max_step(config.max_step())
            .tolerance(config.tolerance())
            .jitter(jitter)
            .build()
        else {
            return Ok(());
        };
        let idle = nanos(config.idle());
        let percent = match jitter {
            Jitter::Shorten { percent } | Jitter::Spread { percent } => u64::from(percent),
            _ => 0,
        };
        let reach = u64::try_from(u128::from(idle) * u128::from(percent) / 100).unwrap_or(u64::MAX);
        let (low, high) = match jitter {
            Jitter::Spread { .. } => (idle - reach, idle.saturating_add(reach)),
            _ => (idle - reach, idle),
        };

        let periods = |seed: u64| -> Result<Vec<u64>, TestCaseError> {
            let mut machine = Machine::with_seed(config, Nanos(start), seed);
            let mut heard = start;
            let mut periods = Vec::new();
            for _ in 0..200 {
                let Some(wakeup) = machine.next_wakeup() else {
                    return Err(TestCaseError::fail("an answered peer was declared dead"));
                };
                let now = wakeup.at;
                let actions = machine.on_timer(now);
                if let Some(probe) = actions.probe() {
                    if probe.reason == ProbeReason::Idle {
                        periods.push(now.0 - heard);
                    }
                    let _ = machine.on_reply(now, probe.seq);
                    heard = now.0;
                }
                if periods.len() == 20 || now.0 == u64::MAX {
                    break;
                }
            }
            Ok(periods)
        };

        let first = periods(seed)?;
        for &period in &first {
            prop_assert!(
                period >= low.max(1) && period <= high,
                "a period of {} ns outside {}..={} ns", period, low.max(1), high
            );
        }
        prop_assert_eq!(&first, &periods(seed)?);
    }
}

// ---- P10: suspend-aware time -----------------------------------------------------------

/// A disturbance of P10, at a real instant.
#[derive(Clone, Copy, Debug)]
enum Disturbance {
    /// The host sleeps this long: the driver's clock stands still, the
    /// boot clock does not.
    Suspend(u64),
    /// The process does not run this long; both clocks go on.
    Stall(u64),
    /// The driver's clock is stepped by this much; the boot clock is not.
    Step(i64),
}

fn disturbance(scale: u64) -> impl Strategy<Value = Disturbance> {
    let length = 1..=scale * 20;
    prop_oneof![
        length.clone().prop_map(Disturbance::Suspend),
        length.clone().prop_map(Disturbance::Stall),
        length
            .prop_flat_map(|length| {
                let length = i64::try_from(length).unwrap_or(i64::MAX);
                prop_oneof![Just(length), Just(-length)]
            })
            .prop_map(Disturbance::Step),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// P10: with a boot-clock reading on every input and a driver whose
    /// timer counts suspend, the first input after each disturbance
    /// reports it for what it was: a host suspend with exactly how long
    /// the host slept, a stall as a process stall, a step of the driver's
    /// clock as a clock step (each when it shows at all, and always when
    /// it is longer than the longest wait the machine can ask for plus
    /// `E`); and a peer that answers every probe is never declared dead.
    #[test]
    fn p10_the_boot_clock_tells_a_suspend_from_a_stall_from_a_clock_step(
        (config, disturbances) in strategies::sim_config()
            .prop_filter("active", |config| config.mode() == Mode::Active)
            .prop_flat_map(|config| {
                let scale = nanos(config.detection_time()).max(1);
                (Just(config), prop::collection::vec(disturbance(scale), 1..5))
            }),
    ) {
        let tolerance = nanos(config.tolerance());
        let longest_wait = nanos(config.longest_idle().max(config.reply_window())) + tolerance;
        // Far enough apart that each call sees at most one of them.
        let spacing = nanos(config.detection_time()) * 25 + longest_wait * 4;
        let mut machine = Machine::new(config, Nanos(1 << 50));
        let (mut real, mut offset) = (0u64, 0i128);
        let mono = |real: u64, offset: i128| {
            Nanos(u64::try_from(i128::from(1u64 << 50) + i128::from(real) + offset).unwrap_or(0))
        };
        let _ = machine.handle_with_boot(mono(0, 0), ns(0), Input::Timer);
        let wake_real = |machine: &Machine<Nanos>, real: u64, offset: i128| {
            let wait = machine.next_wakeup().map(|wakeup| wakeup.at.0.saturating_sub(mono(real, offset).0));
            real + wait.expect("an answered peer lives")
        };
        let mut wake = wake_real(&machine, real, offset);
        let (mut heard, mut allowance) = (0u64, 0u64);

        for (index, &disturbance) in disturbances.iter().enumerate() {
            let at = spacing * (index as u64 + 1);
            // Calls on time up to the disturbance.
            while wake < at {
                real = wake;
                let now = mono(real, offset);
                let actions = machine.handle_with_boot(now, ns(real), Input::Timer);
                if let Some(probe) = actions.probe() {
                    // A sleep counts as idle time: the idle probe is never
                    // later than the longest idle period after the last
                    // reply, plus what stalls and backward steps since
                    // then could add.
                    if probe.reason == ProbeReason::Idle {
                        let late = real - heard;
                        prop_assert!(
                            late <= longest_wait + tolerance + allowance,
                            "an idle probe {} ns after the last reply", late
                        );
                    }
                    let _ = machine.handle_with_boot(now, ns(real), Input::Reply { seq: probe.seq });
                    (heard, allowance) = (real, 0);
                }
                prop_assert!(!machine.is_dead(), "a verdict on an answering peer");
                wake = wake_real(&machine, real, offset);
            }
            // The disturbance, and the first call after it.
            // What the first call after it may report besides nothing, and
            // whether it must report that.
            let (first_call, expected, also, certain) = match disturbance {
                Disturbance::Suspend(length) => {
                    offset -= i128::from(length);
                    let slept = Some(ns(length));
                    let cause = Some(Cause::HostSuspend { slept });
                    (wake.max(at + length), cause, cause, length > tolerance)
                }
                Disturbance::Stall(length) => {
                    allowance += length;
                    let cause = Some(Cause::ProcessStall);
                    (wake.max(at + length), cause, cause, length > longest_wait)
                }
                Disturbance::Step(by) => {
                    offset += i128::from(by);
                    allowance += longest_wait;
                    // A step back shorter than the time since the last
                    // input leaves the driver's clock behind the boot clock
                    // just as a sleep would: it shows as one of its size.
                    let slept = Some(ns(by.unsigned_abs()));
                    let hidden = (by < 0).then_some(Cause::HostSuspend { slept });
                    let cause = Some(Cause::ClockStep);
                    (wake, cause, hidden.or(cause), by.unsigned_abs() > longest_wait)
                }
            };
            real = first_call;
            let now = mono(real, offset);
            let actions = machine.handle_with_boot(now, ns(real), Input::Timer);
            let seen = actions.discontinuity.map(|seen| seen.cause);
            prop_assert!(
                seen.is_none() || seen == expected || seen == also,
                "{:?} reported as {:?}", disturbance, seen
            );
            if certain {
                prop_assert_eq!(seen, expected, "{:?} went unreported", disturbance);
            }
            // The sleep is credited as time: the driver woke on time by the
            // boot clock, so some of it fits before the wake-up.
            if let Some(seen) = actions.discontinuity {
                if let Cause::HostSuspend { slept: Some(_) } = seen.cause {
                    prop_assert!(seen.credited > seen.observed, "{:?}", seen);
                }
            }
            if let Some(probe) = actions.probe() {
                let _ = machine.handle_with_boot(now, ns(real), Input::Reply { seq: probe.seq });
                (heard, allowance) = (real, 0);
            }
            prop_assert!(!machine.is_dead(), "a verdict on an answering peer");
            wake = wake_real(&machine, real, offset);
        }
    }
}
