//! Jitter: the idle period before each probe, shortened (BFD style) or
//! spread (ICE consent style), drawn from the machine's seed.
//!
//! The peer in these tests answers every probe the instant it goes out, so
//! the gap from one reply to the next probe is exactly the idle period the
//! machine drew.

mod support;

use std::time::Duration;

use keepalive::{Config, ConfigError, Field, Jitter, Machine, Nanos, MAX_JITTER_PERCENT, MAX_SPAN};
use support::*;

fn jittered(jitter: Jitter) -> Config {
    Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .jitter(jitter)
        .build()
        .expect("a valid jittered config")
}

/// The idle periods of `count` probe cycles of a machine seeded `seed`
/// whose peer answers each probe at once, in milliseconds.
fn idle_periods(config: Config, seed: u64, count: usize) -> Vec<u64> {
    let mut machine = Machine::with_seed(config, Nanos(0), seed);
    let mut heard = Nanos(0);
    let mut periods = Vec::with_capacity(count);
    for _ in 0..count * 100 {
        let at = machine.next_wakeup().expect("an answered peer lives").at;
        let actions = machine.on_timer(at);
        if let Some(probe) = actions.probe() {
            periods.push((at.0 - heard.0) / 1_000_000);
            let _ = machine.on_reply(at, probe.seq);
            heard = at;
            if periods.len() == count {
                return periods;
            }
        }
    }
    panic!("only {} probes in {} wake-ups", periods.len(), count * 100);
}

fn min_max_mean(periods: &[u64]) -> (u64, u64, u64) {
    let min = *periods.iter().min().expect("some periods");
    let max = *periods.iter().max().expect("some periods");
    let mean = periods.iter().sum::<u64>() / periods.len() as u64;
    (min, max, mean)
}

// ---- The range of the periods ------------------------------------------------

#[test]
fn without_jitter_every_idle_period_is_idle() {
    let periods = idle_periods(jittered(Jitter::None), 7, 50);

    assert!(
        periods.iter().all(|&period| period == 30_000),
        "{periods:?}"
    );
}

#[test]
fn shortened_periods_fill_the_share_below_idle_and_never_exceed_it() {
    let periods = idle_periods(jittered(Jitter::Shorten { percent: 25 }), 1, 2_000);

    let (min, max, mean) = min_max_mean(&periods);
    assert!(min >= 22_500 && max <= 30_000, "{min}..{max}");
    assert!(
        min < 22_700 && max > 29_800,
        "the whole range is used: {min}..{max}"
    );
    assert!((26_000..=26_500).contains(&mean), "uniform: mean {mean}");
}

#[test]
fn spread_periods_fill_idle_plus_or_minus_the_share_around_idle() {
    let periods = idle_periods(jittered(Jitter::Spread { percent: 20 }), 2, 2_000);

    let (min, max, mean) = min_max_mean(&periods);
    assert!(min >= 24_000 && max <= 36_000, "{min}..{max}");
    assert!(
        min < 24_300 && max > 35_700,
        "the whole range is used: {min}..{max}"
    );
    assert!(
        (29_700..=30_300).contains(&mean),
        "centred on idle: mean {mean}"
    );
}

#[test]
fn the_widest_jitter_allowed_keeps_every_period_positive() {
    let config = Config::builder()
        .idle(Duration::from_nanos(3))
        .reply_window(Duration::from_nanos(40))
        .jitter(Jitter::Shorten {
            percent: MAX_JITTER_PERCENT,
        })
        .build()
        .expect("valid");
    let mut machine = Machine::with_seed(config, Nanos(0), 3);
    for _ in 0..1_000 {
        let now = machine.next_wakeup().expect("live").at;
        let actions = machine.on_timer(now);
        if let Some(probe) = actions.probe() {
            let _ = machine.on_reply(now, probe.seq);
            let next = machine.next_wakeup().expect("live").at;
            assert!(next > now, "a period of zero at {now:?}");
        }
    }
}

// ---- Seeds -------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_periods_and_other_seeds_other_ones() {
    let config = jittered(Jitter::Spread { percent: 20 });

    let first = idle_periods(config, 42, 100);
    assert_eq!(first, idle_periods(config, 42, 100));
    for seed in [0, 1, 43, u64::MAX] {
        assert_ne!(first, idle_periods(config, seed, 100), "seed {seed}");
    }
}

#[test]
fn consecutive_seeds_give_unrelated_periods_not_shifted_copies() {
    // Probe numbers start at the seed, so a seed one higher starts one
    // probe further along: its periods must not be the same list shifted.
    let config = jittered(Jitter::Spread { percent: 20 });
    let a = idle_periods(config, 1_000, 50);
    let b = idle_periods(config, 1_001, 50);

    assert_ne!(a[1..], b[..49]);
}

#[test]
fn probes_are_numbered_from_the_seed_and_their_replies_count() {
    let mut machine = Machine::with_seed(standard(1), at(0), 5_000);
    let probe = machine.on_timer(at(30)).probe().expect("an idle probe");
    assert_eq!(probe.seq, 5_000);

    let _ = machine.on_reply(at(31), 5_000);

    assert!(!machine.window_open());
    assert_eq!(machine.misses(), 0);
}

#[test]
fn connections_opened_together_drift_apart_with_their_own_seeds() {
    // A hundred connections open at the same instant. Without jitter they
    // probe together for ever; with their own seeds they spread out.
    let probe_times = |jitter: Jitter| -> Vec<u64> {
        (0..100)
            .map(|seed| {
                let periods = idle_periods(jittered(jitter), seed, 10);
                periods.iter().sum::<u64>()
            })
            .collect()
    };

    let steady = probe_times(Jitter::None);
    assert!(steady.iter().all(|&at| at == steady[0]));

    let spread = probe_times(Jitter::Spread { percent: 20 });
    let (min, max, _) = min_max_mean(&spread);
    assert!(max - min > 20_000, "the tenth probes span {min}..{max} ms");
}

#[test]
fn a_reset_after_a_probe_draws_a_new_stream_of_periods() {
    // The stream follows the first number since the reset; a reset before
    // any probe keeps it.
    let config = jittered(Jitter::Spread { percent: 20 });
    let mut machine = Machine::with_seed(config, at(0), 9);
    let first = machine.next_wakeup().expect("live").at;
    let _ = machine.reset(at(0));
    assert_eq!(machine.next_wakeup().expect("live").at, first);

    let probe = machine.on_timer(first).probe().expect("an idle probe");
    let _ = machine.on_reply(first, probe.seq);
    let mut reset = machine.clone();
    let _ = reset.reset(first);

    assert_ne!(reset.next_wakeup(), machine.next_wakeup());
}

// ---- Traffic, the hot path and the bound ------------------------------------------

#[test]
fn inbound_traffic_moves_the_deadline_by_the_same_drawn_period() {
    // The period is drawn per probe, not per packet: traffic only moves
    // the start of the same period, and the timer it armed stays put.
    let config = jittered(Jitter::Spread { percent: 20 });
    let mut h = Harness::new(config, at(0));
    let armed = h.wakeup().at;
    let period = armed.0;

    let actions = h.inbound(at(10));
    assert_eq!(actions.timer, None, "the hot path leaves the timer alone");

    h.run_until(Nanos(10_000_000_000 + period - 1));
    assert!(h.probes().is_empty());
    h.run_until(Nanos(10_000_000_000 + period));
    assert_eq!(h.probe_times(), vec![Nanos(10_000_000_000 + period)]);
}

#[test]
fn a_dead_peer_is_found_within_the_bound_grown_by_the_spread() {
    // idle 30 s ± 20 %, window 10 s, 1 miss, E = 0.5 s: the verdict comes
    // at most 36 + 10 + 1 s after the last reply, and for some seeds after
    // the 40 s an unjittered machine would take.
    let config = Config::builder()
        .idle(secs(30))
        .reply_window(secs(10))
        .max_misses(1)
        .jitter(Jitter::Spread { percent: 20 })
        .build()
        .expect("valid");
    assert_eq!(config.longest_idle(), secs(36));
    assert_eq!(config.detection_time(), secs(46));

    let mut slowest = Duration::ZERO;
    for seed in 0..200 {
        let mut machine = Machine::with_seed(config, at(0), seed);
        let mut now = at(0);
        while !machine.is_dead() {
            now = machine.next_wakeup().expect("live until the verdict").at;
            let _ = machine.on_timer(now);
        }
        let took = now.since_origin();
        assert!(
            took <= config.detection_time() + secs(1),
            "seed {seed}: {took:?}"
        );
        slowest = slowest.max(took);
    }
    assert!(
        slowest > secs(44),
        "the spread lengthens some waits: {slowest:?}"
    );
}

// ---- The config ------------------------------------------------------------------

#[test]
fn jitter_that_cannot_work_is_refused_with_what_to_change() {
    let too_wide = Config::builder()
        .jitter(Jitter::Shorten { percent: 91 })
        .build();
    assert_eq!(too_wide, Err(ConfigError::JitterTooWide { percent: 91 }));
    assert!(too_wide
        .unwrap_err()
        .to_string()
        .contains("wider than the 90 % allowed"));

    let spread = Config::builder()
        .jitter(Jitter::Spread { percent: 200 })
        .build();
    assert_eq!(spread, Err(ConfigError::JitterTooWide { percent: 200 }));

    let passive = Config::builder()
        .passive()
        .jitter(Jitter::Spread { percent: 10 })
        .build();
    assert_eq!(passive, Err(ConfigError::JitterInPassiveMode));
    assert!(passive
        .unwrap_err()
        .to_string()
        .contains("drop the jitter or use active mode"));
}

#[test]
fn a_spread_that_takes_the_detection_time_past_the_limit_is_refused() {
    let idle = MAX_SPAN / 2;
    let builder = || {
        Config::builder()
            .idle(idle)
            .reply_window(secs(10))
            .max_misses(1)
    };
    assert!(builder()
        .jitter(Jitter::Spread { percent: 90 })
        .build()
        .is_ok());

    let idle = MAX_SPAN - MAX_SPAN / 10;
    let refused = Config::builder()
        .idle(idle)
        .reply_window(secs(10))
        .max_misses(1)
        .jitter(Jitter::Spread { percent: 20 })
        .build();
    assert_eq!(refused, Err(ConfigError::TooLong(Field::DetectionTime)));
}

#[test]
fn the_config_reports_its_jitter_and_zero_percent_is_none() {
    assert_eq!(standard(1).jitter(), Jitter::None);
    for jitter in [
        Jitter::Shorten { percent: 1 },
        Jitter::Shorten { percent: 90 },
        Jitter::Spread { percent: 1 },
        Jitter::Spread { percent: 90 },
    ] {
        assert_eq!(jittered(jitter).jitter(), jitter);
    }
    assert_eq!(
        jittered(Jitter::Spread { percent: 0 }).jitter(),
        Jitter::None
    );
    assert_eq!(
        jittered(Jitter::Shorten { percent: 25 }).longest_idle(),
        secs(30)
    );
}
