//! The config builder: every refusal with the error that names what to
//! change, the documented defaults, and the step and tolerance that follow
//! the reply window when they are not set.

use std::time::Duration;

use keepalive::{
    Config, ConfigError, Field, Mode, DEFAULT_IDLE, DEFAULT_MAX_MISSES, DEFAULT_MAX_STEP_DIVISOR,
    DEFAULT_REPLY_WINDOW, DEFAULT_TOLERANCE_DIVISOR, MAX_SPAN,
};

const NS: Duration = Duration::from_nanos(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// The refusal, or a panic naming the config that was wrongly accepted.
fn refused(builder: keepalive::ConfigBuilder) -> ConfigError {
    match builder.build() {
        Ok(config) => panic!("accepted {config:?}"),
        Err(error) => error,
    }
}

/// Asserts that `message` mentions each of `words`.
fn says(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "{message:?} does not say {word:?}");
    }
}

// ---- Zero durations and zero misses ----------------------------------------

#[test]
fn every_zero_duration_is_refused_naming_the_field() {
    let cases = [
        (Config::builder().idle(Duration::ZERO), Field::Idle, "idle"),
        (
            Config::builder().reply_window(Duration::ZERO),
            Field::ReplyWindow,
            "reply_window",
        ),
        (
            Config::builder().max_step(Duration::ZERO),
            Field::MaxStep,
            "max_step",
        ),
        (
            Config::builder().tolerance(Duration::ZERO),
            Field::Tolerance,
            "tolerance",
        ),
        (
            Config::builder().send_every(Duration::ZERO),
            Field::SendEvery,
            "send_every",
        ),
    ];
    for (builder, field, name) in cases {
        let error = refused(builder);

        assert_eq!(error, ConfigError::Zero(field));
        says(&error.to_string(), &[name, "zero", "positive duration"]);
        assert_eq!(field.to_string(), name);
    }
}

#[test]
fn zero_misses_is_refused_because_the_peer_could_never_die() {
    let error = refused(Config::builder().max_misses(0));

    assert_eq!(error, ConfigError::NoMisses);
    says(&error.to_string(), &["max_misses", "at least 1"]);
}

// ---- Spans beyond MAX_SPAN -------------------------------------------------

#[test]
fn max_span_is_two_to_the_sixtieth_nanoseconds() {
    assert_eq!(MAX_SPAN, Duration::from_nanos(1 << 60));
}

#[test]
fn every_duration_beyond_max_span_is_refused_naming_the_field() {
    for too_long in [MAX_SPAN + NS, MAX_SPAN * 2, Duration::MAX] {
        let cases = [
            (Config::builder().idle(too_long), Field::Idle),
            (
                Config::builder()
                    .reply_window(too_long)
                    .max_step(secs(1))
                    .tolerance(secs(1)),
                Field::ReplyWindow,
            ),
            (Config::builder().max_step(too_long), Field::MaxStep),
            (Config::builder().tolerance(too_long), Field::Tolerance),
        ];
        for (builder, field) in cases {
            let error = refused(builder);

            assert_eq!(error, ConfigError::TooLong(field), "{too_long:?}");
            says(
                &error.to_string(),
                &[&field.to_string(), "longer than", "shorten"],
            );
        }
    }
}

#[test]
fn a_detection_time_beyond_max_span_is_refused() {
    // idle + max_misses × reply_window, the longest a verdict may take.
    let window = MAX_SPAN / 4;
    let exactly = Config::builder()
        .idle(MAX_SPAN - window * 3)
        .reply_window(window)
        .max_misses(3)
        .build()
        .expect("exactly MAX_SPAN is allowed");
    assert_eq!(exactly.detection_time(), MAX_SPAN);

    let cases = [
        Config::builder()
            .idle(MAX_SPAN - window * 3 + NS)
            .reply_window(window)
            .max_misses(3),
        Config::builder()
            .idle(MAX_SPAN)
            .reply_window(secs(1))
            .max_misses(1),
        Config::builder().reply_window(secs(1)).max_misses(u32::MAX),
    ];
    for builder in cases {
        let error = refused(builder);

        assert_eq!(error, ConfigError::TooLong(Field::DetectionTime));
        says(
            &error.to_string(),
            &[
                "idle + max_misses × reply_window",
                &MAX_SPAN.as_secs().to_string(),
                "shorten",
            ],
        );
    }
}

// ---- Step plus tolerance against the window --------------------------------

#[test]
fn step_plus_tolerance_not_below_the_window_is_refused_with_the_values_in_force() {
    let cases = [
        // Equal to the window: one jump could use all of it.
        (secs(8), secs(2), secs(10)),
        (secs(9), secs(2), secs(10)),
        (secs(10), NS, secs(10)),
        (NS, secs(10), secs(10)),
    ];
    for (step, tolerance, window) in cases {
        let error = refused(
            Config::builder()
                .reply_window(window)
                .max_step(step)
                .tolerance(tolerance),
        );

        assert_eq!(
            error,
            ConfigError::StepTooLong {
                max_step: step,
                tolerance,
                reply_window: window,
            }
        );
        says(
            &error.to_string(),
            &[
                &format!("max_step ({step:?})"),
                &format!("tolerance ({tolerance:?})"),
                &format!("reply_window ({window:?})"),
                "lower max_step or tolerance, or widen reply_window",
            ],
        );
    }

    // One ns below the window is accepted.
    let config = Config::builder()
        .reply_window(secs(10))
        .max_step(secs(8))
        .tolerance(secs(2) - NS)
        .build()
        .expect("below the window");
    assert_eq!(config.max_step() + config.tolerance(), secs(10) - NS);
}

#[test]
fn a_derived_step_or_tolerance_counts_against_the_window_and_is_named() {
    // Tolerance set, step derived (a quarter of 10 s).
    let error = refused(Config::builder().reply_window(secs(10)).tolerance(secs(8)));
    assert_eq!(
        error,
        ConfigError::StepTooLong {
            max_step: ms(2_500),
            tolerance: secs(8),
            reply_window: secs(10),
        }
    );

    // Step set, tolerance derived (a twentieth of 10 s).
    let error = refused(Config::builder().reply_window(secs(10)).max_step(ms(9_500)));
    assert_eq!(
        error,
        ConfigError::StepTooLong {
            max_step: ms(9_500),
            tolerance: ms(500),
            reply_window: secs(10),
        }
    );
}

#[test]
fn a_tolerance_of_half_the_window_or_more_is_refused() {
    // A late call and the grace turn after it may each credit a tolerance
    // past a window's end; the next window must still be open after both.
    for tolerance in [secs(5), secs(6)] {
        let error = refused(
            Config::builder()
                .reply_window(secs(10))
                .max_step(NS)
                .tolerance(tolerance),
        );

        assert_eq!(
            error,
            ConfigError::ToleranceTooLong {
                tolerance,
                reply_window: secs(10),
            }
        );
        says(
            &error.to_string(),
            &[
                &format!("tolerance ({tolerance:?})"),
                "half of reply_window (10s)",
                "lower tolerance or widen reply_window",
            ],
        );
    }

    let config = Config::builder()
        .reply_window(secs(10))
        .max_step(secs(1))
        .tolerance(secs(5) - NS)
        .build()
        .expect("just below half the window");
    assert_eq!(config.tolerance(), secs(5) - NS);
}

// ---- The send obligation against idle --------------------------------------

#[test]
fn a_send_obligation_not_below_idle_is_refused() {
    for every in [secs(30), secs(31), secs(3_600)] {
        let error = refused(Config::builder().idle(secs(30)).send_every(every));

        assert_eq!(
            error,
            ConfigError::SendNotBelowIdle {
                send_every: every,
                idle: secs(30),
            }
        );
        says(
            &error.to_string(),
            &[
                &format!("send_every ({every:?})"),
                "idle (30s)",
                "shorten send_every, lengthen idle, or drop the obligation",
            ],
        );
    }

    let config = Config::builder()
        .idle(secs(30))
        .send_every(secs(30) - NS)
        .build()
        .expect("just below idle");
    assert_eq!(config.send_every(), Some(secs(30) - NS));
}

#[test]
fn config_errors_are_std_errors() {
    let error: Box<dyn std::error::Error> = Box::new(ConfigError::NoMisses);

    assert!(error.source().is_none());
    assert!(!error.to_string().is_empty());
}

// ---- Defaults --------------------------------------------------------------

#[test]
fn the_defaults_are_the_documented_values() {
    assert_eq!(DEFAULT_IDLE, secs(30));
    assert_eq!(DEFAULT_REPLY_WINDOW, secs(20));
    assert_eq!(DEFAULT_MAX_MISSES, 3);
    assert_eq!(DEFAULT_MAX_STEP_DIVISOR, 4);
    assert_eq!(DEFAULT_TOLERANCE_DIVISOR, 20);

    let config = Config::default();

    assert_eq!(config, Config::builder().build().expect("defaults build"));
    assert_eq!(config.idle(), secs(30));
    assert_eq!(config.reply_window(), secs(20));
    assert_eq!(config.max_misses(), 3);
    assert_eq!(config.max_step(), secs(5));
    assert_eq!(config.tolerance(), secs(1));
    assert_eq!(config.send_every(), None);
    assert_eq!(config.mode(), Mode::Active);
    assert_eq!(config.detection_time(), secs(90));
    // The defaults leave 70 % of every window to a healthy reply.
    assert!((config.max_step() + config.tolerance()) * 10 <= config.reply_window() * 3);
}

#[test]
fn the_builder_returns_what_was_set() {
    let config = Config::builder()
        .idle(secs(60))
        .reply_window(secs(15))
        .max_misses(5)
        .max_step(secs(4))
        .tolerance(ms(250))
        .send_every(secs(45))
        .passive()
        .build()
        .expect("valid");

    assert_eq!(config.idle(), secs(60));
    assert_eq!(config.reply_window(), secs(15));
    assert_eq!(config.max_misses(), 5);
    assert_eq!(config.max_step(), secs(4));
    assert_eq!(config.tolerance(), ms(250));
    assert_eq!(config.send_every(), Some(secs(45)));
    assert_eq!(config.mode(), Mode::Passive);
    assert_eq!(config.detection_time(), secs(60 + 5 * 15));

    let back = Config::builder().passive().active().build().expect("valid");
    assert_eq!(back.mode(), Mode::Active);
}

// ---- Derived step and tolerance --------------------------------------------

#[test]
fn an_unset_step_and_tolerance_follow_the_window() {
    let windows = [
        Duration::from_nanos(20),
        Duration::from_nanos(1_001),
        ms(1),
        ms(7),
        secs(1),
        secs(7),
        secs(10),
        secs(86_400),
        MAX_SPAN / 4,
    ];
    for window in windows {
        // Idle small enough that the detection time fits.
        let config = Config::builder()
            .idle(secs(1))
            .reply_window(window)
            .max_misses(1)
            .build()
            .unwrap_or_else(|error| panic!("window {window:?} refused: {error}"));

        assert_eq!(config.max_step(), window / 4, "{window:?}");
        assert_eq!(config.tolerance(), window / 20, "{window:?}");
        assert!(config.max_step() + config.tolerance() < window);
    }
}

#[test]
fn setting_one_of_step_and_tolerance_leaves_the_other_derived() {
    let step_only = Config::builder()
        .reply_window(secs(10))
        .max_step(secs(1))
        .build()
        .expect("valid");
    assert_eq!(step_only.tolerance(), ms(500));

    let tolerance_only = Config::builder()
        .reply_window(secs(10))
        .tolerance(ms(100))
        .build()
        .expect("valid");
    assert_eq!(tolerance_only.max_step(), ms(2_500));
}

#[test]
fn below_twenty_nanoseconds_the_derived_tolerance_reaches_zero_and_is_refused() {
    // The builder's documented limit: shrinking the window alone works
    // down to 20 ns, where the derived tolerance is 1 ns.
    let error = refused(Config::builder().reply_window(Duration::from_nanos(19)));
    assert_eq!(error, ConfigError::Zero(Field::Tolerance));

    let error = refused(Config::builder().reply_window(Duration::from_nanos(3)));
    assert_eq!(error, ConfigError::Zero(Field::MaxStep));
}

#[test]
fn active_after_passive_restores_active_mode_and_keeps_every_other_setting() {
    let config = Config::builder()
        .idle(Duration::from_secs(45))
        .reply_window(Duration::from_secs(12))
        .max_misses(5)
        .passive()
        .active()
        .build()
        .expect("a valid config");

    assert_eq!(config.mode(), Mode::Active);
    assert_eq!(config.idle(), Duration::from_secs(45));
    assert_eq!(config.reply_window(), Duration::from_secs(12));
    assert_eq!(config.max_misses(), 5);
}

#[test]
fn a_step_or_tolerance_derived_to_zero_names_the_divisor_it_came_from() {
    let tiny = Config::builder()
        .reply_window(Duration::from_nanos(3))
        .build()
        .expect_err("a 3 ns window derives a zero step");
    assert_eq!(tiny, ConfigError::Zero(Field::MaxStep));
    assert!(tiny.to_string().contains("reply_window / 4"), "{tiny}");

    let small = Config::builder()
        .reply_window(Duration::from_nanos(19))
        .build()
        .expect_err("a 19 ns window derives a zero tolerance");
    assert_eq!(small, ConfigError::Zero(Field::Tolerance));
    assert!(small.to_string().contains("reply_window / 20"), "{small}");
}
