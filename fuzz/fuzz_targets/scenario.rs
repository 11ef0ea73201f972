//! An arbitrary simulated situation through the machine, checking safety
//! (P2) and liveness (P3) over the run and P1 on every call. The logic
//! lives in `keepalive::sim::fuzz::check_scenario`.
#![no_main]

use keepalive::sim::fuzz::{check_scenario, ScenarioInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: ScenarioInput| {
    if let Err(violation) = check_scenario(&input) {
        panic!("{violation}");
    }
});
