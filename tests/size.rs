//! The memory one connection costs, pinned so that any growth is noticed.
//!
//! A server holds one machine per connection, so every byte here is
//! multiplied by the number of connections. When a size changes on
//! purpose, update the figure here and in the memory table of
//! `docs/performance.md`.
//!
//! The figures are those of 64-bit targets, where `std::time::Instant` is
//! 16 bytes (seconds and nanoseconds) on Linux, macOS and Windows alike.

#![cfg(target_pointer_width = "64")]

use std::mem::{align_of, size_of};
use std::time::Instant;

use keepalive::{Action, Actions, Config, Discontinuity, Evidence, Machine, Nanos, Wakeup};

#[test]
fn a_machine_with_std_instants_is_240_bytes_config_included() {
    assert_eq!(size_of::<Instant>(), 16);
    assert_eq!(size_of::<Machine<Instant>>(), 240);
    assert_eq!(align_of::<Machine<Instant>>(), 8);
}

#[test]
fn a_machine_with_nanos_is_224_bytes_config_included() {
    assert_eq!(size_of::<Machine<Nanos>>(), 224);
}

#[test]
fn a_machine_that_borrows_a_shared_config_is_184_bytes() {
    assert_eq!(size_of::<Machine<Instant, &'static Config>>(), 184);
    assert_eq!(size_of::<Machine<Instant, std::sync::Arc<Config>>>(), 184);
    assert_eq!(size_of::<Machine<Nanos, &'static Config>>(), 168);
}

#[test]
fn a_config_is_64_bytes() {
    assert_eq!(size_of::<Config>(), 64);
}

#[test]
fn the_actions_of_one_call_are_168_bytes_with_std_instants() {
    assert_eq!(size_of::<Actions<Instant>>(), 168);
    assert_eq!(size_of::<Option<Discontinuity>>(), 72);
    assert_eq!(size_of::<Option<Action<Instant>>>(), 72);
    assert_eq!(size_of::<Option<Wakeup<Instant>>>(), 24);
    assert_eq!(size_of::<Evidence>(), 64);
}

#[test]
fn the_actions_of_one_call_are_160_bytes_with_nanos() {
    assert_eq!(size_of::<Actions<Nanos>>(), 160);
}
