//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! checks the fuzz targets run, on stable and under plain `cargo test`, so
//! that an input the fuzzer once found failing stays fixed.
//!
//! Each file is decoded with `keepalive::sim::fuzz::decode`, the way
//! `libfuzzer_sys::fuzz_target!` decodes a typed input. A missing or empty
//! corpus directory, and a file the target would skip, fail the test: both
//! mean the corpus no longer tests what it seems to.

use std::fmt::Debug;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use keepalive::sim::fuzz::{
    check_config, check_events, check_scenario, decode, ConfigInput, EventsInput, ScenarioInput,
};

/// Every file of one target's corpus, by name, with its bytes.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; every fuzz target needs a committed corpus",
            dir.display()
        )
    });

    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| entry.expect("a readable corpus directory").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = fs::read(&path).expect("a readable corpus file");
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
}

/// Runs `check` on every decoded input of `files`, fails listing each file
/// that does not decode, fails the check or panics, and otherwise returns
/// what the checks returned.
fn replay<T: Debug, R, E: Debug>(
    files: &[(PathBuf, Vec<u8>)],
    decode: impl Fn(&[u8]) -> Option<T>,
    check: impl Fn(&T) -> Result<R, E>,
) -> Vec<R> {
    let mut passed = Vec::new();
    let mut failures = Vec::new();
    for (path, bytes) in files {
        let name = path.display();
        let Some(input) = decode(bytes) else {
            failures.push(format!("{name}: does not decode; the target skips it"));
            continue;
        };
        match panic::catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(Ok(result)) => passed.push(result),
            Ok(Err(error)) => failures.push(format!("{name}: {error:?}\n{input:#?}")),
            Err(_) => failures.push(format!("{name}: panicked\n{input:#?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    passed
}

#[test]
fn every_events_input_in_the_corpus_keeps_the_machine_well_formed() {
    let _ = replay(
        &corpus("events"),
        |bytes| decode::<EventsInput>(bytes),
        check_events,
    );
}

#[test]
fn every_config_input_in_the_corpus_is_refused_or_accepted_by_the_rules() {
    let _ = replay(
        &corpus("config"),
        |bytes| decode::<ConfigInput>(bytes),
        check_config,
    );
}

#[test]
fn every_scenario_in_the_corpus_keeps_safety_and_liveness() {
    let reports = replay(
        &corpus("scenario"),
        |bytes| decode::<ScenarioInput>(bytes),
        check_scenario,
    );

    // Inputs the check skips (a refused config, an over-long run) test
    // nothing; a corpus of only those would pass vacuously.
    let checked = reports.iter().flatten().count();
    assert!(checked > 0, "no scenario in the corpus was checked");
}
