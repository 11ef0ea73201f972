//! A sans-IO liveness machine that clock jumps, stalls and host sleep
//! cannot fool.
//!
//! The driver feeds [`Machine`] what happened (traffic from the peer, a
//! reply to a probe, traffic sent, a timer wake-up, "the host resumed"),
//! each with the current instant. The machine answers with [`Actions`]:
//! send a probe, re-arm the single timer, the peer is dead (with
//! [`Evidence`]), a clock discontinuity was seen. It never reads a clock,
//! never does I/O, never allocates and never panics, and it builds without
//! `std`.
//!
//! # The driving contract
//!
//! * **One machine per connection**, made with [`Machine::new`], or
//!   [`Machine::with_seed`] to give the connection its own stream of
//!   [`Jitter`] (and probe numbers that start at the seed).
//! * **Time is only ever passed in**, as the first argument of every input
//!   method. Any [`Instant`] works: `std::time::Instant`, [`Nanos`], or a
//!   conversion from another clock (`tokio::time::Instant::into_std`).
//! * **Inputs**: [`Machine::on_inbound`] for traffic from the peer (the
//!   driver decides what counts), [`Machine::on_reply`] for a reply to a
//!   probe, [`Machine::on_peer_probe`] for a probe from the peer (answered
//!   in the same call), [`Machine::on_sent`] for traffic sent,
//!   [`Machine::on_timer`] when the timer fires, [`Machine::on_resume`] when
//!   the host woke from sleep, [`Machine::reset`] for a new connection.
//!   [`Machine::handle`] takes the same as an [`Input`] value, and
//!   [`Machine::handle_with_boot`] with a reading of a clock that counts
//!   suspend beside it, to tell a sleep from a stall from a clock step.
//! * **Outputs**: each call returns [`Actions`]: at most one
//!   [`Discontinuity`] to log, at most one probe, heartbeat, reply or
//!   verdict, and the new wake-up when it changed. Act on them in that order.
//! * **One timer**: while the peer is not declared dead there is always
//!   exactly one pending wake-up, [`Machine::next_wakeup`], with the
//!   [`Reason`] it was chosen. Arm it after [`Machine::new`] and re-arm it
//!   whenever an [`Actions::timer`] comes back. Inbound traffic does not move
//!   it: the idle deadline is re-armed lazily when the timer fires.
//! * **Input first**: when the timer and input are ready together (after a
//!   stall), deliver the input before the timer. If the driver cannot, the
//!   machine gives an expiring window one grace turn on a late call: it asks
//!   to be woken again at once instead of declaring the peer dead, so the
//!   input waiting behind the timer still wins.
//! * **Sleep relative to now** where the runtime allows it: a timer that
//!   sleeps to an absolute instant oversleeps by the size of any backward
//!   clock step.
//!
//! # A driving loop
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use keepalive::{Action, Config, Machine};
//!
//! # fn wait_for_input_until(_: Instant) -> Option<Vec<u8>> { None }
//! # fn send_ping(_: u64) {}
//! # fn parse_pong(_: &[u8]) -> Option<u64> { None }
//! let config = Config::builder()
//!     .idle(Duration::from_secs(30))
//!     .reply_window(Duration::from_secs(10))
//!     .build()
//!     .expect("a config that can work");
//! let mut machine = Machine::new(config, Instant::now());
//! let mut wake = machine.next_wakeup().expect("a new machine is live").at;
//!
//! loop {
//!     // Input that is ready is handled before the timer.
//!     let actions = match wait_for_input_until(wake) {
//!         Some(frame) => match parse_pong(&frame) {
//!             Some(seq) => machine.on_reply(Instant::now(), seq),
//!             None => machine.on_inbound(Instant::now()),
//!         },
//!         None => machine.on_timer(Instant::now()),
//!     };
//!     for action in actions {
//!         match action {
//!             Action::SendProbe(probe) => send_ping(probe.seq),
//!             Action::ArmTimer(wakeup) => wake = wakeup.at,
//!             Action::Dead(evidence) => {
//!                 eprintln!("peer dead: {evidence:?}");
//!                 return;
//!             }
//!             Action::Discontinuity(seen) => eprintln!("clock: {seen:?}"),
//!             _ => {}
//!         }
//!     }
//! }
//! ```
//!
//! # The guarantee
//!
//! The machine keeps its own *credited* clock and every deadline lives on
//! it. Each step of the driver's clock is credited, but never more than the
//! pending wake-up plus the tolerance `E`, and a backward step credits
//! nothing. While a reply window is open the machine wakes at least every
//! `S` (`max_step`). So each forward jump, of any size, costs a window at
//! most `S + E`: with replies arriving within `L` of each probe, a healthy
//! peer is never declared dead while `L + J·(S + E)` stays below the reply
//! window, `J` being the forward jumps inside one window. A dead peer is
//! declared dead within `idle + max_misses × reply_window + 2E` of its last
//! traffic when nothing jumps. A backward step delays that by at most the
//! wait that was pending plus `E` (`S + E` inside a window, up to `idle + E`
//! before the first probe), plus the step itself when the driver sleeps to
//! an absolute instant; a stall delays it by at most its own length.
//! `docs/guarantees.md` states the bounds in full.
//!
//! # Config files
//!
//! With the `serde` feature (which implies `std`), [`Config`] implements
//! `serde::Serialize` and `serde::Deserialize`:
//!
//! ```toml
//! mode = "active"        # or "passive"
//! idle = "30s"
//! reply_window = "10s"
//! max_misses = 3
//! # max_step, tolerance: derived from reply_window unless given
//! # send_every = "25s"
//! ```
//!
//! Every field is optional and defaults as [`Config::builder`] does, and
//! unknown fields are refused. Durations are strings such as `"30s"`,
//! `"1m 30s"`, `"500ms"` or `"1.5s"`, or numbers of seconds. A file is
//! checked by [`ConfigBuilder::build`], so a config that cannot work is
//! refused with the [`ConfigError`] message that says what to change.
//! Writing a config gives durations as strings and reads back to an equal
//! config. The helper module `keepalive::serde_duration` reads and writes
//! single durations the same way for an application's own settings.
//! `docs/config-files.md` describes the format in full.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod action;
mod config;
#[cfg(feature = "serde")]
mod config_serde;
mod machine;
#[cfg(feature = "serde")]
pub mod serde_duration;
mod time;

#[cfg(feature = "std")]
pub mod sim;

pub use action::{
    Abuse, Action, Actions, ActionsIter, Cause, Discontinuity, DiscontinuityKind, Evidence, Input,
    Probe, ProbeReason, Reason, Rtt, Wakeup,
};
pub use config::{
    Config, ConfigBuilder, ConfigError, Field, Jitter, Mode, DEFAULT_IDLE, DEFAULT_MAX_MISSES,
    DEFAULT_MAX_STEP_DIVISOR, DEFAULT_REPLY_WINDOW, DEFAULT_TOLERANCE_DIVISOR, MAX_JITTER_PERCENT,
    MAX_SPAN,
};
pub use machine::Machine;
pub use time::{Instant, Nanos};

/// Compiles the README's driving loop as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Compiles the driving guide's code blocks as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/driving.md")]
pub struct DrivingDoctests;

/// Runs the config file guide's code blocks as doctests.
#[cfg(all(doctest, feature = "serde"))]
#[doc = include_str!("../docs/config-files.md")]
pub struct ConfigFilesDoctests;
