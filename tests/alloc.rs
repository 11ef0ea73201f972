//! The machine never allocates.
//!
//! A counting global allocator watches a long pseudo-random run of every
//! input method: traffic, replies (issued, stale and never issued), sends,
//! timers on time, early and late, forward jumps of any size, backward
//! steps, resume hints, resets, deaths, in active and passive mode, with
//! `std::time::Instant` and with `Nanos`. The count only runs on the test's
//! own thread and only inside the measured region, so the test harness's
//! own allocations never reach it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use keepalive::{Action, Config, DiscontinuityKind, Input, Instant, Machine, Nanos};

/// Counts the allocations the current thread makes while it is watching.
struct Counting;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: a thread being torn down may still free and allocate.
    let _ = WATCHING.try_with(|watching| {
        if watching.get() {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// count only touches const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `region` and returns its result with the number of allocations
/// (including reallocations) this thread made inside it.
fn allocations_during<R>(region: impl FnOnce() -> R) -> (R, u64) {
    ALLOCATIONS.with(|count| count.set(0));
    WATCHING.with(|watching| watching.set(true));
    let result = region();
    WATCHING.with(|watching| watching.set(false));
    (result, ALLOCATIONS.with(Cell::get))
}

/// xorshift64*: deterministic, no allocation, good enough to pick inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// What a run went through, to show it reached every path.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    probes: u64,
    heartbeats: u64,
    deaths: u64,
    late: u64,
    backward: u64,
    resumed: u64,
    timers_armed: u64,
    resets: u64,
    matched_replies: u64,
}

impl Seen {
    fn add(&mut self, other: Seen) {
        self.probes += other.probes;
        self.heartbeats += other.heartbeats;
        self.deaths += other.deaths;
        self.late += other.late;
        self.backward += other.backward;
        self.resumed += other.resumed;
        self.timers_armed += other.timers_armed;
        self.resets += other.resets;
        self.matched_replies += other.matched_replies;
    }
}

/// How the peer behaves during one phase of the run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// Sends traffic often and answers probes.
    Chatty,
    /// Sends nothing but answers probes.
    Answering,
    /// Sends nothing and answers nothing: it ends up declared dead.
    Silent,
}

const SECOND: u64 = 1_000_000_000;

/// Feeds `steps` pseudo-random inputs to a machine on instants made by
/// `at` from nanoseconds after an origin, calling `on_probe` for every
/// probe the machine asks for.
fn random_run<I: Instant>(
    config: Config,
    seed: u64,
    steps: u32,
    at: impl Fn(u64) -> I,
    origin: I,
    mut on_probe: impl FnMut(u64),
) -> Seen {
    let mut rng = Rng(seed);
    let mut seen = Seen::default();
    // Start far from the origin so that backward steps have room.
    let mut clock = 1_000_000 * SECOND;
    let mut last_clock = clock;
    let mut boot = 0u64;
    let mut machine = Machine::new(config, at(clock));
    let mut last_probe = None;
    let mut peer = Peer::Chatty;

    for step in 0..steps {
        if step % 400 == 0 {
            peer = match rng.below(3) {
                0 => Peer::Chatty,
                1 => Peer::Answering,
                _ => Peer::Silent,
            };
        }

        // Where the clock goes: mostly to the pending wake-up (on time,
        // early or a little late), sometimes a jump either way.
        let wake = machine
            .next_wakeup()
            .map(|wakeup| nanos_since(wakeup.at, origin))
            .unwrap_or(clock + SECOND);
        clock = match rng.below(100) {
            0..=49 => wake.max(clock) + rng.below(SECOND / 100),
            50..=79 => clock + rng.below(wake.saturating_sub(clock).max(1)),
            80..=89 => clock,
            90..=94 => clock + rng.below(3_600 * SECOND),
            _ => clock.saturating_sub(rng.below(60 * SECOND)),
        };
        let now = at(clock);
        let previous_clock = std::mem::replace(&mut last_clock, clock);

        let roll = rng.below(100);
        let actions = match roll {
            0..=29 if peer == Peer::Chatty => machine.on_inbound(now),
            0..=29 => machine.on_timer(now),
            30..=44 => match (last_probe, peer) {
                (Some(seq), Peer::Chatty | Peer::Answering) => {
                    seen.matched_replies += 1;
                    machine.on_reply(now, seq)
                }
                // A number never issued: only its instant counts.
                _ => machine.on_reply(now, u64::MAX - rng.below(10)),
            },
            45..=54 => machine.on_sent(now),
            55..=84 => machine.on_timer(now),
            85..=88 => {
                let slept = (rng.below(2) == 0).then(|| Duration::from_secs(7));
                machine.on_resume(now, slept)
            }
            89..=90 => {
                seen.resets += 1;
                machine.reset(now)
            }
            91..=93 => machine.on_peer_probe(now),
            _ => {
                let input = match rng.below(7) {
                    0 if peer == Peer::Chatty => Input::Inbound,
                    1 => Input::Reply {
                        seq: last_probe.unwrap_or(0),
                    },
                    2 => Input::Sent,
                    3 => Input::Resume { slept: None },
                    4 if rng.below(8) == 0 => Input::Reset,
                    5 => Input::PeerProbe,
                    _ => Input::Timer,
                };
                // A boot clock that runs with the clock, or ahead of it
                // by a host sleep.
                boot += clock.abs_diff(previous_clock) + rng.below(4) * rng.below(600 * SECOND);
                machine.handle_with_boot(now, Duration::from_nanos(boot), input)
            }
        };

        // Read everything back the way a driver and its logs would.
        let _ = black_box((actions.is_empty(), actions.probe(), actions.dead()));
        for action in actions {
            match action {
                Action::SendProbe(probe) => {
                    seen.probes += 1;
                    last_probe = Some(probe.seq);
                    on_probe(probe.seq);
                }
                Action::SendHeartbeat => seen.heartbeats += 1,
                Action::Dead(evidence) => {
                    seen.deaths += 1;
                    black_box(evidence);
                }
                Action::ArmTimer(wakeup) => {
                    seen.timers_armed += 1;
                    black_box(wakeup);
                }
                Action::Discontinuity(discontinuity) => match discontinuity.kind {
                    DiscontinuityKind::Late { .. } => seen.late += 1,
                    DiscontinuityKind::Backward { .. } => seen.backward += 1,
                    DiscontinuityKind::Resume { .. } | DiscontinuityKind::Suspend { .. } => {
                        seen.resumed += 1
                    }
                },
                _ => {}
            }
        }
        black_box((
            machine.is_dead(),
            machine.credited(),
            machine.misses(),
            machine.window_open(),
            machine.config().detection_time(),
        ));
        if machine.is_dead() && rng.below(4) == 0 {
            seen.resets += 1;
            let _ = machine.reset(now);
        }
        if step % 1_000 == 0 {
            // A copy of a machine is a plain copy too.
            machine = black_box(machine.clone());
        }
    }
    seen
}

fn nanos_since<I: Instant>(instant: I, origin: I) -> u64 {
    let nanos = instant.saturating_duration_since(origin).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// Active and passive, with and without a send obligation, tight and
/// loose windows.
fn configs() -> Vec<Config> {
    let secs = Duration::from_secs;
    let builders = [
        Config::builder(),
        Config::builder()
            .idle(secs(10))
            .reply_window(secs(4))
            .max_misses(1),
        Config::builder()
            .idle(secs(30))
            .reply_window(secs(10))
            .send_every(secs(15)),
        Config::builder()
            .idle(secs(20))
            .reply_window(secs(5))
            .max_misses(2)
            .passive(),
        Config::builder()
            .idle(secs(20))
            .reply_window(secs(5))
            .send_every(secs(8))
            .passive(),
    ];
    builders
        .into_iter()
        .map(|builder| builder.build().expect("a valid config"))
        .collect()
}

const STEPS: u32 = 200_000;

// ---- The counter counts --------------------------------------------------

#[test]
fn the_counter_sees_an_allocation_inside_the_region() {
    let (vec, count) = allocations_during(|| black_box(Vec::<u8>::with_capacity(1)));
    drop(vec);

    assert_eq!(count, 1);
}

#[test]
fn the_counter_sees_an_allocation_made_during_a_random_run() {
    let config = configs()[0];
    let origin = Nanos(0);

    let (seen, count) = allocations_during(|| {
        random_run(config, 7, STEPS, Nanos, origin, |seq| {
            drop(black_box(Box::new(seq)));
        })
    });

    assert!(seen.probes > 0, "the run sent no probe: {seen:?}");
    assert_eq!(count, seen.probes);
}

// ---- The machine does not allocate ---------------------------------------

#[test]
fn a_long_random_run_with_std_instants_allocates_nothing() {
    let origin = std::time::Instant::now();
    let at = |nanos: u64| origin + Duration::from_nanos(nanos);
    let configs = configs();
    let mut total = Seen::default();

    for (index, config) in configs.into_iter().enumerate() {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ index as u64;
        let (seen, count) =
            allocations_during(|| random_run(config, seed, STEPS, at, origin, |_| {}));

        assert_eq!(count, 0, "config {index} allocated; it saw {seen:?}");
        assert!(seen.deaths > 0, "config {index} never died: {seen:?}");
        total.add(seen);
    }

    assert_every_path_was_taken(total);
}

#[test]
fn a_long_random_run_with_nanos_allocates_nothing() {
    let configs = configs();
    let mut total = Seen::default();

    for (index, config) in configs.into_iter().enumerate() {
        let seed = 0x2545_f491_4f6c_dd1d ^ index as u64;
        let (seen, count) =
            allocations_during(|| random_run(config, seed, STEPS, Nanos, Nanos(0), |_| {}));

        assert_eq!(count, 0, "config {index} allocated; it saw {seen:?}");
        assert!(seen.deaths > 0, "config {index} never died: {seen:?}");
        total.add(seen);
    }

    assert_every_path_was_taken(total);
}

fn assert_every_path_was_taken(seen: Seen) {
    assert!(seen.probes > 0, "no probe: {seen:?}");
    assert!(seen.heartbeats > 0, "no heartbeat: {seen:?}");
    assert!(seen.deaths > 0, "no death: {seen:?}");
    assert!(seen.late > 0, "no late step: {seen:?}");
    assert!(seen.backward > 0, "no backward step: {seen:?}");
    assert!(seen.resumed > 0, "no resume: {seen:?}");
    assert!(seen.timers_armed > 0, "no timer: {seen:?}");
    assert!(seen.resets > 0, "no reset: {seen:?}");
    assert!(seen.matched_replies > 0, "no reply: {seen:?}");
}
