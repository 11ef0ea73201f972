//! Inputs at arbitrary instants through the machine, checking P1 after
//! every call. The logic lives in `keepalive::sim::fuzz::check_events`.
#![no_main]

use keepalive::sim::fuzz::{check_events, EventsInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: EventsInput| {
    if let Err(violation) = check_events(&input) {
        panic!("{violation}");
    }
});
