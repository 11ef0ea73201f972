//! Runs one path through the machine N times, for counting its
//! instructions under callgrind.
//!
//! `paths PATH N` calls the path N times, each call inside a `measured_*`
//! function that is never inlined (`measured_on_timer` for the three timer
//! paths, which only differ in the state they start from), so that
//! `valgrind --tool=callgrind --toggle-collect='*measured_on_timer*'`
//! counts the call and nothing around it (the copy of a prepared machine
//! that some paths start from is made outside). `benches/callgrind.sh` runs every
//! path with two values of N and reports the instructions per call.
//! Without arguments (as under `cargo bench`) it runs every path a few
//! times and exits.

use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::Poll;
use std::time::{Duration, Instant};

use keepalive::{Actions, Config, Machine};

const IDLE: Duration = Duration::from_secs(30);

const PATHS: [&str; 7] = [
    "inbound",
    "timer_nothing_due",
    "timer_sends_probe",
    "reply",
    "discontinuity",
    "tokio_sleep_reset",
    "store_instant",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [path, count] if PATHS.contains(&path.as_str()) => match count.parse::<u64>() {
            Ok(count) => {
                run(path, count);
                ExitCode::SUCCESS
            }
            Err(_) => usage(&format!("N must be a whole number, not {count:?}")),
        },
        [path, _] => usage(&format!("unknown path {path:?}")),
        // `cargo bench` passes `--bench`: a quick run of everything.
        [] | [_] => {
            for path in PATHS {
                run(path, 1_000);
            }
            println!("paths: ran each path 1000 times; see benches/callgrind.sh");
            ExitCode::SUCCESS
        }
        _ => usage("expected two arguments"),
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("paths: {problem}");
    eprintln!("usage: paths PATH N, PATH one of {}", PATHS.join(", "));
    ExitCode::FAILURE
}

/// Whole seconds throughout, the derived step (5 s) and tolerance (1 s)
/// included, so that no sum of an instant and a duration carries into the
/// seconds: the work per call does not depend on the sub-second part of
/// the instant the run starts at.
fn config() -> Config {
    Config::builder()
        .idle(IDLE)
        .reply_window(Duration::from_secs(20))
        .build()
        .expect("a valid config")
}

fn run(path: &str, count: u64) {
    let start = Instant::now();
    let at = |secs: u64| start + Duration::from_secs(secs);
    let silent = Machine::new(config(), start);

    match path {
        "inbound" => {
            let mut machine = silent.clone();
            let now = start + Duration::from_secs(1);
            for _ in 0..count {
                let _ = black_box(measured_on_inbound(&mut machine, black_box(now)));
            }
            assert!(machine.next_wakeup().is_some());
        }
        "timer_nothing_due" => {
            let mut heard = silent.clone();
            let _ = heard.on_inbound(at(10));
            on_copies(&heard, count, |machine| measured_on_timer(machine, at(30)));
        }
        "timer_sends_probe" => {
            on_copies(&silent, count, |machine| measured_on_timer(machine, at(30)))
        }
        "reply" => {
            let mut probing = silent.clone();
            let seq = probing
                .on_timer(at(30))
                .probe()
                .expect("a probe after idle")
                .seq;
            on_copies(&probing, count, |machine| {
                measured_on_reply(machine, at(31), seq)
            });
        }
        "discontinuity" => on_copies(&silent, count, |machine| {
            measured_on_timer(machine, at(3_600))
        }),
        "tokio_sleep_reset" => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a tokio runtime");
            let _context = runtime.enter();
            let mut sleep = Box::pin(tokio::time::sleep(IDLE));
            runtime.block_on(poll_fn(|cx| {
                assert!(sleep.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            }));
            let now = tokio::time::Instant::from_std(start + Duration::from_secs(1));
            for _ in 0..count {
                measured_sleep_reset(sleep.as_mut(), black_box(now));
            }
        }
        "store_instant" => {
            let mut slot = start;
            for _ in 0..count {
                measured_store(&mut slot, black_box(at(1)));
            }
            black_box(slot);
        }
        _ => unreachable!("paths are checked against PATHS"),
    }
}

/// Calls `call` on `count` fresh copies of `prepared`.
fn on_copies(
    prepared: &Machine<Instant>,
    count: u64,
    call: impl Fn(&mut Machine<Instant>) -> Actions<Instant>,
) {
    for _ in 0..count {
        let mut machine = black_box(prepared.clone());
        let _ = black_box(call(&mut machine));
    }
}

#[inline(never)]
fn measured_on_inbound(machine: &mut Machine<Instant>, now: Instant) -> Actions<Instant> {
    machine.on_inbound(now)
}

#[inline(never)]
fn measured_on_timer(machine: &mut Machine<Instant>, now: Instant) -> Actions<Instant> {
    machine.on_timer(now)
}

#[inline(never)]
fn measured_on_reply(machine: &mut Machine<Instant>, now: Instant, seq: u64) -> Actions<Instant> {
    machine.on_reply(now, seq)
}

/// What a hand-written keepalive does on every packet.
#[inline(never)]
fn measured_sleep_reset(sleep: Pin<&mut tokio::time::Sleep>, now: tokio::time::Instant) {
    sleep.reset(now + IDLE);
}

#[inline(never)]
fn measured_store(slot: &mut Instant, now: Instant) {
    *slot = now;
}
