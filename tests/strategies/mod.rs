//! The proptest strategies of `tests/properties.rs`, in one place.
//!
//! Two families:
//!
//! * **Direct driving**: [`any_config`] (every kind of config the builder
//!   accepts, down to 20 ns windows and up to `MAX_SPAN`) and [`calls`],
//!   a run of inputs whose instants are described relative to what the
//!   machine just asked for ([`When`]), so that the boundaries that matter
//!   (exactly at the wake-up, `E` past it, one nanosecond more) come up as
//!   often as the extremes of [`Nanos`].
//! * **Simulated scenarios**: [`sim_config`] (configs whose runs stay
//!   cheap: a window is crossed in at most a few dozen wake-ups) and
//!   [`scenario`], which adds a peer, a clock, a driver and resume hints
//!   around it, scaled to the config so that jumps, stalls and deaths land
//!   inside reply windows as often as outside them.

#![allow(dead_code)] // Each property uses only part of the module.

use std::time::Duration;

use keepalive::sim::{
    ClockModel, DriverModel, Jump, Order, Pause, PeerModel, ResumeHint, Scenario, Sleep,
    CLOCK_ORIGIN,
};
use keepalive::{Config, ConfigBuilder, Input, Jitter, Mode, Nanos, MAX_JITTER_PERCENT};
use proptest::prelude::*;

/// `nanos` as a duration.
pub fn ns(nanos: u64) -> Duration {
    Duration::from_nanos(nanos)
}

/// A duration as whole nanoseconds, saturating.
pub fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `whole × percent / 100` in nanoseconds, without overflow.
fn percent(whole: u64, percent: u64) -> u64 {
    u64::try_from(u128::from(whole) * u128::from(percent) / 100).unwrap_or(u64::MAX)
}

/// A positive number of nanoseconds spread evenly over the powers of two
/// from `2^low` to `2^high`, so that short and long spans are equally
/// likely.
fn log_nanos(low: u32, high: u32) -> impl Strategy<Value = u64> {
    (low..=high, any::<u64>()).prop_map(|(exp, bits)| {
        let base = 1u64 << exp;
        base | (bits & (base - 1))
    })
}

// ---- Configs -----------------------------------------------------------------

/// Step and tolerance: the builder's defaults, or set explicitly as shares
/// of the window (the builder refuses `S + E >= W` and `2E >= W`; a
/// refused pair falls back to the defaults).
#[derive(Clone, Copy, Debug)]
enum Tuning {
    Derived,
    /// Percentages of the window; a tolerance of zero percent means 1 ns.
    Set {
        step: u64,
        tolerance: u64,
    },
}

fn tuning() -> impl Strategy<Value = Tuning> {
    prop_oneof![
        1 => Just(Tuning::Derived),
        3 => (5u64..=70, 0u64..=45).prop_map(|(step, tolerance)| Tuning::Set { step, tolerance }),
    ]
}

/// Builds a config from its parts, falling back to derived step and
/// tolerance when the explicit ones are refused.
fn build(
    idle: u64,
    window: u64,
    misses: u32,
    tuning: Tuning,
    send_share: Option<u64>,
    passive: bool,
    active: Active,
) -> Option<Config> {
    let mut builder = Config::builder()
        .idle(ns(idle))
        .reply_window(ns(window))
        .max_misses(misses);
    if passive {
        builder = builder.passive();
    } else {
        builder = builder.jitter(active.jitter);
        if let Some(share) = active.adaptive {
            // At least 20 ns, where the tolerance derived from it is 1 ns.
            let min = percent(window, share).max(20).min(window);
            builder = builder.adaptive_reply_window(ns(min));
        }
    }
    if let Some(share) = send_share {
        let every = percent(idle, share).max(1);
        if every < idle {
            builder = builder.send_every(ns(every));
        }
    }
    if let Tuning::Set { step, tolerance } = tuning {
        let explicit = builder
            .max_step(ns(percent(window, step).max(1)))
            .tolerance(ns(percent(window, tolerance).max(1)));
        if let Ok(config) = explicit.build() {
            return Some(config);
        }
    }
    builder.build().ok()
}

/// What only active mode takes: jitter, and an adaptive reply window whose
/// minimum is this share (per cent) of the window.
#[derive(Clone, Copy, Debug)]
pub struct Active {
    pub jitter: Jitter,
    pub adaptive: Option<u64>,
}

fn active() -> impl Strategy<Value = Active> {
    (jitter(), prop::option::weighted(0.25, 20u64..=100))
        .prop_map(|(jitter, adaptive)| Active { jitter, adaptive })
}

/// No jitter most of the time, else either kind at any width allowed.
pub fn jitter() -> impl Strategy<Value = Jitter> {
    let percent = 1u8..=MAX_JITTER_PERCENT;
    prop_oneof![
        2 => Just(Jitter::None),
        1 => percent.clone().prop_map(|percent| Jitter::Shorten { percent }),
        1 => percent.prop_map(|percent| Jitter::Spread { percent }),
    ]
}

/// `config` with a peer-probe limit of `share` per cent of `idle` (at
/// least the tolerance and 1 ns) and `strikes`, when the builder takes it.
fn with_limit(config: Config, idle: u64, limit: Option<(u64, u16)>) -> Config {
    let Some((share, strikes)) = limit else {
        return config;
    };
    let min_interval = ns(percent(idle, share)).max(config.tolerance() + ns(1));
    let mut builder = Config::builder()
        .idle(config.idle())
        .reply_window(config.reply_window())
        .max_misses(config.max_misses())
        .max_step(config.max_step())
        .tolerance(config.tolerance())
        .jitter(config.jitter())
        .peer_probe_limit(min_interval, strikes);
    if let Some(min) = config.adaptive_reply_window() {
        builder = builder.adaptive_reply_window(min);
    }
    if let Some(every) = config.send_every() {
        builder = builder.send_every(every);
    }
    if config.mode() == Mode::Passive {
        builder = builder.passive();
    }
    builder.build().unwrap_or(config)
}

/// Any config the builder accepts, at every scale: windows from 20 ns to a
/// sixteenth of `MAX_SPAN`, idle periods from 1 ns to most of it, up to
/// millions of misses when the window is short. Active and passive, with
/// and without a send obligation.
pub fn any_config() -> impl Strategy<Value = Config> {
    let window = prop_oneof![20u64..=200, log_nanos(8, 36), log_nanos(37, 56)];
    let idle = prop_oneof![1u64..=100, log_nanos(7, 40), log_nanos(41, 59)];
    let misses = prop_oneof![4 => 1u32..=4, 1 => 5u32..=1_000_000];
    let send = prop::option::of(1u64..=99);
    // The peer-probe limit as a share (per cent) of idle, and its strikes.
    let limit = prop::option::of((1u64..=400, 0u16..=3));
    let shape = (tuning(), send, any::<bool>(), active());
    (window, idle, misses, shape, limit).prop_filter_map(
        "spans beyond MAX_SPAN",
        |(window, idle, misses, (tuning, send, passive, active), limit)| {
            let config = build(idle, window, misses, tuning, send, passive, active)?;
            Some(with_limit(config, idle, limit))
        },
    )
}

/// A config whose simulated runs stay cheap: a window of 32 ns to about a
/// minute, a step of at least a twentieth of it, an idle period of a
/// quarter to four windows, one to four misses.
pub fn sim_config() -> impl Strategy<Value = Config> {
    let window = log_nanos(5, 36);
    let idle_share = 25u64..=400;
    let send = prop::option::weighted(0.3, 10u64..=99);
    let shape = (tuning(), send, any::<bool>(), active());
    (window, idle_share, 1u32..=4, shape).prop_map(
        |(window, idle_share, misses, (tuning, send, passive, active))| {
            let idle = percent(window, idle_share).max(1);
            build(idle, window, misses, tuning, send, passive, active)
                .expect("spans below 2^40 ns with the derived step always build")
        },
    )
}

/// Raw builder input for `tests/serde.rs`: each option set or left out,
/// durations from zero to past [`keepalive::MAX_SPAN`], so that refused
/// input comes up as often as accepted input.
#[derive(Clone, Debug)]
pub struct BuilderInput {
    pub idle: Option<Duration>,
    pub reply_window: Option<Duration>,
    pub max_misses: Option<u32>,
    pub max_step: Option<Duration>,
    pub tolerance: Option<Duration>,
    pub send_every: Option<Duration>,
    pub passive: bool,
    pub peer_probe_limit: Option<(Duration, u16)>,
    pub jitter: Jitter,
    pub adaptive_reply_window: Option<Duration>,
}

impl BuilderInput {
    /// The builder with every option that is set applied.
    pub fn builder(&self) -> ConfigBuilder {
        let mut builder = Config::builder();
        if let Some(idle) = self.idle {
            builder = builder.idle(idle);
        }
        if let Some(window) = self.reply_window {
            builder = builder.reply_window(window);
        }
        if let Some(misses) = self.max_misses {
            builder = builder.max_misses(misses);
        }
        if let Some(step) = self.max_step {
            builder = builder.max_step(step);
        }
        if let Some(tolerance) = self.tolerance {
            builder = builder.tolerance(tolerance);
        }
        if let Some(every) = self.send_every {
            builder = builder.send_every(every);
        }
        if self.passive {
            builder = builder.passive();
        }
        if let Some((min_interval, strikes)) = self.peer_probe_limit {
            builder = builder.peer_probe_limit(min_interval, strikes);
        }
        if let Some(min) = self.adaptive_reply_window {
            builder = builder.adaptive_reply_window(min);
        }
        builder.jitter(self.jitter)
    }
}

/// A duration a config file might hold: whole seconds, milliseconds, or
/// nanoseconds at every scale, so that the written form mixes every unit.
fn input_span() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (1u64..=100_000).prop_map(Duration::from_secs),
        (1u64..=86_400_000).prop_map(Duration::from_millis),
        log_nanos(0, 62).prop_map(ns),
    ]
}

pub fn builder_input() -> impl Strategy<Value = BuilderInput> {
    // Step, tolerance and the send obligation are set less often: set at
    // random, they are refused most of the time.
    let span = |set| prop::option::weighted(set, input_span());
    let misses = prop::option::of(prop_oneof![8 => 1u32..=5, 1 => Just(0), 1 => any::<u32>()]);
    let limit = prop::option::weighted(0.3, (input_span(), any::<u16>()));
    (
        (span(0.8), span(0.8), misses),
        (span(0.3), span(0.3), span(0.3), any::<bool>()),
        (limit, jitter(), span(0.2)),
    )
        .prop_map(
            |(
                (idle, reply_window, max_misses),
                (max_step, tolerance, send_every, passive),
                (peer_probe_limit, jitter, adaptive_reply_window),
            )| {
                BuilderInput {
                    idle,
                    reply_window,
                    max_misses,
                    max_step,
                    tolerance,
                    send_every,
                    passive,
                    peer_probe_limit,
                    jitter,
                    adaptive_reply_window,
                }
            },
        )
}

// ---- Direct driving ------------------------------------------------------------

/// Where the next input's instant lies, relative to the previous input's
/// instant (`last`) and the wake-up the machine asked for (`wake`).
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// Exactly at the pending wake-up (or at `last` after a verdict).
    AtWake,
    /// This many nanoseconds after the pending wake-up.
    AfterWake(u64),
    /// Exactly `E` after the pending wake-up: the last on-time instant.
    WakePlusTolerance,
    /// `E` + 1 ns after it: the first late one.
    JustLate,
    /// This share (per mille) of the way from `last` to the wake-up: an
    /// early or spurious call.
    Early(u16),
    /// At `last` again.
    Same,
    /// This many nanoseconds after `last`.
    Forward(u64),
    /// This many nanoseconds before `last` (saturating at zero).
    Back(u64),
    /// An instant chosen without regard to the run: the ends of the range
    /// of [`Nanos`] and everything in between.
    Absolute(u64),
}

impl When {
    /// The instant it describes.
    pub fn resolve(self, last: Nanos, wake: Option<Nanos>, tolerance: Duration) -> Nanos {
        let wake = wake.unwrap_or(last);
        let tolerance = nanos(tolerance);
        match self {
            When::AtWake => wake,
            When::AfterWake(d) => Nanos(wake.0.saturating_add(d)),
            When::WakePlusTolerance => Nanos(wake.0.saturating_add(tolerance)),
            When::JustLate => Nanos(wake.0.saturating_add(tolerance).saturating_add(1)),
            When::Early(share) => {
                let span = wake.0.saturating_sub(last.0);
                Nanos(last.0 + percent(span, u64::from(share)) / 10)
            }
            When::Same => last,
            When::Forward(d) => Nanos(last.0.saturating_add(d)),
            When::Back(d) => Nanos(last.0.saturating_sub(d)),
            When::Absolute(at) => Nanos(at),
        }
    }
}

/// A span of any size, weighted towards the ones a config cares about.
fn any_span() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=1_000,
        log_nanos(10, 40),
        log_nanos(41, 63),
        Just(u64::MAX),
        (0u64..=1_000).prop_map(|d| u64::MAX - d),
    ]
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        6 => Just(When::AtWake),
        2 => any_span().prop_map(When::AfterWake),
        2 => Just(When::WakePlusTolerance),
        2 => Just(When::JustLate),
        3 => (0u16..=1000).prop_map(When::Early),
        1 => Just(When::Same),
        2 => any_span().prop_map(When::Forward),
        2 => any_span().prop_map(When::Back),
        1 => prop_oneof![
            Just(0u64),
            Just(u64::MAX),
            Just(u64::MAX / 2),
            any::<u64>(),
        ]
        .prop_map(When::Absolute),
    ]
}

/// What the next input is.
#[derive(Clone, Copy, Debug)]
pub enum What {
    Inbound,
    /// A reply to the probe issued this many probes ago (0: the latest).
    ReplyTo(u8),
    /// A reply with a number chosen without regard to the run.
    ReplyAny(u64),
    PeerProbe,
    Sent,
    Timer,
    Resume(Option<u64>),
    Reset,
}

impl What {
    /// The input it describes, given the probes issued so far.
    pub fn resolve(self, issued: &[u64]) -> Input {
        match self {
            What::Inbound => Input::Inbound,
            What::ReplyTo(back) => {
                let seq = issued
                    .len()
                    .checked_sub(1 + usize::from(back))
                    .map_or(0, |index| issued[index]);
                Input::Reply { seq }
            }
            What::ReplyAny(seq) => Input::Reply { seq },
            What::PeerProbe => Input::PeerProbe,
            What::Sent => Input::Sent,
            What::Timer => Input::Timer,
            What::Resume(slept) => Input::Resume {
                slept: slept.map(ns),
            },
            What::Reset => Input::Reset,
        }
    }
}

fn what() -> impl Strategy<Value = What> {
    prop_oneof![
        10 => Just(What::Timer),
        3 => Just(What::Inbound),
        3 => (0u8..4).prop_map(What::ReplyTo),
        1 => prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()].prop_map(What::ReplyAny),
        2 => Just(What::Sent),
        2 => Just(What::PeerProbe),
        1 => prop::option::of(any_span()).prop_map(What::Resume),
        1 => Just(What::Reset),
    ]
}

/// One call, described relative to the run.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub when: When,
    pub what: What,
}

/// Up to `max` calls.
pub fn calls(max: usize) -> impl Strategy<Value = Vec<Call>> {
    prop::collection::vec(
        (when(), what()).prop_map(|(when, what)| Call { when, what }),
        0..=max,
    )
}

/// Where the machine is created: anywhere, the extremes included.
pub fn start() -> impl Strategy<Value = Nanos> {
    prop_oneof![
        3 => Just(Nanos(0)),
        3 => any::<u64>().prop_map(Nanos),
        1 => (0u64..=1_000).prop_map(|d| Nanos(u64::MAX - d)),
    ]
}

// ---- Simulated scenarios ---------------------------------------------------------

/// What a scenario is meant to exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// A peer that never dies, usually fast enough for the safety
    /// precondition.
    Healthy,
    /// A peer that dies once or twice during the run.
    Dying,
    /// Anything at all (for well-formedness and determinism).
    Any,
}

/// A size relative to the config's scale: below the tolerance, around
/// one discontinuity's cost `S + E`, up to a few windows, or anything up
/// to `far` nanoseconds.
fn relative_span(config: &Config, far: u64) -> impl Strategy<Value = u64> {
    let tolerance = nanos(config.tolerance());
    let cost = nanos(config.max_step() + config.tolerance());
    let window = nanos(config.reply_window());
    prop_oneof![
        2 => 0..=tolerance,
        2 => cost.saturating_sub(tolerance)..=cost.saturating_add(tolerance),
        3 => 0..=window.saturating_mul(3),
        1 => 0..=far.max(1),
    ]
}

fn jumps(config: &Config, duration: u64) -> impl Strategy<Value = Vec<Jump>> {
    // Forward jumps may be as large as the instant type holds; the clamp in
    // `keep_clock_in_range` then trims them to what fits.
    let jump = (
        0..=duration,
        relative_span(config, u64::MAX),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(at, by, backward)| Jump {
            at: ns(at),
            by: ns(by),
            backward,
        });
    prop::collection::vec(jump, 0..=6)
}

/// Keeps the observed clock inside the range of [`Nanos`] for the whole
/// run, trimming the jumps that would carry it out.
///
/// The simulator saturates a clock pushed past either end, and a clock
/// stuck at an end stands still: the machine could then neither see time
/// pass (a dead peer would never be declared dead, as with a host that
/// sleeps without a resume hint) nor be woken later than now. The direct
/// driving properties cover the ends of the range instead.
///
/// Host sleeps stop the clock, so they count against the room below: the
/// clamp assumes the clock stood still for all of them before any jump.
fn keep_clock_in_range(jumps: &mut [Jump], duration: u64, suspends: &[Pause]) {
    // Room for the run itself and the longest wait a config can ask for.
    let ceiling = i128::from(u64::MAX) - i128::from(duration) - (1i128 << 61);
    let asleep: i128 = suspends
        .iter()
        .map(|pause| pause.length.as_nanos() as i128)
        .sum();
    let floor = 1_000_000_000i128 + asleep; // one second above zero
    let mut offset = i128::from(CLOCK_ORIGIN.0);
    jumps.sort_by_key(|jump| jump.at);
    for jump in jumps {
        let by = i128::try_from(jump.by.as_nanos()).unwrap_or(i128::MAX);
        let at = i128::try_from(jump.at.as_nanos()).unwrap_or(i128::MAX);
        let allowed = if jump.backward {
            (offset + at - floor).max(0)
        } else {
            (ceiling - offset).max(0)
        };
        let by = by.min(allowed);
        jump.by = ns(u64::try_from(by).unwrap_or(u64::MAX));
        offset += if jump.backward { -by } else { by };
    }
}

fn pauses(config: &Config, duration: u64, most: usize) -> impl Strategy<Value = Vec<Pause>> {
    let pause = (0..=duration, relative_span(config, duration)).prop_map(|(at, length)| Pause {
        at: ns(at),
        length: ns(length),
    });
    prop::collection::vec(pause, 0..=most)
}

fn driver(config: &Config, duration: u64) -> impl Strategy<Value = DriverModel> {
    let tolerance = nanos(config.tolerance());
    let window = nanos(config.reply_window());
    let sleep = prop_oneof![Just(Sleep::Absolute), Just(Sleep::Relative)];
    let lateness = prop_oneof![
        3 => Just(0u64),
        3 => 0..=tolerance,
        2 => 0..=window.saturating_mul(2),
    ];
    let chance = prop_oneof![2 => Just(0.0), 1 => 0.0..0.5];
    let hint = prop_oneof![
        Just(ResumeHint::Off),
        Just(ResumeHint::Unknown),
        Just(ResumeHint::Slept),
    ];
    let order = prop_oneof![Just(Order::InputFirst), Just(Order::TimerFirst)];
    (
        sleep,
        lateness,
        chance.clone(),
        chance,
        pauses(config, duration, 3),
        pauses(config, duration, 2),
        hint,
        order,
    )
        .prop_map(
            |(sleep, late, early, spurious, stalls, suspends, resume_hint, order)| DriverModel {
                sleep,
                lateness_max: ns(late),
                early_probability: early,
                spurious_probability: spurious,
                stalls,
                suspends,
                resume_hint,
                order,
            },
        )
}

fn peer(config: &Config, duration: u64, focus: Focus) -> impl Strategy<Value = PeerModel> {
    let window = nanos(config.reply_window());
    let idle = nanos(config.idle());
    let passive = config.mode() == keepalive::Mode::Passive;
    // Healthy peers answer well inside the window most of the time; the
    // rest cross it, so that the precondition also fails now and then.
    let latency_max = match focus {
        Focus::Healthy => prop_oneof![4 => 0u64..=60, 1 => 0u64..=150].boxed(),
        Focus::Dying | Focus::Any => (0u64..=150).boxed(),
    };
    let deaths = match focus {
        Focus::Healthy => Just(Vec::new()).boxed(),
        Focus::Dying => prop::collection::vec(0..=duration, 1..=2).boxed(),
        Focus::Any => prop::collection::vec(0..=duration, 0..=2).boxed(),
    };
    let heartbeat = if passive {
        prop_oneof![4 => (30u64..=120).prop_map(Some), 1 => Just(None)].boxed()
    } else {
        prop_oneof![4 => Just(None), 1 => (30u64..=300).prop_map(Some)].boxed()
    };
    (
        latency_max,
        0u64..=100,
        prop_oneof![3 => Just(0.0), 1 => 0.0..0.3],
        0u64..=200,
        heartbeat,
        deaths,
    )
        .prop_map(
            move |(latency_max, min_share, slow_probability, slow, heartbeat, deaths)| {
                let latency_max = percent(window, latency_max);
                PeerModel {
                    latency_min: ns(percent(latency_max, min_share)),
                    latency_max: ns(latency_max),
                    slow_probability,
                    slow_latency: ns(percent(window, slow)),
                    heartbeat_every: heartbeat.map(|share| ns(percent(idle, share).max(1))),
                    deaths: deaths.into_iter().map(ns).collect(),
                    mean_life: None,
                }
            },
        )
}

/// A whole scenario around a config from [`sim_config`]: a run of two to
/// six detection times, a peer, a clock with jumps of every size, a driver
/// with lateness, early and spurious wake-ups, stalls, host sleeps and
/// resume hints, and either order of timer and input.
pub fn scenario(focus: Focus) -> impl Strategy<Value = Scenario> {
    sim_config().prop_flat_map(move |config| {
        let detection = nanos(config.detection_time() + config.tolerance() * 2);
        (2u64..=6).prop_flat_map(move |times| {
            let duration = detection.saturating_mul(times);
            let window = nanos(config.reply_window());
            (
                any::<u64>(),
                peer(&config, duration, focus),
                jumps(&config, duration),
                driver(&config, duration),
                1u64..=300,
            )
                .prop_map(move |(seed, peer, mut jumps, driver, reconnect)| {
                    keep_clock_in_range(&mut jumps, duration, &driver.suspends);
                    Scenario {
                        duration: ns(duration),
                        seed,
                        peer,
                        clock: ClockModel {
                            jumps,
                            random: None,
                        },
                        driver,
                        reconnect_after: ns(percent(window, reconnect).max(1)),
                        ..Scenario::quiet(config)
                    }
                })
        })
    })
}

/// A scenario whose only disturbances are those that do not count as
/// discontinuities: no jumps, no pauses, a driver at most `E` late.
pub fn quiet_scenario() -> impl Strategy<Value = Scenario> {
    scenario(Focus::Any).prop_map(|mut scenario| {
        scenario.clock.jumps.clear();
        scenario.driver.stalls.clear();
        scenario.driver.suspends.clear();
        let tolerance = scenario.machine.tolerance();
        scenario.driver.lateness_max = scenario.driver.lateness_max.min(tolerance);
        scenario
    })
}
