//! One snapshot timeline per rule of the contract (rules a to h of
//! `docs/design.md`, "The contract"), each rendered by the simulator's
//! trace renderer for the crate's machine, and each checked for the rule's
//! effect in the stats or the trace rows, not only for its text.

use keepalive::sim::{Event, Jump, Order, Outcome, Pause, RandomJumps, ResumeHint, Step, Trace};
use keepalive::{Config, DiscontinuityKind};

mod timeline;
use timeline::*;

/// The reasons of the probes, in order.
fn probe_reasons(trace: &Trace) -> Vec<&'static str> {
    steps(trace)
        .filter_map(|(_, step)| step.response.probe.map(|sent| sent.why))
        .collect()
}

fn config(idle: f64, window: f64, misses: u32) -> keepalive::ConfigBuilder {
    Config::builder()
        .idle(secs(idle))
        .reply_window(secs(window))
        .max_misses(misses)
}

// ---- Rule a: after idle of inbound silence, one probe ---------------------

const A: &str = "\
Rule a: after `idle` of inbound silence, one probe. Active mode: idle 10 s,
reply window 5 s, max_misses 1; the peer answers in 0.5 s. The reply to the
first probe (10 s) arrives at 10.5 s. Correct: the next probe goes out
exactly idle after that last inbound traffic, at 20.5 s (reason idle), and
again at 31 s.";

#[test]
fn rule_a_idle_probe_is_measured_from_the_last_inbound() {
    let scenario = quiet(config(10.0, 5.0, 1).build().expect("valid"), 0.5, 35.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    assert_eq!(
        probes(&trace),
        [secs(10.0), secs(20.5), secs(31.0)],
        "{trace}"
    );
    assert_eq!(probe_reasons(&trace), ["idle"; 3], "{trace}");
    assert_timeline!("rule_a_idle_probe", A, &trace);
}

// ---- Rule b: the window is anchored to the first unanswered probe --------

const B: &str = "\
Rule b: a window starts when its probe is handed out and stays anchored to
the first unanswered probe. Active mode: send obligation every 4 s (shorter
than the window), idle 5 s, reply window 10 s, max_misses 1. The peer dies
at 1 s. The first probe goes at 4 s; obligation probes follow at 8 s and
12 s. Correct: they do not move the window's end; the peer is dead at 14 s,
one window after the first probe.";

#[test]
fn rule_b_window_is_anchored_to_the_first_probe() {
    let machine = config(5.0, 10.0, 1)
        .send_every(secs(4.0))
        .build()
        .expect("valid");
    let mut scenario = quiet(machine, 0.1, 16.0);
    scenario.peer.deaths = vec![secs(1.0)];
    scenario.reconnect_after = secs(100.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_eq!(stats.healthy_drops, [], "{trace}");
    let [death] = &stats.deaths[..] else {
        panic!("one death, noticed once: {trace}");
    };
    assert_eq!(death.took, Some(secs(13.0)), "dead at 14 s: {trace}");
    assert_eq!(
        probes(&trace),
        [secs(4.0), secs(8.0), secs(12.0)],
        "{trace}"
    );
    assert_timeline!("rule_b_window_anchored", B, &trace);
}

// ---- Rule c: misses count until inbound traffic clears them --------------

const C: &str = "\
Rule c: misses count consecutive unanswered windows; any inbound traffic,
even the late answer to an expired probe, clears them. Active mode: idle
10 s, reply window 5 s, max_misses 2. The peer answers every probe, but only
after 6 s, a second after its window ends. Each probe's window is missed
once (retry at its end), then the late reply resets the count, so 2 misses
in a row never happen. At 40 s the peer dies (the reply to the retry sent
at 36 s still arrives at 42 s): the next probe at 52 s is missed, its retry
at 57 s too, and the count reaches 2: dead at 62 s.";

#[test]
fn rule_c_late_replies_reset_the_miss_count_and_a_dead_peer_runs_it_out() {
    let mut scenario = quiet(config(10.0, 5.0, 2).build().expect("valid"), 6.0, 65.0);
    scenario.peer.deaths = vec![secs(40.0)];
    scenario.reconnect_after = secs(100.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_eq!(stats.healthy_drops, [], "{trace}");
    let [death] = &stats.deaths[..] else {
        panic!("one death, noticed once: {trace}");
    };
    assert_eq!(death.took, Some(secs(22.0)), "dead at 62 s: {trace}");
    // Idle probe, one retry, the late reply clears it: twice before the death.
    let reasons = probe_reasons(&trace);
    assert_eq!(reasons[..4], ["idle", "retry", "idle", "retry"], "{trace}");
    let late = steps(&trace).find(|(_, step)| step.event == Event::Reply { seq: 0 });
    assert_eq!(late.map(|(real, _)| real), Some(secs(16.0)), "{trace}");
    assert_timeline!("rule_c_misses_and_reset", C, &trace);
}

// ---- Rule d: credited time ------------------------------------------------

const D: &str = "\
Rule d: credited time. Active mode: idle 10 s, reply window 20 s (max_step
5 s, tolerance 1 s), max_misses 1; the peer answers in 3 s. The probe at
10 s opens a window to credited 30 s. At 12 s the clock jumps forward
1,000 s, and the timer (armed for 15 s) fires at once. Correct: the jump is
credited only S + E = 6 s (\"late +x: credits 6.000\"), the reply at 13 s
finds the window open, no verdict.";

#[test]
fn rule_d_a_forward_jump_is_credited_only_step_plus_tolerance() {
    let mut scenario = quiet(config(10.0, 20.0, 1).build().expect("valid"), 3.0, 20.0);
    scenario.clock.jumps = vec![Jump::forward(secs(12.0), secs(1_000.0))];

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let (at, step) = steps(&trace)
        .find(|(_, step)| step.response.discontinuity.is_some())
        .expect("the jump is seen");
    assert_eq!((at, step.event), (secs(12.0), Event::Timer), "{trace}");
    let seen = step.response.discontinuity.expect("seen");
    assert!(
        matches!(seen.kind, DiscontinuityKind::Late { .. }),
        "{trace}"
    );
    assert_eq!(seen.credited, secs(6.0), "{trace}");
    assert_eq!(step.credited, Some(secs(16.0)), "{trace}");
    let reply = steps(&trace).find(|(_, step)| step.event == Event::Reply { seq: 0 });
    assert_eq!(reply.map(|(real, _)| real), Some(secs(13.0)), "{trace}");
    assert_timeline!("rule_d_credited_jump", D, &trace);
}

// ---- Rule e: a late wake-up is a discontinuity, never a verdict ----------

const E: &str = "\
Rule e: a late wake-up is a discontinuity, never a verdict by itself.
Active mode: idle 10 s, reply window 2 s (max_step 0.5 s, tolerance 0.1 s),
max_misses 1; the peer answers in 1.9 s. The probe at 10 s opens a window
to 12 s; its reply arrives at 11.9 s, while the process is stalled from
11.6 s for 5 s. The driver runs the late timer first (timer-first order).
Correct: the late timer would end the window, so it gets a grace turn
(wake at once, reason grace); the queued reply runs before it and wins.";

#[test]
fn rule_e_a_late_timer_gets_a_grace_turn_and_the_queued_reply_wins() {
    let mut scenario = quiet(config(10.0, 2.0, 1).build().expect("valid"), 1.9, 20.0);
    scenario.driver.stalls = vec![Pause {
        at: secs(11.6),
        length: secs(5.0),
    }];
    scenario.driver.order = Order::TimerFirst;

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let end = secs(16.6);
    let at_end: Vec<&Step> = steps(&trace)
        .filter(|(real, _)| *real == end)
        .map(|(_, step)| step)
        .collect();
    assert!(at_end.len() >= 2, "{trace}");
    assert_eq!(at_end[0].event, Event::Timer, "{trace}");
    assert!(at_end[0].response.discontinuity.is_some(), "{trace}");
    assert_eq!(
        at_end[0].wake.map(|wake| wake.why),
        Some("grace"),
        "{trace}"
    );
    assert_eq!(at_end[1].event, Event::Reply { seq: 0 }, "{trace}");
    assert_timeline!("rule_e_grace_turn", E, &trace);
}

// ---- Rule f: early and spurious wake-ups change nothing ------------------

const F: &str = "\
Rule f: early and spurious wake-ups change nothing. Active mode: idle 10 s,
reply window 5 s, max_misses 2; the peer answers in 1 s and dies at 30 s.
The driver fires 40 % of its timers early and adds a spurious wake-up to
40 % of them (seed 7). Correct: the same probes at the same times, and the
same verdict, as the same run with an exact driver; only wake-ups differ.
The timeline is the noisy run.";

#[test]
fn rule_f_early_and_spurious_wakeups_change_only_wakeups() {
    let mut exact = quiet(config(10.0, 5.0, 2).build().expect("valid"), 1.0, 50.0);
    exact.peer.deaths = vec![secs(30.0)];
    exact.reconnect_after = secs(100.0);
    exact.seed = 7;
    let mut noisy = exact.clone();
    noisy.driver.early_probability = 0.4;
    noisy.driver.spurious_probability = 0.4;

    let exact = outcome(&exact);
    let Outcome { stats, trace } = outcome(&noisy);

    assert!(stats.inputs > exact.stats.inputs, "{trace}");
    assert_eq!(probes(&trace), probes(&exact.trace), "{trace}");
    assert_eq!(probe_reasons(&trace), probe_reasons(&exact.trace));
    assert_eq!(stats.deaths, exact.stats.deaths, "{trace}");
    assert_eq!(stats.deaths.len(), 1, "{trace}");
    assert_eq!(stats.healthy_drops, [], "{trace}");
    assert_timeline!("rule_f_early_and_spurious", F, &trace);
}

// ---- Rule g: the resume hint sends a probe at once -----------------------

const G: &str = "\
Rule g: the resume hint sends a probe at once. Active mode: idle 30 s,
reply window 10 s, max_misses 1; the peer answers in 0.5 s. The host sleeps
from 35 s for 100 s (the process's clock stands still) and the driver
reports the resume. Correct: a probe (reason resume) goes out at once at
135 s, not when the paused clock reaches the idle deadline.";

#[test]
fn rule_g_resume_hint_probes_at_once() {
    let mut scenario = quiet(config(30.0, 10.0, 1).build().expect("valid"), 0.5, 140.0);
    scenario.driver.suspends = vec![Pause {
        at: secs(35.0),
        length: secs(100.0),
    }];
    scenario.driver.resume_hint = ResumeHint::Slept;

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let (at, step) = steps(&trace)
        .find(|(_, step)| matches!(step.event, Event::Resume { .. }))
        .expect("the driver reports the resume");
    assert_eq!(at, secs(135.0), "{trace}");
    assert_eq!(step.response.probe.map(|sent| sent.why), Some("resume"));
    assert_eq!(probes(&trace)[..2], [secs(30.0), secs(135.0)], "{trace}");
    assert_timeline!("rule_g_resume_probe", G, &trace);
}

// ---- Rule h: same inputs, same outputs ------------------------------------

const H: &str = "\
Rule h: same inputs, same outputs. Active mode: idle 10 s, reply window
5 s, max_misses 2; replies take 0.1 to 2 s (random), the clock jumps at
random about 2,000 times a day by 1 to 20 s, 20 % of them backward, the
peer dies at 50 s; seed 11. Correct: two runs of the same scenario give the
same trace and the same stats, row for row (here: jumps both ways, then the
verdict at 98.449 s).";

#[test]
fn rule_h_the_same_scenario_gives_the_same_trace() {
    let mut scenario = quiet(config(10.0, 5.0, 2).build().expect("valid"), 0.1, 120.0);
    scenario.peer.latency_max = secs(2.0);
    scenario.peer.deaths = vec![secs(50.0)];
    scenario.reconnect_after = secs(100.0);
    scenario.clock.random = Some(RandomJumps {
        per_day: 2_000.0,
        min: secs(1.0),
        max: secs(20.0),
        backward_probability: 0.2,
    });
    scenario.seed = 11;

    let first = outcome(&scenario);
    let second = outcome(&scenario);

    assert_eq!(first.trace, second.trace);
    assert_eq!(first.stats, second.stats);
    assert_eq!(first.stats.noticed(), 1, "{}", first.trace);
    assert_eq!(first.stats.healthy_drops, [], "{}", first.trace);
    assert_timeline!("rule_h_determinism", H, &first.trace);
}
