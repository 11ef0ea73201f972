//! Heap bytes per connection of a keepalive written as a tokio task,
//! against the size of one machine.
//!
//! `cargo bench --bench memory`. A counting global allocator measures the
//! live heap before and after spawning many tasks, each waiting in the
//! usual keepalive loop, and divides by their number. Figures and reading
//! in `docs/performance.md`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keepalive::Machine;
use tokio::sync::mpsc;

/// Keeps the number of live heap bytes of the whole process.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping is one atomic add or subtract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TASKS: usize = 10_000;
const IDLE: Duration = Duration::from_secs(30);
const DEAD_AFTER: Duration = Duration::from_secs(90);

/// Tasks that reached their first wait.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Two timers: a ping interval and a deadline pushed back on traffic.
async fn two_timers() {
    let mut ping = tokio::time::interval(IDLE);
    ping.tick().await;
    let deadline = tokio::time::sleep(DEAD_AFTER);
    tokio::pin!(deadline);

    WAITING.fetch_add(1, Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = ping.tick() => {}
            () = &mut deadline => return,
        }
    }
}

/// The same, fed the connection's traffic through a channel.
async fn two_timers_and_channel(mut packets: mpsc::Receiver<()>) {
    let mut ping = tokio::time::interval(IDLE);
    ping.tick().await;
    let deadline = tokio::time::sleep(DEAD_AFTER);
    tokio::pin!(deadline);

    WAITING.fetch_add(1, Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = ping.tick() => {}
            packet = packets.recv() => match packet {
                Some(()) => deadline
                    .as_mut()
                    .reset(tokio::time::Instant::now() + DEAD_AFTER),
                None => return,
            },
            () = &mut deadline => return,
        }
    }
}

/// Live heap bytes per task once `TASKS` tasks made by `spawn` all wait.
fn bytes_per_task(
    spawn: impl Fn() -> (tokio::task::JoinHandle<()>, Option<mpsc::Sender<()>>),
) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut handles = Vec::with_capacity(TASKS);
    let mut senders = Vec::with_capacity(TASKS);
    WAITING.store(0, Ordering::Relaxed);

    let grown = runtime.block_on(async {
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..TASKS {
            let (handle, sender) = spawn();
            handles.push(handle);
            senders.push(sender);
        }
        while WAITING.load(Ordering::Relaxed) < TASKS {
            tokio::task::yield_now().await;
        }
        LIVE.load(Ordering::Relaxed) - before
    });

    for handle in &handles {
        handle.abort();
    }
    grown / TASKS
}

fn main() {
    let machine = std::mem::size_of::<Machine<Instant>>();
    let timers = bytes_per_task(|| (tokio::spawn(two_timers()), None));
    let channel = bytes_per_task(|| {
        let (sender, receiver) = mpsc::channel(16);
        (tokio::spawn(two_timers_and_channel(receiver)), Some(sender))
    });

    println!("heap bytes per connection, {TASKS} connections:");
    println!("  tokio task, interval + sleep:           {timers:>6}");
    println!("  tokio task, interval + sleep + channel: {channel:>6}");
    println!("  Machine<std::time::Instant> (size_of):  {machine:>6}");
    println!(
        "  ratio: {:.1}x and {:.1}x the machine",
        timers as f64 / machine as f64,
        channel as f64 / machine as f64
    );
}
