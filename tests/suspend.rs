//! Rule k: suspend-aware time. With a reading of a clock that counts host
//! suspend beside every input (`handle_with_boot`), the machine tells a
//! host suspend from a process stall from a step of the driver's clock,
//! reports how long the host slept, and counts the sleep as time that
//! passed (S4).
//!
//! In these tests real time is also the boot clock (it counts suspend and
//! never steps); the driver's clock is real time minus the sleeps plus any
//! steps. The config is [`support::standard`] unless a test says otherwise.

mod support;

use std::time::Duration;

use keepalive::{Actions, Cause, Config, DiscontinuityKind, Input, Machine, Nanos, ProbeReason};
use support::*;

/// A machine fed `(driver's clock, boot clock, input)` in seconds.
struct Boot {
    machine: Machine<Nanos>,
}

impl Boot {
    fn new(config: Config) -> Self {
        let mut machine = Machine::new(config, at(0));
        let _ = machine.handle_with_boot(at(0), secs(0), Input::Timer);
        Boot { machine }
    }

    fn feed(&mut self, now: Nanos, boot: Duration, input: Input) -> Actions<Nanos> {
        self.machine.handle_with_boot(now, boot, input)
    }

    fn cause(&mut self, now: Nanos, boot: Duration, input: Input) -> Option<Cause> {
        self.feed(now, boot, input)
            .discontinuity
            .map(|seen| seen.cause)
    }
}

// ---- Telling the causes apart ------------------------------------------------------

#[test]
fn a_host_suspend_is_reported_with_how_long_the_host_slept() {
    // The host sleeps 100 s at 10 s: the driver's clock reads 15 s at
    // real 115 s.
    let mut b = Boot::new(standard(3));
    let _ = b.feed(at(10), secs(10), Input::Inbound);

    let seen = b
        .feed(at(15), secs(115), Input::Timer)
        .discontinuity
        .expect("a discontinuity");

    assert_eq!(seen.kind, DiscontinuityKind::Suspend { slept: secs(100) });
    assert_eq!(
        seen.cause,
        Cause::HostSuspend {
            slept: Some(secs(100))
        }
    );
    assert_eq!(seen.observed, secs(5));
}

#[test]
fn a_process_stall_is_both_clocks_moving_past_the_wake_up() {
    let mut b = Boot::new(standard(3));

    let cause = b.cause(at(100), secs(100), Input::Timer);

    assert_eq!(cause, Some(Cause::ProcessStall));
}

#[test]
fn every_input_is_told_apart_not_only_the_timer() {
    // Inbound traffic and a reply to an older probe take other paths
    // through the machine; the boot clock goes with them.
    let stalled = [
        Input::Inbound,
        Input::Reply { seq: 99 },
        Input::PeerProbe,
        Input::Sent,
    ];
    for input in stalled {
        let mut b = Boot::new(standard(3));
        let _ = b.feed(at(30), secs(30), Input::Timer);
        assert_eq!(
            b.cause(at(90), secs(90), input),
            Some(Cause::ProcessStall),
            "{input:?} after a stall"
        );

        let mut b = Boot::new(standard(3));
        let _ = b.feed(at(30), secs(30), Input::Timer);
        assert_eq!(
            b.cause(at(130), secs(31), input),
            Some(Cause::ClockStep),
            "{input:?} after a step"
        );
    }
}

#[test]
fn a_forward_step_of_the_drivers_clock_is_a_clock_step() {
    // The driver's clock jumps 200 s ahead of the boot clock.
    let mut b = Boot::new(standard(3));

    let cause = b.cause(at(230), secs(30), Input::Timer);

    assert_eq!(cause, Some(Cause::ClockStep));
}

#[test]
fn a_backward_step_is_a_clock_step_with_or_without_the_boot_clock() {
    let mut b = Boot::new(standard(3));
    let _ = b.feed(at(20), secs(20), Input::Timer);
    assert_eq!(
        b.cause(at(5), secs(21), Input::Timer),
        Some(Cause::ClockStep)
    );

    let mut machine = Machine::new(standard(3), at(20));
    let seen = machine.on_timer(at(5)).discontinuity.expect("backward");
    assert_eq!(seen.cause, Cause::ClockStep);
}

#[test]
fn without_the_boot_clock_a_late_input_is_of_unknown_cause() {
    let mut machine = Machine::new(standard(3), at(0));

    let seen = machine.on_timer(at(100)).discontinuity.expect("late");

    assert_eq!(seen.cause, Cause::Unknown);
    assert!(matches!(seen.kind, DiscontinuityKind::Late { .. }));
}

#[test]
fn a_resume_hint_is_a_host_suspend_and_a_measured_sleep_wins_over_its_guess() {
    let mut machine = Machine::new(standard(3), at(0));
    let seen = machine
        .on_resume(at(5), Some(secs(7)))
        .discontinuity
        .expect("a resume");
    assert_eq!(
        seen.cause,
        Cause::HostSuspend {
            slept: Some(secs(7))
        }
    );

    let mut b = Boot::new(standard(3));
    let seen = b
        .feed(at(5), secs(65), Input::Resume { slept: None })
        .discontinuity
        .expect("a resume");
    assert_eq!(seen.kind, DiscontinuityKind::Resume { slept: None });
    assert_eq!(
        seen.cause,
        Cause::HostSuspend {
            slept: Some(secs(60))
        }
    );
}

#[test]
fn a_difference_within_the_tolerance_is_no_sleep() {
    // E = 0.5 s: the boot clock 0.5 s ahead is scheduling noise.
    let mut b = Boot::new(standard(3));

    let actions = b.feed(at(10), ms(10_500), Input::Timer);

    assert_eq!(actions.discontinuity, None);
    let seen = b
        .feed(at(11), ms(12_001), Input::Timer)
        .discontinuity
        .expect("0.501 s more");
    assert_eq!(seen.kind, DiscontinuityKind::Suspend { slept: ms(501) });
}

#[test]
fn the_first_reading_and_one_that_went_back_only_set_the_reference() {
    let mut machine = Machine::new(standard(3), at(0));
    let first = machine.handle_with_boot(at(5), secs(1_000), Input::Timer);
    assert_eq!(first.discontinuity, None, "nothing to compare with");

    let back = machine.handle_with_boot(at(6), secs(10), Input::Timer);
    assert_eq!(back.discontinuity, None, "a boot clock cannot go back");

    let then = machine.handle_with_boot(at(7), secs(111), Input::Timer);
    assert_eq!(
        then.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Suspend { slept: secs(100) })
    );
}

#[test]
fn a_reset_keeps_the_reading_as_its_reference() {
    let mut b = Boot::new(standard(3));
    let _ = b.feed(at(10), secs(10), Input::Reset);

    let seen = b.feed(at(12), secs(72), Input::Timer).discontinuity;

    assert_eq!(
        seen.map(|seen| seen.kind),
        Some(DiscontinuityKind::Suspend { slept: secs(60) })
    );
}

// ---- What a sleep does ------------------------------------------------------------

#[test]
fn s4_the_sleep_counts_towards_idle_so_the_next_probe_is_not_late() {
    // Keepalive 180 s; the far side drops us after 270 s of silence. A
    // ping and its reply at 0 s; the host sleeps 120 s from 10 s, and the
    // driver's clock stands still meanwhile. The driver sleeps on the boot
    // clock (a timer that counts suspend), so it wakes at real 180 s,
    // when its own clock reads 60 s.
    let config = Config::builder()
        .idle(secs(180))
        .reply_window(secs(30))
        .build()
        .expect("valid");
    let mut b = Boot::new(config);
    let _ = b.feed(at(0), secs(0), Input::Inbound);
    assert_eq!(b.machine.next_wakeup().expect("live").at, at(180));

    let actions = b.feed(at(60), secs(180), Input::Timer);

    // The sleep made the idle period pass: the idle probe goes out.
    let probe = actions.probe().expect("the probe is due at real 180 s");
    assert_eq!(probe.reason, ProbeReason::Idle);
    assert_eq!(
        actions.discontinuity.map(|seen| seen.cause),
        Some(Cause::HostSuspend {
            slept: Some(secs(120))
        })
    );

    // Without the boot clock the same timer call is early by the sleep:
    // the probe would wait for the driver's clock to reach 180 s, real
    // 300 s, past the far side's limit.
    let mut plain = Machine::new(config, at(0));
    let _ = plain.on_inbound(at(0));
    let early = plain.on_timer(at(60));
    assert_eq!(early.probe(), None);
    assert_eq!(plain.next_wakeup().expect("live").at, at(180));
}

#[test]
fn a_short_sleep_is_credited_as_time_and_probed_for_at_once() {
    // 15 s asleep, 10 s after the last traffic: 25 s credited, short of
    // the 30 s idle deadline, and a probe goes out at once for the sleep,
    // as after a resume hint (the peer may have given up on us).
    let mut b = Boot::new(standard(3));
    let actions = b.feed(at(10), secs(25), Input::Timer);

    assert_eq!(
        actions
            .discontinuity
            .map(|seen| (seen.observed, seen.credited)),
        Some((secs(10), secs(25))),
        "10 s awake and 15 s asleep fit before the wake-up: credited in full"
    );
    assert_eq!(b.machine.credited(), secs(25));
    assert_eq!(
        actions.probe().map(|probe| probe.reason),
        Some(ProbeReason::Resume)
    );
}

#[test]
fn inbound_traffic_after_a_sleep_leaves_the_hot_path_and_sends_no_probe() {
    let mut b = Boot::new(standard(3));
    let quiet = b.feed(at(5), secs(5), Input::Inbound);
    assert!(quiet.is_empty(), "no sleep: the hot path");

    let actions = b.feed(at(6), secs(66), Input::Inbound);

    assert!(matches!(
        actions.discontinuity.map(|seen| seen.kind),
        Some(DiscontinuityKind::Suspend { .. })
    ));
    assert_eq!(actions.probe(), None, "the traffic proves the peer alive");
}

#[test]
fn a_sleep_across_a_window_end_gives_the_window_its_grace_turn() {
    // The probe at 30 s waits until 40 s; the host sleeps from 31 s to
    // 3,600 s. On waking, the reply that waited is handed over first if
    // the driver can, and in any case the window gets one grace turn.
    let mut b = Boot::new(standard(1));
    let _ = b.feed(at(30), secs(30), Input::Timer);
    assert!(b.machine.window_open());

    let actions = b.feed(at(31), secs(3_600), Input::Timer);

    assert_eq!(actions.dead(), None, "no verdict on the waking call");
    assert!(b.machine.window_open());
    let probe = actions.probe().expect("a probe at once after the sleep");
    let _ = b.feed(at(31), secs(3_600), Input::Reply { seq: probe.seq });
    assert!(!b.machine.is_dead());
}

#[test]
fn a_dead_peer_is_still_found_after_a_sleep() {
    let mut b = Boot::new(standard(2));
    let _ = b.feed(at(10), secs(500), Input::Timer);

    let mut now = at(10);
    let mut boot = secs(500);
    for _ in 0..100 {
        let wakeup = b.machine.next_wakeup();
        let Some(wakeup) = wakeup else { break };
        boot += wakeup.at.since_origin().saturating_sub(now.since_origin());
        now = wakeup.at;
        let _ = b.feed(now, boot, Input::Timer);
    }
    assert!(b.machine.is_dead(), "silence after the sleep still kills");
}
