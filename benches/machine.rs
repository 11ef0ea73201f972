//! Time per call of each path through the machine, side by side with what
//! hand-written keepalives do instead.
//!
//! `cargo bench --bench machine`. The figures and how to read them are in
//! `docs/performance.md`.
//!
//! Every group runs its contenders in the same run, so their ratio holds
//! even on a noisy machine. The instant is read once, outside the measured
//! call: the driver reads the clock for every packet whatever keeps the
//! connection alive, so that cost is common to all contenders.

use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion};
use keepalive::{Config, Machine, Nanos};

const IDLE: Duration = Duration::from_secs(30);

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

/// The contenders on the hot path, each ready for its next packet.
struct HotPath {
    now: Instant,
    machine: Machine<Instant>,
    // Declared before the runtime, so that it is dropped first.
    sleep: Pin<Box<tokio::time::Sleep>>,
    tokio_now: tokio::time::Instant,
    _runtime: tokio::runtime::Runtime,
    slot: Instant,
}

impl HotPath {
    fn new() -> Self {
        let start = Instant::now();
        let now = start + Duration::from_secs(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let sleep = {
            let _context = runtime.enter();
            let mut sleep = Box::pin(tokio::time::sleep(IDLE));
            register(&runtime, sleep.as_mut());
            sleep
        };
        HotPath {
            now,
            machine: Machine::new(config(), start),
            sleep,
            tokio_now: tokio::time::Instant::from_std(now),
            _runtime: runtime,
            slot: start,
        }
    }

    /// The machine records the instant and leaves the wake-up alone. The
    /// driver looks at the actions, as it must; `is_empty` is the least it
    /// can do.
    fn machine(&mut self) -> bool {
        self.machine.on_inbound(black_box(self.now)).is_empty()
    }

    /// A hand-written keepalive pushes the idle deadline of a registered
    /// tokio `Sleep` to now + idle on every packet.
    fn tokio(&mut self) {
        self.sleep.as_mut().reset(black_box(self.tokio_now) + IDLE);
    }

    /// The floor: store the instant and nothing else.
    fn store(&mut self) {
        *black_box(&mut self.slot) = black_box(self.now);
    }
}

/// The hot path: inbound traffic on an open connection with nothing due.
fn hot_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("inbound");
    let mut hot = HotPath::new();

    group.bench_function("machine_on_inbound", |b| {
        b.iter(|| black_box(hot.machine()))
    });
    assert!(
        hot.machine.next_wakeup().is_some(),
        "the connection is open"
    );

    // The same with `Nanos`, whose clock moves on by a nanosecond a call.
    let mut machine = Machine::new(config(), Nanos(0));
    let mut clock = 0;
    group.bench_function("machine_on_inbound_nanos", |b| {
        b.iter(|| {
            clock += 1;
            black_box(machine.on_inbound(black_box(Nanos(clock))).is_empty())
        })
    });

    group.bench_function("tokio_sleep_reset", |b| b.iter(|| hot.tokio()));
    group.bench_function("store_instant", |b| b.iter(|| hot.store()));
    group.finish();
}

/// The ratios on the hot path, measured in alternating rounds so that
/// every round of one contender sees the same load as the rounds of the
/// others beside it: the median of the per-round ratios.
fn hot_path_ratios() {
    const ROUNDS: usize = 201;
    const CALLS: u32 = 20_000;
    let mut hot = HotPath::new();
    let mut per_call = |run: &mut dyn FnMut(&mut HotPath)| {
        let started = Instant::now();
        for _ in 0..CALLS {
            run(&mut hot);
        }
        started.elapsed().as_secs_f64() * 1e9 / f64::from(CALLS)
    };

    let mut tokio_over_machine = Vec::with_capacity(ROUNDS);
    let mut machine_over_store = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let machine = per_call(&mut |hot| {
            black_box(hot.machine());
        });
        let tokio = per_call(&mut |hot| hot.tokio());
        let store = per_call(&mut |hot| hot.store());
        tokio_over_machine.push(tokio / machine);
        machine_over_store.push(machine / store);
    }

    println!("hot path ratios, median (quartiles) of {ROUNDS} alternating rounds:");
    for (name, ratios) in [
        (
            "tokio Sleep::reset / machine on_inbound",
            &mut tokio_over_machine,
        ),
        (
            "machine on_inbound / store of an Instant",
            &mut machine_over_store,
        ),
    ] {
        ratios.sort_by(f64::total_cmp);
        let quartile = |q: usize| ratios[(ratios.len() - 1) * q / 4];
        println!(
            "  {name}: {:.1} ({:.1} to {:.1})",
            quartile(2),
            quartile(1),
            quartile(3)
        );
    }
}

/// Polls `sleep` once so that its timer sits in the runtime's wheel, as it
/// does in a keepalive task that is waiting.
fn register(runtime: &tokio::runtime::Runtime, mut sleep: Pin<&mut tokio::time::Sleep>) {
    runtime.block_on(poll_fn(|cx| {
        assert!(sleep.as_mut().poll(cx).is_pending(), "the sleep is pending");
        Poll::Ready(())
    }));
}

/// The other paths, each on a fresh copy of a machine prepared for it (the
/// copy is made outside the measured call).
fn other_paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("paths");
    let start = Instant::now();
    let at = |secs: u64| start + Duration::from_secs(secs);

    // A wake-up with nothing due: traffic came at 10 s, so the idle timer
    // that fires at 30 s only moves the wake-up to 40 s.
    let mut heard = Machine::new(config(), start);
    let _ = heard.on_inbound(at(10));
    bench_on_copy(&mut group, "timer_nothing_due", &heard, |m| {
        m.on_timer(at(30))
    });

    // A wake-up that sends a probe: 30 s of silence.
    let silent = Machine::new(config(), start);
    bench_on_copy(&mut group, "timer_sends_probe", &silent, |m| {
        m.on_timer(at(30))
    });

    // A reply to the outstanding probe.
    let mut probing = silent.clone();
    let seq = probing
        .on_timer(at(30))
        .probe()
        .expect("a probe after idle")
        .seq;
    bench_on_copy(&mut group, "reply", &probing, |m| m.on_reply(at(31), seq));

    // A discontinuity: the timer fires an hour late (a forward jump).
    bench_on_copy(&mut group, "discontinuity", &silent, |m| {
        m.on_timer(at(3_600))
    });
    group.finish();
}

fn bench_on_copy(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    prepared: &Machine<Instant>,
    call: impl Fn(&mut Machine<Instant>) -> keepalive::Actions<Instant>,
) {
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || prepared.clone(),
            |machine| black_box(call(machine)),
            BatchSize::SmallInput,
        )
    });
}

fn settings() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = settings();
    targets = hot_path, other_paths
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only when benchmarking, not under `cargo test --benches`.
    if std::env::args().any(|arg| arg == "--bench") {
        hot_path_ratios();
    }
}
