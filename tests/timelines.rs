//! Snapshot timelines of the public failure cases S1 to S8 of
//! `SCENARIOS.md` (S0 is in `tests/simulate.rs`), each rendered by the
//! simulator's trace renderer for the crate's machine, and each checked
//! for the correct outcome the case names, not only for its text.
//!
//! Every timeline starts at the connection (real 0); the case's own t = 0
//! is said in each description.

use std::time::Duration;

use keepalive::sim::{Event, Jump, Order, Outcome, Pause, ResumeHint, Scenario, Sleep};
use keepalive::{Config, DiscontinuityKind};

mod timeline;
use timeline::*;

// ---- S1: a controller's clock stepped forward a day ----------------------

const S1: &str = "\
S1: nodes renew a lease every 10 s; the watcher declares a node dead after
40 s of silence (passive mode: idle 10 s, reply window 30 s, max_misses 1;
renewals take 0.1 s to arrive). At 3 s the watcher's clock steps forward
86,400 s; its next check sees it. Correct: no verdict, the jump is credited
only S + E, and the renewal at 10.1 s is simply activity.";

#[test]
fn s1_a_day_long_forward_step_marks_no_node_dead() {
    let config = Config::builder()
        .passive()
        .idle(secs(10.0))
        .reply_window(secs(30.0))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.1, 40.0);
    scenario.peer.heartbeat_every = Some(secs(10.0));
    scenario.clock.jumps = vec![Jump::forward(secs(3.0), secs(86_400.0))];

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    assert_eq!(stats.discontinuities, 1, "{trace}");
    let renewal = steps(&trace).find(|(_, step)| step.event == Event::Heartbeat);
    assert_eq!(renewal.map(|(real, _)| real), Some(secs(10.1)), "{trace}");
    assert_timeline!("s1_forward_step_of_a_day", S1, &trace);
}

// ---- S2: an NTP step larger than the timeout -----------------------------

const S2: &str = "\
S2: a keepalive arrives every 0.5 s, the timeout is 10 s (passive mode:
idle 0.5 s, reply window 9.5 s, max_misses 1; keepalives take 10 ms to
arrive). At 0.2 s the clock steps forward 120 s and the next check runs at
once. Correct: nothing happens; the keepalive at 0.51 s arrives.";

#[test]
fn s2_an_ntp_step_larger_than_the_timeout_expires_nothing() {
    let config = Config::builder()
        .passive()
        .idle(secs(0.5))
        .reply_window(secs(9.5))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.01, 1.2);
    scenario.peer.heartbeat_every = Some(secs(0.5));
    scenario.clock.jumps = vec![Jump::forward(secs(0.2), secs(120.0))];

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    assert_eq!(stats.discontinuities, 1, "{trace}");
    let after = steps(&trace).find(|(real, _)| *real >= secs(0.2));
    assert!(after.is_some_and(|(_, step)| step.response.discontinuity.is_some()));
    let keepalive = steps(&trace).find(|(_, step)| step.event == Event::Heartbeat);
    assert_eq!(keepalive.map(|(real, _)| real), Some(secs(0.51)), "{trace}");
    assert_timeline!("s2_ntp_step_beyond_the_timeout", S2, &trace);
}

// ---- S3: a backward step makes "now - then" negative ---------------------

const S3: &str = "\
S3: reply timeout 30 s (assumed; active mode: reply window 30 s, idle 1 s
so that a check follows the step, max_misses 1; replies take 10 ms). The
driver sleeps relative durations, so the idle wake-up is not moved by the
step. The case's t = 0 is the probe at 1 s; its reply comes back at 1.01 s;
at 2 s (t = 1) the clock steps back 2 s, and the check at 2.01 s reads 0.01,
before both the probe and its reply (\"back -1.000\": 1 s behind the
reply's reading, the last input). Correct: the machine sees a backward step
(no wrapped subtraction, no panic), credits nothing, gives no verdict, and
probing goes on.";

#[test]
fn s3_a_backward_step_after_the_reply_is_no_verdict_and_no_panic() {
    let config = Config::builder()
        .idle(secs(1.0))
        .reply_window(secs(30.0))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.01, 6.0);
    scenario.clock.jumps = vec![Jump::backward(secs(2.0), secs(2.0))];
    scenario.driver.sleep = Sleep::Relative;

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let check = steps(&trace).find(|(real, _)| *real > secs(2.0));
    let (at, step) = check.expect("a check after the step");
    assert_eq!((at, step.event), (secs(2.01), Event::Timer), "{trace}");
    let seen = step.response.discontinuity.expect("the step is seen");
    assert!(
        matches!(seen.kind, DiscontinuityKind::Backward { .. }),
        "{trace}"
    );
    assert_eq!(seen.credited, Duration::ZERO, "{trace}");
    assert!(probes(&trace).len() >= 3, "{trace}");
    assert_timeline!("s3_backward_step", S3, &trace);
}

// ---- S4: the host slept and the monotonic clock did not count it ---------

const S4: &str = "\
S4: keepalive 180 s, the far side drops us after 270 s of silence (active
mode: idle 180 s, reply window 30 s (assumed), max_misses 1; replies take
0.1 s). The case's t = 0 is the ping at 180 s and its reply; at 181 s the
host sleeps 120 s and the process's clock stands still. The driver reports
the resume. Correct: a probe goes out at once on resume (301 s real, 121 s
after the last traffic), not when the paused clock reaches 360.1 s.";

#[test]
fn s4_a_probe_goes_out_at_once_when_the_host_resumes() {
    let config = Config::builder()
        .idle(secs(180.0))
        .reply_window(secs(30.0))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.1, 400.0);
    scenario.driver.suspends = vec![Pause {
        at: secs(181.0),
        length: secs(120.0),
    }];
    scenario.driver.resume_hint = ResumeHint::Slept;

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let resume = steps(&trace).find(|(_, step)| matches!(step.event, Event::Resume { .. }));
    let (at, step) = resume.expect("the driver reports the resume");
    assert_eq!(at, secs(301.0));
    assert!(step.response.probe.is_some(), "{trace}");
    assert_eq!(probes(&trace)[..2], [secs(180.0), secs(301.0)], "{trace}");
    assert_timeline!("s4_probe_on_resume", S4, &trace);
}

// ---- S5: the overdue timer runs before the data already waiting ----------

const S5: &str = "\
S5: the peer sends a heartbeat every 0.1 s (passive mode; production 25 s
plus 10 s of allowed delay, scaled: idle 0.1 s, reply window 0.04 s,
max_misses 1; heartbeats take 1 ms to arrive). The case's t = 0 is the
heartbeat read at 0.101 s; at 0.15 s the process stops for 2.5 s and 25
heartbeats queue up. At 2.65 s the late timer and the queued heartbeats are
ready together. Correct: data waiting behind a late timer is delivered
first, so no verdict.";

fn s5(order: Order) -> Scenario {
    let config = Config::builder()
        .passive()
        .idle(secs(0.1))
        .reply_window(secs(0.04))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.001, 2.9);
    scenario.peer.heartbeat_every = Some(secs(0.1));
    scenario.driver.stalls = vec![Pause {
        at: secs(0.15),
        length: secs(2.5),
    }];
    scenario.driver.order = order;
    scenario
}

#[test]
fn s5_queued_heartbeats_behind_a_late_timer_keep_the_peer_alive() {
    let Outcome { stats, trace } = outcome(&s5(Order::InputFirst));

    assert_no_verdict(&stats, &trace);
    let end = secs(2.65);
    let first = steps(&trace).find(|(real, _)| *real == end);
    assert_eq!(first.map(|(_, step)| step.event), Some(Event::Heartbeat));
    let queued = steps(&trace)
        .filter(|(real, step)| *real == end && step.event == Event::Heartbeat)
        .count();
    assert_eq!(queued, 25, "{trace}");
    assert_timeline!("s5_queued_data_before_late_timer", S5, &trace);
}

// ---- S6: the next ping scheduled from the reply instead of the send ------

const S6: &str = "\
S6: keepalive 60 s, the far side allows 90 s of silence from us (active
mode: send obligation every 60 s, idle 80 s (assumed, above it), reply
window 60 s so that a 50 s reply is in time, max_misses 1). Every reply
takes 50 s. The case's t = 0 is the ping at 60 s; its reply arrives at
110 s. Correct: the next ping goes at 120 s (t = 60), scheduled from the
send, not at 170 s from the reply.";

#[test]
fn s6_the_next_ping_is_scheduled_from_the_send_not_the_late_reply() {
    let config = Config::builder()
        .idle(secs(80.0))
        .reply_window(secs(60.0))
        .send_every(secs(60.0))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let scenario = quiet(config, 50.0, 250.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let probes = probes(&trace);
    assert_eq!(probes, [secs(60.0), secs(120.0), secs(180.0), secs(240.0)]);
    let reply = steps(&trace).find(|(_, step)| step.event == Event::Reply { seq: 0 });
    assert_eq!(reply.map(|(real, _)| real), Some(secs(110.0)), "{trace}");
    assert_timeline!("s6_ping_from_the_send", S6, &trace);
}

// ---- S7: each new probe pushes the pending deadline back -----------------

const S7: &str = "\
S7: probe every 10 s, reply window 20 s, one allowed miss (active mode: a
send obligation of 10 s makes a probe go out every 10 s whatever happens;
idle 11 s, just above it, as the builder requires; reply window 20 s;
max_misses 1). The peer dies at 5 s, before the case's t = 0, the first
probe at 10 s. Correct: the probe at 20 s does not push the deadline back;
it stays anchored to the first unanswered probe and the peer is dead at
30 s (t = 20).";

#[test]
fn s7_the_deadline_is_anchored_to_the_first_unanswered_probe() {
    let config = Config::builder()
        .idle(secs(11.0))
        .send_every(secs(10.0))
        .reply_window(secs(20.0))
        .max_misses(1)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 0.1, 34.0);
    scenario.peer.deaths = vec![secs(5.0)];
    scenario.reconnect_after = secs(100.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_eq!(stats.healthy_drops, [], "{trace}");
    let [death] = &stats.deaths[..] else {
        panic!("one death, noticed once: {trace}");
    };
    assert_eq!(death.died, secs(5.0));
    assert_eq!(death.took, Some(secs(25.0)), "dead at 30 s: {trace}");
    assert_eq!(probes(&trace), [secs(10.0), secs(20.0)], "{trace}");
    assert_timeline!("s7_deadline_anchored", S7, &trace);
}

// ---- S8: a burst of probes after a stall ----------------------------------

const S8: &str = "\
S8: probe every 30 s (assumed; active mode: idle 30 s, reply window 10 s
(assumed), max_misses 3 so that counting missed ticks as misses would show;
replies take 1 s). The case's t = 0 is the probe at 30 s (reply at 31 s);
at 35 s the process is frozen for 300 s and resumes at 335 s with about 10
ticks overdue. Correct: one probe on resume, not ten, no miss counted for
the ticks, and the next probe scheduled from then (idle after its reply).";

#[test]
fn s8_one_probe_after_a_stall_not_a_burst() {
    let config = Config::builder()
        .idle(secs(30.0))
        .reply_window(secs(10.0))
        .max_misses(3)
        .build()
        .expect("a valid config");
    let mut scenario = quiet(config, 1.0, 400.0);
    scenario.driver.stalls = vec![Pause {
        at: secs(35.0),
        length: secs(300.0),
    }];

    let Outcome { stats, trace } = outcome(&scenario);

    assert_no_verdict(&stats, &trace);
    let probes = probes(&trace);
    let resumed = secs(335.0);
    let at_resume = probes.iter().filter(|&&at| at == resumed).count();
    assert_eq!(at_resume, 1, "{trace}");
    assert_eq!(probes[..3], [secs(30.0), resumed, secs(366.0)], "{trace}");
    assert_timeline!("s8_one_probe_after_stall", S8, &trace);
}

#[test]
fn s5_without_queued_data_the_late_timer_trips_the_verdict() {
    // The same stall, but the peer dies at 0.12 s: nothing arrives while
    // the process is stopped, so the verdict trips after it resumes, once
    // the machine has counted a full idle + reply window of silence (the
    // stall itself is credited only S + E), within the crate's bound.
    let mut scenario = s5(Order::InputFirst);
    scenario.peer.deaths = vec![secs(0.12)];
    scenario.reconnect_after = secs(10.0);

    let Outcome { stats, trace } = outcome(&scenario);

    assert_eq!(stats.healthy_drops, [], "{trace}");
    let [death] = &stats.deaths[..] else {
        panic!("one death: {trace}");
    };
    let verdict = death.died + death.took.expect("noticed");
    assert!(verdict > secs(2.65) && verdict < secs(2.8), "{trace}");
    assert!(death.within_bound(), "{death:?}");
}
