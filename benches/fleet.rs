//! A fleet of connections kept alive on one thread: one machine per
//! connection driven through one timer structure, against one tokio task
//! per connection running the usual keepalive loop, in simulated time.
//!
//! `cargo bench --bench fleet` runs every contender on a fleet of healthy
//! peers and on one where 1 % of the peers die, each in a child process of
//! its own so that its CPU time and peak RSS are its own, and prints one
//! table with the ratios. `-- --connections N --minutes M` change the
//! fleet (default one million connections for 60 simulated minutes);
//! `-- --help` lists the rest. Figures and reading in
//! `docs/performance.md`.
//!
//! Every contender sees the same peers: connection `i` opens at an instant
//! spread evenly over the first idle period, a healthy peer answers each
//! probe at once (the reply is fed in the same turn, so neither side pays
//! for simulating a network), and a dying peer stops answering at an
//! instant drawn from a seeded generator and is never heard from again.
//! The timings include building the fleet, not tearing it down.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::poll_fn;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use keepalive::{Action, Actions, Config, Machine, Nanos};
use tokio_util::time::delay_queue::{self, DelayQueue};

/// The machine's config and the tokio loop's timers are the same
/// liveness contract: probe after 30 s of silence, dead after three
/// unanswered 20 s windows, that is 90 s after the last reply.
const IDLE: Duration = Duration::from_secs(30);
const WINDOW: Duration = Duration::from_secs(20);
const MISSES: u32 = 3;
const DEAD_AFTER: Duration = Duration::from_secs(30 + 3 * 20);

#[derive(Parser, Debug)]
#[command(about = "A fleet of keepalives on one thread, in simulated time")]
struct Args {
    /// Connections in the fleet.
    #[arg(long, default_value_t = 1_000_000)]
    connections: u32,

    /// Simulated minutes.
    #[arg(long, default_value_t = 60)]
    minutes: u64,

    /// Run only this contender (all of them by default).
    #[arg(long, value_enum)]
    only: Option<Contender>,

    /// Run one contender in this process and print its result line (what
    /// the parent process runs in each child).
    #[arg(long, value_enum, hide = true)]
    child: Option<Contender>,

    /// The per-mille of peers that die, for `--child`.
    #[arg(long, default_value_t = 0, hide = true)]
    dying_per_mille: u32,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Contender {
    /// One `Machine<std::time::Instant>` per connection, a `BinaryHeap` of
    /// wake-ups.
    MachineHeap,
    /// The same with `Machine<Nanos>`: a driver that keeps its own
    /// nanosecond clock.
    MachineNanosHeap,
    /// `Machine<std::time::Instant, &'static Config>`: every machine
    /// borrows one shared config.
    MachineSharedHeap,
    /// One machine per connection, a `tokio_util` `DelayQueue` of wake-ups.
    MachineDelayQueue,
    /// One tokio task per connection: a ping `Interval` and a deadline
    /// `Sleep` in `select!`, under paused time.
    TokioTasks,
}

impl Contender {
    const ALL: [Contender; 5] = [
        Contender::MachineHeap,
        Contender::MachineNanosHeap,
        Contender::MachineSharedHeap,
        Contender::MachineDelayQueue,
        Contender::TokioTasks,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::MachineHeap => "machine + BinaryHeap",
            Contender::MachineNanosHeap => "machine<Nanos> + BinaryHeap",
            Contender::MachineSharedHeap => "shared config + BinaryHeap",
            Contender::MachineDelayQueue => "machine + DelayQueue",
            Contender::TokioTasks => "tokio task per connection",
        }
    }
}

/// The peers every contender sees.
#[derive(Clone, Copy, Debug)]
struct Fleet {
    connections: u32,
    length: Duration,
    dying_per_mille: u32,
}

impl Fleet {
    /// When connection `i` opens: spread evenly over the first idle period.
    fn opens_at(&self, i: u32) -> Duration {
        IDLE.mul_f64(f64::from(i) / f64::from(self.connections))
    }

    /// When the peer of connection `i` stops answering, if it does.
    fn dies_at(&self, i: u32) -> Option<Duration> {
        let draw = splitmix(u64::from(i));
        let dies = (draw % 1000) < u64::from(self.dying_per_mille);
        dies.then(|| {
            self.length
                .mul_f64((draw >> 11) as f64 / (1u64 << 53) as f64)
        })
    }

    /// A peer alive at `at` answers a probe sent then.
    fn answers(&self, i: u32, at: Duration) -> bool {
        self.dies_at(i).map_or(true, |death| at < death)
    }
}

/// splitmix64: a seeded, dependency-free draw per connection.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a contender counted, the same for all of them.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// Keepalive code run for a timer: `on_timer` calls, or task wake-ups
    /// by the interval or the deadline.
    wakeups: u64,
    /// Timer entries that fired for nothing (superseded heap entries);
    /// no keepalive code runs for them.
    stale: u64,
    probes: u64,
    verdicts: u64,
    /// Verdicts on a peer that was still answering.
    false_verdicts: u64,
    /// The longest time from a peer's death to its verdict, in ms.
    worst_detection_ms: u64,
}

impl Tally {
    fn verdict(&mut self, fleet: &Fleet, i: u32, at: Duration) {
        self.verdicts += 1;
        match fleet.dies_at(i) {
            Some(death) if death <= at => {
                let ms = (at - death).as_millis() as u64;
                self.worst_detection_ms = self.worst_detection_ms.max(ms);
            }
            _ => self.false_verdicts += 1,
        }
    }
}

// ---- One machine per connection, one timer structure --------------------

fn config() -> Config {
    Config::builder()
        .idle(IDLE)
        .reply_window(WINDOW)
        .max_misses(MISSES)
        .build()
        .expect("a valid config")
}

/// Feeds one wake-up of connection `i` to its machine, answers its probe
/// when the peer is alive, and returns the wake-up to arm, if any.
fn wake<I: keepalive::Instant, C: Borrow<Config> + Clone>(
    machine: &mut Machine<I, C>,
    fleet: &Fleet,
    i: u32,
    now: I,
    at: Duration,
    tally: &mut Tally,
) -> Option<I> {
    tally.wakeups += 1;
    let actions = machine.on_timer(now);
    let mut armed = act(fleet, i, at, actions, tally);
    if let Some(probe) = actions.probe() {
        tally.probes += 1;
        if fleet.answers(i, at) {
            let replied = machine.on_reply(now, probe.seq);
            armed = act(fleet, i, at, replied, tally).or(armed);
        }
    }
    if machine.is_dead() {
        return None;
    }
    armed.or_else(|| machine.next_wakeup().map(|wakeup| wakeup.at))
}

/// The timer change of `actions`, after recording a verdict.
fn act<I>(
    fleet: &Fleet,
    i: u32,
    at: Duration,
    actions: Actions<I>,
    tally: &mut Tally,
) -> Option<I> {
    if let Some(Action::Dead(_)) = actions.output {
        tally.verdict(fleet, i, at);
    }
    actions.timer.map(|wakeup| wakeup.at)
}

/// A clock for the heap's driver: instants as nanoseconds since the
/// fleet's origin, which is the heap's key.
trait FleetClock: keepalive::Instant {
    fn at(origin: Self, nanos: u64) -> Self;
    fn nanos(self, origin: Self) -> u64;
}

impl FleetClock for Instant {
    fn at(origin: Self, nanos: u64) -> Self {
        origin + Duration::from_nanos(nanos)
    }

    fn nanos(self, origin: Self) -> u64 {
        self.duration_since(origin).as_nanos() as u64
    }
}

impl FleetClock for Nanos {
    fn at(origin: Self, nanos: u64) -> Self {
        Nanos(origin.0 + nanos)
    }

    fn nanos(self, origin: Self) -> u64 {
        self.0 - origin.0
    }
}

/// Machines on a min-heap of (wake-up in ns, connection). Each wake-up
/// pushes one entry; an entry whose instant is no longer its connection's
/// wake-up (none in this fleet, where replies come in the same turn) is
/// skipped.
fn machines_on_a_heap<I: FleetClock, C: Borrow<Config> + Clone>(
    fleet: Fleet,
    origin: I,
    config: C,
) -> Tally {
    let mut tally = Tally::default();
    let mut machines = Vec::with_capacity(fleet.connections as usize);
    let mut heap = BinaryHeap::with_capacity(fleet.connections as usize);
    for i in 0..fleet.connections {
        let opens = fleet.opens_at(i).as_nanos() as u64;
        let machine = Machine::new(config.clone(), I::at(origin, opens));
        let at = machine.next_wakeup().expect("a new machine is live").at;
        heap.push(Reverse((at.nanos(origin), i)));
        machines.push(machine);
    }

    let end = fleet.length.as_nanos() as u64;
    while let Some(&Reverse((at, i))) = heap.peek() {
        if at > end {
            break;
        }
        heap.pop();
        let machine = &mut machines[i as usize];
        let current = machine.next_wakeup().map(|wakeup| wakeup.at.nanos(origin));
        if current != Some(at) {
            tally.stale += 1;
            continue;
        }
        let now = I::at(origin, at);
        let at_duration = Duration::from_nanos(at);
        if let Some(next) = wake(machine, &fleet, i, now, at_duration, &mut tally) {
            let next = next.nanos(origin);
            assert!(next > at, "a machine asked to wake again at once");
            heap.push(Reverse((next, i)));
        }
    }
    tally
}

fn machines_on_a_delay_queue(fleet: Fleet) -> Tally {
    paused_runtime().block_on(async move {
        let origin = tokio::time::Instant::now();
        let std_origin = origin.into_std();
        let config = config();
        let mut tally = Tally::default();
        let mut machines = Vec::with_capacity(fleet.connections as usize);
        let mut queue = DelayQueue::with_capacity(fleet.connections as usize);
        for i in 0..fleet.connections {
            let machine = Machine::new(config, std_origin + fleet.opens_at(i));
            let at = machine.next_wakeup().expect("a new machine is live").at;
            queue.insert_at(i, tokio::time::Instant::from_std(at));
            machines.push(machine);
        }

        let end = origin + fleet.length;
        let stop = tokio::time::sleep_until(end);
        tokio::pin!(stop);
        loop {
            let expired: delay_queue::Expired<u32> = tokio::select! {
                biased;
                () = &mut stop => break,
                expired = poll_fn(|cx| queue.poll_expired(cx)) => match expired {
                    Some(expired) => expired,
                    None => break,
                },
            };
            let i = expired.into_inner();
            let at = tokio::time::Instant::now() - origin;
            let machine = &mut machines[i as usize];
            let now = std_origin + at;
            if let Some(next) = wake(machine, &fleet, i, now, at, &mut tally) {
                queue.insert_at(i, tokio::time::Instant::from_std(next));
            }
        }
        tally
    })
}

// ---- One tokio task per connection --------------------------------------

static WAKEUPS: AtomicU64 = AtomicU64::new(0);
static PROBES: AtomicU64 = AtomicU64::new(0);
/// Verdicts as (count, false ones, worst detection in ms).
static VERDICTS: AtomicU64 = AtomicU64::new(0);
static FALSE_VERDICTS: AtomicU64 = AtomicU64::new(0);
static WORST_DETECTION_MS: AtomicU64 = AtomicU64::new(0);

/// The usual keepalive loop: ping on an interval, push a deadline back on
/// every reply, and give up when the deadline passes.
async fn keepalive_task(fleet: Fleet, i: u32, origin: tokio::time::Instant) {
    tokio::time::sleep_until(origin + fleet.opens_at(i)).await;
    let start = tokio::time::Instant::now();
    let mut ping = tokio::time::interval_at(start + IDLE, IDLE);
    let deadline = tokio::time::sleep_until(start + DEAD_AFTER);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            now = ping.tick() => {
                WAKEUPS.fetch_add(1, Ordering::Relaxed);
                PROBES.fetch_add(1, Ordering::Relaxed);
                if fleet.answers(i, now - origin) {
                    deadline.as_mut().reset(now + DEAD_AFTER);
                }
            }
            () = &mut deadline => {
                WAKEUPS.fetch_add(1, Ordering::Relaxed);
                let mut tally = Tally::default();
                tally.verdict(&fleet, i, tokio::time::Instant::now() - origin);
                VERDICTS.fetch_add(1, Ordering::Relaxed);
                FALSE_VERDICTS.fetch_add(tally.false_verdicts, Ordering::Relaxed);
                WORST_DETECTION_MS.fetch_max(tally.worst_detection_ms, Ordering::Relaxed);
                return;
            }
        }
    }
}

fn tokio_tasks(fleet: Fleet) -> Tally {
    paused_runtime().block_on(async move {
        let origin = tokio::time::Instant::now();
        let mut handles = Vec::with_capacity(fleet.connections as usize);
        for i in 0..fleet.connections {
            handles.push(tokio::spawn(keepalive_task(fleet, i, origin)));
        }
        tokio::time::sleep_until(origin + fleet.length).await;
        // The handles stay alive, so that the tasks are torn down after
        // the measurement.
        std::mem::forget(handles);
        Tally {
            wakeups: WAKEUPS.load(Ordering::Relaxed),
            stale: 0,
            probes: PROBES.load(Ordering::Relaxed),
            verdicts: VERDICTS.load(Ordering::Relaxed),
            false_verdicts: FALSE_VERDICTS.load(Ordering::Relaxed),
            worst_detection_ms: WORST_DETECTION_MS.load(Ordering::Relaxed),
        }
    })
}

/// A current-thread runtime whose clock only moves when every task waits,
/// straight to the next timer.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
}

// ---- Measuring a child process -------------------------------------------

/// CPU time (user + system) and peak RSS of this process so far.
fn usage() -> (Duration, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` into the pointer it is given,
    // which points to one that lives until the read below.
    let usage = unsafe {
        let status = libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        assert_eq!(status, 0, "getrusage(RUSAGE_SELF) cannot fail");
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    // Linux reports the peak resident set in KiB.
    (
        time(usage.ru_utime) + time(usage.ru_stime),
        usage.ru_maxrss as u64,
    )
}

/// What one child printed.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    cpu: Duration,
    peak_rss_kib: u64,
    tally: Tally,
}

const RESULT: &str = "fleet-result";

fn run_child(contender: Contender, fleet: Fleet) {
    let tally = match contender {
        Contender::MachineHeap => machines_on_a_heap(fleet, Instant::now(), config()),
        Contender::MachineNanosHeap => machines_on_a_heap(fleet, Nanos(1 << 40), config()),
        Contender::MachineSharedHeap => {
            let shared: &'static Config = Box::leak(Box::new(config()));
            machines_on_a_heap(fleet, Instant::now(), shared)
        }
        Contender::MachineDelayQueue => machines_on_a_delay_queue(fleet),
        Contender::TokioTasks => tokio_tasks(fleet),
    };
    let (cpu, peak) = usage();
    println!(
        "{RESULT} {} {peak} {} {} {} {} {} {}",
        cpu.as_nanos(),
        tally.wakeups,
        tally.stale,
        tally.probes,
        tally.verdicts,
        tally.false_verdicts,
        tally.worst_detection_ms
    );
    // The fleet is left for the operating system to reclaim.
    std::process::exit(0);
}

fn spawn_child(contender: Contender, fleet: Fleet) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|error| format!("no executable: {error}"))?;
    let name = contender
        .to_possible_value()
        .expect("no contender is skipped")
        .get_name()
        .to_string();
    let output = Command::new(exe)
        .args(["--child", &name])
        .args(["--connections", &fleet.connections.to_string()])
        .args(["--minutes", &(fleet.length.as_secs() / 60).to_string()])
        .args(["--dying-per-mille", &fleet.dying_per_mille.to_string()])
        .output()
        .map_err(|error| format!("cannot run the {name} child: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(RESULT))
        .ok_or_else(|| {
            format!(
                "the {name} child printed no result ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let numbers: Vec<u64> = line
        .split_whitespace()
        .map(|field| field.parse().map_err(|_| format!("bad field {field:?}")))
        .collect::<Result<_, _>>()?;
    let [cpu, peak, wakeups, stale, probes, verdicts, false_verdicts, worst] = numbers[..] else {
        return Err(format!("the {name} child printed {line:?}"));
    };
    Ok(Outcome {
        cpu: Duration::from_nanos(cpu),
        peak_rss_kib: peak,
        tally: Tally {
            wakeups,
            stale,
            probes,
            verdicts,
            false_verdicts,
            worst_detection_ms: worst,
        },
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let length = Duration::from_secs(args.minutes * 60);
    if let Some(contender) = args.child {
        let fleet = Fleet {
            connections: args.connections,
            length,
            dying_per_mille: args.dying_per_mille,
        };
        run_child(contender, fleet);
    }
    if args.connections == 0 || args.minutes == 0 {
        eprintln!("a fleet needs at least one connection and one minute");
        return ExitCode::FAILURE;
    }

    let contenders: Vec<Contender> = match args.only {
        Some(only) => vec![only],
        None => Contender::ALL.to_vec(),
    };
    let bound = DEAD_AFTER + 2 * config().tolerance();
    let periods = length.as_secs_f64() / IDLE.as_secs_f64();
    println!(
        "{} connections, {} simulated minutes, idle {:?}, window {:?}, {} misses \
         (dead {:?} after the last reply; the machine's bound {:?})",
        args.connections, args.minutes, IDLE, WINDOW, MISSES, DEAD_AFTER, bound
    );
    for (label, dying_per_mille) in [("healthy peers", 0), ("1 % of peers die", 10)] {
        let fleet = Fleet {
            connections: args.connections,
            length,
            dying_per_mille,
        };
        let dying = (0..fleet.connections)
            .filter(|&i| fleet.dies_at(i).is_some())
            .count();
        println!("\n{label} ({dying} die):");
        println!(
            "  {:<27} {:>9} {:>10} {:>10} {:>8} {:>9} {:>6} {:>10}",
            "contender", "CPU s", "peak MiB", "wake/conn", "stale", "verdicts", "false", "worst s"
        );
        let mut outcomes = Vec::new();
        for &contender in &contenders {
            let outcome = match spawn_child(contender, fleet) {
                Ok(outcome) => outcome,
                Err(why) => {
                    eprintln!("{why}");
                    return ExitCode::FAILURE;
                }
            };
            let tally = outcome.tally;
            let per_period = tally.wakeups as f64 / f64::from(fleet.connections) / periods;
            println!(
                "  {:<27} {:>9.2} {:>10.1} {:>10.2} {:>8} {:>9} {:>6} {:>10.3}",
                contender.name(),
                outcome.cpu.as_secs_f64(),
                outcome.peak_rss_kib as f64 / 1024.0,
                per_period,
                tally.stale,
                tally.verdicts,
                tally.false_verdicts,
                tally.worst_detection_ms as f64 / 1000.0,
            );
            outcomes.push((contender, outcome));
        }
        let tokio = outcomes
            .iter()
            .find(|(contender, _)| *contender == Contender::TokioTasks);
        if let Some((_, tokio)) = tokio {
            for (contender, outcome) in &outcomes {
                if *contender == Contender::TokioTasks {
                    continue;
                }
                println!(
                    "  tokio tasks / {}: {:.1}x the CPU time, {:.1}x the peak RSS",
                    contender.name(),
                    tokio.cpu.as_secs_f64() / outcome.cpu.as_secs_f64(),
                    tokio.peak_rss_kib as f64 / outcome.peak_rss_kib as f64,
                );
            }
        }
    }
    println!("\nwake/conn: keepalive wake-ups per connection per idle period ({IDLE:?})");
    ExitCode::SUCCESS
}
