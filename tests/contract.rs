//! The machine's contract, rule by rule (a to h in the design notes), plus
//! reset, the verdict, passive mode, extreme instants and the evidence.
//!
//! Unless a test says otherwise the config is [`support::standard`]: probe
//! after 30 s of inbound silence, each probe waits 10 s, step S = 2.5 s,
//! tolerance E = 0.5 s. The clock starts at 0 s, so readings double as
//! credited time until a test bends the clock.
//!
//! Each test is written so that breaking its rule in `src/machine.rs` makes
//! it fail; the mutation table in the test report lists which.

mod support;

use std::time::Duration;

use keepalive::{
    Action, Cause, Config, Discontinuity, DiscontinuityKind, Evidence, Input, Machine, Nanos,
    ProbeReason, Reason, Wakeup, MAX_SPAN,
};
use support::*;

const NS: Duration = Duration::from_nanos(1);

/// Step plus tolerance of [`standard`]: the most one jump may cost a window.
const S_PLUS_E: Duration = Duration::from_millis(3_000);

/// Clock steps from the smallest that counts as late to the largest a
/// `u64` of nanoseconds holds.
fn jump_sizes() -> Vec<Duration> {
    vec![
        ms(500) + NS,
        secs(1),
        secs(3),
        secs(30),
        secs(120),
        secs(3_600),
        secs(86_400),
        secs(365 * 86_400),
        Duration::from_nanos(1 << 40),
        Duration::from_nanos(1 << 50),
        Duration::from_nanos(1 << 62),
        Duration::from_nanos(1 << 63),
    ]
}

// ---- Rule a: a probe after `idle` of inbound silence -----------------------

#[test]
fn a_probe_goes_out_exactly_idle_after_the_last_inbound_event() {
    // Inbound instants in milliseconds. Each arrives before the machine's
    // pending wake-up, so the timer fires early at least once and has to
    // re-arm itself from the latest traffic.
    let schedules: &[&[u64]] = &[
        &[],
        &[1],
        &[29_999],
        &[10_000, 20_000, 29_000],
        &[12_345, 41_000, 70_999],
        &[5_000, 5_000, 5_001],
    ];

    for &schedule in schedules {
        let mut h = Harness::new(standard(3), at(0));
        let mut last = at(0);
        for &inbound in schedule {
            // Timers due strictly before the traffic fire first.
            h.run_until(minus(at_ms(inbound), NS));
            let actions = h.inbound(at_ms(inbound));
            assert!(
                actions.is_empty(),
                "inbound traffic with no window open must do nothing, \
                 got {actions:?} at {inbound} ms"
            );
            last = at_ms(inbound);
        }

        let (sent_at, probe) = h.next_probe(at(1_000));

        assert_eq!(
            sent_at,
            plus(last, secs(30)),
            "schedule {schedule:?}:\n{}",
            h.timeline()
        );
        assert_eq!(probe.reason, ProbeReason::Idle);
        assert_eq!(probe.seq, 0);
    }
}

#[test]
fn inbound_traffic_leaves_the_timer_alone_and_the_early_timer_re_arms_itself() {
    let mut h = Harness::new(standard(3), at(0));
    assert_eq!(
        h.wakeup(),
        Wakeup {
            at: at(30),
            reason: Reason::Idle
        }
    );

    let actions = h.inbound(at(10));

    assert!(actions.is_empty(), "no ArmTimer for inbound: {actions:?}");
    assert_eq!(h.wakeup().at, at(30), "the pending wake-up did not move");

    // The timer fires at the old deadline, sends nothing and re-arms for
    // the idle deadline measured from the traffic.
    let actions = h.timer(at(30));
    assert_eq!(actions.output, None);
    assert_eq!(
        actions.timer,
        Some(Wakeup {
            at: at(40),
            reason: Reason::Idle
        })
    );
    let (sent_at, _) = h.next_probe(at(100));
    assert_eq!(sent_at, at(40));
}

#[test]
fn the_next_probe_is_measured_from_the_reply_not_from_the_probe() {
    for latency in [ms(1), ms(50), secs(2), ms(9_999)] {
        let mut h = Harness::new(standard(3), at(0));
        let (probed, probe) = h.next_probe(at(30));
        h.run_until(minus(plus(probed, latency), NS));

        let actions = h.reply(plus(probed, latency), probe.seq);

        assert_eq!(actions.output, None);
        assert!(!h.machine.window_open(), "the reply closes the window");
        let (next, probe) = h.next_probe(at(1_000));
        assert_eq!(next, plus(plus(probed, latency), secs(30)), "{latency:?}");
        assert_eq!(probe.reason, ProbeReason::Idle);
    }
}

// ---- Rule b: the reply window and its anchor -------------------------------

#[test]
fn the_reply_window_starts_when_the_probe_is_emitted_however_late_the_send_is_reported() {
    for delay in [Duration::ZERO, ms(1), ms(2_500), secs(7), ms(9_999)] {
        let mut h = Harness::new(standard(1), at(0));
        let (probed, _) = h.next_probe(at(30));
        h.run_until(minus(plus(probed, delay), NS));
        let _ = h.sent(plus(probed, delay));

        let (dead_at, evidence) = h.run_until_dead(at(1_000));

        assert_eq!(dead_at, at(40), "send reported {delay:?} late");
        assert_eq!(evidence.longest_window, secs(10));
    }
}

#[test]
fn a_probe_emitted_late_within_the_tolerance_gets_its_whole_window() {
    let mut h = Harness::new(standard(1), at(0));

    // The idle deadline is 30 s; the wake-up comes 0.4 s late.
    let actions = h.timer(at_ms(30_400));
    assert_eq!(actions.discontinuity, None);
    assert!(actions.probe().is_some());

    let (dead_at, evidence) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at_ms(40_400), "10 s from the emission");
    assert_eq!(evidence.longest_window, secs(10));
}

#[test]
fn probes_sent_while_a_window_is_open_never_push_its_deadline_back() {
    // The send obligation (every 10 s) keeps probing while the 20 s window
    // of the first probe is open. Idle is 11 s only because the obligation
    // must be below it.
    for misses in 1..=3u32 {
        let config = Config::builder()
            .idle(secs(11))
            .reply_window(secs(20))
            .send_every(secs(10))
            .max_misses(misses)
            .build()
            .expect("valid");
        let mut h = Harness::new(config, at(0));

        let (dead_at, evidence) = h.run_until_dead(at(1_000));

        let last = 20 * u64::from(misses);
        assert_eq!(dead_at, at(10 + last), "{}", h.timeline());
        let expected: Vec<Nanos> = (1..=2 * u64::from(misses)).map(|k| at(10 * k)).collect();
        assert_eq!(h.probe_times(), expected);
        assert_eq!(evidence.windows_missed, misses);
        assert_eq!(evidence.longest_window, secs(20));
    }
}

#[test]
fn a_retry_window_ends_one_window_after_the_previous_end_even_when_the_expiry_call_was_late() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.next_probe(at(30));
    h.run_until(at_ms(37_500));

    // 0.4 s late: within the tolerance, so an ordinary expiry.
    let actions = h.timer(at_ms(40_400));
    assert_eq!(actions.discontinuity, None);
    assert_eq!(
        actions.probe().map(|probe| probe.reason),
        Some(ProbeReason::Retry)
    );

    let (dead_at, evidence) = h.run_until_dead(at(1_000));
    assert_eq!(
        dead_at,
        at(60),
        "windows end at 40, 50, 60:\n{}",
        h.timeline()
    );
    assert_eq!(h.probe_times(), vec![at(30), at_ms(40_400), at(50)]);
    assert_eq!(evidence.shortest_window, ms(9_600));
    assert_eq!(evidence.longest_window, ms(10_400));
}

// ---- Rule c: misses, traffic, and the send obligation ----------------------

#[test]
fn the_peer_is_dead_only_after_max_misses_consecutive_unanswered_windows() {
    for misses in 1..=5u32 {
        let mut h = Harness::new(standard(misses), at(0));
        for k in 1..u64::from(misses) {
            h.run_until(at(30 + 10 * k));
            assert!(!h.machine.is_dead(), "dead after {k} of {misses} misses");
            assert_eq!(u64::from(h.machine.misses()), k);
            assert!(h.machine.window_open(), "a retry window is open");
        }
        let end = at(30 + 10 * u64::from(misses));
        h.run_until(minus(end, NS));
        assert!(!h.machine.is_dead());

        let (dead_at, evidence) = h.run_until_dead(end);

        assert_eq!(dead_at, end);
        let probes = h.probes();
        assert_eq!(probes.len(), misses as usize);
        for (index, (_, probe)) in probes.iter().enumerate() {
            assert_eq!(probe.seq, index as u64);
            let expected = if index == 0 {
                ProbeReason::Idle
            } else {
                ProbeReason::Retry
            };
            assert_eq!(probe.reason, expected);
        }
        assert_eq!(evidence.windows_missed, misses);
        assert_eq!(evidence.probes_sent, misses);
    }
}

#[derive(Clone, Copy, Debug)]
enum Traffic {
    Inbound,
    ReplyToFirstProbe,
    ReplyToLatestProbe,
}

#[test]
fn traffic_after_all_but_one_miss_makes_the_machine_wait_for_max_misses_fresh_misses() {
    for misses in 2..=4u32 {
        for traffic in [
            Traffic::Inbound,
            Traffic::ReplyToFirstProbe,
            Traffic::ReplyToLatestProbe,
        ] {
            let mut h = Harness::new(standard(misses), at(0));
            let heard_at = at(30 + 10 * u64::from(misses - 1) + 1);
            h.run_until(minus(heard_at, NS));
            assert_eq!(h.machine.misses(), misses - 1);
            let latest = h.probes().last().expect("probes went out").1.seq;

            let _ = match traffic {
                Traffic::Inbound => h.inbound(heard_at),
                Traffic::ReplyToFirstProbe => h.reply(heard_at, 0),
                Traffic::ReplyToLatestProbe => h.reply(heard_at, latest),
            };

            assert_eq!(h.machine.misses(), 0, "{traffic:?}");
            assert!(!h.machine.window_open(), "{traffic:?}");
            let (dead_at, evidence) = h.run_until_dead(at(1_000));
            let fresh = secs(30 + 10 * u64::from(misses));
            assert_eq!(dead_at, plus(heard_at, fresh), "{misses} {traffic:?}");
            assert_eq!(evidence.windows_missed, misses);
            assert_eq!(evidence.probes_sent, misses, "counted since the traffic");
        }
    }
}

#[test]
fn a_reply_to_a_probe_the_machine_never_issued_is_ignored() {
    let mut h = Harness::new(standard(1), at(0));
    let (_, probe) = h.next_probe(at(30));
    assert_eq!(probe.seq, 0);

    for (at_s, seq) in [(31, 1), (32, 99), (33, u64::MAX)] {
        h.run_until(minus(at(at_s), NS));
        let actions = h.reply(at(at_s), seq);
        assert_eq!(actions.output, None);
        assert!(h.machine.window_open(), "reply #{seq} must not count");
    }

    let (dead_at, _) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at(40));
}

#[test]
fn the_send_obligation_is_measured_from_the_last_send() {
    // Obligation every 20 s, idle 30 s. The obligation probes at 20 and
    // 40 are answered at 25 and 41; a send reported at 45 pushes the next
    // one to 65. Measured from the replies it would be 45 and 61.
    let config = Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .send_every(secs(20))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));

    let (first, probe) = h.next_probe(at(20));
    assert_eq!(first, at(20));
    assert_eq!(probe.reason, ProbeReason::SendObligation);
    h.run_until(minus(at(25), NS));
    let _ = h.reply(at(25), probe.seq);

    let (second, probe) = h.next_probe(at(40));
    assert_eq!(second, at(40));
    h.run_until(minus(at(41), NS));
    let _ = h.reply(at(41), probe.seq);
    h.run_until(minus(at(45), NS));
    let actions = h.sent(at(45));
    assert!(actions.is_empty(), "a send is recorded lazily: {actions:?}");

    let (third, probe) = h.next_probe(at(100));
    assert_eq!(third, at(65), "{}", h.timeline());
    assert_eq!(probe.reason, ProbeReason::SendObligation);
}

// ---- Rule d: credited time -------------------------------------------------

#[test]
fn a_step_up_to_the_pending_wake_up_plus_tolerance_is_credited_in_full() {
    let mut h = Harness::new(standard(3), at(0));

    let _ = h.timer(at(10));
    assert_eq!(h.machine.credited(), secs(10));
    let _ = h.inbound(at(20));
    assert_eq!(h.machine.credited(), secs(20));
    // The old idle deadline: it re-arms for 50 s.
    let _ = h.timer(at(30));
    assert_eq!(h.machine.credited(), secs(30));
    let _ = h.timer(at(45));
    assert_eq!(h.machine.credited(), secs(45));

    // The wake-up is at 50; arriving exactly the tolerance late still
    // counts as on time.
    let actions = h.timer(at_ms(50_500));
    assert_eq!(actions.discontinuity, None);
    assert_eq!(h.machine.credited(), ms(50_500));
    assert!(actions.probe().is_some());
}

#[test]
fn a_step_beyond_the_pending_wake_up_plus_tolerance_is_credited_only_up_to_it() {
    for size in jump_sizes() {
        // Idle phase: the wake-up asked for is 30 s away.
        let mut h = Harness::new(standard(3), at(0));
        let reading = plus(at(30), size);

        let actions = h.timer(reading);

        assert_eq!(h.machine.credited(), ms(30_500), "{size:?}");
        assert_eq!(
            actions.discontinuity,
            Some(Discontinuity {
                kind: DiscontinuityKind::Late { by: size },
                observed: reading.since_origin(),
                credited: ms(30_500),
                cause: Cause::Unknown,
            })
        );

        // Window open: the wake-up is S away, so the jump costs S + E.
        let mut h = Harness::new(standard(3), at(0));
        let _ = h.next_probe(at(30));
        let before = h.machine.credited();
        let _ = h.timer(plus(at_ms(32_500), size));
        assert_eq!(h.machine.credited() - before, S_PLUS_E, "{size:?}");
    }

    // The largest instant of all: the step is u64::MAX nanoseconds.
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.timer(Nanos(u64::MAX));
    assert_eq!(h.machine.credited(), ms(30_500));
}

#[test]
fn a_step_to_an_earlier_or_equal_instant_credits_nothing() {
    for size in [NS, ms(1), secs(1), secs(1_010)] {
        let mut h = Harness::new(standard(3), at(1_000));
        let _ = h.timer(at(1_010));
        assert_eq!(h.machine.credited(), secs(10));

        let actions = h.timer(at(1_010));
        assert_eq!(actions.discontinuity, None, "an equal instant is no step");
        assert_eq!(h.machine.credited(), secs(10));

        let earlier = minus(at(1_010), size);
        let actions = h.timer(earlier);
        assert_eq!(h.machine.credited(), secs(10), "{size:?}");
        assert_eq!(
            actions.discontinuity,
            Some(Discontinuity {
                kind: DiscontinuityKind::Backward { by: size },
                observed: Duration::ZERO,
                credited: Duration::ZERO,
                cause: Cause::ClockStep,
            })
        );
        // The wake-up is re-armed relative to the earlier reading.
        assert_eq!(h.wakeup().at, plus(earlier, secs(20)));

        // Steps from the new reading are credited as usual.
        let _ = h.timer(plus(earlier, secs(1)));
        assert_eq!(h.machine.credited(), secs(11));
    }
}

#[test]
fn a_forward_jump_of_any_size_costs_a_window_at_most_step_plus_tolerance() {
    // The reply comes 1 ms inside what one jump may leave of the window
    // (10 s - S - E). A driver sleeping to an absolute instant is woken at
    // once by the jump, so the jump lands with a whole step still pending:
    // the worst case.
    let latency = secs(10) - S_PLUS_E - ms(1);
    let mut sizes = jump_sizes();
    sizes.push(Duration::from_nanos(u64::MAX - (1 << 41)));

    for sleep in [Sleep::Absolute, Sleep::Relative] {
        for &size in &sizes {
            for after_probe in [ms(1), ms(1_000), ms(2_499), ms(2_501), ms(6_000), ms(6_998)] {
                let mut world = World::new(standard(1), at(1_000))
                    .sleeping(sleep)
                    .latency(latency)
                    .jump(secs(30) + after_probe, forward(size));

                world.run_until(secs(100));

                assert!(
                    !world.is_dead(),
                    "{sleep:?} jump {size:?} at probe + {after_probe:?}:\n{}",
                    world.harness.timeline()
                );
                // Credited time ran ahead of real time by one jump's cost
                // at most.
                for (entry, &real) in world.harness.log.iter().zip(&world.real_log) {
                    let ahead = entry.credited.saturating_sub(Duration::from_nanos(real));
                    assert!(ahead <= S_PLUS_E, "{sleep:?} {size:?}: ahead {ahead:?}");
                }
            }
        }
    }
}

#[test]
fn forward_jumps_inside_one_window_cost_it_at_most_step_plus_tolerance_each() {
    // Window 20 s: S = 5 s, E = 1 s. J jumps right after the probe each
    // steal S + E, and a reply within 20 s - J (S + E) still counts.
    let config = active(secs(30), secs(20), 1);
    for jumps in 1..=3u32 {
        let latency = secs(20) - secs(6) * jumps - ms(1);
        for sleep in [Sleep::Absolute, Sleep::Relative] {
            let mut world = World::new(config, at(1_000))
                .sleeping(sleep)
                .latency(latency);
            for k in 1..=u64::from(jumps) {
                world = world.jump(secs(30) + ms(k), forward(secs(120)));
            }

            world.run_until(secs(100));

            assert!(
                !world.is_dead(),
                "{jumps} jumps, {sleep:?}:\n{}",
                world.harness.timeline()
            );
        }
    }
}

/// The real instant a dead peer is declared dead when the clock steps by
/// `step` at real `when` (no step when `None`).
fn verdict_with_step(sleep: Sleep, step: Option<(Duration, i128)>) -> u64 {
    let mut world = World::new(standard(3), at(100_000_000))
        .sleeping(sleep)
        .peer_dies_at(Duration::ZERO);
    if let Some((when, by)) = step {
        world = world.jump(when, by);
    }
    world.run_until(secs(100_000_000));
    world
        .verdict_real()
        .unwrap_or_else(|| panic!("no verdict with {step:?}:\n{}", world.harness.timeline()))
}

#[test]
fn a_backward_jump_while_a_window_is_open_delays_the_verdict_by_at_most_step_plus_tolerance() {
    let on_time = verdict_with_step(Sleep::Relative, None);
    assert_eq!(on_time, nanos(secs(60)), "probe at 30, three 10 s windows");

    let sizes = [
        ms(1),
        secs(1),
        ms(2_500),
        secs(10),
        secs(3_600),
        secs(365 * 86_400),
    ];
    let whens = [
        ms(30_001),
        secs(31),
        ms(32_499),
        ms(32_500),
        ms(33_700),
        ms(39_999),
        secs(45),
        ms(59_900),
    ];
    for size in sizes {
        for when in whens {
            let relative = verdict_with_step(Sleep::Relative, Some((when, backward(size))));
            let delay = Duration::from_nanos(relative - on_time);
            assert!(
                delay <= S_PLUS_E,
                "relative sleep, back {size:?} at {when:?}: delayed {delay:?}"
            );

            // Sleeping to an absolute instant adds the step itself.
            let absolute = verdict_with_step(Sleep::Absolute, Some((when, backward(size))));
            let delay = Duration::from_nanos(absolute - on_time);
            assert!(
                delay <= size + S_PLUS_E,
                "absolute sleep, back {size:?} at {when:?}: delayed {delay:?}"
            );
        }
    }
}

#[test]
fn a_backward_jump_before_the_first_probe_delays_the_verdict_by_at_most_the_step_or_idle() {
    // Before the first probe the machine asks for the whole idle deadline
    // (30 s) at once, so a driver that sleeps 30 s relative to now and
    // reads a clock stepped back by B during the sleep has min(B, 30 s)
    // uncredited: guarantees.md allows min(B, idle) + E in this phase.
    let on_time = verdict_with_step(Sleep::Relative, None);
    for size in [secs(1), secs(20), secs(29), secs(3_600)] {
        for when in [secs(1), secs(10), secs(29)] {
            let stepped = verdict_with_step(Sleep::Relative, Some((when, backward(size))));
            let delay = Duration::from_nanos(stepped - on_time);
            let bound = size.min(secs(30)) + ms(500);
            assert!(
                delay <= bound,
                "back {size:?} at {when:?}: delayed {delay:?}"
            );
        }
    }
}

#[test]
fn every_deadline_lives_in_credited_time() {
    let mut h = Harness::new(standard(1), at(0));
    let _ = h.next_probe(at(30));

    // A 1000 s jump on the first watch wake-up: 3 s credited, not 1002.5.
    let _ = h.timer(at_ms(1_032_500));
    assert_eq!(h.machine.credited(), secs(33));

    let (dead_at, evidence) = h.run_until_dead(at(2_000));
    assert_eq!(
        dead_at,
        at_ms(1_039_500),
        "credited 40 s, 7 s after the jump"
    );
    let last = h.log.last().expect("entries");
    assert_eq!(last.credited, secs(40));
    assert_eq!(evidence.silence, secs(40));
    assert_eq!(evidence.longest_window, secs(10));
}

// ---- Rule e: late wake-ups -------------------------------------------------

#[test]
fn a_wake_up_later_than_the_tolerance_is_reported_as_a_late_discontinuity() {
    let mut h = Harness::new(standard(3), at(0));
    let actions = h.timer(at_ms(30_500));
    assert_eq!(actions.discontinuity, None, "exactly E late is on time");

    for lateness in [ms(500) + NS, ms(501), secs(5), secs(3_600)] {
        let mut h = Harness::new(standard(3), at(0));
        let reading = plus(at(30), lateness);

        let actions = h.timer(reading);

        assert_eq!(
            actions.discontinuity,
            Some(Discontinuity {
                kind: DiscontinuityKind::Late { by: lateness },
                observed: reading.since_origin(),
                credited: ms(30_500),
                cause: Cause::Unknown,
            })
        );
        assert!(actions.timer.is_some(), "the clock moved: re-arm");
    }
}

#[test]
fn a_late_wake_up_with_no_probe_outstanding_sends_exactly_one_probe() {
    for stall in [
        ms(501),
        secs(1),
        secs(30),
        secs(300),
        secs(86_400),
        Duration::from_nanos(1 << 50),
    ] {
        // Silent since the start: the credited 30.5 s reach the idle
        // deadline, so the one probe is the idle probe. After inbound
        // traffic at 20 s the idle deadline is 50 s away in credited time
        // and the probe is due to the discontinuity alone.
        for (traffic, reason) in [
            (None, ProbeReason::Idle),
            (Some(at(20)), ProbeReason::Discontinuity),
        ] {
            let mut h = Harness::new(standard(3), at(0));
            if let Some(traffic) = traffic {
                let _ = h.inbound(traffic);
            }
            let woke = plus(at(30), stall);

            let actions = h.timer(woke);

            let probe = actions.probe().expect("one probe at once");
            assert_eq!((probe.seq, probe.reason), (0, reason), "{stall:?}");

            // Everything else that is ready at the same instant.
            for _ in 0..10 {
                assert_eq!(h.timer(woke).output, None);
            }
            assert_eq!(h.sent(woke).output, None);
            assert_eq!(h.reply(woke, 42).output, None);
            h.run_until(plus(woke, ms(9_000)));
            assert_eq!(h.probes().len(), 1, "{stall:?}:\n{}", h.timeline());
        }
    }
}

#[test]
fn a_late_wake_up_with_a_probe_outstanding_sends_no_new_probe() {
    for lateness in [ms(501), secs(5), secs(300)] {
        let mut h = Harness::new(standard(3), at(0));
        let _ = h.next_probe(at(30));

        // The first watch wake-up (32.5 s) comes late.
        let actions = h.timer(plus(at_ms(32_500), lateness));

        assert!(actions.discontinuity.is_some());
        assert_eq!(actions.output, None, "{lateness:?}");
        assert!(h.machine.window_open());
    }
}

#[test]
fn a_window_that_would_expire_on_a_late_call_gets_one_grace_turn_at_now() {
    for answered in [true, false] {
        let mut h = Harness::new(standard(1), at(0));
        let _ = h.next_probe(at(30));
        h.run_until(at_ms(37_500));

        // The wake-up at the window's end (40 s) comes 5 s late: 40.5 s
        // are credited, past the end.
        let actions = h.timer(at(45));

        assert_eq!(actions.output, None, "no verdict on the late call");
        assert_eq!(
            actions.timer,
            Some(Wakeup {
                at: at(45),
                reason: Reason::Grace
            })
        );
        assert!(matches!(
            actions.discontinuity.map(|seen| seen.kind),
            Some(DiscontinuityKind::Late { .. })
        ));

        if answered {
            // The reply that waited behind the late timer wins.
            let _ = h.reply(at(45), 0);
            assert!(!h.machine.is_dead());
            assert_eq!(h.machine.misses(), 0);
            assert_eq!(
                h.wakeup(),
                Wakeup {
                    at: at(75),
                    reason: Reason::Idle
                }
            );
        } else {
            let actions = h.timer(at(45));
            let evidence = actions.dead().expect("the grace turn is used up");
            assert_eq!(evidence.windows_missed, 1);
            assert_eq!(evidence.longest_window, ms(10_500));
            assert_eq!(evidence.discontinuities, 1);
        }
    }
}

#[test]
fn a_reply_queued_behind_a_late_timer_near_the_window_end_keeps_the_peer_alive() {
    // The process stalls late in the window; the reply arrives in the
    // socket during the stall; when the process resumes the overdue timer
    // runs before the reply. Stalls that begin after the last watch
    // wake-up land the late call past the window's end and need the grace
    // turn; earlier ones are already saved by the credit clamp.
    let configs = [
        standard(1),
        Config::builder()
            .idle(secs(30))
            .reply_window(secs(10))
            .max_step(secs(3))
            .tolerance(ms(700))
            .max_misses(1)
            .build()
            .expect("valid"),
        active(secs(30), secs(20), 2),
    ];
    let mut graced = 0;
    for config in configs {
        let window = config.reply_window();
        let step = config.max_step();
        let end = secs(30) + window;
        // The last watch wake-up before the window's end.
        let steps = (window.as_nanos() - 1) / step.as_nanos();
        let last_watch = secs(30) + step * u32::try_from(steps).expect("few steps");
        let tail = end - last_watch;

        let starts = [
            last_watch - ms(1_000),
            last_watch + ms(1),
            last_watch + tail / 2,
            end - ms(2),
        ];
        for start in starts {
            for overrun in [ms(1), secs(1), secs(100)] {
                let length = end - start + config.tolerance() + overrun;
                // The reply lands 1 ms into the stall, inside the window.
                let latency = start - secs(30) + ms(1);
                let mut world = World::new(config, at(0))
                    .ordered(Order::TimerFirst)
                    .latency(latency)
                    .stall(start, length);

                world.run_until(start + length + secs(5));

                assert!(
                    !world.is_dead(),
                    "stall from {start:?} for {length:?}:\n{}",
                    world.harness.timeline()
                );
                let used_grace = world
                    .harness
                    .log
                    .iter()
                    .any(|entry| entry.actions.timer.map(|w| w.reason) == Some(Reason::Grace));
                if start > last_watch {
                    assert!(used_grace, "the late call must hit the window's end");
                    graced += 1;
                }
            }
        }
    }
    assert_eq!(graced, 27);
}

#[test]
fn a_second_late_call_gets_no_second_grace_turn_for_the_same_window() {
    for misses in [1, 2] {
        let mut h = Harness::new(standard(misses), at(0));
        let _ = h.next_probe(at(30));
        h.run_until(at_ms(37_500));
        let first = h.timer(at(45));
        assert_eq!(first.timer.map(|w| w.reason), Some(Reason::Grace));

        // Late again, by 5 s past the grace wake-up.
        let second = h.timer(at(50));

        assert!(second.discontinuity.is_some());
        if misses == 1 {
            let evidence = second.dead().expect("dead on the second late call");
            assert_eq!(evidence.discontinuities, 2);
        } else {
            assert_eq!(second.probe().map(|p| p.reason), Some(ProbeReason::Retry));
            assert_ne!(second.timer.map(|w| w.reason), Some(Reason::Grace));
            assert_eq!(h.machine.misses(), 1);
        }
    }
}

#[test]
fn a_driver_that_is_always_late_still_reaches_a_verdict() {
    for lateness in [ms(501), secs(5), secs(600)] {
        let mut h = Harness::new(standard(3), at(0));
        for _ in 0..1_000 {
            if h.machine.is_dead() {
                break;
            }
            let wakeup = h.wakeup();
            let _ = h.timer(plus(wakeup.at, lateness));
        }
        let (_, evidence) = h.verdict().expect("a verdict within 1000 late calls");
        assert_eq!(evidence.windows_missed, 3, "{lateness:?}");
    }
}

// ---- Rule f: early and spurious wake-ups -----------------------------------

#[derive(Clone, Copy, Debug)]
enum Op {
    Inbound,
    /// A reply to the latest probe sent.
    ReplyLatest,
    Sent,
}

/// What a driver can observe at each scripted input and at the end.
#[derive(Debug, PartialEq)]
struct Observed {
    probes: Vec<(Nanos, keepalive::Probe)>,
    heartbeats: Vec<Nanos>,
    verdict: Option<(Nanos, Evidence)>,
    states: Vec<(Duration, u32, bool)>,
}

/// Runs `script`, firing the timer on time in between, and with
/// `spurious` set also wakes the machine at random instants before each
/// pending wake-up and again at the instant of the previous input.
fn observe(config: Config, script: &[(u64, Op)], spurious: Option<u64>) -> Observed {
    let mut rng = spurious.map(Rng::new);
    let mut h = Harness::new(config, at(0));
    let mut states = Vec::new();

    let mut sprinkle = |h: &mut Harness, until: Nanos| {
        let Some(rng) = rng.as_mut() else { return };
        let until = until.min(h.wakeup().at);
        for _ in 0..rng.range(0, 3) {
            if until.0 <= h.now.0 {
                return;
            }
            let at = Nanos(rng.range(h.now.0, until.0 - 1));
            let _ = h.timer(at);
        }
    };

    for &(at_ms, op) in script {
        let when = Nanos::from_millis(at_ms);
        while !h.machine.is_dead() && h.wakeup().at < when {
            sprinkle(&mut h, when);
            // A spurious call may have moved the wake-up past the input.
            let wakeup = h.wakeup();
            if wakeup.at < when {
                let _ = h.timer(wakeup.at);
            }
        }
        if h.machine.is_dead() {
            break;
        }
        sprinkle(&mut h, when);
        let _ = match op {
            Op::Inbound => h.inbound(when),
            Op::ReplyLatest => {
                let seq = h.probes().last().map_or(0, |(_, probe)| probe.seq);
                h.reply(when, seq)
            }
            Op::Sent => h.sent(when),
        };
        states.push((
            h.machine.credited(),
            h.machine.misses(),
            h.machine.window_open(),
        ));
    }
    for _ in 0..STEP_LIMIT {
        if h.machine.is_dead() {
            break;
        }
        sprinkle(&mut h, Nanos(u64::MAX));
        let wakeup = h.wakeup();
        let _ = h.timer(wakeup.at);
    }

    Observed {
        probes: h.probes(),
        heartbeats: h.heartbeats(),
        verdict: h.verdict(),
        states,
    }
}

#[test]
fn spurious_and_early_wake_ups_change_nothing_but_the_next_wake_up() {
    let with_obligation = Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .send_every(secs(20))
        .max_misses(2)
        .build()
        .expect("valid");
    let passive_with_obligation = Config::builder()
        .passive()
        .idle(secs(10))
        .reply_window(secs(30))
        .send_every(secs(4))
        .max_misses(2)
        .build()
        .expect("valid");
    let script = [
        (5_000, Op::Inbound),
        (35_100, Op::ReplyLatest),
        (47_000, Op::Inbound),
        (52_000, Op::Sent),
        (88_000, Op::ReplyLatest),
        (150_000, Op::Inbound),
        (190_500, Op::ReplyLatest),
    ];

    for config in [
        standard(3),
        standard(1),
        with_obligation,
        passive(secs(10), secs(30), 2),
        passive_with_obligation,
    ] {
        let plain = observe(config, &script, None);

        assert!(plain.verdict.is_some(), "the script ends in silence");
        for seed in 0..40 {
            let sprinkled = observe(config, &script, Some(seed));
            assert_eq!(sprinkled, plain, "seed {seed}, {config:?}");
        }
    }
}

#[test]
fn an_early_wake_up_reports_nothing_or_only_a_new_wake_up() {
    let mut h = Harness::new(standard(3), at(0));
    // Idle phase: the wake-up does not move, so there is nothing to say.
    assert!(h.timer(at(10)).is_empty());
    assert!(h.timer(at(10)).is_empty());

    // In a window the watch step is measured from the call.
    let _ = h.next_probe(at(30));
    let actions = h.timer(at(31));
    assert_eq!(actions.output, None);
    assert_eq!(actions.discontinuity, None);
    assert_eq!(
        actions.timer,
        Some(Wakeup {
            at: at_ms(33_500),
            reason: Reason::Watch
        })
    );
}

// ---- Rule g: the resume hint -----------------------------------------------

#[test]
fn a_resume_hint_sends_a_probe_at_once_and_reports_a_resume_discontinuity() {
    for slept in [None, Some(secs(120)), Some(Duration::ZERO)] {
        let mut h = Harness::new(standard(3), at(0));
        let (probed, probe) = h.next_probe(at(30));
        let _ = h.reply(plus(probed, ms(50)), probe.seq);

        // The clock moved 9.95 s; the host slept longer than that.
        let actions = h.resume(at(40), slept);

        assert_eq!(
            actions.discontinuity,
            Some(Discontinuity {
                kind: DiscontinuityKind::Resume { slept },
                observed: ms(9_950),
                credited: ms(9_950),
                cause: Cause::HostSuspend { slept },
            })
        );
        let probe = actions.probe().expect("a probe at once");
        assert_eq!((probe.seq, probe.reason), (1, ProbeReason::Resume));
        assert!(h.machine.window_open());

        // The process's clock stood still while the host slept (S4).
        let mut h = Harness::new(standard(3), at(0));
        let _ = h.timer(at(10));
        let actions = h.resume(at(10), slept);
        assert_eq!(
            actions.probe().map(|probe| probe.reason),
            Some(ProbeReason::Resume)
        );
        let (dead_at, _) = h.run_until_dead(at(100));
        assert_eq!(dead_at, at(40), "its window counts like any other");
    }
}

#[test]
fn a_resume_hint_with_a_probe_outstanding_probes_again_without_moving_the_deadline() {
    // The outstanding probe or its reply may have been lost while the host
    // slept, so the hint probes again; the window stays anchored to the
    // first unanswered probe.
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.next_probe(at(30));

    let actions = h.resume(at(31), Some(secs(600)));

    assert!(matches!(
        actions.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Resume { .. })
    ));
    let probe = actions.probe().expect("a probe at once");
    assert_eq!((probe.seq, probe.reason), (1, ProbeReason::Resume));
    let (dead_at, evidence) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at(60), "windows still end at 40, 50, 60");
    assert_eq!(evidence.probes_sent, 4);
}

#[test]
fn several_resume_hints_at_one_instant_send_one_probe() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.next_probe(at(30));

    let first = h.resume(at(31), None);
    let again = h.resume(at(31), None);
    let later = h.resume(at(32), None);

    assert!(first.probe().is_some());
    assert_eq!(
        again.probe(),
        None,
        "nothing new to say at the same instant"
    );
    assert!(later.probe().is_some(), "a later hint probes again");
}

#[test]
fn a_resume_hint_exactly_at_the_window_end_re_arms_for_the_grace_turn() {
    // The grace wake-up falls on the instant already armed for the window
    // end; only its reason changes, and the driver is still told.
    let mut h = Harness::new(standard(1), at(0));
    let _ = h.next_probe(at(30));
    h.run_until(at_ms(37_500));
    assert_eq!(h.wakeup().reason, Reason::WindowEnd);
    assert_eq!(h.wakeup().at, at(40));

    let actions = h.resume(at(40), None);

    assert_eq!(
        actions.timer.map(|wakeup| (wakeup.at, wakeup.reason)),
        Some((at(40), Reason::Grace))
    );
}

#[test]
fn a_resume_hint_at_the_end_of_a_window_gives_it_a_grace_turn() {
    let mut h = Harness::new(standard(1), at(0));
    let _ = h.next_probe(at(30));
    h.run_until(at_ms(37_500));

    let actions = h.resume(at(40), None);

    assert_eq!(actions.dead(), None, "no verdict on the resume");
    assert_eq!(
        actions.probe().map(|probe| probe.reason),
        Some(ProbeReason::Resume)
    );
    // The grace wake-up is the instant already armed (40 s), so no
    // ArmTimer is needed; only its reason changed.
    assert_eq!(
        h.wakeup(),
        Wakeup {
            at: at(40),
            reason: Reason::Grace
        }
    );
    let _ = h.reply(at(40), 0);
    assert!(!h.machine.is_dead());
}

#[test]
fn a_resume_hint_with_the_clock_stepped_back_still_probes_at_once() {
    // A backward step alone credits nothing and earns no probe; the hint
    // says the host slept, whatever the clock shows.
    let mut h = Harness::new(standard(3), at(1_000));
    let _ = h.timer(at(1_010));

    let actions = h.resume(at(1_005), Some(secs(60)));

    assert_eq!(
        actions.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Resume {
            slept: Some(secs(60))
        })
    );
    assert_eq!(
        actions.probe().map(|probe| probe.reason),
        Some(ProbeReason::Resume)
    );
    assert_eq!(h.machine.credited(), secs(10));
}

// ---- Rule h: determinism ---------------------------------------------------

/// A long input sequence that visits every input kind and every kind of
/// clock step: on time, early, late, huge jumps, backward steps, resets.
fn random_inputs(seed: u64, count: usize) -> Vec<(Nanos, Input)> {
    let mut rng = Rng::new(seed);
    let mut now: u64 = 1 << 40;
    let mut inputs = Vec::with_capacity(count);
    for _ in 0..count {
        now = match rng.range(0, 99) {
            0..=59 => now.saturating_add(rng.range(0, 3_000_000_000)),
            60..=74 => now.saturating_add(rng.range(0, 40_000_000_000)),
            75..=79 => now.saturating_add(rng.range(0, 1 << 42)),
            80..=91 => now.saturating_sub(rng.range(0, 5_000_000_000)),
            92..=93 => rng.range(0, 1 << 20),
            94 => u64::MAX - rng.range(0, 1 << 20),
            _ => now,
        };
        let input = match rng.range(0, 99) {
            0..=34 => Input::Timer,
            35..=59 => Input::Inbound,
            60..=74 => Input::Reply {
                seq: rng.range(0, 40),
            },
            75..=86 => Input::Sent,
            87..=94 => Input::Resume {
                slept: rng
                    .chance(1, 2)
                    .then(|| Duration::from_nanos(rng.next_u64())),
            },
            _ => Input::Reset,
        };
        inputs.push((Nanos(now), input));
    }
    inputs
}

fn configs_for_random_runs() -> Vec<Config> {
    vec![
        standard(1),
        standard(3),
        Config::default(),
        passive(secs(10), secs(30), 2),
        Config::builder()
            .idle(secs(30))
            .reply_window(secs(10))
            .send_every(secs(20))
            .build()
            .expect("valid"),
        Config::builder()
            .passive()
            .idle(secs(10))
            .reply_window(secs(30))
            .send_every(secs(4))
            .build()
            .expect("valid"),
    ]
}

fn replay(config: Config, inputs: &[(Nanos, Input)]) -> Harness {
    let mut h = Harness::new(config, at(0));
    for &(at, input) in inputs {
        let _ = h.feed(at, input);
    }
    h
}

#[test]
fn the_same_inputs_give_the_same_outputs() {
    for (seed, config) in configs_for_random_runs().into_iter().enumerate() {
        let inputs = random_inputs(seed as u64, 3_000);

        let first = replay(config, &inputs);
        let second = replay(config, &inputs);

        assert_eq!(first.log, second.log, "seed {seed}");
        assert_eq!(
            format!("{:?}", first.machine),
            format!("{:?}", second.machine)
        );
        let busy = first.log.iter().filter(|e| !e.actions.is_empty()).count();
        assert!(busy > 500, "the run exercised the machine: {busy}");
    }
}

#[test]
fn a_clone_taken_mid_way_answers_the_same_suffix_the_same_way() {
    for (seed, config) in configs_for_random_runs().into_iter().enumerate() {
        let inputs = random_inputs(100 + seed as u64, 3_000);
        let (prefix, suffix) = inputs.split_at(1_500);
        let whole = replay(config, &inputs);

        let mut original = replay(config, prefix);
        let mut clone = original.clone();
        for &(at, input) in suffix {
            let _ = original.feed(at, input);
            let _ = clone.feed(at, input);
        }

        assert_eq!(original.log, clone.log, "seed {seed}");
        assert_eq!(original.log, whole.log, "seed {seed}");
        assert_eq!(
            format!("{:?}", original.machine),
            format!("{:?}", clone.machine)
        );
    }
}

// ---- Reset -----------------------------------------------------------------

#[test]
fn a_reset_clears_every_probe_and_lifts_a_verdict() {
    let mut h = Harness::new(standard(2), at(0));
    let (dead_at, _) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at(50));

    let actions = h.reset(at(60));

    assert_eq!(
        actions.timer,
        Some(Wakeup {
            at: at(90),
            reason: Reason::Idle
        })
    );
    assert_eq!(actions.output, None);
    assert!(!h.machine.window_open());
    assert_eq!(h.machine.misses(), 0);
    assert_eq!(h.machine.credited(), Duration::ZERO);
    h.log.clear();
    let (dead_at, evidence) = h.run_until_dead(at(1_000));
    assert_eq!(dead_at, at(110), "idle plus two fresh windows");
    assert_eq!(evidence.probes_sent, 2);
}

#[test]
fn a_reset_after_misses_makes_the_machine_wait_for_max_misses_fresh_misses() {
    let mut h = Harness::new(standard(3), at(0));
    h.run_until(at(55));
    assert_eq!(h.machine.misses(), 2);
    assert!(h.machine.window_open());

    let _ = h.reset(at(55));

    assert_eq!(h.machine.misses(), 0);
    assert!(!h.machine.window_open());
    let (dead_at, evidence) = h.run_until_dead(at(1_000));
    assert_eq!(dead_at, at(115));
    assert_eq!(evidence.windows_missed, 3);
}

#[test]
fn a_reply_to_a_probe_issued_before_a_reset_does_not_count() {
    let mut h = Harness::new(standard(1), at(0));
    let (_, stale) = h.next_probe(at(30));
    let _ = h.reset(at(31));

    // Still in the idle phase of the new connection: nothing to clear, but
    // the stale reply must not pass for traffic either.
    let _ = h.reply(at(32), stale.seq);
    let (probed, fresh) = h.next_probe(at(100));
    assert_eq!(
        probed,
        at(61),
        "idle measured from the reset, not the reply"
    );
    assert_ne!(fresh.seq, stale.seq, "sequence numbers keep counting");

    let actions = h.reply(at(62), stale.seq);
    assert_eq!(actions.output, None);
    assert!(h.machine.window_open(), "the stale reply is ignored");
    let (dead_at, _) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at(71));
}

// ---- The verdict -----------------------------------------------------------

#[test]
fn after_a_verdict_nothing_comes_out_until_a_reset() {
    let mut h = Harness::new(standard(1), at(0));
    let _ = h.run_until_dead(at(100));
    assert_eq!(h.machine.next_wakeup(), None);

    // The harness asserts that each of these returns no action at all.
    let inputs = [
        Input::Timer,
        Input::Inbound,
        Input::Reply { seq: 0 },
        Input::Sent,
        Input::Resume {
            slept: Some(secs(5)),
        },
    ];
    for (index, input) in inputs.into_iter().enumerate() {
        for reading in [
            at(41),
            at(10),
            Nanos(u64::MAX),
            Nanos(0),
            at(40 + index as u64),
        ] {
            let _ = h.feed(reading, input);
            assert!(h.machine.is_dead());
            assert_eq!(h.machine.next_wakeup(), None);
        }
    }

    let actions = h.reset(at(50));
    assert!(actions.timer.is_some());
}

// ---- The pending wake-up ---------------------------------------------------

#[test]
fn a_live_machine_always_has_a_wake_up_never_before_its_last_input() {
    // `Harness::feed` checks both after every input, along with the rule
    // that a moved wake-up is always reported.
    for seed in 0..8u64 {
        for config in configs_for_random_runs() {
            let h = replay(config, &random_inputs(1_000 + seed, 2_000));
            assert_eq!(h.log.len(), 2_000);
        }
    }
}

// ---- Passive mode ----------------------------------------------------------

#[test]
fn a_passive_machine_sends_no_probes_and_declares_death_after_idle_plus_max_misses_windows() {
    for misses in 1..=3u32 {
        // Heartbeats expected every 10 s, each window allows 30 s more.
        let mut h = Harness::new(passive(secs(10), secs(30), misses), at(0));
        let _ = h.inbound(at(5));

        let (dead_at, evidence) = h.run_until_dead(at(1_000));

        assert_eq!(dead_at, at(15 + 30 * u64::from(misses)));
        assert!(h.probes().is_empty());
        assert_eq!(
            evidence,
            Evidence {
                probes_sent: 0,
                windows_missed: misses,
                shortest_window: secs(30),
                longest_window: secs(30),
                silence: secs(10 + 30 * u64::from(misses)),
                discontinuities: 0,
            }
        );
    }
}

#[test]
fn the_allowed_delay_in_passive_mode_starts_at_the_idle_deadline_even_when_the_wake_up_is_late() {
    let mut h = Harness::new(passive(secs(10), secs(30), 1), at(0));
    let _ = h.inbound(at(5));
    h.run_until(at(14));
    assert_eq!(h.wakeup().at, at(15));

    // 1.4 s late, within the 1.5 s tolerance: the delay still counts from
    // 15 s, so the verdict comes at 45 s, not 46.4 s.
    let actions = h.timer(at_ms(16_400));
    assert_eq!(actions.discontinuity, None);
    assert!(h.machine.window_open());

    let (dead_at, evidence) = h.run_until_dead(at(100));
    assert_eq!(dead_at, at(45));
    assert_eq!(evidence.longest_window, secs(30));
}

#[test]
fn a_discontinuity_in_passive_mode_with_a_send_obligation_sends_one_heartbeat() {
    // The peer may have been waiting for our traffic through the gap.
    let config = Config::builder()
        .passive()
        .idle(secs(10))
        .reply_window(secs(30))
        .send_every(secs(4))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    h.run_until(at(4));
    // A send at 7 s moves the obligation to 11 s; the timer still waits
    // for 8 s and comes 100 s late: 9.5 s credited, nothing due but the
    // discontinuity.
    let _ = h.sent(at(7));

    let actions = h.timer(at(108));

    assert!(actions.discontinuity.is_some());
    assert_eq!(actions.output, Some(Action::SendHeartbeat));
    assert_eq!(h.timer(at(108)).output, None, "one heartbeat, not a burst");
    assert!(h.probes().is_empty());
}

#[test]
fn heartbeats_keep_a_passive_peer_alive_until_they_stop() {
    // Heartbeats every 10 s, then every 35 s (late but within the 30 s of
    // allowed delay), arriving 50 ms after they are sent.
    for gap in [secs(10), secs(35)] {
        let mut world = World::new(passive(secs(10), secs(30), 1), at(0))
            .heartbeats(gap)
            .peer_dies_at(secs(1_000));

        world.run_until(secs(2_000));

        let dead_at = world.verdict_real().expect("dead once they stop");
        let last = (1_000 / gap.as_secs() - u64::from(1_000 % gap.as_secs() == 0)) * gap.as_secs();
        let last_arrival = nanos(secs(last) + ms(50));
        assert_eq!(dead_at, last_arrival + nanos(secs(40)), "{gap:?}");
        assert!(world.harness.probes().is_empty());
    }
}

#[test]
fn the_send_obligation_in_passive_mode_asks_for_heartbeats() {
    let config = Config::builder()
        .passive()
        .idle(secs(10))
        .reply_window(secs(30))
        .send_every(secs(4))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    h.run_until(at(9));
    assert_eq!(h.heartbeats(), vec![at(4), at(8)]);

    // Traffic sent by the application counts; traffic received does not.
    let _ = h.sent(at(10));
    let _ = h.inbound(at(11));
    h.run_until(at(20));
    assert_eq!(h.heartbeats(), vec![at(4), at(8), at(14), at(18)]);
    assert!(h.probes().is_empty());
}

// ---- Extreme instants ------------------------------------------------------

#[test]
fn extreme_instants_never_panic() {
    let readings = [
        Nanos(0),
        Nanos(u64::MAX),
        Nanos(0),
        Nanos(u64::MAX),
        Nanos(u64::MAX),
        Nanos(1),
        Nanos(u64::MAX - 1),
        Nanos(0),
    ];
    let inputs = [
        Input::Timer,
        Input::Inbound,
        Input::Reply { seq: 0 },
        Input::Reply { seq: u64::MAX },
        Input::Sent,
        Input::Resume { slept: None },
        Input::Resume {
            slept: Some(Duration::MAX),
        },
        Input::Reset,
    ];
    let huge = Config::builder()
        .idle(MAX_SPAN / 2)
        .reply_window(MAX_SPAN / 4)
        .max_misses(2)
        .build()
        .expect("exactly MAX_SPAN");
    for config in configs_for_random_runs().into_iter().chain([huge]) {
        for start in [Nanos(0), Nanos(u64::MAX)] {
            for input in inputs {
                let mut h = Harness::new(config, start);
                for reading in readings {
                    let _ = h.feed(reading, input);
                    let _ = h.timer(reading);
                }
            }
            // Every input at every reading, interleaved.
            let mut h = Harness::new(config, start);
            for (index, reading) in readings.iter().cycle().take(200).enumerate() {
                let _ = h.feed(*reading, inputs[index * 7 % inputs.len()]);
            }
        }
    }
}

#[test]
fn a_machine_that_runs_for_centuries_of_credited_time_keeps_its_deadlines() {
    // 2^58 ns idle (9 years), 2^57 ns windows. Traffic every 2^57 ns for
    // 48 rounds carries the credited clock past 2^62 ns, where the machine
    // shifts its credited values down; the deadlines after that must be
    // exactly where they were.
    let idle = Duration::from_nanos(1 << 58);
    let window = Duration::from_nanos(1 << 57);
    let mut h = Harness::new(active(idle, window, 3), Nanos(0));
    let mut last = Nanos(0);
    for round in 1..=48u64 {
        last = Nanos(round << 57);
        h.run_until(minus(last, NS));
        let _ = h.inbound(last);
    }
    assert!(h.machine.credited() >= Duration::from_nanos(1 << 61));

    let (probed, _) = h.next_probe(Nanos(u64::MAX));
    assert_eq!(probed, plus(last, idle));
    let (dead_at, evidence) = h.run_until_dead(Nanos(u64::MAX));
    assert_eq!(dead_at, plus(plus(last, idle), window * 3));
    assert_eq!(evidence.silence, idle + window * 3);
}

// ---- Evidence --------------------------------------------------------------

#[test]
fn the_evidence_counts_probes_windows_and_silence() {
    let mut h = Harness::new(standard(3), at(0));

    let (dead_at, evidence) = h.run_until_dead(at(100));

    assert_eq!(dead_at, at(60));
    assert_eq!(
        evidence,
        Evidence {
            probes_sent: 3,
            windows_missed: 3,
            shortest_window: secs(10),
            longest_window: secs(10),
            silence: secs(60),
            discontinuities: 0,
        }
    );
    assert_eq!(h.probes().len(), 3);
}

#[test]
fn the_evidence_counts_only_what_happened_since_the_last_inbound_traffic() {
    let mut h = Harness::new(standard(2), at(0));
    // A backward step and a probe before the traffic are forgotten.
    let _ = h.timer(at(10));
    let _ = h.timer(at(9));
    let (_, probe) = h.next_probe(at(100));
    let _ = h.reply(plus(h.now, secs(1)), probe.seq);
    let heard = h.now;

    // After the traffic: one backward step and one late wake-up.
    let _ = h.timer(plus(heard, secs(5)));
    let _ = h.timer(plus(heard, secs(4)));
    let wakeup = h.wakeup();
    let _ = h.timer(plus(wakeup.at, secs(2)));

    let (_, evidence) = h.run_until_dead(at(1_000));
    assert_eq!(evidence.discontinuities, 2, "{}", h.timeline());
    assert_eq!(evidence.probes_sent, 2);
    assert_eq!(evidence.windows_missed, 2);
    // In credited time: idle, the tolerance the late step was credited
    // beyond the idle deadline, two windows. The backward step cost the
    // peer real time, not credited time.
    assert_eq!(evidence.silence, ms(50_500));
}

#[test]
fn the_evidence_records_the_shortest_and_longest_window() {
    let mut h = Harness::new(standard(3), at(0));
    let _ = h.next_probe(at(30));
    h.run_until(at_ms(37_500));
    let _ = h.timer(at_ms(40_400));

    let (_, evidence) = h.run_until_dead(at(100));

    // 30 to 40.4, 40.4 to 50, 50 to 60.
    assert_eq!(evidence.shortest_window, ms(9_600));
    assert_eq!(evidence.longest_window, ms(10_400));
    assert_eq!(evidence.silence, secs(60));
}

#[test]
fn the_actions_iterate_in_the_order_to_act_on_them() {
    let mut h = Harness::new(standard(3), at(0));
    let actions = h.timer(at(100));

    let order: Vec<&str> = actions
        .into_iter()
        .map(|action| match action {
            Action::Discontinuity(_) => "discontinuity",
            Action::SendProbe(_) => "probe",
            Action::ArmTimer(_) => "timer",
            _ => "other",
        })
        .collect();

    assert_eq!(order, ["discontinuity", "probe", "timer"]);
}

#[test]
fn a_machine_driven_through_the_trait_with_std_instants_agrees_with_nanos() {
    // The same schedule on `std::time::Instant` and on `Nanos`.
    let base = std::time::Instant::now();
    let mut real = Machine::new(standard(1), base);
    let mut nanos_machine = Machine::new(standard(1), at(0));
    for offset in [10, 30, 33, 36, 38, 40, 41] {
        let a = real.on_timer(base + secs(offset));
        let b = nanos_machine.on_timer(at(offset));
        assert_eq!(a.probe(), b.probe(), "at {offset} s");
        assert_eq!(a.dead(), b.dead(), "at {offset} s");
    }
    assert!(real.is_dead() && nanos_machine.is_dead());
}

// ---- Extremes of the credited clock ----------------------------------------

/// Drives a machine whose clock swings forward by just under `idle` and
/// back again `swings` times with traffic at each end, so that the
/// credited clock passes the rebase point (2^62 ns) and, for many swings,
/// what a `u64` could hold. Returns the credited instant of the last
/// traffic, the probe's instant and the verdict's instant.
fn swing_then_go_silent(swings: u32) -> (Nanos, Nanos, Nanos) {
    let idle = Duration::from_nanos(1 << 58);
    let window = Duration::from_nanos(1 << 57);
    let config = Config::builder()
        .idle(idle)
        .reply_window(window)
        .max_misses(1)
        .build()
        .expect("within MAX_SPAN");
    let top = Nanos((1 << 58) - 1);
    let mut machine = Machine::new(config, Nanos(0));
    for _ in 0..swings {
        let _ = machine.on_inbound(top);
        let _ = machine.on_inbound(Nanos(0));
    }
    let _ = machine.on_inbound(top);

    let mut probe_at = None;
    for _ in 0..100 {
        let now = machine.next_wakeup().expect("live until the verdict").at;
        let actions = machine.on_timer(now);
        if actions.probe().is_some() {
            probe_at = Some(now);
        }
        if actions.dead().is_some() {
            return (top, probe_at.expect("a probe first"), now);
        }
    }
    panic!("no verdict within 100 wake-ups");
}

#[test]
fn deadlines_keep_their_distances_when_the_credited_clock_is_rebased() {
    // 15 swings leave the credited clock just below 2^62, so the rebase
    // happens while the probe's window is open; 80 swings credit more
    // than a u64 of nanoseconds could hold without rebasing.
    for swings in [15, 80] {
        let (last_traffic, probe_at, dead_at) = swing_then_go_silent(swings);

        assert_eq!(probe_at, Nanos(last_traffic.0 + (1 << 58)), "{swings}");
        assert_eq!(dead_at, Nanos(probe_at.0 + (1 << 57)), "{swings}");
    }
}

#[test]
fn the_machine_reports_the_config_it_runs_with() {
    let config = active(secs(45), secs(12), 4);

    let machine = Machine::new(config, at(0));

    assert_eq!(machine.config(), &config);
}

#[test]
fn inbound_traffic_at_the_armed_idle_instant_re_arms_at_once() {
    let mut h = Harness::new(standard(3), at(0));
    assert_eq!(h.wakeup().at, at(30));

    let actions = h.inbound(at(30));

    assert_eq!(actions.timer.map(|wakeup| wakeup.at), Some(at(60)));
}

#[test]
fn a_send_at_the_armed_obligation_instant_re_arms_for_the_next_one() {
    let config = Config::builder()
        .idle(secs(90))
        .send_every(secs(60))
        .build()
        .expect("valid");
    let mut h = Harness::new(config, at(0));
    assert_eq!(h.wakeup().at, at(60));

    let actions = h.sent(at(60));

    assert_eq!(actions.probe(), None, "the send fulfilled the obligation");
    assert_eq!(actions.timer.map(|wakeup| wakeup.at), Some(at(90)));
}

// ---- A shared config ---------------------------------------------------------

#[test]
fn a_machine_that_borrows_its_config_answers_as_one_that_owns_it() {
    use std::sync::Arc;

    let config = standard(2);
    let shared = Arc::new(config);
    let mut owned = Machine::new(config, at(0));
    let mut borrowed = Machine::new(Arc::clone(&shared), at(0));
    let mut by_ref = Machine::new(&config, at(0));
    for (step, (now, input)) in random_inputs(11, 2_000).into_iter().enumerate() {
        let expected = owned.handle(now, input);
        assert_eq!(borrowed.handle(now, input), expected, "step {step}");
        assert_eq!(by_ref.handle(now, input), expected, "step {step}");
        assert_eq!(borrowed.next_wakeup(), owned.next_wakeup(), "step {step}");
    }
    assert_eq!(borrowed.config(), &config);
    assert_eq!(
        Arc::strong_count(&shared),
        2,
        "one clone, kept across resets"
    );
}
