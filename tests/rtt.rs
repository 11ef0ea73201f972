//! Rule j: the round-trip estimate from probes and their replies, and the
//! reply window that adapts to it.
//!
//! The config is [`support::standard`] (probe after 30 s of silence, each
//! probe waits 10 s, E = 0.5 s) unless a test says otherwise; the first
//! probe goes out at 30 s.

mod support;

use std::time::Duration;

use keepalive::{Config, ConfigError, Field, Machine, Nanos, Reason, Rtt};
use support::*;

/// One probe cycle on time: the timer at the idle deadline sends a probe,
/// whose reply comes `rtt` later (the timer firing on time meanwhile, so
/// that no step is late). Returns the reply's instant.
fn cycle(h: &mut Harness, rtt: Duration) -> Nanos {
    let at = h.wakeup().at;
    let probe = h.timer(at).probe().expect("an idle probe at the deadline");
    let replied = plus(at, rtt);
    h.run_until(minus(replied, Duration::from_nanos(1)));
    let actions = h.reply(replied, probe.seq);
    assert_eq!(actions.discontinuity, None, "an on-time reply");
    replied
}

/// An active config whose window adapts between `min` and 10 s.
fn adaptive(min: Duration) -> Config {
    Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .adaptive_reply_window(min)
        .build()
        .expect("a valid adaptive config")
}

/// How long the window opened by the next idle probe lasts.
fn next_window(h: &mut Harness) -> Duration {
    let at = h.wakeup().at;
    let _ = h.timer(at).probe().expect("an idle probe");
    loop {
        let wakeup = h.wakeup();
        if wakeup.reason == Reason::WindowEnd {
            return wakeup.at.since_origin() - at.since_origin();
        }
        let _ = h.timer(wakeup.at);
    }
}

// ---- The estimate ------------------------------------------------------------------

#[test]
fn there_is_no_estimate_before_the_first_reply() {
    let mut h = Harness::new(standard(3), at(0));
    assert_eq!(h.machine.rtt(), None);

    h.run_until(at(31));
    assert_eq!(h.machine.rtt(), None, "a probe alone measures nothing");
}

#[test]
fn the_first_reply_sets_the_estimate_as_rfc_6298_does() {
    let mut h = Harness::new(standard(3), at(0));

    let _ = cycle(&mut h, ms(200));

    assert_eq!(
        h.machine.rtt(),
        Some(Rtt {
            min: ms(200),
            smoothed: ms(200),
            variation: ms(100),
        })
    );
}

#[test]
fn later_replies_move_the_estimate_by_an_eighth_and_a_quarter() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = cycle(&mut h, ms(200));

    let _ = cycle(&mut h, ms(600));
    // variation = 3/4 × 100 + 1/4 × |200 - 600| = 175 ms;
    // smoothed = 7/8 × 200 + 1/8 × 600 = 250 ms.
    assert_eq!(
        h.machine.rtt(),
        Some(Rtt {
            min: ms(200),
            smoothed: ms(250),
            variation: ms(175),
        })
    );

    let _ = cycle(&mut h, ms(50));
    // variation = 3/4 × 175 + 1/4 × 200 = 181.25 ms;
    // smoothed = 7/8 × 250 + 1/8 × 50 = 225 ms.
    assert_eq!(
        h.machine.rtt(),
        Some(Rtt {
            min: ms(50),
            smoothed: ms(225),
            variation: Duration::from_micros(181_250),
        })
    );
}

#[test]
fn a_steady_path_converges_on_its_round_trip() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = cycle(&mut h, secs(2));
    for _ in 0..100 {
        let _ = cycle(&mut h, ms(80));
    }

    let rtt = h.machine.rtt().expect("measured");
    assert_eq!(rtt.min, ms(80));
    assert!(rtt.smoothed < ms(81), "{rtt:?}");
    assert!(rtt.variation < ms(1), "{rtt:?}");
}

#[test]
fn a_reply_to_an_older_probe_is_not_measured() {
    // Probe #0 at 30 s is retried at 40 s; a reply to #0 at 41 s could be
    // 11 s or 1 s, so it is not measured (Karn's rule).
    let mut h = Harness::new(standard(3), at(0));
    h.run_until(at(40));
    let probes = h.probes();
    assert_eq!(probes.len(), 2, "the first window expired into a retry");

    let _ = h.reply(at(41), probes[0].1.seq);

    assert_eq!(h.machine.rtt(), None);
    assert!(!h.machine.window_open(), "it still counts as traffic");
}

#[test]
fn a_reply_to_the_retry_is_measured_from_the_retry() {
    let mut h = Harness::new(standard(3), at(0));
    h.run_until(at(40));
    let retry = h.probes()[1].1.seq;

    let _ = h.reply(at_ms(40_300), retry);

    assert_eq!(h.machine.rtt().map(|rtt| rtt.smoothed), Some(ms(300)));
}

#[test]
fn a_second_reply_to_the_same_probe_is_measured_once() {
    let mut h = Harness::new(standard(3), at(0));
    let replied = cycle(&mut h, ms(200));
    let seq = h.probes()[0].1.seq;

    let _ = h.reply(plus(replied, secs(5)), seq);

    assert_eq!(h.machine.rtt().map(|rtt| rtt.smoothed), Some(ms(200)));
}

#[test]
fn a_reply_after_other_traffic_closed_the_window_is_still_measured() {
    let mut h = Harness::new(standard(3), at(0));
    h.run_until(at(30));
    let seq = h.probes()[0].1.seq;
    let _ = h.inbound(at_ms(30_100));
    assert!(!h.machine.window_open());

    let actions = h.reply(at_ms(30_250), seq);

    assert_eq!(actions.timer, None, "the reply is plain traffic by then");
    assert_eq!(h.machine.rtt().map(|rtt| rtt.smoothed), Some(ms(250)));
}

#[test]
fn a_discontinuity_between_probe_and_reply_voids_the_measurement() {
    type Bend = fn(&mut Harness) -> Nanos;
    let bends: [(&str, Bend); 4] = [
        ("a late timer", |h| {
            let _ = h.timer(at(200));
            at(200)
        }),
        ("a backward step", |h| {
            let _ = h.timer(at(20));
            at(21)
        }),
        ("a resume hint", |h| {
            let _ = h.resume(at(31), None);
            at(31)
        }),
        ("a reply that is itself late", |_| at(300)),
    ];
    for (what, bend) in bends {
        let mut h = Harness::new(standard(3), at(0));
        h.run_until(at(30));
        let seq = h.probes()[0].1.seq;
        let reply_at = bend(&mut h);

        let _ = h.reply(reply_at, seq);

        assert_eq!(h.machine.rtt(), None, "{what}");
    }
}

#[test]
fn a_reply_that_brings_a_send_obligation_probe_is_measured_from_its_own_probe() {
    // Probe #0 for the obligation at 15 s; other traffic at 16 s closes its
    // window; its reply at 30 s comes with the next obligation probe.
    let config = Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .send_every(secs(15))
        .adaptive_reply_window(secs(4))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    h.run_until(at(15));
    let first = h.probes()[0].1.seq;
    let _ = h.inbound(at(16));

    let actions = h.reply(at(30), first);

    assert_eq!(h.machine.rtt().map(|rtt| rtt.min), Some(secs(15)));
    let second = actions.probe().expect("the obligation falls due at 30 s");
    let _ = h.reply(at_ms(30_200), second.seq);
    assert_eq!(
        h.machine.rtt().map(|rtt| rtt.min),
        Some(ms(200)),
        "the new probe is measured too"
    );
}

#[test]
fn a_probe_sent_on_a_late_call_is_not_measured() {
    // The timer comes 100 s late: the probe it sends went out at an
    // instant the clock cannot vouch for.
    let mut h = Harness::new(standard(3), at(0));
    let actions = h.timer(at(130));
    let probe = actions.probe().expect("a probe after the late wake-up");

    let _ = h.reply(at_ms(130_200), probe.seq);

    assert_eq!(h.machine.rtt(), None);
}

#[test]
fn a_reset_forgets_the_estimate() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = cycle(&mut h, ms(200));

    let _ = h.reset(at(100));

    assert_eq!(h.machine.rtt(), None);
}

// ---- The adaptive window -------------------------------------------------------------

#[test]
fn a_fixed_window_ignores_the_estimate() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = cycle(&mut h, ms(100));

    assert_eq!(next_window(&mut h), secs(10));
}

#[test]
fn the_adaptive_window_is_the_longest_until_the_first_measurement() {
    let mut h = Harness::new(adaptive(secs(1)), at(0));

    assert_eq!(next_window(&mut h), secs(10));
}

#[test]
fn the_adaptive_window_follows_smoothed_plus_four_variations() {
    // After one reply of 400 ms: 400 + 4 × 200 = 1.2 s.
    let mut h = Harness::new(adaptive(secs(1)), at(0));
    let _ = cycle(&mut h, ms(400));

    assert_eq!(next_window(&mut h), ms(1_200));
}

#[test]
fn the_adaptive_window_stays_within_its_bounds() {
    // Replies of 10 ms would give 30 ms; the minimum is 1 s.
    let mut h = Harness::new(adaptive(secs(1)), at(0));
    let _ = cycle(&mut h, ms(10));
    assert_eq!(next_window(&mut h), secs(1));

    // A reply of 6 s gives 6 + 12 s; the longest is 10 s.
    let mut h = Harness::new(adaptive(secs(1)), at(0));
    let _ = cycle(&mut h, secs(6));
    assert_eq!(next_window(&mut h), secs(10));
}

#[test]
fn a_dead_peer_is_found_sooner_on_a_fast_path() {
    // Three misses of 1.2 s instead of 10 s after replies of 400 ms.
    let config = adaptive(secs(1));
    let mut h = Harness::new(config, at(0));
    let replied = cycle(&mut h, ms(400));

    let (dead_at, evidence) = h.run_until_dead(at(200));

    let silence = dead_at.since_origin() - replied.since_origin();
    assert_eq!(silence, secs(30) + ms(3_600));
    assert_eq!(evidence.windows_missed, 3);
    assert!(silence <= config.detection_time() + config.tolerance() * 2);
}

#[test]
fn a_late_reply_on_a_tight_window_costs_a_retry_not_the_peer() {
    // The window shrank to 1.2 s; one reply takes 3 s. With two misses
    // allowed, the reply still arrives inside the retry's window (which
    // is anchored to the first) and keeps the peer.
    let config = adaptive(secs(1));
    let mut h = Harness::new(config, at(0));
    let _ = cycle(&mut h, ms(400));
    let at_probe = h.wakeup().at;
    let first = h.timer(at_probe).probe().expect("probe").seq;

    h.run_until(plus(at_probe, ms(2_999)));
    let _ = h.reply(plus(at_probe, secs(3)), first);

    assert!(!h.machine.is_dead());
    assert_eq!(h.machine.misses(), 0);
}

// ---- The config ------------------------------------------------------------------

#[test]
fn an_adaptive_window_that_cannot_work_is_refused_with_what_to_change() {
    let base = || Config::builder().reply_window(secs(10));
    let cases = [
        (
            base().adaptive_reply_window(Duration::ZERO).build(),
            ConfigError::Zero(Field::AdaptiveReplyWindow),
            "adaptive_reply_window is zero",
        ),
        (
            base().adaptive_reply_window(secs(11)).build(),
            ConfigError::AdaptiveWindowAboveReplyWindow {
                min: secs(11),
                reply_window: secs(10),
            },
            "lower the minimum or widen reply_window",
        ),
        (
            base().passive().adaptive_reply_window(secs(2)).build(),
            ConfigError::AdaptiveWindowInPassiveMode,
            "drop adaptive_reply_window or use active mode",
        ),
        (
            base()
                .max_step(secs(2))
                .adaptive_reply_window(secs(2))
                .build(),
            ConfigError::AdaptiveWindowTooShort {
                min: secs(2),
                max_step: secs(2),
                tolerance: ms(100),
            },
            "raise the minimum or lower max_step and tolerance",
        ),
    ];
    for (result, error, says) in cases {
        assert_eq!(result, Err(error));
        assert!(error.to_string().contains(says), "{error}");
    }
}

#[test]
fn unset_step_and_tolerance_follow_the_adaptive_minimum() {
    let config = adaptive(secs(2));

    assert_eq!(config.max_step(), ms(500));
    assert_eq!(config.tolerance(), ms(100));
    assert_eq!(config.adaptive_reply_window(), Some(secs(2)));
    assert_eq!(config.shortest_reply_window(), secs(2));
    assert_eq!(config.reply_window(), secs(10));
    assert_eq!(standard(3).shortest_reply_window(), secs(10));
    assert_eq!(standard(3).adaptive_reply_window(), None);
}

#[test]
fn the_estimate_is_kept_in_nanos_at_every_scale() {
    let config = Config::builder()
        .idle(Duration::from_nanos(100))
        .reply_window(Duration::from_nanos(40))
        .adaptive_reply_window(Duration::from_nanos(20))
        .build()
        .expect("valid");
    let mut machine = Machine::new(config, Nanos(0));
    let probe = machine.on_timer(Nanos(100)).probe().expect("probe");
    let _ = machine.on_reply(Nanos(103), probe.seq);

    assert_eq!(
        machine.rtt(),
        Some(Rtt {
            min: Duration::from_nanos(3),
            smoothed: Duration::from_nanos(3),
            variation: Duration::from_nanos(1),
        })
    );
}
