//! What the fuzz targets feed in, and the checks they run on it.
//!
//! Each target in `fuzz/` decodes its input type from the fuzzer's bytes
//! and calls one function here, which returns the broken rule as an error:
//!
//! * `events`: [`EventsInput`], a config and a run of inputs at instants
//!   that go forward, backward, stay put or sit at the ends of the
//!   [`Nanos`] range, checked by [`check_events`] with the
//!   well-formedness [`Checker`] after every call (P1).
//! * `config`: [`ConfigInput`], raw builder input, checked by
//!   [`check_config`]: building never panics, every refusal is an error
//!   that says something and names a rule that is really broken, and every
//!   accepted config keeps every rule.
//! * `scenario`: [`ScenarioInput`], a compact simulated situation (the
//!   machine, a peer that answers late or dies, a clock that jumps, a
//!   driver that is late, early, stalled or asleep), converted to a
//!   [`Scenario`] and checked by [`check_scenario`] for safety (P2) and
//!   liveness (P3).
//!
//! The targets stay thin so that `tests/corpus.rs` can run the same checks
//! over the committed corpus (`fuzz/corpus/<target>/`) on stable, decoding
//! each file with `decode` exactly as `libfuzzer_sys::fuzz_target!` does.
//! A crash the fuzzer once found therefore stays fixed.
//!
//! The input types derive `arbitrary::Arbitrary`, and `decode` exists,
//! with the `arbitrary` feature; the checks themselves need only `std`.

use std::fmt;
use std::time::Duration;

#[cfg(feature = "arbitrary")]
use arbitrary::{Arbitrary, Unstructured};

use super::check::{self, Checker, ScenarioReport, ScenarioViolation, Violation};
use super::{
    ClockModel, DriverModel, Jump, Order, Pause, PeerModel, RandomJumps, ResumeHint, Scenario,
    Sleep, CLOCK_ORIGIN,
};
use crate::{Config, ConfigBuilder, ConfigError, Input, Machine, Nanos, MAX_SPAN};

/// The most calls one [`EventsInput`] makes; the rest are ignored, so that
/// one case runs in well under a millisecond.
pub const MAX_CALLS: usize = 4096;

/// Decodes a fuzz input from raw bytes the way `libfuzzer_sys::fuzz_target!`
/// does for a typed input: too few bytes for the type's size hint, or bytes
/// that `arbitrary_take_rest` refuses, give `None` (the target skips them).
#[cfg(feature = "arbitrary")]
pub fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

// ---- Durations -------------------------------------------------------------

/// A duration as the fuzzer describes it.
///
/// Plain `Duration`s from random bytes are almost all centuries long; these
/// scales make short, ordinary and extreme values equally easy to reach,
/// including both sides of [`MAX_SPAN`] and `Duration::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum Span {
    /// Zero.
    Zero,
    /// Up to 65 µs, in nanoseconds: windows of a few nanoseconds.
    Nanos(u16),
    /// Up to 49 days, in milliseconds.
    Millis(u32),
    /// Up to 136 years, in seconds: beyond [`MAX_SPAN`] from 36.5 years.
    Secs(u32),
    /// Any whole number of nanoseconds a `u64` holds (584 years).
    Raw(u64),
    /// This many nanoseconds below [`MAX_SPAN`] (saturating at zero).
    BelowMaxSpan(u32),
    /// This many nanoseconds above [`MAX_SPAN`].
    AboveMaxSpan(u32),
    /// `Duration::MAX`.
    Max,
}

impl Span {
    /// The duration it describes.
    pub fn duration(self) -> Duration {
        match self {
            Span::Zero => Duration::ZERO,
            Span::Nanos(n) => Duration::from_nanos(n.into()),
            Span::Millis(ms) => Duration::from_millis(ms.into()),
            Span::Secs(s) => Duration::from_secs(s.into()),
            Span::Raw(n) => Duration::from_nanos(n),
            Span::BelowMaxSpan(n) => MAX_SPAN.saturating_sub(Duration::from_nanos(n.into())),
            Span::AboveMaxSpan(n) => MAX_SPAN + Duration::from_nanos(n.into()),
            Span::Max => Duration::MAX,
        }
    }

    /// Whole nanoseconds, saturating at `u64::MAX`.
    pub fn nanos(self) -> u64 {
        u64::try_from(self.duration().as_nanos()).unwrap_or(u64::MAX)
    }
}

// ---- The `config` target -----------------------------------------------------

/// Which mode setter the builder gets, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum ModeChoice {
    /// Neither: the builder's default (active).
    Default,
    /// [`ConfigBuilder::active`].
    Active,
    /// [`ConfigBuilder::passive`].
    Passive,
}

/// Raw builder input: each `Some` is passed to the setter of the same
/// name, each `None` leaves the builder's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct ConfigInput {
    /// For [`ConfigBuilder::idle`].
    pub idle: Option<Span>,
    /// For [`ConfigBuilder::reply_window`].
    pub reply_window: Option<Span>,
    /// For [`ConfigBuilder::max_misses`].
    pub max_misses: Option<u32>,
    /// For [`ConfigBuilder::max_step`].
    pub max_step: Option<Span>,
    /// For [`ConfigBuilder::tolerance`].
    pub tolerance: Option<Span>,
    /// For [`ConfigBuilder::send_every`].
    pub send_every: Option<Span>,
    /// For [`ConfigBuilder::peer_probe_limit`].
    pub peer_probe_limit: Option<(Span, u16)>,
    /// For [`ConfigBuilder::jitter`]: spread (else shorten), and the
    /// percentage.
    pub jitter: Option<(bool, u8)>,
    /// For [`ConfigBuilder::adaptive_reply_window`].
    pub adaptive_reply_window: Option<Span>,
    /// For [`ConfigBuilder::active`] or [`ConfigBuilder::passive`].
    pub mode: ModeChoice,
}

impl ConfigInput {
    /// The jitter asked for.
    pub fn jitter(&self) -> crate::Jitter {
        match self.jitter {
            None => crate::Jitter::None,
            Some((true, percent)) => crate::Jitter::Spread { percent },
            Some((false, percent)) => crate::Jitter::Shorten { percent },
        }
    }
}

impl ConfigInput {
    /// The builder with every setter applied.
    pub fn builder(&self) -> ConfigBuilder {
        let mut builder = Config::builder();
        if let Some(idle) = self.idle {
            builder = builder.idle(idle.duration());
        }
        if let Some(window) = self.reply_window {
            builder = builder.reply_window(window.duration());
        }
        if let Some(misses) = self.max_misses {
            builder = builder.max_misses(misses);
        }
        if let Some(step) = self.max_step {
            builder = builder.max_step(step.duration());
        }
        if let Some(tolerance) = self.tolerance {
            builder = builder.tolerance(tolerance.duration());
        }
        if let Some(every) = self.send_every {
            builder = builder.send_every(every.duration());
        }
        if let Some((min_interval, strikes)) = self.peer_probe_limit {
            builder = builder.peer_probe_limit(min_interval.duration(), strikes);
        }
        if self.jitter.is_some() {
            builder = builder.jitter(self.jitter());
        }
        if let Some(min) = self.adaptive_reply_window {
            builder = builder.adaptive_reply_window(min.duration());
        }
        match self.mode {
            ModeChoice::Default => builder,
            ModeChoice::Active => builder.active(),
            ModeChoice::Passive => builder.passive(),
        }
    }

    /// What the builder should end up with: the values set, or the
    /// documented defaults (a quarter and a twentieth of the window for the
    /// step and the tolerance).
    pub fn requested(&self) -> Tuning {
        let longest = self
            .reply_window
            .map_or(crate::DEFAULT_REPLY_WINDOW, Span::duration);
        let adaptive = self.adaptive_reply_window.map(Span::duration);
        // Unset step and tolerance follow the shortest window.
        let window = adaptive.map_or(longest, |min| min.min(longest));
        Tuning {
            idle: self.idle.map_or(crate::DEFAULT_IDLE, Span::duration),
            reply_window: longest,
            max_misses: self.max_misses.unwrap_or(crate::DEFAULT_MAX_MISSES),
            max_step: self
                .max_step
                .map_or(window / crate::DEFAULT_MAX_STEP_DIVISOR, Span::duration),
            tolerance: self
                .tolerance
                .map_or(window / crate::DEFAULT_TOLERANCE_DIVISOR, Span::duration),
            send_every: self.send_every.map(Span::duration),
            passive: self.mode == ModeChoice::Passive,
            peer_probe_limit: self
                .peer_probe_limit
                .map(|(min_interval, strikes)| (min_interval.duration(), strikes)),
            // A share of zero is documented as no jitter.
            jitter: match self.jitter() {
                crate::Jitter::Shorten { percent: 0 } | crate::Jitter::Spread { percent: 0 } => {
                    crate::Jitter::None
                }
                jitter => jitter,
            },
            adaptive_reply_window: adaptive,
        }
    }
}

/// The values a config holds, requested or accepted, for the rule check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Inbound silence before the first probe.
    pub idle: Duration,
    /// How long each probe waits for its reply.
    pub reply_window: Duration,
    /// Unanswered windows before the peer is dead.
    pub max_misses: u32,
    /// The longest step between wake-ups while a window is open.
    pub max_step: Duration,
    /// How late a wake-up may be before it is a discontinuity.
    pub tolerance: Duration,
    /// The send obligation, if any.
    pub send_every: Option<Duration>,
    /// Passive mode.
    pub passive: bool,
    /// The peer-probe limit, if any.
    pub peer_probe_limit: Option<(Duration, u16)>,
    /// The jitter.
    pub jitter: crate::Jitter,
    /// The adaptive reply window's minimum, if any.
    pub adaptive_reply_window: Option<Duration>,
}

impl Tuning {
    /// What `config` holds.
    pub fn of(config: &Config) -> Self {
        Tuning {
            idle: config.idle(),
            reply_window: config.reply_window(),
            max_misses: config.max_misses(),
            max_step: config.max_step(),
            tolerance: config.tolerance(),
            send_every: config.send_every(),
            passive: config.mode() == crate::Mode::Passive,
            peer_probe_limit: config.peer_probe_limit(),
            jitter: config.jitter(),
            adaptive_reply_window: config.adaptive_reply_window(),
        }
    }

    /// The name of the first value that differs from `other`'s, if any.
    pub fn first_difference(&self, other: &Tuning) -> Option<&'static str> {
        let same = [
            ("idle", self.idle == other.idle),
            ("reply_window", self.reply_window == other.reply_window),
            ("max_misses", self.max_misses == other.max_misses),
            ("max_step", self.max_step == other.max_step),
            ("tolerance", self.tolerance == other.tolerance),
            ("send_every", self.send_every == other.send_every),
            ("mode", self.passive == other.passive),
            (
                "peer_probe_limit",
                self.peer_probe_limit == other.peer_probe_limit,
            ),
            ("jitter", self.jitter == other.jitter),
            (
                "adaptive_reply_window",
                self.adaptive_reply_window == other.adaptive_reply_window,
            ),
        ];
        same.into_iter()
            .find(|&(_, same)| !same)
            .map(|(name, _)| name)
    }

    /// The first documented rule these values break, if any, written out
    /// here independently of the builder.
    pub fn broken_rule(&self) -> Option<&'static str> {
        let span = MAX_SPAN.as_nanos();
        let idle = self.idle.as_nanos();
        let window = self.reply_window.as_nanos();
        let step = self.max_step.as_nanos();
        let tolerance = self.tolerance.as_nanos();

        let positive = [idle, window, step, tolerance];
        if positive.contains(&0) || self.max_misses == 0 {
            return Some("idle, window, step, tolerance and misses are positive");
        }
        if positive.iter().any(|&value| value > span) {
            return Some("idle, window, step and tolerance fit in MAX_SPAN");
        }
        if let Some(min) = self.adaptive_reply_window.map(|min| min.as_nanos()) {
            if min == 0 {
                return Some("adaptive_reply_window is positive");
            }
        }
        let percent = match self.jitter {
            crate::Jitter::None => 0,
            crate::Jitter::Shorten { percent } | crate::Jitter::Spread { percent } => percent,
        };
        if percent > crate::MAX_JITTER_PERCENT {
            return Some("jitter at most MAX_JITTER_PERCENT");
        }
        if percent != 0 && self.passive {
            return Some("no jitter in passive mode");
        }
        let longest_idle = match self.jitter {
            crate::Jitter::Spread { percent } => idle + idle * u128::from(percent) / 100,
            _ => idle,
        };
        if longest_idle + u128::from(self.max_misses) * window > span {
            return Some("longest idle + max_misses × reply_window fits in MAX_SPAN");
        }
        if step + tolerance >= window {
            return Some("max_step + tolerance < reply_window");
        }
        if 2 * tolerance >= window {
            return Some("2 × tolerance < reply_window");
        }
        match self.send_every {
            Some(every) if every.is_zero() => return Some("send_every is positive"),
            Some(every) if every >= self.idle => return Some("send_every < idle"),
            _ => {}
        }
        if let Some(min) = self.adaptive_reply_window.map(|min| min.as_nanos()) {
            if min > window {
                return Some("adaptive_reply_window <= reply_window");
            }
            if self.passive {
                return Some("no adaptive reply window in passive mode");
            }
            if step + tolerance >= min || 2 * tolerance >= min {
                return Some("max_step + tolerance and 2 × tolerance < adaptive_reply_window");
            }
        }
        match self.peer_probe_limit {
            Some((min_interval, _)) if min_interval.is_zero() => {
                Some("peer_probe_limit's min_interval is positive")
            }
            Some((min_interval, _)) if min_interval.as_nanos() > span => {
                Some("peer_probe_limit's min_interval fits in MAX_SPAN")
            }
            Some((min_interval, _)) if min_interval <= self.tolerance => {
                Some("peer_probe_limit's min_interval > tolerance")
            }
            _ => None,
        }
    }
}

/// A way [`check_config`] saw the builder misbehave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFailure {
    /// A refusal whose message is empty.
    SilentRefusal(ConfigError),
    /// A refusal although the input breaks no documented rule.
    NeedlessRefusal(ConfigError),
    /// An accepted config that breaks a documented rule.
    BrokenRule {
        /// The rule.
        rule: &'static str,
        /// The config.
        config: Config,
    },
    /// An accepted config that holds another value than the one set (or
    /// its documented default).
    NotAsSet {
        /// The setter whose value differs.
        field: &'static str,
        /// The config.
        config: Config,
    },
}

impl fmt::Display for ConfigFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFailure::SilentRefusal(error) => {
                write!(f, "the refusal {error:?} displays as an empty message")
            }
            ConfigFailure::NeedlessRefusal(error) => {
                write!(f, "refused with \"{error}\" although no rule is broken")
            }
            ConfigFailure::BrokenRule { rule, config } => {
                write!(f, "accepted {config:?}, which breaks \"{rule}\"")
            }
            ConfigFailure::NotAsSet { field, config } => {
                write!(f, "{config:?} does not hold the {field} that was set")
            }
        }
    }
}

impl std::error::Error for ConfigFailure {}

/// Builds `input` and checks the answer against the documented rules.
///
/// A panic in the builder is left to propagate: the fuzzer and the corpus
/// test report it as such.
pub fn check_config(input: &ConfigInput) -> Result<(), ConfigFailure> {
    let requested = input.requested();
    let config = match input.builder().build() {
        Ok(config) => config,
        Err(error) if error.to_string().is_empty() => {
            return Err(ConfigFailure::SilentRefusal(error));
        }
        Err(error) if requested.broken_rule().is_none() => {
            return Err(ConfigFailure::NeedlessRefusal(error));
        }
        Err(_) => return Ok(()),
    };

    let held = Tuning::of(&config);
    if let Some(rule) = held.broken_rule() {
        return Err(ConfigFailure::BrokenRule { rule, config });
    }
    if let Some(field) = held.first_difference(&requested) {
        return Err(ConfigFailure::NotAsSet { field, config });
    }
    Ok(())
}

// ---- The `events` target -----------------------------------------------------

/// Where the first instant of an [`EventsInput`] lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum Start {
    /// At zero: no backward step can go below it.
    Zero,
    /// This many seconds after zero.
    Secs(u32),
    /// Anywhere.
    At(u64),
    /// This many nanoseconds before the last instant `Nanos` can hold.
    NearEnd(u16),
}

impl Start {
    /// The instant.
    pub fn instant(self) -> Nanos {
        match self {
            Start::Zero => Nanos(0),
            Start::Secs(secs) => Nanos::from_secs(secs.into()),
            Start::At(nanos) => Nanos(nanos),
            Start::NearEnd(before) => Nanos(u64::MAX - u64::from(before)),
        }
    }
}

/// The instant of a call, mostly relative to the previous call's instant
/// or to the pending wake-up. Sums saturate at the ends of `Nanos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum When {
    /// The previous instant again.
    Same,
    /// A little later: up to 4.3 s, in nanoseconds.
    Later(u32),
    /// A forward step of any size: a jump, a stall, a host sleep.
    Jump(Span),
    /// A backward step.
    Back(Span),
    /// Exactly at the pending wake-up (the previous instant once the peer
    /// is dead).
    AtWakeup,
    /// This long after the pending wake-up: a late timer.
    AfterWakeup(Span),
    /// This many 256ths of the way from the previous instant to the
    /// pending wake-up: an early or spurious wake-up.
    BeforeWakeup(u8),
    /// Anywhere.
    At(u64),
    /// This many nanoseconds after zero.
    NearZero(u16),
    /// This many nanoseconds before the last instant `Nanos` can hold.
    NearEnd(u16),
}

impl When {
    /// The instant, given the previous one and the pending wake-up.
    pub fn instant(self, previous: Nanos, wakeup: Option<Nanos>) -> Nanos {
        let wakeup = wakeup.unwrap_or(previous);
        match self {
            When::Same => previous,
            When::Later(nanos) => Nanos(previous.0.saturating_add(nanos.into())),
            When::Jump(span) => Nanos(previous.0.saturating_add(span.nanos())),
            When::Back(span) => Nanos(previous.0.saturating_sub(span.nanos())),
            When::AtWakeup => wakeup,
            When::AfterWakeup(span) => Nanos(wakeup.0.saturating_add(span.nanos())),
            When::BeforeWakeup(part) => {
                let wait = u128::from(wakeup.0.saturating_sub(previous.0));
                let share = wait * u128::from(part) / 256;
                let share = u64::try_from(share).expect("a share of a u64 fits in a u64");
                Nanos(previous.0 + share)
            }
            When::At(nanos) => Nanos(nanos),
            When::NearZero(nanos) => Nanos(nanos.into()),
            When::NearEnd(before) => Nanos(u64::MAX - u64::from(before)),
        }
    }
}

/// What a call feeds in: an [`Input`], with reply numbers chosen so that
/// they can match a probe the machine issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum Feed {
    /// [`Input::Inbound`].
    Inbound,
    /// [`Input::Reply`] to the probe issued this many probes before the
    /// latest one (zero: the latest; with none issued yet, this number).
    Reply(u8),
    /// [`Input::Reply`] with any number at all.
    StrayReply(u64),
    /// [`Input::Sent`].
    Sent,
    /// [`Input::Timer`].
    Timer,
    /// [`Input::Resume`].
    Resume(Option<Span>),
    /// [`Input::Reset`].
    Reset,
    /// [`Input::PeerProbe`].
    PeerProbe,
    /// The next feed goes through [`Machine::handle_with_boot`], with the
    /// boot clock this much further on than at the last reading (the first
    /// time: at this reading).
    Boot(Span, u8),
}

impl Feed {
    /// The input, given the latest sequence number issued.
    pub fn input(self, latest_seq: Option<u64>) -> Input {
        match self {
            Feed::Inbound => Input::Inbound,
            Feed::Reply(back) => {
                let back = u64::from(back);
                let seq = latest_seq.map_or(back, |seq| seq.wrapping_sub(back));
                Input::Reply { seq }
            }
            Feed::StrayReply(seq) => Input::Reply { seq },
            Feed::Sent => Input::Sent,
            Feed::Timer => Input::Timer,
            Feed::Resume(slept) => Input::Resume {
                slept: slept.map(Span::duration),
            },
            Feed::Reset => Input::Reset,
            Feed::PeerProbe => Input::PeerProbe,
            // The input itself, chosen among the plain ones.
            Feed::Boot(_, which) => match which % 6 {
                0 => Input::Inbound,
                1 => Input::Reply {
                    seq: latest_seq.unwrap_or(0),
                },
                2 => Input::PeerProbe,
                3 => Input::Sent,
                4 => Input::Resume { slept: None },
                _ => Input::Timer,
            },
        }
    }
}

/// One call: what and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct Call {
    /// When it happens.
    pub when: When,
    /// What happens.
    pub feed: Feed,
}

/// A machine and the calls it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct EventsInput {
    /// The config; one the builder refuses is replaced by the default, so
    /// that every case drives a machine.
    pub config: ConfigInput,
    /// The instant the machine is created at.
    pub start: Start,
    /// The calls, in order; only the first [`MAX_CALLS`] are made.
    pub calls: Vec<Call>,
}

impl EventsInput {
    /// The config the machine runs with.
    pub fn config(&self) -> Config {
        self.config.builder().build().unwrap_or_default()
    }
}

/// Drives a `Machine<Nanos>` through `input` and checks every call with
/// the well-formedness [`Checker`] (P1).
pub fn check_events(input: &EventsInput) -> Result<(), Violation> {
    let mut now = input.start.instant();
    let mut machine = Machine::new(input.config(), now);
    let mut checker = Checker::new(&machine);
    let mut latest_seq = None;
    let mut boot = Duration::ZERO;

    for call in input.calls.iter().take(MAX_CALLS) {
        let wakeup = machine.next_wakeup().map(|wakeup| wakeup.at);
        now = call.when.instant(now, wakeup);
        let feed = call.feed.input(latest_seq);

        let actions = match call.feed {
            Feed::Boot(advance, _) => {
                boot = boot.saturating_add(advance.duration());
                machine.handle_with_boot(now, boot, feed)
            }
            _ => machine.handle(now, feed),
        };
        checker.check(&machine, now, feed, &actions)?;

        if let Some(probe) = actions.probe() {
            latest_seq = Some(probe.seq);
        }
    }
    Ok(())
}

// ---- The `scenario` target ---------------------------------------------------

/// The most machine inputs one [`ScenarioInput`] run may take before it is
/// skipped as too long to check; a few milliseconds of simulation.
pub const MAX_SCENARIO_INPUTS: u64 = 20_000;

/// The most entries of each list in a [`ScenarioInput`] that are used.
pub const MAX_SCENARIO_ITEMS: usize = 8;

/// The largest backward step a [`JumpShape`] makes: a 32nd of
/// [`CLOCK_ORIGIN`], 8.7 hours.
///
/// The simulated clock starts at [`CLOCK_ORIGIN`] and stands still at
/// zero, and a clock that stands still is outside every guarantee (no
/// credit, no verdict). With at most [`MAX_SCENARIO_ITEMS`] explicit steps
/// and random ones cut to [`MAX_RANDOM_BACKWARD_STEP`], the clock stays
/// far above zero.
pub const MAX_BACKWARD_STEP: Duration =
    Duration::from_secs(CLOCK_ORIGIN.since_origin().as_secs() / 32);

/// The largest random jump when random jumps may step back: a 512th of
/// [`CLOCK_ORIGIN`], 33 minutes. Even 256 backward steps of it (with an
/// average of 32 jumps or fewer a run) leave half the origin.
pub const MAX_RANDOM_BACKWARD_STEP: Duration =
    Duration::from_secs(CLOCK_ORIGIN.since_origin().as_secs() / 512);

/// The scale of the reply window of a [`ScenarioInput`]; every other
/// scenario time is a multiple or a share of the window or of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum WindowScale {
    /// `20 + n` nanoseconds, down to the smallest window the builder's
    /// derived tolerance allows.
    Nanos(u16),
    /// `1 + n` milliseconds.
    Millis(u16),
    /// `1 + n` seconds (up to 18 hours).
    Secs(u16),
}

impl WindowScale {
    /// The reply window.
    pub fn duration(self) -> Duration {
        match self {
            WindowScale::Nanos(n) => Duration::from_nanos(20 + u64::from(n)),
            WindowScale::Millis(n) => Duration::from_millis(1 + u64::from(n)),
            WindowScale::Secs(n) => Duration::from_secs(1 + u64::from(n)),
        }
    }
}

/// The machine of a [`ScenarioInput`], in shares of its reply window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct MachineShape {
    /// The reply window `W`.
    pub window: WindowScale,
    /// `idle` is `(1 + idle % 32) / 2` windows: from `W / 2` to `16 W`.
    pub idle: u8,
    /// `max_misses` is `1 + misses % 4`.
    pub misses: u8,
    /// `max_step` is `(1 + n) / 256` windows; `None` keeps the default.
    pub step: Option<u8>,
    /// `tolerance` is `(1 + n) / 512` windows; `None` keeps the default.
    pub tolerance: Option<u8>,
    /// `send_every` is `(1 + n) / 256` of `idle`.
    pub send_every: Option<u8>,
    /// Passive mode instead of active.
    pub passive: bool,
}

impl MachineShape {
    /// The config, or the builder's refusal.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let window = self.window.duration();
        let idle = window * (1 + u32::from(self.idle % 32)) / 2;
        let share = |of: Duration, n: u8, parts: u32| of * (1 + u32::from(n)) / parts;

        let mut builder = Config::builder()
            .reply_window(window)
            .idle(idle)
            .max_misses(1 + u32::from(self.misses % 4));
        if let Some(step) = self.step {
            builder = builder.max_step(share(window, step, 256));
        }
        if let Some(tolerance) = self.tolerance {
            builder = builder.tolerance(share(window, tolerance, 512));
        }
        if let Some(every) = self.send_every {
            builder = builder.send_every(share(idle, every, 256));
        }
        if self.passive {
            builder = builder.passive();
        }
        builder.build()
    }
}

/// A scenario duration relative to the reply window `W`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum Size {
    /// `n / 64` windows: up to 1024 windows.
    Windows(u16),
    /// `n` seconds, whatever the window (up to 18 hours).
    Secs(u16),
    /// `n` days, whatever the window. As a backward step it is cut to
    /// [`MAX_BACKWARD_STEP`] (random ones to [`MAX_RANDOM_BACKWARD_STEP`]).
    Days(u8),
}

impl Size {
    /// The duration for reply window `window`.
    pub fn duration(self, window: Duration) -> Duration {
        match self {
            Size::Windows(n) => window * u32::from(n) / 64,
            Size::Secs(n) => Duration::from_secs(n.into()),
            Size::Days(n) => Duration::from_secs(86_400 * u64::from(n)),
        }
    }
}

/// A clock jump at a share of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct JumpShape {
    /// Real time: `at / 65536` of the run.
    pub at: u16,
    /// The size.
    pub by: Size,
    /// Steps back instead of forward.
    pub backward: bool,
}

/// Random clock jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct RandomShape {
    /// `1 + count % 32` jumps in the run on average.
    pub count: u8,
    /// One end of the size range.
    pub min: Size,
    /// The other end.
    pub max: Size,
    /// The chance of a backward step, in 255ths.
    pub backward: u8,
}

/// A stall or host sleep at a share of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct PauseShape {
    /// Real time: `at / 65536` of the run.
    pub at: u16,
    /// How long it lasts.
    pub length: Size,
}

/// The peer of a [`ScenarioInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct PeerShape {
    /// One end of the ordinary reply latency, in 64ths of a window.
    pub latency_a: u8,
    /// The other end, in 64ths of a window.
    pub latency_b: u8,
    /// The chance of a slow reply, in 255ths.
    pub slow: u8,
    /// How long a slow reply takes.
    pub slow_latency: Size,
    /// Heartbeats every `(1 + n) / 8` windows.
    pub heartbeat_every: Option<u8>,
    /// Deaths at `at / 65536` of the run.
    pub deaths: Vec<u16>,
    /// Random deaths, on average every `(1 + n) / 4` runs.
    pub mean_life: Option<u8>,
}

/// How the driver of a [`ScenarioInput`] sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum SleepChoice {
    /// [`super::Sleep::Absolute`].
    Absolute,
    /// [`super::Sleep::Relative`].
    Relative,
}

/// What the driver of a [`ScenarioInput`] says when the host wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum HintChoice {
    /// [`super::ResumeHint::Off`].
    Off,
    /// [`super::ResumeHint::Unknown`].
    Unknown,
    /// [`super::ResumeHint::Slept`].
    Slept,
}

/// The driver of a [`ScenarioInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct DriverShape {
    /// How it sleeps.
    pub sleep: SleepChoice,
    /// Timers fire late by up to this many 64ths of a window.
    pub lateness: u8,
    /// The chance of an early wake-up, in 255ths of 0.99.
    pub early: u8,
    /// The chance of a spurious wake-up, in 255ths.
    pub spurious: u8,
    /// Process stalls.
    pub stalls: Vec<PauseShape>,
    /// Host sleeps.
    pub suspends: Vec<PauseShape>,
    /// The resume hint.
    pub hint: HintChoice,
    /// Timers before the input that waited behind them.
    pub timer_first: bool,
}

/// A simulated situation, compact and bounded: every list is cut to
/// [`MAX_SCENARIO_ITEMS`] entries and the run lasts a few detection times,
/// so one case runs in milliseconds. Backward steps are cut so that the
/// clock never reaches zero (see [`MAX_BACKWARD_STEP`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct ScenarioInput {
    /// The machine.
    pub machine: MachineShape,
    /// Seeds the simulator's random draws.
    pub seed: u64,
    /// The run lasts `1 + length % 16` detection times
    /// (`idle + max_misses × reply_window`).
    pub length: u8,
    /// The peer.
    pub peer: PeerShape,
    /// Jumps at given times.
    pub jumps: Vec<JumpShape>,
    /// Random jumps.
    pub random_jumps: Option<RandomShape>,
    /// The driver.
    pub driver: DriverShape,
    /// Reconnection `(1 + n) / 8` windows after a verdict.
    pub reconnect_after: u8,
}

impl ScenarioInput {
    /// The scenario, or the builder's refusal of the machine's config.
    pub fn scenario(&self) -> Result<Scenario, ConfigError> {
        let machine = self.machine.config()?;
        let window = machine.reply_window();
        let duration = machine.detection_time() * (1 + u32::from(self.length % 16));
        let part = |at: u16| duration.mul_f64(f64::from(at) / 65_536.0);
        let windows = |n: u32, parts: u32| window * n / parts;

        let mut scenario = Scenario::quiet(machine);
        scenario.duration = duration;
        scenario.seed = self.seed;
        scenario.reconnect_after = windows(1 + u32::from(self.reconnect_after), 8);

        let peer = &self.peer;
        let (low, high) = (
            peer.latency_a.min(peer.latency_b),
            peer.latency_a.max(peer.latency_b),
        );
        scenario.peer = PeerModel {
            latency_min: windows(low.into(), 64),
            latency_max: windows(high.into(), 64),
            slow_probability: f64::from(peer.slow) / 255.0,
            slow_latency: peer.slow_latency.duration(window),
            heartbeat_every: peer.heartbeat_every.map(|n| windows(1 + u32::from(n), 8)),
            deaths: peer
                .deaths
                .iter()
                .take(MAX_SCENARIO_ITEMS)
                .map(|&at| part(at))
                .collect(),
            mean_life: peer.mean_life.map(|n| duration * (1 + u32::from(n)) / 4),
        };

        let days = duration.as_secs_f64() / 86_400.0;
        scenario.clock = ClockModel {
            jumps: self
                .jumps
                .iter()
                .take(MAX_SCENARIO_ITEMS)
                .map(|jump| {
                    let by = jump.by.duration(window);
                    Jump {
                        at: part(jump.at),
                        by: if jump.backward {
                            by.min(MAX_BACKWARD_STEP)
                        } else {
                            by
                        },
                        backward: jump.backward,
                    }
                })
                .collect(),
            random: self.random_jumps.map(|random| {
                let (mut a, mut b) = (random.min.duration(window), random.max.duration(window));
                if random.backward > 0 {
                    a = a.min(MAX_RANDOM_BACKWARD_STEP);
                    b = b.min(MAX_RANDOM_BACKWARD_STEP);
                }
                RandomJumps {
                    per_day: f64::from(1 + random.count % 32) / days,
                    min: a.min(b),
                    max: a.max(b),
                    backward_probability: f64::from(random.backward) / 255.0,
                }
            }),
        };

        let driver = &self.driver;
        let pauses = |shapes: &[PauseShape]| -> Vec<Pause> {
            shapes
                .iter()
                .take(MAX_SCENARIO_ITEMS)
                .map(|pause| Pause {
                    at: part(pause.at),
                    length: pause.length.duration(window),
                })
                .collect()
        };
        scenario.driver = DriverModel {
            sleep: match driver.sleep {
                SleepChoice::Absolute => Sleep::Absolute,
                SleepChoice::Relative => Sleep::Relative,
            },
            lateness_max: windows(driver.lateness.into(), 64),
            early_probability: f64::from(driver.early) / 255.0 * 0.99,
            spurious_probability: f64::from(driver.spurious) / 255.0,
            stalls: pauses(&driver.stalls),
            suspends: pauses(&driver.suspends),
            resume_hint: match driver.hint {
                HintChoice::Off => ResumeHint::Off,
                HintChoice::Unknown => ResumeHint::Unknown,
                HintChoice::Slept => ResumeHint::Slept,
            },
            order: if driver.timer_first {
                Order::TimerFirst
            } else {
                Order::InputFirst
            },
        };
        Ok(scenario)
    }
}

/// Converts `input` to a [`Scenario`] and checks the machine's run
/// through it with [`check::check_scenario_within`]: P1 on every call,
/// safety (P2) and liveness (P3) over the run.
///
/// Returns the report of a checked run, or `None` for an input that says
/// nothing about the machine: a config the builder refuses, or a run
/// longer than [`MAX_SCENARIO_INPUTS`]. A scenario the simulator refuses
/// is an error ([`ScenarioViolation::Invalid`]): the conversion is meant
/// to produce only valid ones, and skipping them would hide a conversion
/// that makes the target test nothing.
pub fn check_scenario(input: &ScenarioInput) -> Result<Option<ScenarioReport>, ScenarioViolation> {
    let Ok(scenario) = input.scenario() else {
        return Ok(None);
    };
    match check::check_scenario_within(&scenario, MAX_SCENARIO_INPUTS) {
        Ok(report) => Ok(Some(report)),
        Err(ScenarioViolation::OverBudget { .. }) => Ok(None),
        Err(violation) => Err(violation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(calls: Vec<Call>) -> EventsInput {
        EventsInput {
            config: ConfigInput {
                idle: None,
                reply_window: None,
                max_misses: None,
                max_step: None,
                tolerance: None,
                send_every: None,
                peer_probe_limit: None,
                jitter: None,
                adaptive_reply_window: None,
                mode: ModeChoice::Default,
            },
            start: Start::Zero,
            calls,
        }
    }

    fn call(when: When, feed: Feed) -> Call {
        Call { when, feed }
    }

    #[test]
    fn a_silent_peer_woken_on_time_until_the_verdict_is_well_formed() {
        let input = events(vec![call(When::AtWakeup, Feed::Timer); 40]);

        assert_eq!(check_events(&input), Ok(()));
    }

    #[test]
    fn instants_at_both_ends_of_the_range_are_well_formed() {
        let input = events(vec![
            call(When::NearEnd(0), Feed::Timer),
            call(When::AtWakeup, Feed::Timer),
            call(When::NearZero(0), Feed::Inbound),
            call(When::Jump(Span::Max), Feed::Resume(Some(Span::Max))),
            call(When::Back(Span::Max), Feed::Reply(0)),
            call(When::AtWakeup, Feed::Timer),
        ]);

        assert_eq!(check_events(&input), Ok(()));
    }

    #[test]
    fn an_early_wake_up_lands_between_the_previous_instant_and_the_wake_up() {
        let early = When::BeforeWakeup(128).instant(Nanos(100), Some(Nanos(300)));

        assert_eq!(early, Nanos(200));
    }

    #[test]
    fn the_default_builder_input_is_accepted_as_set() {
        let input = events(Vec::new()).config;

        assert_eq!(check_config(&input), Ok(()));
    }

    #[test]
    fn a_refused_config_names_a_rule_the_input_really_breaks() {
        let mut input = events(Vec::new()).config;
        input.reply_window = Some(Span::Nanos(3));

        assert_eq!(check_config(&input), Ok(()));
        assert!(input.builder().build().is_err());
        assert!(input.requested().broken_rule().is_some());
    }

    fn quiet_scenario() -> ScenarioInput {
        ScenarioInput {
            machine: MachineShape {
                window: WindowScale::Secs(29),
                idle: 3,
                misses: 0,
                step: None,
                tolerance: None,
                send_every: None,
                passive: false,
            },
            seed: 1,
            length: 9,
            peer: PeerShape {
                latency_a: 6,
                latency_b: 6,
                slow: 0,
                slow_latency: Size::Windows(0),
                heartbeat_every: None,
                deaths: Vec::new(),
                mean_life: None,
            },
            jumps: Vec::new(),
            random_jumps: None,
            driver: DriverShape {
                sleep: SleepChoice::Absolute,
                lateness: 0,
                early: 0,
                spurious: 0,
                stalls: Vec::new(),
                suspends: Vec::new(),
                hint: HintChoice::Slept,
                timer_first: false,
            },
            reconnect_after: 7,
        }
    }

    #[test]
    fn a_quiet_scenario_is_checked_and_keeps_every_guarantee() {
        let report = check_scenario(&quiet_scenario()).expect("no violation");

        let report = report.expect("a 30 s window and a short run are checked");
        assert!(report.stats.healthy_drops.is_empty());
        assert!(report.safety.applies());
    }

    #[test]
    fn the_largest_shapes_still_make_a_scenario_the_simulator_accepts() {
        let pause = PauseShape {
            at: u16::MAX,
            length: Size::Days(u8::MAX),
        };
        let mut input = quiet_scenario();
        input.machine = MachineShape {
            window: WindowScale::Secs(u16::MAX),
            idle: 31,
            misses: 3,
            step: Some(0),
            tolerance: Some(0),
            send_every: Some(254),
            passive: true,
        };
        input.length = 15;
        input.peer = PeerShape {
            latency_a: u8::MAX,
            latency_b: 0,
            slow: u8::MAX,
            slow_latency: Size::Days(u8::MAX),
            heartbeat_every: Some(0),
            deaths: vec![u16::MAX; 20],
            mean_life: Some(0),
        };
        input.jumps = vec![
            JumpShape {
                at: u16::MAX,
                by: Size::Days(u8::MAX),
                backward: true,
            };
            20
        ];
        input.random_jumps = Some(RandomShape {
            count: u8::MAX,
            min: Size::Days(u8::MAX),
            max: Size::Windows(0),
            backward: u8::MAX,
        });
        input.driver.lateness = u8::MAX;
        input.driver.early = u8::MAX;
        input.driver.spurious = u8::MAX;
        input.driver.stalls = vec![pause; 20];
        input.driver.suspends = vec![pause; 20];

        let scenario = input.scenario().expect("a config the builder accepts");

        assert_eq!(scenario.validate(), Ok(()));
        assert_eq!(scenario.clock.jumps.len(), MAX_SCENARIO_ITEMS);
        let back: Duration = scenario.clock.jumps.iter().map(|jump| jump.by).sum();
        assert!(back <= CLOCK_ORIGIN.since_origin() / 4);
        let random = scenario.clock.random.expect("random jumps");
        assert!(random.max <= MAX_RANDOM_BACKWARD_STEP);
    }

    #[test]
    fn spans_on_both_sides_of_the_largest_span_stay_on_their_side() {
        assert!(Span::BelowMaxSpan(1).duration() < MAX_SPAN);
        assert!(Span::AboveMaxSpan(1).duration() > MAX_SPAN);
        assert_eq!(Span::Max.nanos(), u64::MAX);
    }
}
