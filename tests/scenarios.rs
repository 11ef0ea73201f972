//! The public failure cases of `SCENARIOS.md`, replayed against the
//! machine.
//!
//! Each case has a headline test that walks the report's own timeline
//! step by step (and keeps it as an inline snapshot to review), and a test
//! that varies the case's numbers (jump sizes, stall lengths, timings) so
//! that the whole kind of fault is covered, not one timeline.
//!
//! Timelines print clock readings in seconds from the case's t = 0; the
//! columns are reading, input, output, the wake-up asked for (when it
//! changed) and the discontinuity seen.

mod support;

use std::time::Duration;

use keepalive::{
    Cause, Config, Discontinuity, DiscontinuityKind, Input, Nanos, ProbeReason, Reason, Wakeup,
};
use support::*;

const NS: Duration = Duration::from_nanos(1);

/// Most headline timelines put the case's t = 0 at this reading, so that
/// the machine can be created before it and the clock can step back.
const ORIGIN: Nanos = Nanos::from_secs(1_000);

/// The reading `t` seconds after the case's t = 0.
fn t(s: u64) -> Nanos {
    plus(ORIGIN, secs(s))
}

/// The reading `m` milliseconds after the case's t = 0.
fn t_ms(m: u64) -> Nanos {
    plus(ORIGIN, ms(m))
}

// ---- S0: the build worker whose clock jumped between probe and reply -------

/// The worker probed after 570 s of silence (interval 600 s - timeout 30
/// s) and dropped the master when nothing came within the 30 s reply
/// timeout, on the first failure: idle 570 s, reply window 30 s,
/// max_misses 1. Derived S = 7.5 s, E = 1.5 s: one jump costs the window
/// at most 9 s, so a reply within 21 s survives any single jump.
fn s0_config() -> Config {
    active(secs(570), secs(30), 1)
}

#[test]
fn s0_a_jump_between_probe_and_reply_does_not_drop_a_healthy_master() {
    // Readings are t. The master's last traffic is at t = 0.
    let mut h = Harness::new(s0_config(), at(0));

    let (probed, probe) = h.next_probe(at(1_000));
    assert_eq!((probed, probe.seq), (at(570), 0));

    // At t = 570.1 the clock jumps 60 s forward; a driver sleeping to an
    // absolute instant wakes at once. Only S + E = 9 s are credited: the
    // window (570 to 600) stays open.
    let actions = h.timer(at_ms(630_100));
    assert_eq!(actions.output, None);
    assert_eq!(h.machine.credited(), secs(579));
    assert_eq!(
        actions.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Late { by: ms(52_600) })
    );

    // The master answered in 0.2 s.
    let actions = h.reply(at_ms(630_200), 0);
    assert_eq!(actions.output, None);
    assert!(!h.machine.window_open());
    assert_eq!(
        h.wakeup(),
        Wakeup {
            at: at_ms(1_200_200),
            reason: Reason::Idle
        }
    );

    insta::assert_snapshot!(h.timeline(), @r"
    570.000  timer     probe #0 idle   577.500 watch
    630.100  timer                     637.600 watch       late by 52.600 credited 9.000
    630.200  reply #0                 1200.200 idle
    ");
}

#[test]
fn s0_no_forward_jump_of_30_to_120_s_between_probe_and_reply_drops_the_master() {
    for sleep in [Sleep::Absolute, Sleep::Relative] {
        for jump in [30, 45, 60, 90, 120].map(secs) {
            for latency in [ms(5), ms(50), ms(500), secs(2)] {
                for lands in [latency / 5, latency / 2, latency * 4 / 5] {
                    let mut world = World::new(s0_config(), at(0))
                        .sleeping(sleep)
                        .latency(latency)
                        .jump(secs(570) + lands, forward(jump));

                    world.run_until(secs(2_000));

                    assert!(
                        !world.is_dead(),
                        "{sleep:?}, {jump:?} jump {lands:?} after the probe, \
                         reply after {latency:?}:\n{}",
                        world.harness.timeline()
                    );
                    assert!(world.harness.probes().len() >= 3);
                }
            }
        }
    }
}

#[test]
fn s0_a_day_of_random_jumps_drops_no_healthy_master_and_a_dead_one_is_found_promptly() {
    // Twelve forward jumps a day of 10 to 120 s at random instants, a
    // master answering in 5 to 500 ms and one time in twenty in 2 s, for
    // two days; then the master dies.
    let config = s0_config();
    let day = 86_400u64;
    for seed in 0..12 {
        let mut rng = Rng::new(seed);
        let latencies = (0..500)
            .map(|_| {
                if rng.chance(1, 20) {
                    secs(2)
                } else {
                    ms(rng.range(5, 500))
                }
            })
            .collect();
        let dies = secs(2 * day + rng.range(0, day));
        let sleep = if seed % 2 == 0 {
            Sleep::Absolute
        } else {
            Sleep::Relative
        };
        let mut world = World::new(config, at(0))
            .sleeping(sleep)
            .latencies(latencies)
            .peer_dies_at(dies);
        for _ in 0..36 {
            let when = secs(rng.range(1, 3 * day));
            world = world.jump(when, forward(secs(rng.range(10, 120))));
        }

        world.run_until(secs(4 * day));

        let verdict = world.verdict_real().expect("the dead master is found");
        assert!(
            verdict >= nanos(dies),
            "seed {seed}: a healthy master was dropped at {}",
            show(Nanos(verdict))
        );
        // Promptly: within idle + window + 2E of its last reply (forward
        // jumps only bring the verdict earlier).
        let last_reply = world
            .harness
            .log
            .iter()
            .zip(&world.real_log)
            .filter(|(entry, _)| matches!(entry.input, Input::Reply { .. }))
            .map(|(_, &real)| real)
            .next_back()
            .expect("replies");
        let bound = last_reply + nanos(secs(600) + secs(3));
        assert!(
            verdict <= bound,
            "seed {seed}: found at {}, bound {}",
            show(Nanos(verdict)),
            show(Nanos(bound))
        );
    }
}

// ---- S1: a lease watcher whose clock stepped forward a day -----------------

/// Passive: renewals every 10 s -> idle 10 s; dead after 40 s of silence ->
/// one allowed-delay window of 30 s (idle + 1 x 30 s = 40 s), max_misses 1.
/// Derived S = 7.5 s, E = 1.5 s: S + E = 9 s < 30 s.
fn s1_config() -> Config {
    passive(secs(10), secs(30), 1)
}

#[test]
fn s1_a_day_long_forward_step_marks_no_node_dead() {
    // Readings are t. A renewal arrived at t = 0.
    let mut h = Harness::new(s1_config(), at(0));

    // At t = 3 the clock steps forward 86,400 s; the check at t = 5 reads
    // 86,405. Only the pending 7.5 s plus E are credited: 9 s of silence.
    let actions = h.timer(at(86_405));
    assert_eq!(actions.output, None, "no verdict");
    assert_eq!(h.machine.credited(), secs(9));
    assert!(!h.machine.window_open(), "not even idle yet");

    // The machine's own wake-up one credited second later opens the
    // allowed delay (10 to 40 s credited).
    let _ = h.timer(at(86_406));
    assert!(h.machine.window_open());

    // The renewal of t = 10 is simply activity.
    let actions = h.inbound(at(86_410));
    assert_eq!(actions.output, None);
    assert!(!h.machine.window_open());
    assert_eq!(h.machine.misses(), 0);

    insta::assert_snapshot!(h.timeline(), @r"
    86405.000  timer      86406.000 idle        late by 86397.500 credited 9.000
    86406.000  timer      86413.500 watch
    86410.000  inbound    86417.500 watch
    ");
}

#[test]
fn s1_forward_steps_of_any_size_at_any_moment_mark_no_renewing_node_dead() {
    let steps = [
        secs(40),
        secs(3_600),
        secs(86_400),
        secs(365 * 86_400),
        Duration::from_nanos(1 << 62),
    ];
    for sleep in [Sleep::Absolute, Sleep::Relative] {
        for step in steps {
            for when in [ms(500), secs(3), ms(7_400), ms(9_990), secs(25)] {
                // Renewals every 10 s until 300 s, arriving 10 ms later.
                let mut world = World::new(s1_config(), at(0))
                    .sleeping(sleep)
                    .heartbeats(secs(10))
                    .latency(ms(10))
                    .peer_dies_at(secs(300))
                    .jump(when, forward(step));

                world.run_until(secs(1_000));

                let verdict = world.verdict_real().expect("dead once renewals stop");
                // The last renewal (sent at 290 s) arrives at 290.01 s; the
                // verdict comes 40 s later, within E.
                let last = nanos(secs(290) + ms(10));
                assert!(
                    verdict >= last + nanos(secs(40)) && verdict <= last + nanos(ms(41_500)),
                    "{sleep:?} step {step:?} at {when:?}: verdict {}",
                    show(Nanos(verdict))
                );
            }
        }
    }
}

// ---- S2: an NTP step larger than the timeout -------------------------------

/// Passive: a keepalive every 0.5 s -> idle 0.5 s; timeout 10 s -> allowed
/// delay 9.5 s, max_misses 1. Derived S = 2.375 s, E = 0.475 s.
fn s2_config() -> Config {
    passive(ms(500), ms(9_500), 1)
}

#[test]
fn s2_a_step_larger_than_the_timeout_expires_nothing() {
    // Readings are t. A keepalive arrived at t = 0.
    let mut h = Harness::new(s2_config(), at(0));

    // At t = 0.2 the clock steps +120 s; a check runs at t = 0.3.
    let actions = h.timer(at_ms(120_300));
    assert_eq!(actions.output, None, "nothing expires");
    assert_eq!(h.machine.credited(), ms(975));

    // The keepalive of t = 0.5 arrives.
    let actions = h.inbound(at_ms(120_500));
    assert_eq!(actions.output, None);
    assert!(!h.machine.window_open());

    insta::assert_snapshot!(h.timeline(), @r"
    120.300  timer      122.675 watch       late by 119.800 credited 0.975
    120.500  inbound    121.000 idle
    ");
}

#[test]
fn s2_steps_beyond_the_timeout_at_any_moment_expire_no_live_peer() {
    for sleep in [Sleep::Absolute, Sleep::Relative] {
        for step in [ms(10_001), secs(120), secs(3_600), secs(86_400)] {
            for when in [ms(10), ms(200), ms(490), ms(3_300), ms(7_777)] {
                let mut world = World::new(s2_config(), at(0))
                    .sleeping(sleep)
                    .heartbeats(ms(500))
                    .latency(ms(5))
                    .peer_dies_at(secs(60))
                    .jump(when, forward(step));

                world.run_until(secs(200));

                let verdict = world.verdict_real().expect("dead once keepalives stop");
                assert!(
                    verdict >= nanos(secs(60)),
                    "{sleep:?} {step:?} at {when:?}:\n{}",
                    world.harness.timeline()
                );
            }
        }
    }
}

// ---- S3: a backward step makes "now - then" negative -----------------------

/// Active: reply window 30 s (assumed in the report); idle 30 s (not in
/// the report; any value works); max_misses 1. Derived S = 7.5 s,
/// E = 1.5 s.
fn s3_config() -> Config {
    active(secs(30), secs(30), 1)
}

#[test]
fn s3_a_backward_step_after_a_reply_neither_panics_nor_kills() {
    // Created at t = -30 so that the probe goes out at t = 0.
    let mut h = Harness::new(s3_config(), minus(t(0), secs(30)));
    let (probed, probe) = h.next_probe(t(0));
    assert_eq!(probed, t(0));

    // The reply at t = 0.01 carries the send time back; the machine takes
    // no peer timestamp, so there is nothing to subtract.
    let _ = h.reply(t_ms(10), probe.seq);

    // At t = 1 the clock steps back 2 s and a check runs: it reads -1.
    let actions = h.timer(minus(t(0), secs(1)));
    assert_eq!(actions.output, None, "no verdict");
    assert_eq!(
        actions.discontinuity,
        Some(Discontinuity {
            kind: DiscontinuityKind::Backward { by: ms(1_010) },
            observed: Duration::ZERO,
            credited: Duration::ZERO,
            cause: Cause::ClockStep,
        })
    );
    // Nothing was credited: the next probe is 30 s of credited time after
    // the reply, measured from the stepped reading.
    assert_eq!(h.wakeup().at, t(29));

    insta::assert_snapshot!(h.timeline_from(ORIGIN), @r"
     0.000  timer     probe #0 idle   7.500 watch
     0.010  reply #0                 30.010 idle
    -1.000  timer                    29.000 idle        backward by 1.010
    ");
}

#[test]
fn s3_backward_steps_of_any_size_at_any_moment_neither_panic_nor_kill() {
    // The machine is created at real 0 and probes at real 30; the peer
    // answers after 10 ms. Steps land inside the window, just after the
    // reply, and in the idle phase.
    for sleep in [Sleep::Absolute, Sleep::Relative] {
        for step in [NS, secs(2), secs(30), secs(3_600)] {
            for when in [ms(30_005), ms(30_011), secs(45), ms(59_999)] {
                let mut world = World::new(s3_config(), at(100_000))
                    .sleeping(sleep)
                    .latency(ms(10))
                    .jump(when, backward(step));

                world.run_until(secs(600) + step);

                assert!(!world.is_dead(), "{sleep:?} back {step:?} at {when:?}");
                assert!(world.harness.probes().len() >= 10);
            }
        }
    }

    // All the way back to the first instant: in the idle phase, with the
    // probe outstanding, and after the reply.
    for phase in 0..3 {
        let mut h = Harness::new(s3_config(), at(0));
        match phase {
            0 => h.run_until(at(20)),
            1 => h.run_until(at(31)),
            _ => {
                let (_, probe) = h.next_probe(at(30));
                let _ = h.reply(at_ms(30_001), probe.seq);
                h.run_until(at(45));
            }
        }
        let actions = h.timer(Nanos(0));
        assert_eq!(actions.output, None, "phase {phase}");
        assert!(!h.machine.is_dead());
    }
}

// ---- S4: the host slept and the monotonic clock did not count it -----------

/// Active: keepalive 180 s -> idle 180 s; the far side drops us after
/// 270 s without traffic; reply window 60 s (chosen), max_misses 3.
/// Derived S = 15 s, E = 3 s.
fn s4_config() -> Config {
    active(secs(180), secs(60), 3)
}

#[test]
fn s4_a_probe_goes_out_as_soon_as_the_host_resumes() {
    // Created at t = -180 so that the ping goes out at t = 0.
    let mut h = Harness::new(s4_config(), minus(t(0), secs(180)));
    let (_, probe) = h.next_probe(t(0));
    let _ = h.reply(t_ms(50), probe.seq);

    // At t = 10 the host sleeps 120 s; the monotonic clock stands still,
    // so on waking (real t = 130) it still reads 10.
    let actions = h.resume(t(10), Some(secs(120)));

    let probe = actions.probe().expect("a probe at once");
    assert_eq!(probe.reason, ProbeReason::Resume);
    assert_eq!(
        actions.discontinuity,
        Some(Discontinuity {
            kind: DiscontinuityKind::Resume {
                slept: Some(secs(120))
            },
            observed: ms(9_950),
            credited: ms(9_950),
            cause: Cause::HostSuspend {
                slept: Some(secs(120))
            },
        })
    );

    // Answered 50 ms later; the next probe is 180 s after that reading,
    // which is real t = 310.05: gaps of 130 s and 180.05 s between sends,
    // both below the far side's 270 s.
    let _ = h.reply(t_ms(10_050), probe.seq);
    let (next, _) = h.next_probe(t(1_000));
    assert_eq!(next, t_ms(190_050));

    insta::assert_snapshot!(h.timeline_from(ORIGIN), @r"
      0.000  timer     probe #0 idle     15.000 watch
      0.050  reply #0                   180.050 idle
     10.000  resume    probe #1 resume   25.000 watch       resume credited 9.950
     10.050  reply #1                   190.050 idle
    190.050  timer     probe #2 idle    205.050 watch
    ");
}

#[test]
fn s4_every_resume_hint_sends_a_probe_at_once_whatever_the_sleep_and_the_clock() {
    for slept in [secs(1), secs(60), secs(120), secs(1_000), secs(86_400)] {
        for asleep_at in [secs(1), secs(50), ms(179_900)] {
            // The process's clock either stood still through the sleep or
            // counted it (CLOCK_BOOTTIME).
            for counted in [false, true] {
                let mut h = Harness::new(s4_config(), minus(t(0), secs(180)));
                let (_, probe) = h.next_probe(t(0));
                let _ = h.reply(t_ms(50), probe.seq);
                h.run_until(plus(t(0), asleep_at));
                let woke = plus(
                    t(0),
                    asleep_at + if counted { slept } else { Duration::ZERO },
                );

                let actions = h.resume(woke, Some(slept));

                assert!(
                    matches!(
                        actions.discontinuity.map(|seen| seen.kind),
                        Some(DiscontinuityKind::Resume { .. })
                    ),
                    "{slept:?} at {asleep_at:?}, counted {counted}"
                );
                assert!(
                    actions.probe().is_some(),
                    "{slept:?} at {asleep_at:?}, counted {counted}:\n{}",
                    h.timeline_from(ORIGIN)
                );
                assert_eq!(h.probes().len(), 2, "one probe, not one per missed tick");
            }
        }
    }
}

// ---- S5: the overdue timer runs before the data already waiting ------------

/// Passive. Production: a heartbeat every 25 s plus 10 s of allowed delay
/// -> idle 25 s, window 10 s, max_misses 1; derived S = 2.5 s, E = 0.5 s.
fn s5_production() -> Config {
    passive(secs(25), secs(10), 1)
}

/// The report's test numbers, a heartbeat every 0.1 s: the production
/// config scaled by 1/250 -> idle 100 ms, window 40 ms, S = 10 ms,
/// E = 2 ms.
fn s5_scaled() -> Config {
    passive(ms(100), ms(40), 1)
}

#[test]
fn s5_heartbeats_queued_behind_an_overdue_timer_keep_the_peer_alive() {
    // Readings are t. A heartbeat was read at t = 0; the machine wakes
    // every 10 ms.
    let mut h = Harness::new(s5_scaled(), at(0));
    h.run_until(at_ms(50));

    // Stopped at t = 0.05 for 2.5 s; at t = 2.55 the overdue timer runs
    // first. Only its 10 ms plus E are credited: 62 ms of silence.
    let actions = h.timer(at_ms(2_550));
    assert_eq!(actions.output, None, "no verdict");
    assert_eq!(h.machine.credited(), ms(62));

    // Then the 25 heartbeats that queued in the socket; the first one is
    // news, the rest change nothing.
    let _ = h.inbound(at_ms(2_550));
    assert!(!h.machine.window_open());
    for _ in 1..25 {
        assert!(h.inbound(at_ms(2_550)).is_empty());
    }
    assert!(!h.machine.is_dead());
    h.log.truncate(7);

    insta::assert_snapshot!(h.timeline(), @r"
    0.010  timer      0.020 watch
    0.020  timer      0.030 watch
    0.030  timer      0.040 watch
    0.040  timer      0.050 watch
    0.050  timer      0.060 watch
    2.550  timer      2.560 watch       late by 2.490 credited 0.012
    2.550  inbound
    ");
}

#[test]
fn s5_a_stall_anywhere_in_the_heartbeat_gap_never_kills_when_the_timer_runs_first() {
    // Heartbeats arrive late within the allowed delay (every idle + 7/8 of
    // the window), so the allowed delay opens in every gap and each
    // heartbeat lands after the last watch wake-up before the window's end:
    // a stall around it ends with the window's end pending. The stall
    // starts at every step through one gap.
    for (config, period, step, lengths) in [
        (s5_scaled(), ms(135), ms(1), [ms(50), ms(2_500), secs(10)]),
        (
            s5_production(),
            ms(33_750),
            ms(250),
            [secs(3), secs(60), secs(600)],
        ),
    ] {
        let mut graced = 0;
        let steps = nanos(period) / nanos(step);
        for index in 0..steps {
            for length in lengths {
                // Through the fourth gap, after three regular ones.
                let start = period * 3 + step * u32::try_from(index).expect("few");
                let mut world = World::new(config, at(0))
                    .ordered(Order::TimerFirst)
                    .heartbeats(period)
                    .latency(Duration::ZERO)
                    .peer_dies_at(period * 3 + length + period * 5)
                    .stall(start, length);

                world.run_until(period * 3 + length + period * 4);

                assert!(
                    !world.is_dead(),
                    "stall at {start:?} for {length:?}:\n{}",
                    world.harness.timeline()
                );
                let log = &world.harness.log;
                if log
                    .iter()
                    .any(|entry| entry.actions.timer.map(|w| w.reason) == Some(Reason::Grace))
                {
                    graced += 1;
                }
            }
        }
        assert!(graced > 0, "some stalls must end past the allowed delay");
    }
}

// ---- S6: the next ping scheduled from the reply ----------------------------

/// Active with a send obligation: keepalive 60 s -> send_every 60 s; the
/// far side allows 90 s. The reply at t = 50 must still count -> reply
/// window 55 s (derived S = 13.75 s, E = 2.75 s). Idle 120 s (chosen; it
/// only has to exceed the obligation). max_misses 2.
fn s6_config() -> Config {
    Config::builder()
        .idle(secs(120))
        .reply_window(secs(55))
        .send_every(secs(60))
        .max_misses(2)
        .build()
        .expect("valid")
}

#[test]
fn s6_the_next_ping_goes_sixty_seconds_after_the_last_one_not_after_the_reply() {
    // Created at t = -60 (the last send) so that the ping is due at t = 0.
    let mut h = Harness::new(s6_config(), minus(t(0), secs(60)));
    let (first, probe) = h.next_probe(t(0));
    assert_eq!((first, probe.reason), (t(0), ProbeReason::SendObligation));

    // The reply comes late, at t = 50.
    h.run_until(minus(t(50), NS));
    let _ = h.reply(t(50), probe.seq);
    assert!(!h.machine.window_open());

    let (next, probe) = h.next_probe(t(200));
    assert_eq!(next, t(60), "60 s after the ping, not 110");
    assert_eq!(probe.reason, ProbeReason::SendObligation);

    insta::assert_snapshot!(h.timeline_from(ORIGIN), @r"
     0.000  timer     probe #0 obligation  13.750 watch
    13.750  timer                          27.500 watch
    27.500  timer                          41.250 watch
    41.250  timer                          55.000 window-end
    50.000  reply #0                       60.000 obligation
    60.000  timer     probe #1 obligation  73.750 watch
    ");
}

#[test]
fn s6_sends_stay_sixty_seconds_apart_whatever_the_reply_delay() {
    let delays = [ms(10), secs(10), secs(30), secs(50), ms(54_900)];
    for (index, &delay) in delays.iter().enumerate() {
        // Every reply delay in turn, starting from a different one each run,
        // plus inbound traffic at odd instants that must not move the sends.
        let latencies = delays.iter().cycle().skip(index).take(5).copied().collect();
        let mut world = World::new(s6_config(), at(0))
            .latencies(latencies)
            .traffic_at(secs(7))
            .traffic_at(secs(95))
            .traffic_at(ms(131_500));

        world.run_until(secs(1_200));

        assert!(!world.is_dead(), "{delay:?}");
        let sends = world.probe_reals();
        assert_eq!(sends.len(), 20, "a ping every 60 s for 1200 s");
        for pair in sends.windows(2) {
            assert_eq!(pair[1] - pair[0], nanos(secs(60)), "{delay:?}");
        }
    }
}

#[test]
fn s6_a_backward_step_stretches_the_gap_between_sends_by_at_most_the_step() {
    // The obligation is kept in credited time, which a backward step does
    // not advance; docs/guarantees.md allows the real gap between sends to
    // grow by min(B, send_every) + E for a driver that sleeps relative to
    // now. Leave that margin between send_every and the far side's limit.
    for step in [secs(10), secs(40), secs(59)] {
        for when in [secs(70), secs(100)] {
            let mut world = World::new(s6_config(), at(1_000))
                .latency(secs(1))
                .jump(when, backward(step));

            world.run_until(secs(400));

            let sends = world.probe_reals();
            assert!(sends.len() >= 4, "back {step:?} at {when:?}: {sends:?}");
            let bound = secs(60) + step.min(secs(60)) + s6_config().tolerance();
            for pair in sends.windows(2) {
                let gap = Duration::from_nanos(pair[1] - pair[0]);
                assert!(gap <= bound, "back {step:?} at {when:?}: gap {gap:?}");
            }
        }
    }
}

// ---- S7: each new probe pushes the deadline back ---------------------------

/// Active: a probe every 10 s whatever happens -> send_every 10 s (idle
/// 11 s, just above, as the builder requires); reply window 20 s; one
/// allowed miss -> max_misses 1. Derived S = 5 s, E = 1 s.
fn s7_config(every: Duration, window: Duration, misses: u32) -> Config {
    Config::builder()
        .idle(every + secs(1))
        .reply_window(window)
        .send_every(every)
        .max_misses(misses)
        .build()
        .expect("valid")
}

#[test]
fn s7_later_probes_do_not_move_the_deadline_of_the_first() {
    // Created at t = -10 so that probe 1 goes out at t = 0. The peer has
    // been dead since t = 0.
    let mut h = Harness::new(s7_config(secs(10), secs(20), 1), minus(t(0), secs(10)));

    let (dead_at, evidence) = h.run_until_dead(t(1_000));

    assert_eq!(h.probe_times(), vec![t(0), t(10)]);
    assert_eq!(dead_at, t(20), "anchored to the first probe");
    assert_eq!(evidence.probes_sent, 2);
    assert_eq!(evidence.longest_window, secs(20));

    insta::assert_snapshot!(h.timeline_from(ORIGIN), @r"
     0.000  timer  probe #0 obligation   5.000 watch
     5.000  timer                       10.000 watch
    10.000  timer  probe #1 obligation  15.000 watch
    15.000  timer                       20.000 window-end
    20.000  timer  DEAD after 1 missed
    ");
}

#[test]
fn s7_no_probe_interval_moves_the_deadline_for_any_window_or_miss_count() {
    for every in [1, 3, 5, 10, 19].map(secs) {
        for window in [20, 30, 60].map(secs) {
            for misses in 1..=3u32 {
                let config = s7_config(every, window, misses);
                let mut h = Harness::new(config, minus(t(0), every));

                let (dead_at, _) = h.run_until_dead(t(10_000));

                let probes = h.probe_times();
                assert_eq!(probes[0], t(0));
                assert_eq!(
                    dead_at,
                    plus(t(0), window * misses),
                    "every {every:?}, window {window:?}, {misses} misses"
                );
                for pair in probes.windows(2) {
                    assert!(pair[1].0 - pair[0].0 <= nanos(every));
                }
            }
        }
    }
}

// ---- S8: a burst of probes after a stall -----------------------------------

/// Active: a probe every 30 s -> idle 30 s; reply window 10 s (assumed);
/// max_misses 3. Derived S = 2.5 s, E = 0.5 s.
fn s8_config() -> Config {
    active(secs(30), secs(10), 3)
}

#[test]
fn s8_a_long_stall_ends_in_one_probe_and_no_counted_misses() {
    // Created at t = -30 so that the probe goes out at t = 0.
    let mut h = Harness::new(s8_config(), minus(t(0), secs(30)));
    let (_, probe) = h.next_probe(t(0));
    let _ = h.reply(t_ms(50), probe.seq);

    // Frozen from t = 5 for 300 s: the idle wake-up (t = 30.05) is ten
    // ticks overdue at t = 305.
    let actions = h.timer(t(305));
    let probe = actions.probe().expect("one probe on resume");
    assert_eq!(probe.seq, 1);
    assert_eq!(h.machine.misses(), 0, "missed ticks are not misses");
    let mut again = h.clone();
    for _ in 0..10 {
        assert_eq!(again.timer(t(305)).output, None, "never a burst");
    }

    // Answered; the next probe is scheduled from then.
    let _ = h.reply(t_ms(305_050), probe.seq);
    let (next, _) = h.next_probe(t(1_000));
    assert_eq!(next, t_ms(335_050));

    insta::assert_snapshot!(h.timeline_from(ORIGIN), @r"
      0.000  timer     probe #0 idle    2.500 watch
      0.050  reply #0                  30.050 idle
    305.000  timer     probe #1 idle  307.500 watch       late by 274.950 credited 30.500
    305.050  reply #1                 335.050 idle
    335.050  timer     probe #2 idle  337.550 watch
    ");
}

#[test]
fn s8_any_stall_sends_one_probe_and_a_dead_peer_still_needs_all_its_windows() {
    for stall in [31, 60, 300, 3_000, 86_400].map(secs) {
        for frozen_at in [secs(1), secs(5), secs(29)] {
            for answers in [true, false] {
                let mut h = Harness::new(s8_config(), minus(t(0), secs(30)));
                let (_, probe) = h.next_probe(t(0));
                let _ = h.reply(t_ms(50), probe.seq);
                h.run_until(plus(t(0), frozen_at));
                let woke = plus(t(0), frozen_at + stall);

                let actions = h.timer(woke);

                assert!(actions.probe().is_some(), "{stall:?} at {frozen_at:?}");
                assert_eq!(h.timer(woke).output, None);
                assert_eq!(h.machine.misses(), 0);
                if answers {
                    let seq = h.probes().last().expect("probe").1.seq;
                    let _ = h.reply(plus(woke, ms(50)), seq);
                    let (next, _) = h.next_probe(plus(woke, secs(1_000)));
                    assert_eq!(next, plus(woke, ms(30_050)));
                } else {
                    // Three full windows after the one probe on resume.
                    let (dead_at, evidence) = h.run_until_dead(plus(woke, secs(1_000)));
                    assert_eq!(dead_at, plus(woke, secs(30)), "{stall:?}");
                    assert_eq!(evidence.windows_missed, 3);
                    assert_eq!(evidence.probes_sent, 3);
                }
            }
        }
    }
}

#[test]
fn s8_a_stalled_driver_in_a_running_world_sends_at_most_one_probe_per_resume() {
    for order in [Order::InputFirst, Order::TimerFirst] {
        for stall in [secs(31), secs(300), secs(3_000)] {
            for start in [secs(5), secs(33), secs(40)] {
                let mut world = World::new(s8_config(), at(0))
                    .ordered(order)
                    .latency(ms(50))
                    .stall(start, stall);

                world.run_until(start + stall + secs(200));

                assert!(!world.is_dead(), "{order:?} {stall:?} at {start:?}");
                let resumed = nanos(start + stall);
                let at_resume = world
                    .probe_reals()
                    .into_iter()
                    .filter(|&real| real == resumed)
                    .count();
                assert!(at_resume <= 1, "{order:?} {stall:?} at {start:?}");
            }
        }
    }
}
