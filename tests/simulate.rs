//! The simulator: the S0 incident timelines (snapshots), the S0 year, and
//! the driver's rules the other results rest on.

use std::time::Duration;

use keepalive::sim::{
    run, ClockModel, Entry, Event, Jump, Order, Pause, RunOptions, Scenario, SimError, Strategy,
    StrategyKind, Trace, Wake,
};
use keepalive::Nanos;

fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

fn trace(scenario: &Scenario, kind: StrategyKind) -> Trace {
    let mut strategy = kind.build(scenario);
    let options = RunOptions {
        trace: Some(Duration::ZERO..scenario.duration),
        max_steps: None,
    };
    run(scenario, strategy.as_mut(), &options)
        .expect("the scenario is valid and the loop terminates")
        .trace
}

/// Snapshots a timeline under the situation it shows, with the legend of
/// its columns below.
fn assert_timeline(name: &str, shows: &str, trace: &Trace) {
    let page = format!("{shows}\n\n{trace}\n{}", Trace::LEGEND);
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!(name, page);
    });
}

// ---- The S0 incident, by hand ------------------------------------------

const INCIDENT: &str = "\
S0 by hand: a master that answers every probe in 200 ms, and two clock jumps.
At 560 s the clock jumps 45 s, just before the keepalive is due at 570 s:
it now reads past both 570 and 600. At 1130.3 s, 0.1 s after the next
keepalive went out and before its reply, the clock jumps 40 s, more than
the 30 s timeout (two-timers, which reconnected at 565 s, has not sent
that keepalive yet).";

/// S0 with the jumps of [`INCIDENT`] instead of random ones, and a master
/// that never dies.
fn incident() -> Scenario {
    let mut scenario = Scenario::s0();
    scenario.duration = secs(1200.0);
    scenario.clock = ClockModel {
        jumps: vec![
            Jump::forward(secs(560.0), secs(45.0)),
            Jump::forward(secs(1130.3), secs(40.0)),
        ],
        random: None,
    };
    scenario.peer.latency_min = secs(0.2);
    scenario.peer.latency_max = secs(0.2);
    scenario.peer.slow_probability = 0.0;
    scenario.peer.mean_life = None;
    scenario
}

#[test]
fn two_timers_drops_a_healthy_master_when_a_jump_passes_both_timers() {
    let trace = trace(&incident(), StrategyKind::TwoTimers);

    assert_timeline("incident_two_timers", INCIDENT, &trace);
}

#[test]
fn check_at_send_drops_a_healthy_master_when_a_jump_lands_before_the_reply() {
    let trace = trace(&incident(), StrategyKind::CheckAtSend);

    assert_timeline("incident_check_at_send", INCIDENT, &trace);
}

#[test]
fn the_machine_keeps_a_healthy_master_through_both_jumps() {
    let trace = trace(&incident(), StrategyKind::Machine);

    assert_timeline("incident_machine", INCIDENT, &trace);
}

// ---- What a trace holds besides its rows ----------------------------------

/// What the traced clock shows at `real`, read off its corners.
fn traced_clock(trace: &Trace, real: Duration) -> Nanos {
    let corners = &trace.clock;
    let after = corners.partition_point(|c| c.real <= real);
    let Some(next) = corners.get(after) else {
        return corners.last().expect("a traced clock").observed;
    };
    let from = corners[after - 1];
    let ran = (real - from.real).min(next.real - from.real);
    let moved = next
        .observed
        .since_origin()
        .saturating_sub(from.observed.since_origin());
    // A stretch either runs at one second per second or stands still.
    from.observed + if moved.is_zero() { moved } else { ran }
}

#[test]
fn the_traced_clock_passes_through_every_rows_reading() {
    let mut scenario = incident();
    scenario
        .clock
        .jumps
        .push(Jump::backward(secs(700.0), secs(7.0)));
    scenario.driver.suspends = vec![Pause {
        at: secs(300.0),
        length: secs(50.0),
    }];

    let trace = trace(&scenario, StrategyKind::Machine);

    assert_eq!(trace.clock.first().map(|c| c.real), Some(Duration::ZERO));
    assert_eq!(trace.clock.last().map(|c| c.real), Some(scenario.duration));
    // Three jumps and a sleep: four corners more each than a straight run.
    assert_eq!(trace.clock.len(), 2 + 4 * 2);
    for row in &trace.rows {
        assert_eq!(traced_clock(&trace, row.real), row.observed, "{row:?}");
    }
}

#[test]
fn a_verdicts_row_says_whether_the_peer_was_alive() {
    let mut scenario = incident();
    scenario.peer.deaths = vec![secs(1140.0)];

    let mut dead = incident();
    dead.clock.jumps.clear();
    dead.peer.deaths = vec![secs(100.0)];

    let two_timers = trace(&scenario, StrategyKind::TwoTimers);
    let check_at_send = trace(&scenario, StrategyKind::CheckAtSend);
    let machine = trace(&dead, StrategyKind::Machine);

    let verdicts = |trace: &Trace| -> Vec<(f64, bool)> {
        let rows = trace.rows.iter().filter_map(|row| match row.entry {
            Entry::Input(step) if step.response.dead.is_some() => {
                Some((row.real.as_secs_f64(), step.peer_alive))
            }
            _ => None,
        });
        rows.collect()
    };
    // Two-timers drops the live master on the first jump; check-at-send
    // on the second, 10 s before the master dies.
    assert_eq!(verdicts(&two_timers)[0], (560.0, true));
    assert_eq!(verdicts(&check_at_send)[0], (1130.3, true));
    // The machine's verdict on a master dead since 100 s, at the end of
    // the reply window of its probe at 570 s.
    assert_eq!(verdicts(&machine), [(600.0, false)]);
}

// ---- The S0 year ---------------------------------------------------------

#[test]
fn over_a_year_of_s0_only_the_machine_never_drops_a_healthy_master() {
    let scenario = Scenario::s0();
    let comparison = keepalive::sim::compare(&scenario).expect("S0 is valid");
    let [two_timers, _, machine] = &comparison.stats[..] else {
        panic!("three strategies");
    };

    assert!(
        two_timers.healthy_drops.len() > 100,
        "{}",
        two_timers.healthy_drops.len()
    );
    assert_eq!(machine.healthy_drops, []);
    assert!(!machine.deaths.is_empty());
    assert!(machine.all_within_bound(), "{:?}", machine.deaths);
}

#[test]
fn a_death_the_run_ends_on_before_its_bound_is_shown_as_pending() {
    let mut scenario = incident();
    scenario.clock.jumps.clear();
    scenario.peer.deaths = vec![secs(900.0)];
    scenario.duration = secs(1000.0);

    let comparison = keepalive::sim::compare(&scenario).expect("the scenario is valid");

    for stats in &comparison.stats {
        assert_eq!(stats.pending, Some(secs(900.0)), "{}", stats.strategy);
        assert_eq!(stats.deaths, []);
    }
    let table = comparison.to_string();
    let rows: Vec<&str> = table.lines().skip(2).take(3).collect();
    for row in rows {
        assert!(row.contains(" 0/1 (1 pending) "), "{row}");
        assert!(row.contains(" pending "), "{row}");
        assert!(!row.contains("yes"), "{row}");
    }
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let mut scenario = Scenario::s0();
    scenario.duration = secs(3.0 * 86_400.0);

    let first = trace(&scenario, StrategyKind::Machine).to_string();
    let second = trace(&scenario, StrategyKind::Machine).to_string();

    assert_eq!(first, second);
    assert!(first.lines().count() > 100);
}

#[test]
fn a_shorter_run_is_the_start_of_a_longer_one() {
    let mut long = Scenario::s0();
    long.duration = secs(86_400.0);
    let mut short = long.clone();
    short.duration = secs(43_200.0);

    let long = trace(&long, StrategyKind::Machine).rows;
    let short = trace(&short, StrategyKind::Machine).rows;

    assert!(short.len() > 50);
    assert!(long.starts_with(&short));
}

// ---- The driver ----------------------------------------------------------

const STALL: &str = "\
S5 with S0's machine: the probe goes out at 570 s and its reply takes 23 s.
The process stalls from 592.6 s, just after the watch wake-up at 592.5 s,
to 630 s: the reply (593 s) and the timer (due at the window's end, 600 s)
are both waiting when it ends, and the driver runs the timer first.";

/// The situation of [`STALL`], with the driver's order to choose.
fn stalled(order: Order) -> Scenario {
    let mut scenario = incident();
    scenario.duration = secs(700.0);
    scenario.clock.jumps.clear();
    scenario.peer.latency_min = secs(23.0);
    scenario.peer.latency_max = secs(23.0);
    scenario.driver.stalls = vec![Pause {
        at: secs(592.6),
        length: secs(37.4),
    }];
    scenario.driver.order = order;
    scenario
}

/// The inputs handed over when the stall ends, in order.
fn inputs_after_the_stall(trace: &Trace) -> Vec<Event> {
    let end = secs(630.0);
    let inputs = trace.rows.iter().filter(|row| row.real == end);
    inputs
        .filter_map(|row| match row.entry {
            Entry::Input(step) => Some(step.event),
            Entry::Note(_) => None,
        })
        .collect()
}

#[test]
fn a_timer_first_driver_runs_the_late_timer_before_the_queued_reply() {
    let trace = trace(&stalled(Order::TimerFirst), StrategyKind::Machine);

    let inputs = inputs_after_the_stall(&trace);

    assert_eq!(inputs, [Event::Timer, Event::Reply { seq: 0 }]);
    assert_timeline("stall_timer_first_machine", STALL, &trace);
}

#[test]
fn an_input_first_driver_delivers_the_queued_reply_before_the_timer() {
    let trace = trace(&stalled(Order::InputFirst), StrategyKind::Machine);

    let inputs = inputs_after_the_stall(&trace);

    assert_eq!(inputs[0], Event::Reply { seq: 0 });
    assert!(!trace.to_string().contains("DEAD"), "{trace}");
}

// ---- Errors instead of panics and hangs --------------------------------

/// A strategy that always wants to be woken at the start of time.
struct Stuck;

impl Strategy for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }

    fn handle(&mut self, _now: Nanos, _event: Event) -> keepalive::sim::Response {
        keepalive::sim::Response::default()
    }

    fn wakeup(&self) -> Option<Wake> {
        Some(Wake {
            at: Nanos(0),
            why: "always",
        })
    }
}

#[test]
fn a_strategy_that_never_lets_time_advance_ends_the_run_with_an_error() {
    let options = RunOptions {
        trace: None,
        max_steps: Some(10_000),
    };

    let result = run(&Scenario::s0(), &mut Stuck, &options);

    assert!(matches!(
        result,
        Err(SimError::Runaway { steps: 10_001, .. })
    ));
}

#[test]
fn a_runaway_error_names_the_strategy() {
    let options = RunOptions {
        trace: None,
        max_steps: Some(10),
    };

    let error = run(&Scenario::s0(), &mut Stuck, &options)
        .map(|_| ())
        .unwrap_err();

    assert!(matches!(
        error,
        SimError::Runaway {
            strategy: "stuck",
            ..
        }
    ));
    assert!(error.to_string().contains("strategy stuck "), "{error}");
}

#[test]
fn a_scenario_that_cannot_work_is_refused_with_the_field_named() {
    let mut scenario = Scenario::s0();
    scenario.peer.latency_min = secs(3.0);

    let result = run(&scenario, &mut Stuck, &RunOptions::default());

    assert_eq!(
        result.map(|_| ()).unwrap_err().to_string(),
        "peer.latency_min: is above peer.latency_max"
    );
}
