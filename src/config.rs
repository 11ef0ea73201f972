//! The machine's tuning, its builder, and the error a config that cannot
//! work is refused with.

use core::fmt;
use core::time::Duration;

use crate::time::nanos_of;

/// Inbound silence before the first probe when none is configured.
///
/// Thirty seconds keeps the binding of most NAT boxes and stateful
/// firewalls alive (many drop idle UDP flows after 30 s and idle TCP flows
/// after a few minutes) while costing two small frames a minute at most
/// (a probe and its reply, when nothing else flows).
/// Linux TCP waits 7200 s by default, which is why most applications
/// cannot rely on it.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30);

/// How long one probe may wait for its reply when none is configured.
///
/// The same 20 s that gRPC allows a keepalive PING to be acknowledged. It is
/// far above any healthy round trip, so a reply that misses it means the
/// peer or the path is in trouble.
pub const DEFAULT_REPLY_WINDOW: Duration = Duration::from_secs(20);

/// Consecutive unanswered windows before the peer is declared dead when
/// none is configured.
///
/// Three, like OpenSSH's `ServerAliveCountMax`: one lost probe or reply is
/// normal on a lossy path, three in a row is not. Linux TCP uses nine,
/// which with its 75 s interval takes over eleven minutes to notice.
pub const DEFAULT_MAX_MISSES: u32 = 3;

/// The default longest step between wake-ups while a window is open, as a
/// fraction of the reply window: one quarter.
///
/// Each forward clock jump can cost a window at most `max_step + tolerance`
/// of credited time, so a quarter (with the tolerance below) leaves at
/// least 70 % of every window to a healthy reply whatever the clock does,
/// for four wake-ups per window.
pub const DEFAULT_MAX_STEP_DIVISOR: u32 = 4;

/// The default lateness tolerance as a fraction of the reply window: one
/// twentieth (1 s of the default 20 s window).
///
/// A timer that fires this much late is still ordinary scheduling delay; a
/// later one is reported as a discontinuity. Together with the default
/// step this keeps `max_step + tolerance` at 30 % of the window, below the
/// half that the defaults promise.
pub const DEFAULT_TOLERANCE_DIVISOR: u32 = 20;

/// The longest total span a config may describe: 2^60 ns, about 36.5 years.
///
/// `idle + max_misses × reply_window`, the send obligation and the step
/// limits must each fit in it. The bound lets the machine keep its
/// credited clock in a `u64` of nanoseconds and rebase it long before it
/// could overflow.
pub const MAX_SPAN: Duration = Duration::from_nanos(1 << 60);

/// Whether the machine probes the peer or waits for the peer's heartbeats.
///
/// With the `serde` feature it reads and writes as `"active"` or
/// `"passive"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Mode {
    /// Send a probe after `idle` of inbound silence and expect a reply.
    Active,
    /// Send no probes: the peer is expected to send something at least
    /// every `idle`; after that each reply window is a period of allowed
    /// delay, and `max_misses` of them in a row make the peer dead.
    Passive,
}

/// A validated configuration. Build one with [`Config::builder`].
///
/// With the `serde` feature it also reads from and writes to config files
/// (TOML, JSON, ...): every field is optional and defaults as the builder
/// does, durations are strings such as `"30s"` or numbers of seconds, and a
/// file is checked by [`ConfigBuilder::build`], so a config that cannot
/// work is refused with the same [`ConfigError`] message. The crate docs
/// show a file.
///
/// Its `Debug` output shows durations and the jitter as the builder took
/// them, not the packed fields.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "crate::config_serde::ConfigFile",
        into = "crate::config_serde::ConfigFile"
    )
)]
pub struct Config {
    pub(crate) idle: u64,
    pub(crate) window: u64,
    pub(crate) max_step: u64,
    pub(crate) tolerance: u64,
    /// Zero when there is no send obligation.
    pub(crate) send_every: u64,
    /// Zero when the peer's probes are not limited.
    pub(crate) peer_probe_interval: u64,
    /// The shortest adaptive reply window; zero when the window is fixed.
    pub(crate) window_min: u64,
    pub(crate) max_misses: u32,
    pub(crate) peer_probe_strikes: u16,
    pub(crate) mode: Mode,
    /// [`Jitter`] in one byte: the percentage in the low seven bits, the
    /// top bit set for [`Jitter::Spread`]; zero for none.
    pub(crate) jitter: u8,
}

/// The most a probe interval may be shortened or spread, in per cent.
pub const MAX_JITTER_PERCENT: u8 = 90;

/// How the idle period before each probe varies, so that connections
/// opened together do not probe together for ever.
///
/// Each idle period is drawn afresh after every probe, from the machine's
/// seed ([`crate::Machine::with_seed`]) and the probe's sequence number:
/// the same seed gives the same periods. Only the idle probe of active mode
/// is jittered; retries keep their windows, and the send obligation its
/// period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Every idle period is exactly `idle`.
    #[default]
    None,
    /// Each idle period is `idle` shortened by a uniform random share of
    /// up to `percent` per cent, so the idle deadline is never later than
    /// configured (BFD shortens each interval by up to 25 %).
    Shorten {
        /// The largest share taken off, 1 to [`MAX_JITTER_PERCENT`].
        percent: u8,
    },
    /// Each idle period is uniform within `idle` ± `percent` per cent, so
    /// that the average stays `idle` (ICE consent freshness spreads its
    /// checks over ± 20 %). The longest idle period, and with it the
    /// detection time, grows by `percent` per cent.
    Spread {
        /// The largest deviation, 1 to [`MAX_JITTER_PERCENT`].
        percent: u8,
    },
}

impl Jitter {
    const SPREAD_BIT: u8 = 0x80;

    /// A share of zero, of either kind, is no jitter at all.
    fn encode(self) -> u8 {
        match self {
            Jitter::None | Jitter::Shorten { percent: 0 } | Jitter::Spread { percent: 0 } => 0,
            Jitter::Shorten { percent } => percent,
            Jitter::Spread { percent } => percent | Jitter::SPREAD_BIT,
        }
    }

    fn decode(byte: u8) -> Jitter {
        let percent = byte & !Jitter::SPREAD_BIT;
        match (percent, byte & Jitter::SPREAD_BIT != 0) {
            (0, _) => Jitter::None,
            (_, false) => Jitter::Shorten { percent },
            (_, true) => Jitter::Spread { percent },
        }
    }

    /// The percentage, zero for none.
    fn percent(self) -> u8 {
        match self {
            Jitter::None => 0,
            Jitter::Shorten { percent } | Jitter::Spread { percent } => percent,
        }
    }
}

impl Config {
    /// A builder holding the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Inbound silence before the first probe (active mode), or the
    /// longest expected gap between the peer's heartbeats (passive mode).
    pub fn idle(&self) -> Duration {
        Duration::from_nanos(self.idle)
    }

    /// How long each probe waits for its reply, in credited time; with an
    /// adaptive reply window, the longest it may be.
    pub fn reply_window(&self) -> Duration {
        Duration::from_nanos(self.window)
    }

    /// The shortest an adaptive reply window may be, if the window adapts
    /// to the measured round trip ([`ConfigBuilder::adaptive_reply_window`]).
    pub fn adaptive_reply_window(&self) -> Option<Duration> {
        (self.window_min != 0).then(|| Duration::from_nanos(self.window_min))
    }

    /// The shortest reply window a probe may get: the adaptive minimum, or
    /// the fixed window. The safety bound of `docs/guarantees.md` holds
    /// with this window.
    pub fn shortest_reply_window(&self) -> Duration {
        Duration::from_nanos(if self.window_min != 0 {
            self.window_min
        } else {
            self.window
        })
    }

    /// Consecutive unanswered windows that make the peer dead.
    pub fn max_misses(&self) -> u32 {
        self.max_misses
    }

    /// The longest step between wake-ups while a window is open (and, in
    /// passive mode, at all times): the most a clock jump can steal from a
    /// window, minus the tolerance.
    pub fn max_step(&self) -> Duration {
        Duration::from_nanos(self.max_step)
    }

    /// How late a wake-up may be before it counts as a discontinuity.
    pub fn tolerance(&self) -> Duration {
        Duration::from_nanos(self.tolerance)
    }

    /// The obligation to send something at least this often, if any.
    pub fn send_every(&self) -> Option<Duration> {
        (self.send_every != 0).then(|| Duration::from_nanos(self.send_every))
    }

    /// The abuse policy for the peer's probes, if any: the minimum
    /// interval between them while no other traffic flows, and how many
    /// too-early probes are forgiven before the next one is a verdict.
    pub fn peer_probe_limit(&self) -> Option<(Duration, u16)> {
        (self.peer_probe_interval != 0).then(|| {
            (
                Duration::from_nanos(self.peer_probe_interval),
                self.peer_probe_strikes,
            )
        })
    }

    /// How the idle period before each probe varies.
    pub fn jitter(&self) -> Jitter {
        Jitter::decode(self.jitter)
    }

    /// The longest idle period a probe may wait for: `idle`, grown by the
    /// spread of [`Jitter::Spread`].
    pub fn longest_idle(&self) -> Duration {
        Duration::from_nanos(longest_idle(self.idle, self.jitter()))
    }

    /// Active or passive.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// `idle + max_misses × reply_window`, with the longest jittered idle
    /// period: how long after the last inbound traffic a dead peer is
    /// declared dead at most when the clock behaves and the driver is on
    /// time.
    pub fn detection_time(&self) -> Duration {
        let windows = self.window.saturating_mul(u64::from(self.max_misses));
        let idle = longest_idle(self.idle, self.jitter());
        Duration::from_nanos(idle.saturating_add(windows))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("idle", &self.idle())
            .field("reply_window", &self.reply_window())
            .field("max_misses", &self.max_misses)
            .field("max_step", &self.max_step())
            .field("tolerance", &self.tolerance())
            .field("send_every", &self.send_every())
            .field("adaptive_reply_window", &self.adaptive_reply_window())
            .field("peer_probe_limit", &self.peer_probe_limit())
            .field("jitter", &self.jitter())
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        ConfigBuilder::default()
            .build()
            .expect("the default builder values satisfy every rule")
    }
}

/// Collects the tuning and checks it in [`ConfigBuilder::build`].
///
/// Unset step and tolerance follow the reply window (a quarter and a
/// twentieth of it), so that shrinking the window alone (down to 20 ns,
/// where the derived tolerance would reach zero) never produces a config
/// that is refused.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    idle: Duration,
    window: Duration,
    max_misses: u32,
    max_step: Option<Duration>,
    tolerance: Option<Duration>,
    send_every: Option<Duration>,
    peer_probe_limit: Option<(Duration, u16)>,
    jitter: Jitter,
    adaptive_min: Option<Duration>,
    mode: Mode,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            idle: DEFAULT_IDLE,
            window: DEFAULT_REPLY_WINDOW,
            max_misses: DEFAULT_MAX_MISSES,
            max_step: None,
            tolerance: None,
            send_every: None,
            peer_probe_limit: None,
            jitter: Jitter::None,
            adaptive_min: None,
            mode: Mode::Active,
        }
    }
}

impl ConfigBuilder {
    /// Inbound silence before the first probe. Default [`DEFAULT_IDLE`].
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// How long each probe waits for its reply. Default
    /// [`DEFAULT_REPLY_WINDOW`].
    pub fn reply_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Consecutive unanswered windows before the peer is dead. Default
    /// [`DEFAULT_MAX_MISSES`].
    pub fn max_misses(mut self, misses: u32) -> Self {
        self.max_misses = misses;
        self
    }

    /// Longest step between wake-ups while a window is open. Default: a
    /// quarter of the reply window.
    pub fn max_step(mut self, step: Duration) -> Self {
        self.max_step = Some(step);
        self
    }

    /// How late a wake-up may be before it is a discontinuity. Default: a
    /// twentieth of the reply window.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Send something at least this often, measured from the last send
    /// (MQTT keep-alive, NAT bindings). Must be below `idle`. Off by
    /// default.
    pub fn send_every(mut self, every: Duration) -> Self {
        self.send_every = Some(every);
        self
    }

    /// Limits how often the peer may probe us, in the manner of gRPC's
    /// server keepalive policy. A probe that comes less than
    /// `min_interval` after the peer's previous one, with no other traffic
    /// either way in between, is a strike (the tolerance is allowed for
    /// scheduling delay, and a gap across a clock discontinuity is not
    /// measured). Other traffic clears the strikes, and a run of polite
    /// gaps one longer than `strikes` forgives one. After `strikes`
    /// strikes the next one is an [`crate::Action::Misbehaving`] verdict.
    /// gRPC's server defaults are 5 minutes and 2 strikes. Off by default.
    pub fn peer_probe_limit(mut self, min_interval: Duration, strikes: u16) -> Self {
        self.peer_probe_limit = Some((min_interval, strikes));
        self
    }

    /// Lets each reply window adapt to the round trip measured from probes
    /// and their replies ([`crate::Rtt`]): `smoothed + 4 × variation`
    /// (the retransmission timeout of RFC 6298), kept between `min` and
    /// [`ConfigBuilder::reply_window`], which becomes the longest window.
    /// Until the first measurement every window is the longest. Unset step
    /// and tolerance follow `min` instead of the longest window. Active
    /// mode only. Off by default.
    pub fn adaptive_reply_window(mut self, min: Duration) -> Self {
        self.adaptive_min = Some(min);
        self
    }

    /// Varies the idle period before each probe ([`Jitter`]). Active mode
    /// only. Off by default.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Passive mode: no probes; the peer's heartbeats are expected at least
    /// every `idle`, each reply window is allowed delay beyond that.
    pub fn passive(mut self) -> Self {
        self.mode = Mode::Passive;
        self
    }

    /// Active mode, the default.
    pub fn active(mut self) -> Self {
        self.mode = Mode::Active;
        self
    }

    /// Checks the tuning and returns a config the machine can run with.
    pub fn build(self) -> Result<Config, ConfigError> {
        if self.adaptive_min.is_some_and(|min| min.is_zero()) {
            return Err(ConfigError::Zero(Field::AdaptiveReplyWindow));
        }
        // Step and tolerance must fit the shortest window a probe can get.
        let shortest = self.adaptive_min.unwrap_or(self.window).min(self.window);
        let step = self.max_step.unwrap_or(shortest / DEFAULT_MAX_STEP_DIVISOR);
        let tolerance = self
            .tolerance
            .unwrap_or(shortest / DEFAULT_TOLERANCE_DIVISOR);

        for (field, value) in [
            (Field::Idle, self.idle),
            (Field::ReplyWindow, self.window),
            (Field::MaxStep, step),
            (Field::Tolerance, tolerance),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Zero(field));
            }
            if value > MAX_SPAN {
                return Err(ConfigError::TooLong(field));
            }
        }
        if self.max_misses == 0 {
            return Err(ConfigError::NoMisses);
        }

        let percent = self.jitter.percent();
        if percent > MAX_JITTER_PERCENT {
            return Err(ConfigError::JitterTooWide { percent });
        }
        if percent != 0 && self.mode == Mode::Passive {
            return Err(ConfigError::JitterInPassiveMode);
        }
        let longest_idle = u128::from(longest_idle(nanos_of(self.idle), self.jitter));
        let span = u128::from(self.max_misses) * self.window.as_nanos() + longest_idle;
        if span > MAX_SPAN.as_nanos() {
            return Err(ConfigError::TooLong(Field::DetectionTime));
        }
        if step + tolerance >= self.window {
            return Err(ConfigError::StepTooLong {
                max_step: step,
                tolerance,
                reply_window: self.window,
            });
        }

        if tolerance.saturating_mul(2) >= self.window {
            return Err(ConfigError::ToleranceTooLong {
                tolerance,
                reply_window: self.window,
            });
        }

        let mut send_every = 0;
        if let Some(every) = self.send_every {
            if every.is_zero() {
                return Err(ConfigError::Zero(Field::SendEvery));
            }
            if every >= self.idle {
                return Err(ConfigError::SendNotBelowIdle {
                    send_every: every,
                    idle: self.idle,
                });
            }
            send_every = nanos_of(every);
        }

        let mut window_min = 0;
        if let Some(min) = self.adaptive_min {
            if min > self.window {
                return Err(ConfigError::AdaptiveWindowAboveReplyWindow {
                    min,
                    reply_window: self.window,
                });
            }
            if self.mode == Mode::Passive {
                return Err(ConfigError::AdaptiveWindowInPassiveMode);
            }
            if step + tolerance >= min || tolerance.saturating_mul(2) >= min {
                return Err(ConfigError::AdaptiveWindowTooShort {
                    min,
                    max_step: step,
                    tolerance,
                });
            }
            window_min = nanos_of(min);
        }

        let (mut peer_probe_interval, mut peer_probe_strikes) = (0, 0);
        if let Some((min_interval, strikes)) = self.peer_probe_limit {
            if min_interval.is_zero() {
                return Err(ConfigError::Zero(Field::PeerProbeInterval));
            }
            if min_interval > MAX_SPAN {
                return Err(ConfigError::TooLong(Field::PeerProbeInterval));
            }
            if min_interval <= tolerance {
                return Err(ConfigError::PeerProbeIntervalNotAboveTolerance {
                    min_interval,
                    tolerance,
                });
            }
            peer_probe_interval = nanos_of(min_interval);
            peer_probe_strikes = strikes;
        }

        Ok(Config {
            idle: nanos_of(self.idle),
            window: nanos_of(self.window),
            max_step: nanos_of(step),
            tolerance: nanos_of(tolerance),
            send_every,
            peer_probe_interval,
            window_min,
            max_misses: self.max_misses,
            peer_probe_strikes,
            mode: self.mode,
            jitter: self.jitter.encode(),
        })
    }
}

/// `idle` grown by the spread of [`Jitter::Spread`], saturating.
fn longest_idle(idle: u64, jitter: Jitter) -> u64 {
    match jitter {
        Jitter::Spread { percent } => idle.saturating_add(share_of(idle, u64::from(percent), 100)),
        Jitter::None | Jitter::Shorten { .. } => idle,
    }
}

/// `value × numerator / denominator` without overflow, saturating.
pub(crate) fn share_of(value: u64, numerator: u64, denominator: u64) -> u64 {
    let share = u128::from(value) * u128::from(numerator) / u128::from(denominator.max(1));
    u64::try_from(share).unwrap_or(u64::MAX)
}

/// A config field, named in [`ConfigError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// [`ConfigBuilder::idle`].
    Idle,
    /// [`ConfigBuilder::reply_window`].
    ReplyWindow,
    /// [`ConfigBuilder::max_step`].
    MaxStep,
    /// [`ConfigBuilder::tolerance`].
    Tolerance,
    /// [`ConfigBuilder::send_every`].
    SendEvery,
    /// The minimum interval of [`ConfigBuilder::peer_probe_limit`].
    PeerProbeInterval,
    /// The minimum of [`ConfigBuilder::adaptive_reply_window`].
    AdaptiveReplyWindow,
    /// `idle + max_misses × reply_window`.
    DetectionTime,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Idle => "idle",
            Field::ReplyWindow => "reply_window",
            Field::MaxStep => "max_step",
            Field::Tolerance => "tolerance",
            Field::SendEvery => "send_every",
            Field::PeerProbeInterval => "peer_probe_limit's min_interval",
            Field::AdaptiveReplyWindow => "adaptive_reply_window",
            Field::DetectionTime => "idle + max_misses × reply_window",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a config was refused. Its `Display` says what to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// A duration that must be positive was zero.
    Zero(Field),
    /// A duration (or the detection time it adds up to) exceeds
    /// [`MAX_SPAN`].
    TooLong(Field),
    /// `max_misses` was zero: the peer could never be declared dead.
    NoMisses,
    /// `max_step + tolerance` is not below the reply window, so a single
    /// clock jump could consume a whole window.
    StepTooLong {
        /// The step in force (set, or derived from the window).
        max_step: Duration,
        /// The tolerance in force (set, or derived from the window).
        tolerance: Duration,
        /// The reply window.
        reply_window: Duration,
    },
    /// The tolerance is not below half the reply window. A late call and
    /// the grace turn after it may each credit up to the tolerance past a
    /// window's end, and the next window, anchored to the first, must still
    /// be open after both.
    ToleranceTooLong {
        /// The tolerance in force (set, or derived from the window).
        tolerance: Duration,
        /// The reply window.
        reply_window: Duration,
    },
    /// The peer-probe limit's minimum interval is not above the tolerance,
    /// which is allowed on every gap for scheduling delay, so no probe
    /// could ever be struck.
    PeerProbeIntervalNotAboveTolerance {
        /// The minimum interval.
        min_interval: Duration,
        /// The tolerance in force (set, or derived from the window).
        tolerance: Duration,
    },
    /// The adaptive reply window's minimum is above the reply window, its
    /// maximum.
    AdaptiveWindowAboveReplyWindow {
        /// The minimum asked for.
        min: Duration,
        /// The reply window (the maximum).
        reply_window: Duration,
    },
    /// An adaptive reply window was asked for in passive mode, which sends
    /// no probes to measure.
    AdaptiveWindowInPassiveMode,
    /// The adaptive reply window's minimum is not above `max_step +
    /// tolerance` and twice the tolerance, so a window at the minimum
    /// would break the rules a fixed window must keep.
    AdaptiveWindowTooShort {
        /// The minimum asked for.
        min: Duration,
        /// The step in force (set, or derived from the minimum).
        max_step: Duration,
        /// The tolerance in force (set, or derived from the minimum).
        tolerance: Duration,
    },
    /// The jitter is wider than [`MAX_JITTER_PERCENT`]: the shortest idle
    /// periods would leave almost no time between a reply and the next
    /// probe.
    JitterTooWide {
        /// The percentage asked for.
        percent: u8,
    },
    /// Jitter was asked for in passive mode, which sends no probes to
    /// jitter.
    JitterInPassiveMode,
    /// The send obligation is not below `idle`, so the idle probe would
    /// always fulfil it first.
    SendNotBelowIdle {
        /// The obligation.
        send_every: Duration,
        /// The idle time.
        idle: Duration,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Zero(field @ (Field::MaxStep | Field::Tolerance)) => {
                let divisor = if *field == Field::MaxStep {
                    DEFAULT_MAX_STEP_DIVISOR
                } else {
                    DEFAULT_TOLERANCE_DIVISOR
                };
                write!(
                    f,
                    "{field} is zero: give it a positive duration (when not \
                     set it is reply_window / {divisor}, so a tiny \
                     reply_window makes it zero: widen reply_window)"
                )
            }
            ConfigError::Zero(field) => {
                write!(f, "{field} is zero: give it a positive duration")
            }
            ConfigError::TooLong(field) => write!(
                f,
                "{field} is longer than the {} s the machine supports: \
                 shorten it",
                MAX_SPAN.as_secs()
            ),
            ConfigError::NoMisses => f.write_str(
                "max_misses is zero, so the peer could never be declared \
                 dead: allow at least 1 unanswered window",
            ),
            ConfigError::StepTooLong {
                max_step,
                tolerance,
                reply_window,
            } => write!(
                f,
                "max_step ({max_step:?}) + tolerance ({tolerance:?}) must be \
                 below reply_window ({reply_window:?}), or one clock jump \
                 could use up a whole window: lower max_step or tolerance, \
                 or widen reply_window"
            ),
            ConfigError::ToleranceTooLong {
                tolerance,
                reply_window,
            } => write!(
                f,
                "tolerance ({tolerance:?}) must be below half of reply_window \
                 ({reply_window:?}), or a late call and its grace turn could \
                 use up the next window: lower tolerance or widen \
                 reply_window"
            ),
            ConfigError::PeerProbeIntervalNotAboveTolerance {
                min_interval,
                tolerance,
            } => write!(
                f,
                "peer_probe_limit's min_interval ({min_interval:?}) must be \
                 above tolerance ({tolerance:?}), which every gap is allowed \
                 for scheduling delay, or no probe could ever be struck: \
                 lengthen min_interval or lower tolerance"
            ),
            ConfigError::AdaptiveWindowAboveReplyWindow { min, reply_window } => write!(
                f,
                "adaptive_reply_window's minimum ({min:?}) is above \
                 reply_window ({reply_window:?}), the longest window: lower \
                 the minimum or widen reply_window"
            ),
            ConfigError::AdaptiveWindowInPassiveMode => f.write_str(
                "an adaptive reply window follows the round trip of probes, \
                 and passive mode sends none: drop adaptive_reply_window or \
                 use active mode",
            ),
            ConfigError::AdaptiveWindowTooShort {
                min,
                max_step,
                tolerance,
            } => write!(
                f,
                "adaptive_reply_window's minimum ({min:?}) must be above \
                 max_step ({max_step:?}) + tolerance ({tolerance:?}) and \
                 twice the tolerance, as any window must: raise the minimum \
                 or lower max_step and tolerance"
            ),
            ConfigError::JitterTooWide { percent } => write!(
                f,
                "jitter of {percent} % is wider than the {MAX_JITTER_PERCENT} % \
                 allowed, which would leave almost no idle time before some \
                 probes: narrow the jitter"
            ),
            ConfigError::JitterInPassiveMode => f.write_str(
                "jitter varies the probes of active mode, and passive mode \
                 sends none: drop the jitter or use active mode",
            ),
            ConfigError::SendNotBelowIdle { send_every, idle } => write!(
                f,
                "send_every ({send_every:?}) must be below idle ({idle:?}): \
                 shorten send_every, lengthen idle, or drop the obligation"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "std")]
    #[test]
    fn debug_shows_durations_and_the_jitter_as_set() {
        let config = Config::builder()
            .reply_window(Duration::from_secs(10))
            .jitter(Jitter::Spread { percent: 20 })
            .build()
            .expect("valid");

        let text = format!("{config:?}");

        assert!(text.contains("reply_window: 10s"), "{text}");
        assert!(text.contains("jitter: Spread { percent: 20 }"), "{text}");
        assert!(!text.contains("10000000000"), "{text}");
    }

    #[test]
    fn the_defaults_keep_step_and_tolerance_within_half_a_window() {
        let config = Config::default();

        assert!(2 * (config.max_step + config.tolerance) <= config.window);
        assert!(config.tolerance <= config.max_step);
    }
}
