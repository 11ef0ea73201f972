//! Helpers shared by the snapshot timeline tests (`tests/timelines.rs`,
//! `tests/rules.rs`): run the crate's machine through a simulated scenario
//! and read or snapshot its trace.

use std::time::Duration;

use keepalive::sim::{
    run, Entry, MachineStrategy, Outcome, RunOptions, Scenario, Stats, Step, Trace,
};
use keepalive::Config;

pub fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

/// Runs the crate's machine through `scenario`, tracing all of it.
pub fn outcome(scenario: &Scenario) -> Outcome {
    let mut strategy = MachineStrategy::new(scenario.machine);
    let options = RunOptions {
        trace: Some(Duration::ZERO..scenario.duration),
        max_steps: None,
    };
    run(scenario, &mut strategy, &options).expect("the scenario is valid and the loop terminates")
}

/// A quiet scenario for `machine` with a peer that always answers (or
/// sends) in `latency`, run for `duration`.
pub fn quiet(machine: Config, latency: f64, duration: f64) -> Scenario {
    let mut scenario = Scenario::quiet(machine);
    scenario.peer.latency_min = secs(latency);
    scenario.peer.latency_max = secs(latency);
    scenario.peer.slow_latency = secs(latency);
    scenario.duration = secs(duration);
    scenario
}

/// Snapshots a timeline under the description of what it shows, with the
/// legend below. A macro, so that insta files the snapshot under the test
/// file that calls it.
macro_rules! assert_timeline {
    ($name:expr, $description:expr, $trace:expr) => {{
        let description: &str = $description;
        let page = format!(
            "{description}\n\n{}\n{}",
            $trace,
            keepalive::sim::Trace::LEGEND
        );
        insta::with_settings!({ description => description, omit_expression => true }, {
            insta::assert_snapshot!($name, page);
        });
    }};
}
pub(crate) use assert_timeline;

/// The inputs of a trace with their real times, notes left out.
pub fn steps(trace: &Trace) -> impl Iterator<Item = (Duration, &Step)> {
    trace.rows.iter().filter_map(|row| match &row.entry {
        Entry::Input(step) => Some((row.real, step)),
        Entry::Note(_) => None,
    })
}

/// The real times at which the machine sent a probe.
pub fn probes(trace: &Trace) -> Vec<Duration> {
    steps(trace)
        .filter(|(_, step)| step.response.probe.is_some())
        .map(|(real, _)| real)
        .collect()
}

/// No verdict at all, healthy or not.
pub fn assert_no_verdict(stats: &Stats, trace: &Trace) {
    assert_eq!(stats.healthy_drops, [], "{trace}");
    assert_eq!(stats.deaths, [], "{trace}");
    assert!(!trace.to_string().contains("DEAD"), "{trace}");
}
