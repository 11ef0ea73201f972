//! Rule i: the responder side. The peer's probe is inbound traffic, its
//! reply comes out of the same call, and an optional abuse policy counts
//! probes that come too soon while no other traffic flows.
//!
//! Unless a test says otherwise the config is [`support::standard`] (probe
//! after 30 s of silence, each probe waits 10 s, tolerance E = 0.5 s), with
//! a peer-probe limit of 10 s and 2 forgiven strikes where one is set.

mod support;

use std::time::Duration;

use keepalive::{
    Abuse, Action, Config, ConfigError, DiscontinuityKind, Field, Input, Machine, Nanos,
    ProbeReason, Reason,
};
use support::*;

/// The standard config with the peer's probes limited to one every
/// `min_interval`, `strikes` too-early ones forgiven.
fn limited(min_interval: Duration, strikes: u16) -> Config {
    Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .max_misses(3)
        .peer_probe_limit(min_interval, strikes)
        .build()
        .expect("a valid limited config")
}

/// Feeds peer probes at `gaps_ms` apart (from 0 s), firing the timer on
/// time in between, and returns the index of the probe that got the
/// abuse verdict, if any, with the verdict.
fn probe_at_gaps(h: &mut Harness, gaps_ms: &[u64]) -> Option<(usize, Abuse)> {
    let mut now = 0;
    for (index, gap) in gaps_ms.iter().enumerate() {
        now += gap;
        h.run_until(at_ms(now));
        let actions = h.peer_probe(at_ms(now));
        if let Some(abuse) = actions.misbehaving() {
            return Some((index, abuse));
        }
        assert!(actions.reply(), "probe {index} got no reply: {actions:?}");
    }
    None
}

/// The probes so far as (reading, number, reason).
fn probes(h: &Harness) -> Vec<(Nanos, u64, ProbeReason)> {
    h.probes()
        .into_iter()
        .map(|(at, probe)| (at, probe.seq, probe.reason))
        .collect()
}

// ---- The reply and the traffic it counts as --------------------------------

#[test]
fn a_peer_probe_is_answered_in_the_same_call() {
    let mut h = Harness::new(standard(3), at(0));

    let actions = h.peer_probe(at(5));

    assert_eq!(actions.output, Some(Action::SendReply));
    assert_eq!(actions.discontinuity, None);
}

#[test]
fn a_peer_probe_counts_as_inbound_traffic_for_the_idle_probe() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.peer_probe(at(20));

    h.run_until(at(49));
    assert!(h.probes().is_empty(), "silence is counted from the probe");

    h.run_until(at(50));
    assert_eq!(probes(&h), vec![(at(50), 0, ProbeReason::Idle)]);
}

#[test]
fn a_peer_probe_closes_our_open_window_and_clears_the_misses() {
    let mut h = Harness::new(standard(2), at(0));
    h.run_until(at(40));
    assert_eq!(h.machine.misses(), 1, "the first window expired");
    assert!(h.machine.window_open());

    let actions = h.peer_probe(at(41));

    assert!(actions.reply());
    assert!(!h.machine.window_open());
    assert_eq!(h.machine.misses(), 0);
    assert_eq!(
        actions.timer.map(|wakeup| (wakeup.at, wakeup.reason)),
        Some((at(71), Reason::Idle)),
        "the next wake-up is the idle deadline from the peer's probe"
    );
}

#[test]
fn a_peer_probe_on_a_late_call_at_the_window_end_is_answered_and_keeps_the_peer() {
    // Our window ends at 40 s; the process wakes 200 s late and finds the
    // peer's probe first. The probe is traffic: no verdict, and the reply
    // goes out in this very call beside the discontinuity.
    let mut h = Harness::new(standard(1), at(0));
    h.run_until(at(30));
    assert!(h.machine.window_open());

    let actions = h.peer_probe(at(240));

    assert!(actions.reply());
    assert!(matches!(
        actions.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Late { .. })
    ));
    assert!(!h.machine.is_dead());
}

#[test]
fn the_reply_counts_as_a_send_for_the_send_obligation() {
    let config = Config::builder()
        .idle(secs(60))
        .send_every(secs(15))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    let _ = h.peer_probe(at(10));

    h.run_until(at(24));
    assert!(h.probes().is_empty(), "the reply at 10 s was a send");

    h.run_until(at(25));
    assert_eq!(probes(&h), vec![(at(25), 0, ProbeReason::SendObligation)]);
}

#[test]
fn without_a_limit_peer_probes_at_any_rate_are_answered() {
    let mut h = Harness::new(standard(3), at(0));
    let gaps = vec![1; 10_000];

    assert_eq!(probe_at_gaps(&mut h, &gaps), None);
}

#[test]
fn a_dead_machine_answers_no_peer_probe() {
    let mut h = Harness::new(standard(1), at(0));
    let _ = h.run_until_dead(at(100));

    let actions = h.peer_probe(at(101));

    assert!(actions.is_empty());
}

#[test]
fn a_passive_machine_answers_peer_probes_and_counts_them_as_heartbeats() {
    let mut h = Harness::new(passive(secs(10), secs(5), 1), at(0));
    for second in (8..100).step_by(8) {
        h.run_until(at(second));
        assert!(h.peer_probe(at(second)).reply());
    }

    h.run_until(at(200));
    assert!(h.machine.is_dead(), "silence after the last probe kills");
}

// ---- The abuse policy --------------------------------------------------------

#[test]
fn the_strike_past_the_limit_is_a_misbehaving_verdict_with_its_evidence() {
    let mut h = Harness::new(limited(secs(10), 2), at(0));

    // The first probe has no gap; the next three come 4 s, 3 s and 2 s
    // after the one before.
    let verdict = probe_at_gaps(&mut h, &[1_000, 4_000, 3_000, 2_000]);

    let (index, abuse) = verdict.expect("a verdict");
    assert_eq!(index, 3, "two strikes are forgiven, the third is not");
    assert_eq!(
        abuse,
        Abuse {
            strikes: 3,
            gap: secs(2),
            min_interval: secs(10),
        }
    );
    assert!(h.machine.is_dead());
    assert_eq!(h.machine.next_wakeup(), None);
}

#[test]
fn with_no_strikes_forgiven_the_first_early_probe_is_the_verdict() {
    let mut h = Harness::new(limited(secs(10), 0), at(0));

    let verdict = probe_at_gaps(&mut h, &[0, 10_000, 9_000]);

    assert_eq!(
        verdict.map(|(index, abuse)| (index, abuse.strikes)),
        Some((2, 1))
    );
}

#[test]
fn probes_the_tolerance_short_of_the_minimum_interval_are_not_struck() {
    // E = 0.5 s: a gap of 9.5 s is scheduling delay, 9.499 s is a strike.
    let mut h = Harness::new(limited(secs(10), 2), at(0));
    assert_eq!(probe_at_gaps(&mut h, &[9_500; 200]), None);

    let mut h = Harness::new(limited(secs(10), 2), at(0));
    let verdict = probe_at_gaps(&mut h, &[9_499; 10]);
    assert_eq!(verdict.map(|(index, _)| index), Some(3));
}

#[test]
fn a_run_of_polite_gaps_one_longer_than_the_strikes_allowed_forgives_one() {
    // One strike allowed: two polite gaps in a row forgive one.
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let verdict = probe_at_gaps(&mut h, &[0, 1_000, 20_000, 20_000, 1_000, 1_000]);
    assert_eq!(verdict.map(|(index, _)| index), Some(5));

    // One polite gap between two short ones forgives nothing.
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let verdict = probe_at_gaps(&mut h, &[0, 1_000, 20_000, 1_000]);
    assert_eq!(verdict.map(|(index, _)| index), Some(3));
}

#[test]
fn a_peer_probing_twice_per_interval_is_found_however_it_spaces_the_pairs() {
    // Two strikes allowed; the peer sends two probes 10 ms apart every
    // 300 s, twice the allowed rate: a polite gap after every strike
    // never makes a run of three.
    let config = Config::builder()
        .idle(secs(600))
        .reply_window(secs(10))
        .peer_probe_limit(secs(300), 2)
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    let mut gaps = vec![0];
    for _ in 0..10 {
        gaps.extend([10, 300_000]);
    }
    let verdict = probe_at_gaps(&mut h, &gaps);
    assert_eq!(
        verdict.map(|(index, abuse)| (index, abuse.strikes)),
        Some((5, 3))
    );
}

#[test]
fn inbound_traffic_between_probes_clears_the_strikes_on_either_path() {
    // Between each pair of early probes: inbound traffic alone (the hot
    // path, credited by the next probe), or inbound traffic followed by a
    // timer call that credits it first.
    for timer_after_traffic in [false, true] {
        let mut h = Harness::new(limited(secs(10), 1), at(0));
        let _ = h.peer_probe(at(0));
        for second in 1..50 {
            let _ = h.inbound(at_ms(second * 1_000 - 500));
            if timer_after_traffic {
                let _ = h.timer(at_ms(second * 1_000 - 200));
            }
            let actions = h.peer_probe(at(second));
            assert!(actions.reply(), "probe at {second} s: {actions:?}");
        }
    }
}

#[test]
fn a_reply_to_our_probe_between_peer_probes_clears_the_strikes() {
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    h.run_until(at(30));
    let seq = h.probes()[0].1.seq;
    let _ = h.peer_probe(at(31));
    let _ = h.peer_probe(at(32));
    let _ = h.reply(at(32), seq);

    // Neither the gap across the reply nor the strike before it counts.
    assert!(h.peer_probe(at(33)).reply());
    assert!(h.peer_probe(at(34)).reply());
    assert!(h.peer_probe(at(35)).misbehaving().is_some());
}

#[test]
fn a_reply_with_a_number_never_issued_does_not_clear_the_strikes() {
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let _ = h.peer_probe(at(1));
    let _ = h.peer_probe(at(2));
    let _ = h.reply(at(2), 999);

    assert!(h.peer_probe(at(3)).misbehaving().is_some());
}

#[test]
fn traffic_we_send_between_probes_clears_the_strikes() {
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let _ = h.peer_probe(at(0));
    for second in 1..50 {
        let _ = h.sent(at_ms(second * 1_000 - 500));
        assert!(h.peer_probe(at(second)).reply());
    }

    // Without it the second early probe is the verdict.
    assert!(h.peer_probe(at(51)).reply());
    assert!(h.peer_probe(at(52)).misbehaving().is_some());
}

#[test]
fn timer_calls_between_probes_clear_nothing() {
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let _ = h.peer_probe(at(0));
    let _ = h.timer(at_ms(500));
    let _ = h.peer_probe(at(1));
    let _ = h.timer(at_ms(1_500));

    assert!(h.peer_probe(at(2)).misbehaving().is_some());
}

#[test]
fn a_gap_across_a_clock_discontinuity_is_not_measured() {
    // Probes 1 s apart by the clock, but the clock stepped between them
    // (back 5 s, or forward past the wake-up), or steps on the probe's
    // own call: such a gap says nothing about the peer's rate.
    type Bend = fn(&mut Harness, u64) -> Nanos;
    let bends: [(&str, Bend); 4] = [
        ("a backward step before the probe", |h, base| {
            let _ = h.timer(at(base - 5));
            at(base - 4)
        }),
        ("a backward step on the probe", |_, base| at(base - 5)),
        ("a late timer before the probe", |h, _| {
            let late = h.wakeup().at.0 / 1_000_000_000 + 100;
            let _ = h.timer(at(late));
            at(late + 1)
        }),
        ("a resume hint before the probe", |h, base| {
            let _ = h.resume(at(base), None);
            at(base)
        }),
    ];
    for (what, bend) in bends {
        let mut h = Harness::new(limited(secs(10), 0), at(1_000));
        let _ = h.peer_probe(at(1_000));
        let _ = h.peer_probe(at(1_001));
        assert!(h.machine.is_dead(), "{what}: the control case strikes");

        let mut h = Harness::new(limited(secs(10), 0), at(1_000));
        let _ = h.peer_probe(at(1_000));
        let probe_at = bend(&mut h, 1_000);
        let actions = h.peer_probe(probe_at);
        assert!(actions.reply(), "{what}: {actions:?}");

        // Nor is one less than min_interval after the discontinuity: it
        // may be measured from a probe that queued behind it.
        let soon = Nanos(probe_at.0 + 1_000_000_000);
        assert!(h.peer_probe(soon).reply(), "{what}");
        // From then on gaps are measured again.
        let later = Nanos(probe_at.0 + 10_500_000_000);
        assert!(h.peer_probe(later).reply(), "{what}: a gap of 9.5 s");
        let last = Nanos(later.0 + 1_000_000_000);
        assert!(h.peer_probe(last).misbehaving().is_some(), "{what}");
    }
}

/// A peer that probes every `every` seconds from `every` on, while the
/// process stalls from `from` to `to` (seconds) in each of `stalls`: the
/// probes that arrive meanwhile and the timer are handed over when it
/// ends, input first. Returns the abuse verdict, if any, over `until`
/// seconds.
fn stalled_prober(config: Config, every: u64, stalls: &[(u64, u64)], until: u64) -> Option<Abuse> {
    // When something that happens at `instant` is handed to the machine.
    let handed = |instant: Nanos| {
        stalls
            .iter()
            .find(|&&(from, to)| at(from) <= instant && instant < at(to))
            .map_or(instant, |&(_, to)| at(to))
    };
    let mut h = Harness::new(config, at(0));
    let mut next_probe = every;
    while next_probe <= until {
        let probe = handed(at(next_probe));
        // The timer fires on time while the process runs; a wake-up that
        // falls in a stall comes at its end, after the input.
        loop {
            let fires = handed(h.wakeup().at);
            if fires >= probe {
                break;
            }
            // A probe of ours is answered at once.
            if let Some(ours) = h.timer(fires).probe() {
                let _ = h.reply(fires, ours.seq);
            }
        }
        if let Some(abuse) = h.peer_probe(probe).misbehaving() {
            return Some(abuse);
        }
        next_probe += every;
    }
    None
}

#[test]
fn probes_that_queued_behind_a_stall_the_machine_saw_are_not_struck() {
    // A peer probing every 10 s against a limit of 10 s, with no strike
    // or one forgiven, through stalls the machine sees: the probes that
    // queued arrive together, and the next on-time one comes soon after
    // the last of them.
    let cases = [
        (
            "active, a 65 s stall, six probes queued",
            limited(secs(10), 1),
            (5, 70),
        ),
        (
            "active, one probe handed over 5 s late",
            Config::builder()
                .idle(secs(12))
                .reply_window(secs(10))
                .peer_probe_limit(secs(10), 0)
                .build()
                .expect("valid"),
            (19, 25),
        ),
    ];
    for (what, config, stall) in cases {
        assert_eq!(stalled_prober(config, 10, &[stall], 300), None, "{what}");
    }

    // Passive mode wakes every max_step, so even a 3 s stall is seen.
    let passive = Config::builder()
        .passive()
        .idle(secs(20))
        .reply_window(secs(5))
        .peer_probe_limit(secs(10), 0)
        .build()
        .expect("valid");
    assert_eq!(stalled_prober(passive, 10, &[(19, 23)], 300), None);
}

#[test]
fn a_stall_the_machine_cannot_see_costs_strikes_that_polite_gaps_then_forgive() {
    // gRPC's defaults, a limit of 5 minutes and 2 strikes, on a connection
    // whose idle deadline is 2 hours away: a 16 minute stall is shorter
    // than the pending wake-up, so the machine cannot tell it from
    // waiting. The three probes that queued arrive together and cost three
    // strikes (two gaps of zero, then the on-time one soon after them).
    let config = |strikes| {
        Config::builder()
            .idle(secs(7_200))
            .reply_window(secs(20))
            .peer_probe_limit(secs(300), strikes)
            .build()
            .expect("valid")
    };
    let stall = (310, 1_270);
    let verdict = stalled_prober(config(2), 300, &[stall], 20_000);
    assert_eq!(verdict.map(|abuse| abuse.strikes), Some(3));

    // With one more strike allowed the connection survives that stall and,
    // the strikes forgiven by the polite gaps after it, the same stall
    // again and again.
    let stalls = [stall, (5_110, 6_070), (9_910, 10_870), (14_710, 15_670)];
    assert_eq!(stalled_prober(config(3), 300, &stalls, 20_000), None);
}

#[test]
fn the_same_stall_against_a_machine_that_measured_every_gap_would_strike() {
    // The control for the test above: with a limit and the probes
    // arriving together, a gap of zero is a strike when nothing was seen.
    let mut h = Harness::new(limited(secs(10), 1), at(0));
    let _ = h.peer_probe(at(10));
    let _ = h.peer_probe(at(11));
    assert!(h.peer_probe(at(11)).misbehaving().is_some());
}

#[test]
fn a_reset_clears_the_strikes_and_lifts_the_verdict() {
    let mut h = Harness::new(limited(secs(10), 0), at(0));
    let _ = h.peer_probe(at(0));
    assert!(h.peer_probe(at(1)).misbehaving().is_some());
    assert!(h.feed(at(2), Input::Sent).is_empty(), "nothing after it");

    let _ = h.reset(at(3));

    assert!(
        h.peer_probe(at(4)).reply(),
        "no gap to measure after a reset"
    );
    assert!(h.peer_probe(at(14)).reply());
}

#[test]
fn a_misbehaving_peer_is_found_whatever_the_active_or_passive_mode() {
    for config in [
        limited(secs(10), 1),
        Config::builder()
            .passive()
            .idle(secs(20))
            .reply_window(secs(5))
            .peer_probe_limit(secs(10), 1)
            .build()
            .expect("valid"),
    ] {
        let mut h = Harness::new(config, at(0));
        let verdict = probe_at_gaps(&mut h, &[0, 5_000, 5_000, 5_000]);
        assert_eq!(verdict.map(|(index, _)| index), Some(2), "{config:?}");
    }
}

// ---- The limit's config ----------------------------------------------------

#[test]
fn a_limit_that_could_never_strike_is_refused_with_what_to_change() {
    let base = || Config::builder().reply_window(secs(10)); // E = 0.5 s
    let refused = [
        (
            base().peer_probe_limit(Duration::ZERO, 2).build(),
            ConfigError::Zero(Field::PeerProbeInterval),
        ),
        (
            base().peer_probe_limit(ms(500), 2).build(),
            ConfigError::PeerProbeIntervalNotAboveTolerance {
                min_interval: ms(500),
                tolerance: ms(500),
            },
        ),
        (
            base().peer_probe_limit(Duration::MAX, 2).build(),
            ConfigError::TooLong(Field::PeerProbeInterval),
        ),
    ];
    for (result, error) in refused {
        assert_eq!(result, Err(error));
    }

    let message = ConfigError::PeerProbeIntervalNotAboveTolerance {
        min_interval: ms(500),
        tolerance: ms(500),
    }
    .to_string();
    assert!(message.contains("lengthen min_interval or lower tolerance"));
    assert_eq!(
        ConfigError::Zero(Field::PeerProbeInterval).to_string(),
        "peer_probe_limit's min_interval is zero: give it a positive duration"
    );
}

#[test]
fn the_config_reports_the_limit_it_was_built_with() {
    assert_eq!(standard(3).peer_probe_limit(), None);
    assert_eq!(
        limited(secs(300), 2).peer_probe_limit(),
        Some((secs(300), 2))
    );
    let machine = Machine::new(limited(ms(501), 7), Nanos(0));
    assert_eq!(machine.config().peer_probe_limit(), Some((ms(501), 7)));
}
