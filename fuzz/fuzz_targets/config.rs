//! Raw builder input: never a panic, every refusal an error that says what
//! is wrong, every accepted config within the rules. The logic lives in
//! `keepalive::sim::fuzz::check_config`.
#![no_main]

use keepalive::sim::fuzz::{check_config, ConfigInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: ConfigInput| {
    if let Err(failure) = check_config(&input) {
        panic!("{failure}");
    }
});
