//! The `serde` feature: `Config` read from and written to TOML and JSON,
//! every refusal with a message that says what to change, the round trip
//! of any config the builder accepts, the `serde_duration` helper, and the
//! simulator's scenario files (`examples/simulate/file.rs`) that read their
//! durations through it.

mod strategies;

#[allow(dead_code)] // `load` is for the example's command line only
#[path = "../examples/simulate/file.rs"]
mod file;

use std::time::Duration;

use keepalive::serde_duration::{self, HumanDuration};
use keepalive::sim::{Jump, Order, Pause, Scenario};
use keepalive::{Config, ConfigError, Field, Jitter, Mode, MAX_SPAN};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde::{Deserialize, Serialize};

use strategies::builder_input;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// The config `text` describes, or a panic with the refusal.
fn from_toml(text: &str) -> Config {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text:?} was refused: {e}"))
}

/// The refusal of `text` as TOML, or a panic naming what was accepted.
fn toml_refusal(text: &str) -> String {
    match toml::from_str::<Config>(text) {
        Ok(config) => panic!("{text:?} was accepted as {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// The refusal of `text` as JSON, or a panic naming what was accepted.
fn json_refusal(text: &str) -> String {
    match serde_json::from_str::<Config>(text) {
        Ok(config) => panic!("{text:?} was accepted as {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// Asserts that `message` mentions each of `words`.
fn says(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "{message:?} does not say {word:?}");
    }
}

/// What every duration error ends with: the forms that are accepted.
const FORMS: [&str; 5] = [
    "\"30s\"",
    "\"1m 30s\"",
    "\"500ms\"",
    "\"1.5s\"",
    "number of seconds",
];

// ---- Reading a config ------------------------------------------------------

#[test]
fn a_toml_config_sets_every_field() {
    let config = from_toml(
        r#"
        mode = "passive"
        idle = "1m 30s"
        reply_window = "20s"
        max_misses = 4
        max_step = "4s"
        tolerance = "500ms"
        send_every = "1.5s"
        "#,
    );

    assert_eq!(config.mode(), Mode::Passive);
    assert_eq!(config.idle(), secs(90));
    assert_eq!(config.reply_window(), secs(20));
    assert_eq!(config.max_misses(), 4);
    assert_eq!(config.max_step(), secs(4));
    assert_eq!(config.tolerance(), ms(500));
    assert_eq!(config.send_every(), Some(ms(1500)));
}

#[test]
fn a_toml_config_sets_the_peer_probe_limit_and_the_jitter() {
    let config = from_toml(
        r#"
        peer_probe_limit = { min_interval = "5m", strikes = 2 }
        jitter = { spread = 20 }
        "#,
    );
    assert_eq!(config.peer_probe_limit(), Some((secs(300), 2)));
    assert_eq!(config.jitter(), Jitter::Spread { percent: 20 });

    let config = from_toml("reply_window = \"10s\"\nadaptive_reply_window = \"2s\"");
    assert_eq!(config.adaptive_reply_window(), Some(secs(2)));
    assert_eq!(config.tolerance(), ms(100), "derived from the minimum");
    let text = toml::to_string(&config).expect("a config is a table");
    assert!(text.contains("adaptive_reply_window = \"2s\""), "{text}");
    assert!(!text.contains("tolerance"), "{text}");

    let config = from_toml("jitter = { shorten = 25 }");
    assert_eq!(config.jitter(), Jitter::Shorten { percent: 25 });
    assert_eq!(config.peer_probe_limit(), None);

    let text = toml::to_string(&config).expect("a config is a table");
    assert!(text.contains("shorten = 25"), "{text}");
}

#[test]
fn a_bad_peer_probe_limit_or_jitter_is_refused_naming_the_field() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"peer_probe_limit = { min_interval = "5 parsecs", strikes = 2 }"#,
            &["peer_probe_limit.min_interval"],
        ),
        (
            r#"peer_probe_limit = { min_interval = "5m", strikes = 70000 }"#,
            &["peer_probe_limit.strikes", "above 65535"],
        ),
        (
            r#"peer_probe_limit = { min_interval = "5m" }"#,
            &["strikes"],
        ),
        (
            r#"peer_probe_limit = { min_interval = "100ms", strikes = 1 }"#,
            &["must be above tolerance", "lengthen min_interval"],
        ),
        (
            "jitter = { shorten = 20, spread = 20 }",
            &["exactly one of shorten or spread"],
        ),
        ("jitter = {}", &["exactly one of shorten or spread"]),
        (
            r#"jitter = { spread = "20%" }"#,
            &["jitter.spread", "not a percentage"],
        ),
        (
            "jitter = { spread = 300 }",
            &["jitter.spread", "more than any jitter"],
        ),
        ("jitter = { spread = 95 }", &["wider than the 90 % allowed"]),
        ("jitter = { wobble = 5 }", &["wobble"]),
        ("jitter = \"none\"", &["a table such as { spread = 20 }"]),
        (
            "peer_probe_limit = \"5m\"",
            &["a table such as { min_interval = \"5m\", strikes = 2 }"],
        ),
        (
            "mode = 'passive'\njitter = { spread = 20 }",
            &["drop the jitter or use active mode"],
        ),
    ];
    for (text, words) in cases {
        says(&toml_refusal(text), words);
    }
}

#[test]
fn a_json_config_sets_every_field() {
    let text = r#"{"mode": "active", "idle": 45, "reply_window": "2m",
        "max_misses": 2, "max_step": 12.5, "tolerance": "1s",
        "send_every": "30s"}"#;
    let config: Config = serde_json::from_str(text).expect("a config that can work");

    assert_eq!(config.mode(), Mode::Active);
    assert_eq!(config.idle(), secs(45));
    assert_eq!(config.reply_window(), secs(120));
    assert_eq!(config.max_misses(), 2);
    assert_eq!(config.max_step(), ms(12_500));
    assert_eq!(config.tolerance(), secs(1));
    assert_eq!(config.send_every(), Some(secs(30)));
}

#[test]
fn an_empty_file_is_the_default_config() {
    assert_eq!(from_toml(""), Config::default());
    assert_eq!(
        serde_json::from_str::<Config>("{}").ok(),
        Some(Config::default())
    );
}

#[test]
fn a_field_left_out_defaults_as_the_builder_does() {
    let config = from_toml("reply_window = \"8s\"");
    let built = Config::builder().reply_window(secs(8)).build();

    assert_eq!(Ok(config), built);
    // Step and tolerance follow the window, as in the builder.
    assert_eq!(config.max_step(), secs(2));
    assert_eq!(config.tolerance(), ms(400));
    assert_eq!(config.send_every(), None);
}

#[test]
fn a_json_null_is_a_field_left_out() {
    let config: Config =
        serde_json::from_str(r#"{"idle": null, "send_every": null}"#).expect("nulls are absent");

    assert_eq!(config, Config::default());
}

#[test]
fn durations_read_from_strings_and_from_numbers_of_seconds() {
    let cases = [
        ("\"30s\"", secs(30)),
        ("\"2m\"", secs(120)),
        ("\"1m 30s\"", secs(90)),
        ("\"1m30s\"", secs(90)),
        ("\"500ms\"", ms(500)),
        ("\"1.5s\"", ms(1500)),
        ("\"0.25h\"", secs(900)),
        ("\"2 hours\"", secs(7200)),
        ("\"1day\"", secs(86_400)),
        ("45", secs(45)),
        ("45.0", secs(45)),
        ("0.005", ms(5)),
        ("1e3", secs(1000)),
    ];
    for (value, expected) in cases {
        let config = from_toml(&format!("idle = {value}\nreply_window = \"1s\""));

        assert_eq!(config.idle(), expected, "idle = {value}");
    }
}

// ---- Refusals --------------------------------------------------------------

#[test]
fn a_config_that_cannot_work_is_refused_with_the_builders_message() {
    let cases = [
        (
            "reply_window = \"2s\"\nmax_step = \"2s\"",
            ConfigError::StepTooLong {
                max_step: secs(2),
                tolerance: ms(100),
                reply_window: secs(2),
            },
        ),
        ("idle = 0", ConfigError::Zero(Field::Idle)),
        (
            "reply_window = \"0\"",
            ConfigError::Zero(Field::ReplyWindow),
        ),
        (
            "reply_window = \"10ns\"",
            ConfigError::Zero(Field::Tolerance),
        ),
        ("max_misses = 0", ConfigError::NoMisses),
        (
            "send_every = \"30s\"",
            ConfigError::SendNotBelowIdle {
                send_every: secs(30),
                idle: secs(30),
            },
        ),
        (
            "tolerance = \"10s\"",
            ConfigError::ToleranceTooLong {
                tolerance: secs(10),
                reply_window: secs(20),
            },
        ),
        ("idle = 9e18", ConfigError::TooLong(Field::Idle)),
        ("idle = \"37y\"", ConfigError::TooLong(Field::Idle)),
        (
            "reply_window = \"1y\"\nmax_misses = 100",
            ConfigError::TooLong(Field::DetectionTime),
        ),
    ];
    for (text, expected) in cases {
        let message = toml_refusal(text);

        assert!(
            message.contains(&expected.to_string()),
            "{text:?}: {message:?} is not the builder's {expected}"
        );
    }
}

#[test]
fn the_same_refusal_comes_from_json() {
    let message = json_refusal(r#"{"max_misses": 0}"#);

    says(&message, &[&ConfigError::NoMisses.to_string()]);
}

#[test]
fn an_unknown_field_is_refused_with_the_known_ones_listed() {
    let message = toml_refusal("idel = \"30s\"");

    says(
        &message,
        &[
            "unknown field `idel`",
            "`idle`",
            "`reply_window`",
            "`send_every`",
        ],
    );
    says(
        &json_refusal(r#"{"wobble": 1}"#),
        &["unknown field `wobble`", "`jitter`", "`peer_probe_limit`"],
    );
}

#[test]
fn a_field_given_twice_is_refused() {
    says(
        &json_refusal(r#"{"idle": 1, "idle": 2}"#),
        &["duplicate field `idle`"],
    );
}

#[test]
fn a_bad_duration_string_is_refused_naming_the_field_and_the_forms() {
    let cases = [
        ("idle = \"30 parsecs\"", "idle", "parsecs"),
        ("reply_window = \"90\"", "reply_window", "time unit needed"),
        ("max_step = \"-5s\"", "max_step", "\"-5s\""),
        ("tolerance = \"\"", "tolerance", "empty"),
        ("send_every = \"1.s\"", "send_every", "invalid character"),
        ("idle = \"0.5ns\"", "idle", "below 1ns"),
    ];
    for (text, field, problem) in cases {
        let message = toml_refusal(text);

        says(
            &message,
            &[&format!("{field}: "), problem, "is not a duration"],
        );
        says(&message, &FORMS);
    }
}

#[test]
fn negative_nan_infinite_and_huge_numbers_are_refused_without_a_panic() {
    let cases = [
        ("idle = -5", "idle: -5 is negative"),
        ("idle = -0.5", "idle: -0.5 is negative"),
        (
            "reply_window = nan",
            "reply_window: NaN is not a number of seconds",
        ),
        ("max_step = inf", "max_step: inf is not a number of seconds"),
        (
            "tolerance = -inf",
            "tolerance: -inf is not a number of seconds",
        ),
        (
            "send_every = 1e300",
            "send_every: 1e300 seconds is longer than any duration",
        ),
    ];
    for (text, problem) in cases {
        let message = toml_refusal(text);

        says(&message, &[problem]);
        says(&message, &FORMS);
    }
    says(&json_refusal(r#"{"idle": -1}"#), &["idle: -1 is negative"]);
    says(
        &json_refusal(r#"{"idle": 1e300}"#),
        &["idle: 1e300 seconds"],
    );
}

#[test]
fn a_sum_beyond_any_duration_is_refused_where_humantime_alone_would_panic() {
    // humantime 2.4 panics on this string: its parts add up to one
    // nanosecond-carry past `Duration::MAX`.
    let message = toml_refusal("idle = \"18446744073709551615s 500ms 500ms\"");

    says(&message, &["idle: ", "too large"]);
    let parsed = "18446744073709551615s 999ms 999us 999ns".parse::<HumanDuration>();
    assert_eq!(parsed.map(Duration::from), Ok(Duration::MAX));
}

#[test]
fn a_value_of_the_wrong_kind_is_refused_naming_the_field() {
    let cases = [
        ("idle = true", "idle: true is not a duration"),
        ("idle = [1, 2]", "idle: a list is not a duration"),
        ("idle = { s = 1 }", "idle: a table is not a duration"),
        ("max_misses = -1", "max_misses: -1 is not a count"),
        ("max_misses = 1.5", "max_misses: 1.5 is not a count"),
        ("max_misses = \"3\"", "max_misses: \"3\" is not a count"),
        (
            "max_misses = 5000000000",
            "max_misses: 5000000000 is above 4294967295",
        ),
    ];
    for (text, problem) in cases {
        says(&toml_refusal(text), &[problem]);
    }
}

#[test]
fn a_wrong_mode_is_refused_naming_both_modes() {
    for text in ["mode = \"fast\"", "mode = \"Active\"", "mode = 1"] {
        says(
            &toml_refusal(text),
            &["mode: ", "is not a mode", "\"active\" or \"passive\""],
        );
    }
}

// ---- Writing a config ------------------------------------------------------

#[test]
fn a_config_is_written_with_human_readable_durations() {
    let config = Config::builder()
        .idle(secs(90))
        .reply_window(ms(1500))
        .max_misses(2)
        .send_every(secs(60))
        .passive()
        .build()
        .expect("a config that can work");

    let text = toml::to_string(&config).expect("a config is a table");

    assert_eq!(
        text,
        "mode = \"passive\"\nidle = \"1m 30s\"\nreply_window = \"1s 500ms\"\n\
         max_misses = 2\nsend_every = \"1m\"\n"
    );
}

#[test]
fn step_and_tolerance_are_written_only_when_they_are_not_derived() {
    let derived = Config::builder().reply_window(secs(8)).build();
    let set = Config::builder()
        .reply_window(secs(8))
        .max_step(secs(3))
        .tolerance(ms(250))
        .build();

    let derived = serde_json::to_value(derived.expect("derived")).expect("a map");
    let set = serde_json::to_value(set.expect("set")).expect("a map");

    assert_eq!(derived.get("max_step"), None);
    assert_eq!(derived.get("tolerance"), None);
    assert_eq!(set["max_step"], "3s");
    assert_eq!(set["tolerance"], "250ms");
}

#[test]
fn a_mode_reads_and_writes_in_lower_case() {
    assert_eq!(
        serde_json::to_string(&Mode::Passive).ok(),
        Some("\"passive\"".into())
    );
    assert_eq!(
        serde_json::from_str::<Mode>("\"active\"").ok(),
        Some(Mode::Active)
    );
    assert!(serde_json::from_str::<Mode>("\"Active\"").is_err());
}

/// The cases come from `PROPTEST_CASES`; failures go to the committed
/// regressions file.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/serde.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn any_config_the_builder_accepts_reads_back_equal(input in builder_input()) {
        // Builder input that is refused has no config to write.
        let Ok(config) = input.builder().build() else {
            return Ok(());
        };

        let text = toml::to_string(&config).expect("a config is a table");
        prop_assert_eq!(toml::from_str::<Config>(&text).ok(), Some(config), "{}", text);
        let text = serde_json::to_string(&config).expect("a config is an object");
        prop_assert_eq!(serde_json::from_str::<Config>(&text).ok(), Some(config), "{}", text);
    }

    #[test]
    fn configs_at_every_scale_read_back_equal(config in strategies::any_config()) {
        let text = toml::to_string(&config).expect("a config is a table");

        prop_assert_eq!(toml::from_str::<Config>(&text).ok(), Some(config), "{}", text);
    }

    #[test]
    fn a_duration_string_reads_as_humantime_reads_it(text in duration_text()) {
        let ours = text.parse::<HumanDuration>().map(Duration::from);
        // The panic that the helper's own summing avoids counts as a
        // refusal.
        let theirs = std::panic::catch_unwind(|| humantime::parse_duration(&text));

        match (ours, theirs) {
            (Ok(ours), Ok(Ok(theirs))) => prop_assert_eq!(ours, theirs),
            (Err(ours), Ok(Err(theirs))) => {
                let message = ours.to_string();
                prop_assert!(message.contains(&format!("({theirs})")), "{}", message);
            }
            (Err(_), Err(_)) => {}
            (ours, theirs) => prop_assert!(false, "{:?} against {:?}", ours, theirs),
        }
    }

    #[test]
    fn any_duration_reads_back_equal(nanos in any::<u64>(), secs in any::<u64>()) {
        for duration in [Duration::from_nanos(nanos), Duration::new(secs, (nanos % 1_000_000_000) as u32)] {
            let text = HumanDuration(duration).to_string();

            prop_assert_eq!(text.parse::<HumanDuration>().map(Duration::from), Ok(duration));
        }
    }
}

/// What `keepalive::serde_duration` and humantime make of `text`, side
/// by side: the duration, or the humantime error the helper's message
/// carries.
fn both_read(text: &str) -> (Result<Duration, String>, Result<Duration, String>) {
    let ours = text.parse::<HumanDuration>().map(Duration::from);
    let ours = ours.map_err(|e| e.to_string());
    let theirs = humantime::parse_duration(text).map_err(|e| e.to_string());
    (ours, theirs)
}

#[test]
fn the_edges_of_the_grammar_read_as_humantime_reads_them() {
    let cases = [
        "0", " 0", "5s0", "5s 0", "1m 0s", "0s", "1h30m", "1h 30m ", " 1 h", "1 000s", "1.5h2m",
        "2m1.5", "1m-1s", "1µs", "1mM", "s", "5", "",
    ];
    for text in cases {
        match both_read(text) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text:?}"),
            (Err(ours), Err(theirs)) => {
                assert!(
                    ours.contains(&format!("({theirs})")),
                    "{text:?}: {ours} against {theirs}"
                )
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

/// Strings shaped like durations, right and wrong: one to four numbers,
/// some with a decimal part, with known and unknown units or none, with
/// and without blanks, up to 20 digits so that sums overflow.
fn duration_text() -> impl Strategy<Value = String> {
    let part = "[ ]?[0-9]{1,20}(\\.[0-9]{1,10})?[ ]?(ns|us|ms|s|sec|m|min|h|hours|d|w|M|y|x|)";
    prop::collection::vec(part, 1..=4).prop_map(|parts| parts.concat())
}

// ---- The duration helper ---------------------------------------------------

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Retry {
    #[serde(with = "keepalive::serde_duration")]
    backoff: Duration,
    #[serde(default, with = "keepalive::serde_duration::option")]
    give_up_after: Option<Duration>,
    #[serde(default)]
    pauses: Vec<HumanDuration>,
}

#[test]
fn the_helper_reads_every_form_in_a_field_an_option_and_a_list() {
    let retry: Retry =
        toml::from_str("backoff = \"250ms\"\ngive_up_after = 3600\npauses = [\"1m\", 1.5, 2]")
            .expect("durations in every form");

    assert_eq!(
        retry,
        Retry {
            backoff: ms(250),
            give_up_after: Some(secs(3600)),
            pauses: vec![
                HumanDuration(secs(60)),
                HumanDuration(ms(1500)),
                HumanDuration(secs(2))
            ],
        }
    );
}

#[test]
fn the_helper_writes_strings_and_leaves_a_missing_option_none() {
    let retry: Retry = serde_json::from_str(r#"{"backoff": "2s"}"#).expect("a backoff");

    assert_eq!(retry.give_up_after, None);
    assert_eq!(
        serde_json::to_string(&retry).ok(),
        Some(r#"{"backoff":"2s","give_up_after":null,"pauses":[]}"#.into())
    );
}

#[test]
fn the_helper_refuses_a_bad_value_with_the_forms() {
    let error = toml::from_str::<Retry>("backoff = -1")
        .map(|_| ())
        .unwrap_err();

    says(&error.to_string(), &["-1 is negative"]);
    says(&error.to_string(), &FORMS);
    let error = "5 parsecs".parse::<HumanDuration>().unwrap_err();
    says(
        &error.to_string(),
        &["\"5 parsecs\" is not a duration", "parsecs"],
    );
}

#[test]
fn a_human_duration_displays_as_it_is_written() {
    assert_eq!(HumanDuration(ms(90_500)).to_string(), "1m 30s 500ms");
    assert_eq!(HumanDuration(Duration::ZERO).to_string(), "0s");
    assert_eq!("1m 30s 500ms".parse(), Ok(HumanDuration(ms(90_500))));
    assert_eq!(Duration::from(HumanDuration::from(secs(3))), secs(3));
}

#[test]
fn the_helper_functions_work_on_their_own() {
    let value = serde_duration::serialize(&ms(1500), serde_json::value::Serializer);
    assert_eq!(value.ok(), Some(serde_json::json!("1s 500ms")));

    let read = serde_duration::deserialize(serde_json::json!(0.75));
    assert_eq!(read.ok(), Some(ms(750)));
}

// ---- The simulator's scenario files ----------------------------------------

/// S0 overridden by the scenario file `text`, or a panic with the error.
fn scenario(text: &str) -> Scenario {
    let mut scenario = Scenario::s0();
    file::read(text, &mut scenario).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    scenario
}

/// The error for the scenario file `text`, or a panic naming the run.
fn scenario_refusal(text: &str) -> String {
    let mut scenario = Scenario::s0();
    match file::read(text, &mut scenario) {
        Ok(()) => panic!("{text:?} was accepted as {scenario:?}"),
        Err(error) => error,
    }
}

fn sample(name: &str) -> String {
    let path = format!("{}/examples/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_sample_s0_file_reads_as_s0_itself() {
    assert_eq!(scenario(&sample("s0.toml")), Scenario::s0());
}

#[test]
fn the_sample_passive_file_reads_as_it_says() {
    let passive = scenario(&sample("passive.toml"));

    assert_eq!(passive.duration, secs(7 * 86_400));
    assert_eq!(passive.machine.mode(), Mode::Passive);
    assert_eq!(passive.machine.idle(), secs(25));
    assert_eq!(passive.machine.reply_window(), secs(10));
    assert_eq!(passive.peer.heartbeat_every, Some(secs(25)));
    assert_eq!(passive.peer.latency_min, ms(5));
    assert_eq!(passive.peer.mean_life, Some(secs(86_400)));
    assert_eq!(passive.driver.order, Order::TimerFirst);
    assert_eq!(passive.driver.stalls.len(), 6);
    assert_eq!(
        passive.driver.stalls[4],
        Pause {
            at: secs(200_000),
            length: secs(600),
        }
    );
}

#[test]
fn every_sample_scenario_file_reads_and_validates() {
    let dir = format!("{}/examples/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("the samples' directory") {
        let path = entry.expect("a directory entry").path();
        let mut scenario = Scenario::s0();

        let result = file::load(&path, &mut scenario);

        assert_eq!(result, Ok(()), "{}", path.display());
        read += 1;
    }
    assert!(read >= 2, "only {read} samples in {dir}");
}

/// Every duration field of a scenario file, as plain numbers of seconds.
const WITH_NUMBERS: &str = r#"
days = 2.5
reconnect_after = 7.5

[machine]
idle = 90.0
reply_window = 12
max_step = 2.5
tolerance = 0.5
send_every = 60

[models]
interval = 300.0
timeout = 20

[peer]
latency_min = 0.001
latency_max = 0.25
slow_latency = 3
heartbeat_every = 45
mean_life = 172800
deaths = [3600, 7200.5]

[clock]
jumps = [{ at = 560, by = 45.5 }, { at = 900.0, by = -5 }]

[clock.random]
min = 5
max = 90.0

[driver]
lateness_max = 0.002
stalls = [{ at = 100, length = 2.5 }]
suspends = [{ at = 3600.0, length = 120 }]
"#;

/// The same scenario with every duration as a string.
const WITH_STRINGS: &str = r#"
days = "2days 12h"
reconnect_after = "7.5s"

[machine]
idle = "1m 30s"
reply_window = "12s"
max_step = "2s 500ms"
tolerance = "500ms"
send_every = "1m"

[models]
interval = "5m"
timeout = "20 seconds"

[peer]
latency_min = "1ms"
latency_max = "250ms"
slow_latency = "3s"
heartbeat_every = "45s"
mean_life = "2days"
deaths = ["1h", "2h 500ms"]

[clock]
jumps = [{ at = "9m 20s", by = "45.5s" }, { at = "15m", by = "-5s" }]

[clock.random]
min = "5s"
max = "1.5m"

[driver]
lateness_max = "2ms"
stalls = [{ at = "100s", length = "2.5s" }]
suspends = [{ at = "1h", length = "2m" }]
"#;

#[test]
fn a_scenario_with_strings_equals_the_same_with_numbers() {
    let numbers = scenario(WITH_NUMBERS);
    let strings = scenario(WITH_STRINGS);

    assert_eq!(strings, numbers);
    // And both say what was meant, not merely the same thing.
    assert_eq!(strings.duration, secs(216_000));
    assert_eq!(strings.reconnect_after, ms(7500));
    assert_eq!(strings.machine.max_step(), ms(2500));
    assert_eq!(strings.machine.send_every(), Some(secs(60)));
    assert_eq!(strings.models.timeout, secs(20));
    assert_eq!(strings.peer.deaths, [secs(3600), ms(7_200_500)]);
    assert_eq!(
        strings.clock.jumps,
        [
            Jump::forward(secs(560), ms(45_500)),
            Jump::backward(secs(900), secs(5))
        ]
    );
    assert_eq!(strings.clock.random.map(|r| r.max), Some(secs(90)));
    assert_eq!(strings.driver.lateness_max, ms(2));
    assert_eq!(
        strings.driver.suspends,
        [Pause {
            at: secs(3600),
            length: secs(120),
        }]
    );
}

#[test]
fn a_field_left_out_of_a_scenario_keeps_its_s0_value() {
    let changed = scenario("[peer]\nlatency_min = \"1ms\"\n[machine]\nreply_window = \"8s\"");

    let mut expected = Scenario::s0();
    expected.peer.latency_min = ms(1);
    expected.machine = Config::builder()
        .idle(secs(570))
        .reply_window(secs(8))
        .max_misses(1)
        .build()
        .expect("S0 with a shorter window");
    assert_eq!(changed, expected);
}

#[test]
fn zero_still_turns_a_scenario_feature_off_in_either_form() {
    for zero in ["0", "\"0s\"", "0.0", "\"0\""] {
        let off = scenario(&format!(
            "[peer]\nmean_life = {zero}\nheartbeat_every = {zero}"
        ));

        assert_eq!(off.peer.mean_life, None, "{zero}");
        assert_eq!(off.peer.heartbeat_every, None, "{zero}");
    }
}

#[test]
fn the_machine_table_is_refused_with_the_builders_message() {
    let message = scenario_refusal("[machine]\nreply_window = \"2s\"\nmax_step = \"2s\"");

    let expected = ConfigError::StepTooLong {
        max_step: secs(2),
        tolerance: ms(100),
        reply_window: secs(2),
    };
    assert_eq!(message, format!("[machine]: {expected}"));
    assert_eq!(
        scenario_refusal("[machine]\nmax_misses = 0"),
        format!("[machine]: {}", ConfigError::NoMisses)
    );
}

#[test]
fn a_bad_scenario_duration_is_refused_on_its_line_with_the_forms() {
    let cases = [
        (
            "[peer]\nlatency_min = -1",
            "latency_min = -1",
            "-1 is negative",
        ),
        (
            "[models]\ntimeout = \"30 parsecs\"",
            "timeout = ",
            "parsecs",
        ),
        (
            "[peer]\ndeaths = [\"1h\", nan]",
            "deaths = ",
            "NaN is not a number",
        ),
        (
            "[driver]\nstalls = [{ at = \"1m\", length = true }]",
            "length = true",
            "true is not a duration",
        ),
        (
            "[clock]\njumps = [{ at = 1, by = \"-x\" }]",
            "by = ",
            "\"x\" is not a duration",
        ),
        (
            "[clock]\njumps = [{ at = 1, by = -inf }]",
            "by = ",
            "inf is not a number",
        ),
    ];
    for (text, line, problem) in cases {
        let message = scenario_refusal(text);

        says(&message, &[line, problem]);
        says(&message, &FORMS);
    }
}

#[test]
fn days_take_a_number_of_days_or_a_duration_up_to_a_hundred_years() {
    assert_eq!(scenario("days = 3").duration, secs(3 * 86_400));
    assert_eq!(scenario("days = \"36h\"").duration, secs(36 * 3600));

    says(
        &scenario_refusal("days = 40000"),
        &["days = 40000", "100 years"],
    );
    says(
        &scenario_refusal("days = \"200y\""),
        &["days = ", "100 years"],
    );
    says(&scenario_refusal("days = -1"), &["days = -1", "from 0 up"]);
}

#[test]
fn the_longest_config_span_is_still_a_duration_the_helper_reads() {
    let text = HumanDuration(MAX_SPAN).to_string();

    assert_eq!(text, "36years 6months 12days 8h 36m 48s 606ms 846us 976ns");
    assert_eq!(text.parse(), Ok(HumanDuration(MAX_SPAN)));
}

#[test]
fn a_scenario_machine_takes_jitter_and_an_adaptive_window() {
    let scenario = scenario(
        r#"
        [machine]
        reply_window = "30s"
        adaptive_reply_window = "5s"
        jitter = { spread = 20 }
        "#,
    );
    assert_eq!(scenario.machine.adaptive_reply_window(), Some(secs(5)));
    assert_eq!(scenario.machine.jitter(), Jitter::Spread { percent: 20 });
    assert_eq!(scenario.machine.idle(), secs(570), "the rest stays S0's");

    says(
        &scenario_refusal("[machine]\njitter = { spread = 10, shorten = 10 }"),
        &["exactly one of shorten or spread"],
    );
    says(
        &scenario_refusal("[machine]\nmode = \"passive\"\njitter = { spread = 10 }"),
        &["[machine]", "drop the jitter or use active mode"],
    );
}
