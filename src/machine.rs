//! The liveness machine: the credited clock and the rules applied in it.

use core::borrow::Borrow;
use core::time::Duration;

use crate::action::{
    Abuse, Action, Actions, Cause, Discontinuity, DiscontinuityKind, Evidence, Input, Probe,
    ProbeReason, Reason, Rtt, Wakeup,
};
use crate::config::{share_of, Config, Jitter, Mode};
use crate::time::{add_or_farthest, nanos_of, Instant};

/// When the credited clock reaches this many nanoseconds (146 years) every
/// credited value is shifted down, so that no sum ever overflows. Configs
/// span at most 2^60 ns, so the shift never changes a comparison that
/// matters (see [`Machine::rebase`]).
const REBASE_AT: u64 = 1 << 62;

/// Where the credited clock stands after a rebase.
const REBASED_TO: u64 = 1 << 61;

/// `last_inbound` while inbound traffic taken on the hot path has not been
/// credited yet (see [`Machine::hot_until`]). Credited values stay below
/// [`REBASE_AT`], so no real value collides with it.
const HEARD_UNCREDITED: u64 = u64::MAX;

/// `rtt_min` before the first round trip is measured.
const NO_RTT: u64 = u64::MAX;

/// `last_boot` before the first reading of the suspend-counting clock.
const NO_BOOT: u64 = u64::MAX;

/// The liveness machine for one connection.
///
/// Feed it every input with the instant it happened at; act on the
/// [`Actions`] each call returns; keep one timer armed at
/// [`Machine::next_wakeup`]. See the crate documentation for the driving
/// loop and the guarantees.
///
/// # Credited time
///
/// The machine keeps its own clock, credited time, and every deadline lives
/// on it. Each input advances it by the step the driver's clock shows since
/// the previous input, but never by more than the pending wake-up plus the
/// tolerance, and not at all when the clock went backward. A forward jump
/// of any size therefore costs a reply window at most
/// `max_step + tolerance`.
///
/// # The config
///
/// By default the machine holds its own copy of the [`Config`] (64
/// bytes). A server whose connections share one config can let each
/// machine borrow it instead, with anything that borrows a `Config`: a
/// `&'static Config`, an `Arc<Config>` or an `Rc<Config>` (8 bytes each).
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
/// use keepalive::{Config, Machine};
///
/// let shared = Arc::new(Config::builder().idle(Duration::from_secs(20)).build()?);
/// let machines: Vec<Machine<Instant, Arc<Config>>> = (0..3)
///     .map(|seed| Machine::with_seed(Arc::clone(&shared), Instant::now(), seed))
///     .collect();
/// assert_eq!(machines[2].config().idle(), Duration::from_secs(20));
/// # Ok::<(), keepalive::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Machine<I, C = Config> {
    config: C,

    /// The instant of the latest input, whichever way the clock went.
    last_now: I,
    /// Inbound traffic at an instant from `last_now` up to, not including,
    /// this one is the hot path: it only records the instant (see
    /// [`Machine::on_inbound`]). Equal to or before `last_now` when the
    /// hot path is closed.
    hot_until: I,
    /// Credited nanoseconds since creation or the last reset, as of
    /// `last_now`, or as of an earlier instant while `last_inbound` is
    /// [`HEARD_UNCREDITED`].
    credited: u64,
    /// The pending wake-up in credited time; never below `credited`.
    wake: u64,
    reason: Reason,

    /// [`HEARD_UNCREDITED`] after the hot path, until the next other call
    /// credits the step (see [`Machine::credit_heard`]).
    last_inbound: u64,
    last_send: u64,

    /// A reply window (passive mode: a period of allowed delay) is open.
    open: bool,
    window_start: u64,
    window_end: u64,
    misses: u32,
    grace_used: bool,
    dead: bool,

    /// Since the last inbound traffic, for the evidence.
    probes_sent: u32,
    discontinuities: u32,
    shortest_window: u64,
    longest_window: u64,

    next_seq: u64,
    /// The first sequence number issued since the last reset.
    reset_seq: u64,

    /// The peer's probes, for the abuse policy: whether the next one has
    /// a previous one to be measured from (one came and no other traffic
    /// since, so that `last_inbound` is when it came), the credited time
    /// before which gaps are not measured (`min_interval` after the last
    /// discontinuity), and the strikes since the last other traffic.
    peer_probe_measurable: bool,
    peer_probe_quiet_until: u64,
    strikes: u16,
    /// Polite gaps in a row since the last strike or forgiveness.
    polite_run: u16,

    /// The round-trip estimate ([`Rtt`]), in nanoseconds; `rtt_min` is
    /// [`NO_RTT`] until the first measurement.
    rtt_min: u64,
    srtt: u64,
    rttvar: u64,
    /// The latest probe opened or renewed the window at `window_start`
    /// with no discontinuity since: its reply can be measured.
    rtt_pending: bool,

    /// The latest reading of the suspend-counting clock, in nanoseconds
    /// ([`Machine::handle_with_boot`]), or [`NO_BOOT`].
    last_boot: u64,
}

/// How the credit stage classified the step to the current input.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Credited in full (it may still be early or spurious).
    OnTime { observed: u64 },
    /// Past the pending wake-up plus the tolerance; credit was clamped.
    Late {
        observed: u64,
        by: u64,
        credited: u64,
        cause: Cause,
    },
    /// The clock went backward; nothing was credited.
    Backward { by: u64 },
    /// The suspend-counting clock moved `slept` further than the driver's:
    /// the step and the sleep were credited together, up to the pending
    /// wake-up plus the tolerance.
    Slept {
        observed: u64,
        slept: u64,
        credited: u64,
    },
}

/// What the input said about the peer, for the rules stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// Inbound traffic or an answer to an issued probe.
    Heard,
    /// The peer probed us: inbound traffic that must be answered.
    PeerProbe,
    /// A reply to the latest probe, whose round trip can be measured.
    Measured,
    Sent,
    /// A timer, a reply nobody asked for, or anything else without news.
    Nothing,
    Resume(Option<Duration>),
}

impl<I: Instant, C: Borrow<Config> + Clone> Machine<I, C> {
    /// A machine for a connection that is open at `now`, with seed zero
    /// (see [`Machine::with_seed`]).
    ///
    /// Arm the timer at [`Machine::next_wakeup`] before waiting.
    pub fn new(config: C, now: I) -> Self {
        Machine::with_seed(config, now, 0)
    }

    /// A machine for a connection that is open at `now`, whose probes are
    /// numbered from `seed` on.
    ///
    /// With [`Jitter`] configured the seed also decides every jittered
    /// idle period: give each connection its own (a connection counter,
    /// random bytes), or connections opened together keep probing
    /// together. The same seed and inputs give the same periods.
    pub fn with_seed(config: C, now: I, seed: u64) -> Self {
        let mut machine = Machine {
            config,
            last_now: now,
            hot_until: now,
            credited: 0,
            wake: 0,
            reason: Reason::Idle,
            last_inbound: 0,
            last_send: 0,
            open: false,
            window_start: 0,
            window_end: 0,
            misses: 0,
            grace_used: false,
            dead: false,
            probes_sent: 0,
            discontinuities: 0,
            shortest_window: 0,
            longest_window: 0,
            next_seq: seed,
            reset_seq: seed,
            peer_probe_measurable: false,
            peer_probe_quiet_until: 0,
            strikes: 0,
            polite_run: 0,
            rtt_min: NO_RTT,
            srtt: 0,
            rttvar: 0,
            rtt_pending: false,
            last_boot: NO_BOOT,
        };
        machine.schedule(false);
        machine.open_hot_path();
        machine
    }

    /// Feeds one input. Equivalent to the `on_*` method of the same name.
    pub fn handle(&mut self, now: I, input: Input) -> Actions<I> {
        match input {
            Input::Inbound => self.on_inbound(now),
            Input::Reply { seq } => self.on_reply(now, seq),
            Input::PeerProbe => self.on_peer_probe(now),
            Input::Sent => self.on_sent(now),
            Input::Timer => self.on_timer(now),
            Input::Resume { slept } => self.on_resume(now, slept),
            Input::Reset => self.reset(now),
        }
    }

    /// Feeds one input together with a reading of a clock that counts
    /// host suspend (`CLOCK_BOOTTIME` on Linux: time since boot, sleep
    /// included), while `now` comes from one that does not
    /// (`CLOCK_MONOTONIC`, which `std::time::Instant` reads on Linux).
    ///
    /// Comparing the two clocks' steps from one input to the next, the
    /// machine tells a host suspend (the boot clock moved further: reported
    /// as [`DiscontinuityKind::Suspend`], the sleep credited like time that
    /// passed, so the idle probe is not late, and a probe sent at once as
    /// after a resume hint) from a process stall (both moved alike beyond
    /// the wake-up) and from a step of the driver's clock (only `now`
    /// moved, or it went back), in [`Discontinuity::cause`].
    ///
    /// Give a reading with every input once you give one: a plain call in
    /// between makes the next comparison span a different interval. The
    /// first reading only sets the reference, as does one that went back.
    pub fn handle_with_boot(&mut self, now: I, boot: Duration, input: Input) -> Actions<I> {
        let boot = nanos_of(boot).min(NO_BOOT - 1);
        let step = match self.last_boot {
            NO_BOOT => None,
            last => boot.checked_sub(last),
        };

        let actions = match input {
            Input::Inbound => self.inbound_with(now, step),
            Input::Reply { seq } => self.reply_with(now, seq, step),
            Input::PeerProbe => self.peer_probe_with(now, step),
            Input::Sent => self.sent_with(now, step),
            Input::Timer => self.timer_with(now, step),
            Input::Resume { slept } => self.resume_with(now, slept, step),
            Input::Reset => self.reset(now),
        };
        // After the call (a reset starts a new machine): the reference for
        // the next reading.
        self.last_boot = boot;
        actions
    }

    /// Inbound traffic with the boot clock's step: the hot path, unless
    /// the boot clock shows the host slept since the last input.
    fn inbound_with(&mut self, now: I, boot: Option<u64>) -> Actions<I> {
        if self.slept(now, boot) == 0 && self.take_hot_path(now) {
            return Actions::none();
        }
        self.on_inbound_slow(now, boot)
    }

    /// How much further the boot clock moved than the driver's clock since
    /// the last input, when that is more than the tolerance; else zero.
    fn slept(&self, now: I, boot: Option<u64>) -> u64 {
        let Some(boot) = boot else {
            return 0;
        };
        let observed = nanos_of(now.saturating_duration_since(self.last_now));
        let slept = boot.saturating_sub(observed);
        if slept > self.config().tolerance {
            slept
        } else {
            0
        }
    }

    /// Traffic arrived from the peer.
    ///
    /// The hot path: with no window open and nothing due it only records
    /// the instant and leaves the pending wake-up alone. The idle deadline
    /// moves lazily, when the timer next fires.
    pub fn on_inbound(&mut self, now: I) -> Actions<I> {
        if self.take_hot_path(now) {
            return Actions::none();
        }
        self.on_inbound_slow(now, None)
    }

    /// Takes inbound traffic at `now` on the hot path if it is open there.
    /// Two comparisons of instants stand in for the credit stage: the step
    /// is credited by whichever call comes next.
    #[inline(always)]
    fn take_hot_path(&mut self, now: I) -> bool {
        if self.last_now <= now && now < self.hot_until {
            self.last_now = now;
            self.last_inbound = HEARD_UNCREDITED;
            return true;
        }
        false
    }

    /// Inbound traffic that the hot path did not take. Kept out of line so
    /// that the hot path needs no stack frame.
    #[inline(never)]
    fn on_inbound_slow(&mut self, now: I, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.last_inbound = self.credited;
        self.other_traffic();

        let quiet = !self.open && self.discontinuities == 0;
        if quiet && self.credited < self.wake {
            if let Step::OnTime { .. } = step {
                return Actions::none();
            }
        }
        self.settle(step, Event::Heard)
    }

    /// A reply to the probe numbered `seq` arrived.
    ///
    /// Any probe issued since the last reset counts, including one whose
    /// window already expired: a late answer still proves the peer alive.
    /// A number never issued is ignored apart from the time it carries.
    pub fn on_reply(&mut self, now: I, seq: u64) -> Actions<I> {
        self.reply_with(now, seq, None)
    }

    fn reply_with(&mut self, now: I, seq: u64, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        let issued = seq.wrapping_sub(self.reset_seq) < self.next_seq.wrapping_sub(self.reset_seq);
        let latest = seq == self.next_seq.wrapping_sub(1);
        if issued && latest && self.rtt_pending {
            if self.open {
                self.credit_heard();
                let step = self.credit(now, boot);
                self.last_inbound = self.credited;
                self.other_traffic();
                return self.settle(step, Event::Measured);
            }
            // Other traffic closed the window first: the reply is plain
            // inbound traffic (the hot path, if open), measured after from
            // the probe's instant, which a probe sent in the same call (a
            // send obligation) would move.
            let sent_at = self.window_start;
            let next_seq = self.next_seq;
            let actions = self.inbound_with(now, boot);
            if actions.discontinuity.is_none() && !self.dead {
                let credited = self.credited_as_of_last_now();
                self.measure(credited.saturating_sub(sent_at));
            }
            if self.next_seq == next_seq {
                self.rtt_pending = false;
            }
            return actions;
        }
        if issued {
            return self.inbound_with(now, boot);
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.settle(step, Event::Nothing)
    }

    /// The peer probed us (a Ping to answer).
    ///
    /// The probe is inbound traffic, and the reply comes out of this call
    /// as [`Action::SendReply`]: it never waits for a timer. With an abuse
    /// policy ([`crate::ConfigBuilder::peer_probe_limit`]) a probe that
    /// comes too soon after the previous one, with no other traffic in
    /// between, is a strike, and the strike past the limit is an
    /// [`Action::Misbehaving`] verdict instead of the reply.
    pub fn on_peer_probe(&mut self, now: I) -> Actions<I> {
        self.peer_probe_with(now, None)
    }

    fn peer_probe_with(&mut self, now: I, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.settle(step, Event::PeerProbe)
    }

    /// Traffic was sent to the peer, other than the replies and probes the
    /// machine asked for. Clears the strikes of the abuse policy.
    pub fn on_sent(&mut self, now: I) -> Actions<I> {
        self.sent_with(now, None)
    }

    fn sent_with(&mut self, now: I, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.last_send = self.credited;
        self.other_traffic();

        if self.credited < self.wake {
            if let Step::OnTime { .. } = step {
                return Actions::none();
            }
        }
        self.settle(step, Event::Sent)
    }

    /// The timer fired. Early, late and spurious calls are all fine: an
    /// early or spurious one changes nothing but the next wake-up (rule
    /// f); a late one is a discontinuity (rule e).
    pub fn on_timer(&mut self, now: I) -> Actions<I> {
        self.timer_with(now, None)
    }

    fn timer_with(&mut self, now: I, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.settle(step, Event::Nothing)
    }

    /// The host resumed from sleep; `slept` is how long, if known.
    ///
    /// A discontinuity (rule g): a probe goes out at once, even with one
    /// outstanding, since that one may have been lost while the host
    /// slept; its window keeps the end it had. Several hints at the same
    /// instant send one probe. In passive mode with a send obligation a
    /// heartbeat goes out instead.
    pub fn on_resume(&mut self, now: I, slept: Option<Duration>) -> Actions<I> {
        self.resume_with(now, slept, None)
    }

    fn resume_with(&mut self, now: I, slept: Option<Duration>, boot: Option<u64>) -> Actions<I> {
        if self.dead {
            return Actions::none();
        }
        self.credit_heard();
        let step = self.credit(now, boot);
        self.settle(step, Event::Resume(slept))
    }

    /// A new connection replaces the old one at `now`: every bit of probe
    /// state is cleared and a verdict is lifted. Sequence numbers keep
    /// counting, so a stale reply from the old connection matches nothing.
    pub fn reset(&mut self, now: I) -> Actions<I> {
        *self = Machine::with_seed(self.config.clone(), now, self.next_seq);

        Actions {
            timer: self.next_wakeup(),
            ..Actions::none()
        }
    }

    /// The single pending wake-up and why it was chosen, or `None` once
    /// the peer is dead or misbehaving.
    #[must_use]
    pub fn next_wakeup(&self) -> Option<Wakeup<I>> {
        if self.dead {
            return None;
        }
        // While the hot path is open it ends at the wake-up.
        if self.last_now < self.hot_until {
            return Some(Wakeup {
                at: self.hot_until,
                reason: self.reason,
            });
        }
        let wait = self.wake.saturating_sub(self.credited);
        Some(Wakeup {
            at: add_or_farthest(self.last_now, Duration::from_nanos(wait)),
            reason: self.reason,
        })
    }

    /// The round trip to the peer measured so far, or `None` before the
    /// first measurement since creation or the last reset.
    #[must_use]
    pub fn rtt(&self) -> Option<Rtt> {
        (self.rtt_min != NO_RTT).then(|| Rtt {
            min: Duration::from_nanos(self.rtt_min),
            smoothed: Duration::from_nanos(self.srtt),
            variation: Duration::from_nanos(self.rttvar),
        })
    }

    /// True once the peer has been declared dead, or found to misbehave
    /// (until a reset).
    #[must_use]
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Credited time since creation or the last reset.
    #[must_use]
    pub fn credited(&self) -> Duration {
        Duration::from_nanos(self.credited_as_of_last_now())
    }

    /// Unanswered windows so far in the current run (zero when the peer
    /// was heard from since the last window opened).
    #[must_use]
    pub fn misses(&self) -> u32 {
        self.misses
    }

    /// True while a reply window (passive: a period of allowed delay) is
    /// open.
    #[must_use]
    pub fn window_open(&self) -> bool {
        self.open
    }

    /// The config the machine runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        self.config.borrow()
    }

    // ---- The hot path ---------------------------------------------------

    /// Opens the hot path for inbound traffic up to the pending wake-up,
    /// or closes it.
    ///
    /// Inbound traffic before the wake-up with no window open and no
    /// discontinuity since the last traffic only credits its step and
    /// records it as the last inbound. Steps that are all on time and
    /// forward add up to the step from the first instant to the last, so
    /// the crediting can wait for the next call that needs it, and the
    /// test for "on time and before the wake-up" is one comparison with
    /// the wake-up's instant. Called whenever the wake-up or the credited
    /// clock may have changed otherwise than by an on-time step.
    fn open_hot_path(&mut self) {
        self.hot_until = self.last_now;
        let quiet = !self.dead && !self.open && self.discontinuities == 0;
        // Below the rebase threshold no step on the hot path can rebase.
        if quiet && self.wake <= REBASE_AT {
            let wait = Duration::from_nanos(self.wake.saturating_sub(self.credited));
            if let Some(wake) = self.last_now.checked_add(wait) {
                self.hot_until = wake;
            }
        }
    }

    /// Credits the steps the hot path took since the last other call: the
    /// credited clock moves on by the time from its instant to
    /// `last_now`, which is the wait to the wake-up less what is left of
    /// it.
    fn credit_heard(&mut self) {
        if self.last_inbound == HEARD_UNCREDITED {
            self.credited = self.credited_as_of_last_now();
            self.last_inbound = self.credited;
            self.other_traffic();
        }
    }

    /// The credited clock at `last_now`.
    fn credited_as_of_last_now(&self) -> u64 {
        if self.last_inbound != HEARD_UNCREDITED {
            return self.credited;
        }
        let left = self.hot_until.saturating_duration_since(self.last_now);
        self.wake.saturating_sub(nanos_of(left))
    }

    // ---- Stage 1: credit the step --------------------------------------

    /// Rule d: advances the credited clock by the step to `now`, clamped
    /// to the pending wake-up plus the tolerance (zero for a step to an
    /// earlier or equal instant), and classifies the step.
    fn credit(&mut self, now: I, boot: Option<u64>) -> Step {
        if now < self.last_now {
            let by = nanos_of(self.last_now.saturating_duration_since(now));
            self.last_now = now;
            return Step::Backward { by };
        }

        // With the boot clock's step, a host sleep that the driver's clock
        // did not count is time that passed too (rule k).
        let slept = self.slept(now, boot);
        let observed = nanos_of(now.saturating_duration_since(self.last_now));
        self.last_now = now;
        let asked = self.wake.saturating_sub(self.credited);
        let allowed = asked.saturating_add(self.config().tolerance);
        let step = observed.saturating_add(slept);

        let credited = step.min(allowed);
        self.credited = self.credited.saturating_add(credited);
        let step = if slept != 0 {
            Step::Slept {
                observed,
                slept,
                credited,
            }
        } else if observed <= allowed {
            Step::OnTime { observed }
        } else {
            // Both clocks moved alike: the process did not run. Only the
            // driver's moved: its clock was stepped.
            let cause = match boot {
                None => Cause::Unknown,
                Some(boot) if boot.saturating_add(self.config().tolerance) < observed => {
                    Cause::ClockStep
                }
                Some(_) => Cause::ProcessStall,
            };
            Step::Late {
                observed,
                by: observed - asked,
                credited: allowed,
                cause,
            }
        };
        if self.credited >= REBASE_AT {
            self.rebase();
        }
        step
    }

    /// Shifts every credited value down by the same amount.
    ///
    /// Values more than 2^61 ns in the past clamp at zero, which keeps them
    /// further in the past than any config can look (2^60 ns), so every
    /// deadline compares as before.
    fn rebase(&mut self) {
        let shift = self.credited - REBASED_TO;
        for value in [
            &mut self.credited,
            &mut self.wake,
            &mut self.last_inbound,
            &mut self.last_send,
            &mut self.window_start,
            &mut self.window_end,
            &mut self.peer_probe_quiet_until,
        ] {
            *value = value.saturating_sub(shift);
        }
    }

    // ---- Stage 2: apply the rules in credited time ---------------------

    fn settle(&mut self, step: Step, event: Event) -> Actions<I> {
        let mut actions = Actions::none();
        let previous = (self.wake, self.reason);

        actions.discontinuity = reported(step, event);
        if actions.discontinuity.is_some() {
            self.discontinuities = self.discontinuities.saturating_add(1);
            // The probes that queued up behind a stall arrive together,
            // and the first one after them may be measured from one that
            // queued: no gap within `min_interval` of the discontinuity
            // says anything about the peer's rate.
            self.peer_probe_quiet_until = self
                .credited
                .saturating_add(self.config().peer_probe_interval);
        }
        // A backward step credits nothing, so it cannot make a window
        // expire early and needs neither a grace turn nor a probe.
        let slept = matches!(step, Step::Slept { .. });
        let forward =
            matches!(step, Step::Late { .. }) || slept || matches!(event, Event::Resume(_));

        match event {
            Event::Heard => self.heard(),
            Event::PeerProbe => {
                // Measured before `heard` moves the last inbound instant.
                actions.output = Some(self.answer_peer_probe());
                self.heard();
                // The reply is a send, and it goes out in this call.
                self.last_send = self.credited;
            }
            Event::Measured => {
                if actions.discontinuity.is_none() {
                    self.measure(self.credited.saturating_sub(self.window_start));
                }
                self.rtt_pending = false;
                self.heard();
            }
            Event::Sent => self.last_send = self.credited,
            Event::Nothing | Event::Resume(_) => {}
        }

        let grace = self.expire_window(forward, &mut actions);
        if self.dead {
            self.open_hot_path();
            return actions;
        }
        self.open_window_when_idle(&mut actions);
        if forward && !matches!(event, Event::Heard | Event::PeerProbe | Event::Measured) {
            self.probe_after_discontinuity(event, slept, &mut actions);
        }
        self.keep_send_obligation(&mut actions);
        // A probe sent on a call that saw a discontinuity went out at an
        // instant the clock cannot vouch for.
        if actions.discontinuity.is_some() {
            self.rtt_pending = false;
        }

        self.schedule(grace);
        self.open_hot_path();
        let clock_moved = !matches!(step, Step::OnTime { .. });
        if clock_moved || (self.wake, self.reason) != previous {
            actions.timer = self.next_wakeup();
        }
        actions
    }

    /// Rule c: any inbound traffic clears every outstanding probe and the
    /// miss count.
    fn heard(&mut self) {
        self.last_inbound = self.credited;
        self.open = false;
        self.misses = 0;
        self.grace_used = false;
        self.probes_sent = 0;
        self.discontinuities = 0;
        self.shortest_window = 0;
        self.longest_window = 0;
    }

    /// Rule i: traffic other than the peer's probes clears the strikes, and
    /// the next probe's gap is not measured.
    fn other_traffic(&mut self) {
        self.strikes = 0;
        self.polite_run = 0;
        self.peer_probe_measurable = false;
    }

    /// Rule i: the reply to the peer's probe, or the abuse verdict when
    /// this probe is the strike past the limit. The gap is measured in
    /// credited time from the previous probe, unless it ends less than
    /// `min_interval` after a discontinuity (this call's included): a jump
    /// or a stall says nothing about how often the peer probes. A short
    /// gap adds a strike; `strikes + 1` polite ones in a row take one
    /// away.
    fn answer_peer_probe(&mut self) -> Action<I> {
        let gap = self.credited.saturating_sub(self.last_inbound);
        let measured = self.peer_probe_measurable && self.credited >= self.peer_probe_quiet_until;
        self.peer_probe_measurable = true;

        let min_interval = self.config().peer_probe_interval;
        if min_interval == 0 || !measured {
            return Action::SendReply;
        }
        if gap.saturating_add(self.config().tolerance) >= min_interval {
            // A run of polite gaps, one longer than the strikes allowed,
            // forgives one strike: the strikes that stalls the machine
            // could not see left behind do not pile up over a long
            // connection, while a peer that slips a short gap into every
            // such run still runs out of strikes.
            self.polite_run = self.polite_run.saturating_add(1);
            if self.polite_run > self.config().peer_probe_strikes {
                self.strikes = self.strikes.saturating_sub(1);
                self.polite_run = 0;
            }
            return Action::SendReply;
        }
        self.polite_run = 0;
        self.strikes = self.strikes.saturating_add(1);
        if self.strikes <= self.config().peer_probe_strikes {
            return Action::SendReply;
        }

        self.dead = true;
        Action::Misbehaving(Abuse {
            strikes: self.strikes,
            gap: Duration::from_nanos(gap),
            min_interval: Duration::from_nanos(min_interval),
        })
    }

    /// Rules c and e: counts an expired window, retries or declares the
    /// peer dead, unless this late call earns the window its grace turn.
    /// Returns true when the grace turn was given.
    fn expire_window(&mut self, forward: bool, actions: &mut Actions<I>) -> bool {
        let now = self.credited;
        if !self.open || now < self.window_end {
            return false;
        }
        if forward && !self.grace_used {
            self.grace_used = true;
            return true;
        }

        let waited = now - self.window_start;
        if self.misses == 0 || waited < self.shortest_window {
            self.shortest_window = waited;
        }
        self.longest_window = self.longest_window.max(waited);
        self.misses = self.misses.saturating_add(1);

        if self.misses >= self.config().max_misses {
            self.dead = true;
            actions.output = Some(Action::Dead(self.evidence()));
            actions.timer = None;
            return false;
        }

        // Anchored to the first unanswered probe: the next window ends one
        // window after this one, however late this call came.
        self.window_start = now;
        self.window_end = self.window_end.saturating_add(self.window_length());
        self.grace_used = false;
        if self.config().mode == Mode::Active {
            actions.output = Some(self.probe(ProbeReason::Retry));
        }
        false
    }

    /// Rule a: after `idle` of inbound silence a probe goes out (passive
    /// mode: the allowed delay starts).
    fn open_window_when_idle(&mut self, actions: &mut Actions<I>) {
        let due = self.last_inbound.saturating_add(self.idle_period());
        if self.open || self.credited < due {
            return;
        }
        match self.config().mode {
            Mode::Active => {
                self.open_window(self.credited);
                actions.output = Some(self.probe(ProbeReason::Idle));
            }
            Mode::Passive => self.open_window(due),
        }
    }

    /// Rules e and g: one probe after a forward discontinuity when none is
    /// outstanding, and one after a resume hint in any case, since the
    /// outstanding probe may have been lost while the host slept. The
    /// deadlines stay anchored to the first unanswered probe. In passive
    /// mode with a send obligation a heartbeat goes out instead, because
    /// the peer may have been waiting for our traffic through the gap.
    fn probe_after_discontinuity(&mut self, event: Event, slept: bool, actions: &mut Actions<I>) {
        if actions.output.is_some() {
            return;
        }
        // A measured sleep is a resume the driver did not report. A second
        // hint at the instant of the last send adds nothing.
        let resume = (slept || matches!(event, Event::Resume(_)))
            && !(self.open && self.last_send == self.credited);
        match self.config().mode {
            Mode::Active if resume || !self.open => {
                let reason = if resume {
                    ProbeReason::Resume
                } else {
                    ProbeReason::Discontinuity
                };
                if !self.open {
                    self.open_window(self.credited);
                }
                actions.output = Some(self.probe(reason));
            }
            Mode::Passive if self.config().send_every != 0 && self.last_send != self.credited => {
                self.last_send = self.credited;
                actions.output = Some(Action::SendHeartbeat);
            }
            Mode::Active | Mode::Passive => {}
        }
    }

    /// Rule c: the send obligation, measured from the last send (S6).
    fn keep_send_obligation(&mut self, actions: &mut Actions<I>) {
        let every = self.config().send_every;
        if every == 0 || actions.output.is_some() {
            return;
        }
        if self.credited < self.last_send.saturating_add(every) {
            return;
        }
        match self.config().mode {
            Mode::Active => {
                if !self.open {
                    self.open_window(self.credited);
                }
                actions.output = Some(self.probe(ProbeReason::SendObligation));
            }
            Mode::Passive => {
                self.last_send = self.credited;
                actions.output = Some(Action::SendHeartbeat);
            }
        }
    }

    /// Rule j: one round-trip measurement, folded into the estimate as
    /// RFC 6298 does (the variation first, from the old smoothed value).
    fn measure(&mut self, sample: u64) {
        if self.rtt_min == NO_RTT {
            self.rtt_min = sample;
            self.srtt = sample;
            self.rttvar = sample / 2;
            return;
        }
        let deviation = self.srtt.abs_diff(sample);
        self.rttvar = self.rttvar - self.rttvar / 4 + deviation / 4;
        self.srtt = self.srtt - self.srtt / 8 + sample / 8;
        self.rtt_min = self.rtt_min.min(sample);
    }

    /// The length of a window opened now: the reply window, or with an
    /// adaptive window `smoothed + 4 × variation` within its bounds (the
    /// longest until the first measurement).
    fn window_length(&self) -> u64 {
        let longest = self.config().window;
        let shortest = self.config().window_min;
        if shortest == 0 || self.rtt_min == NO_RTT {
            return longest;
        }
        let timeout = self.srtt.saturating_add(self.rttvar.saturating_mul(4));
        timeout.clamp(shortest, longest)
    }

    /// The idle period before the next probe: `idle`, or with [`Jitter`]
    /// a draw that depends only on the seed (the first number since the
    /// last reset) and the next probe's number, so it stays the same until
    /// a probe goes out and every deadline computed from it agrees.
    fn idle_period(&self) -> u64 {
        let idle = self.config().idle;
        let jitter = self.config().jitter();
        let (percent, spread) = match jitter {
            Jitter::None => return idle,
            Jitter::Shorten { percent } => (percent, false),
            Jitter::Spread { percent } => (percent, true),
        };
        let stream = mix(self.reset_seq);
        let draw = mix(self.next_seq.wrapping_add(stream)) >> 32;
        let reach = share_of(idle, u64::from(percent), 100);
        let period = if spread {
            let offset = share_of(reach.saturating_mul(2), draw, 1 << 32);
            (idle - reach).saturating_add(offset)
        } else {
            idle - share_of(reach, draw, 1 << 32)
        };
        period.max(1)
    }

    fn open_window(&mut self, start: u64) {
        self.open = true;
        self.window_start = start;
        self.window_end = start.saturating_add(self.window_length());
        self.grace_used = false;
    }

    /// Rule b: the window has already started when the probe is handed
    /// out, so a send stuck behind a backlog cannot delay it.
    fn probe(&mut self, reason: ProbeReason) -> Action<I> {
        // Only a probe that starts a window's wait is measured: the others
        // (after a discontinuity or a resume) go out inside a window whose
        // start is older, or at an instant the clock cannot vouch for.
        let measurable = matches!(
            reason,
            ProbeReason::Idle | ProbeReason::Retry | ProbeReason::SendObligation
        );
        self.rtt_pending = measurable && self.open && self.window_start == self.credited;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.probes_sent = self.probes_sent.saturating_add(1);
        self.last_send = self.credited;
        Action::SendProbe(Probe { seq, reason })
    }

    fn evidence(&self) -> Evidence {
        Evidence {
            probes_sent: self.probes_sent,
            windows_missed: self.misses,
            shortest_window: Duration::from_nanos(self.shortest_window),
            longest_window: Duration::from_nanos(self.longest_window),
            silence: Duration::from_nanos(self.credited.saturating_sub(self.last_inbound)),
            discontinuities: self.discontinuities,
        }
    }

    /// Chooses the single pending wake-up and its reason.
    ///
    /// While a deadline that can kill the peer is pending (an open window,
    /// and in passive mode always) wake-ups are at most `max_step` apart,
    /// so the clamp in [`Machine::credit`] limits what a jump can steal.
    fn schedule(&mut self, grace: bool) {
        let now = self.credited;
        if grace {
            self.wake = now;
            self.reason = Reason::Grace;
            return;
        }

        let (mut wake, mut reason) = if self.open {
            (self.window_end, Reason::WindowEnd)
        } else {
            (
                self.last_inbound.saturating_add(self.idle_period()),
                Reason::Idle,
            )
        };
        let watched = self.open || self.config().mode == Mode::Passive;
        let step = now.saturating_add(self.config().max_step);
        if watched && step < wake {
            (wake, reason) = (step, Reason::Watch);
        }
        if self.config().send_every != 0 {
            let due = self.last_send.saturating_add(self.config().send_every);
            if due < wake {
                (wake, reason) = (due, Reason::SendObligation);
            }
        }

        self.wake = wake;
        self.reason = reason;
    }
}

/// splitmix64's finalizer: consecutive numbers in, unrelated bits out.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The discontinuity to report for this step and input, if any: a late or
/// backward step, or a resume hint whatever the step was.
fn reported(step: Step, event: Event) -> Option<Discontinuity> {
    let (kind, observed, credited, cause) = match step {
        Step::OnTime { observed } => (None, observed, observed, Cause::Unknown),
        Step::Late {
            observed,
            by,
            credited,
            cause,
        } => (
            Some(DiscontinuityKind::Late {
                by: Duration::from_nanos(by),
            }),
            observed,
            credited,
            cause,
        ),
        Step::Backward { by } => (
            Some(DiscontinuityKind::Backward {
                by: Duration::from_nanos(by),
            }),
            0,
            0,
            Cause::ClockStep,
        ),
        Step::Slept {
            observed,
            slept,
            credited,
        } => {
            let slept = Duration::from_nanos(slept);
            (
                Some(DiscontinuityKind::Suspend { slept }),
                observed,
                credited,
                Cause::HostSuspend { slept: Some(slept) },
            )
        }
    };
    let (kind, cause) = match (event, cause) {
        // A measured sleep says more than the hint.
        (Event::Resume(hint), Cause::HostSuspend { slept }) => (
            DiscontinuityKind::Resume { slept: hint },
            Cause::HostSuspend { slept },
        ),
        (Event::Resume(slept), _) => (
            DiscontinuityKind::Resume { slept },
            Cause::HostSuspend { slept },
        ),
        _ => (kind?, cause),
    };
    Some(Discontinuity {
        kind,
        observed: Duration::from_nanos(observed),
        credited: Duration::from_nanos(credited),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Nanos;

    /// xorshift64*: deterministic inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound.max(1)
        }
    }

    /// Feeds the same pseudo-random inputs to two machines, one taking
    /// inbound traffic through [`Machine::on_inbound`] and one crediting
    /// every inbound step as it comes (the slow path), and checks that
    /// they answer the same after every input. Returns how many inbound
    /// calls took the hot path.
    fn hot_path_matches_eager_crediting<I: Instant + core::fmt::Debug>(
        config: Config,
        seed: u64,
        start: u64,
        scale: u64,
        at: impl Fn(u64) -> I,
        origin: I,
    ) -> u32 {
        let mut rng = Rng(seed | 1);
        let mut clock = start;
        let mut lazy = Machine::new(config, at(clock));
        let mut eager = lazy.clone();
        let mut last_probe = 0;
        let mut hot = 0;
        let mut chatty = true;

        for step in 0..5_000 {
            if step % 300 == 0 {
                chatty = rng.below(3) != 0;
            }
            let wake = lazy
                .next_wakeup()
                .map(|wakeup| wakeup.at.saturating_duration_since(origin))
                .map_or(clock.saturating_add(scale), nanos_of);
            // Often just before or at the wake-up: the hot path's edge.
            clock = match rng.below(100) {
                0..=39 => clock.saturating_add(rng.below(scale / 50)),
                40..=59 => wake.max(clock).saturating_add(rng.below(scale / 100)),
                60..=69 => clock,
                70..=74 => clock.saturating_add(rng.below(scale.saturating_mul(100))),
                75..=79 => wake.saturating_sub(1).max(clock),
                80..=84 => wake,
                _ => clock.saturating_sub(rng.below(scale)).max(start.min(clock)),
            };
            let now = at(clock);

            let input = match rng.below(100) {
                0..=44 if chatty => Input::Inbound,
                45..=54 => Input::Reply {
                    seq: if rng.below(4) == 0 {
                        rng.next()
                    } else {
                        last_probe
                    },
                },
                55..=64 => Input::Sent,
                91..=94 => Input::Resume {
                    slept: (rng.below(2) == 0).then(|| Duration::from_nanos(rng.next())),
                },
                95..=99 => Input::Reset,
                _ => Input::Timer,
            };
            let was_open = lazy.last_now <= now && now < lazy.hot_until;
            let lazy_actions = lazy.handle(now, input);
            let eager_actions = match input {
                Input::Inbound => eager.on_inbound_slow(now, None),
                _ => eager.handle(now, input),
            };
            if input == Input::Inbound && was_open {
                hot += 1;
            }
            if let Some(probe) = lazy_actions.probe() {
                last_probe = probe.seq;
            }

            assert_eq!(
                lazy_actions, eager_actions,
                "step {step}: {input:?} at {now:?}"
            );
            assert_eq!(lazy.next_wakeup(), eager.next_wakeup(), "step {step}");
            assert_eq!(lazy.credited(), eager.credited(), "step {step}");
            assert_eq!(lazy.misses(), eager.misses(), "step {step}");
            assert_eq!(lazy.window_open(), eager.window_open(), "step {step}");
            assert_eq!(lazy.is_dead(), eager.is_dead(), "step {step}");
        }
        hot
    }

    fn configs() -> [Config; 8] {
        let nanos = Duration::from_nanos;
        let secs = Duration::from_secs;
        [
            Config::builder().build(),
            Config::builder()
                .idle(secs(10))
                .reply_window(secs(4))
                .max_misses(1)
                .build(),
            Config::builder()
                .idle(secs(30))
                .reply_window(secs(10))
                .send_every(secs(15))
                .build(),
            Config::builder()
                .idle(secs(20))
                .reply_window(secs(5))
                .send_every(secs(8))
                .passive()
                .build(),
            Config::builder()
                .idle(nanos(50))
                .reply_window(nanos(20))
                .build(),
            Config::builder()
                .idle(nanos(1 << 58))
                .reply_window(nanos(1 << 57))
                .max_misses(2)
                .build(),
            Config::builder()
                .idle(secs(30))
                .reply_window(secs(10))
                .jitter(Jitter::Spread { percent: 50 })
                .build(),
            Config::builder()
                .idle(secs(20))
                .reply_window(secs(5))
                .send_every(secs(8))
                .jitter(Jitter::Shorten { percent: 90 })
                .build(),
        ]
        .map(|config| config.expect("a valid config"))
    }

    #[test]
    fn the_hot_path_answers_as_crediting_every_inbound_step_would() {
        let mut hot = 0;
        for (index, config) in configs().into_iter().enumerate() {
            let scale = nanos_of(config.idle());
            for seed in 0..4 {
                let seed = seed * 31 + index as u64;
                hot +=
                    hot_path_matches_eager_crediting(config, seed, 1 << 20, scale, Nanos, Nanos(0));
                // Near the end of the representable instants, where the
                // wake-up cannot always be added.
                let late = u64::MAX - scale.saturating_mul(50);
                hot += hot_path_matches_eager_crediting(config, seed, late, scale, Nanos, Nanos(0));
            }
        }
        assert!(hot > 5_000, "only {hot} calls took the hot path");
    }

    #[cfg(feature = "std")]
    #[test]
    fn the_hot_path_answers_the_same_with_std_instants() {
        let origin = std::time::Instant::now();
        let at = |nanos: u64| origin + Duration::from_nanos(nanos);
        let mut hot = 0;
        for (index, config) in configs().into_iter().enumerate() {
            let scale = nanos_of(config.idle());
            hot +=
                hot_path_matches_eager_crediting(config, index as u64, 1 << 40, scale, at, origin);
        }
        assert!(hot > 1_000, "only {hot} calls took the hot path");
    }
}
