//! Shared test support.
//!
//! Two layers:
//!
//! * [`Harness`] feeds a `Machine<Nanos>` inputs at clock readings the test
//!   chooses, checks the driving contract after every call, records a
//!   timeline and can advance the virtual clock to the machine's next
//!   deadline (with a step limit, so a runaway loop panics instead of
//!   hanging the suite).
//! * [`World`] adds what a driver lives in: real time that the clock
//!   reading can jump away from, a process that stalls, a driver that sleeps
//!   relative to now or to an absolute instant, and a peer that answers
//!   probes or sends heartbeats until it dies.
//!
//! Every test file includes this module with `mod support;` and uses a
//! different part of it.

#![allow(dead_code)] // Each test binary uses only part of the module.

use std::fmt::Write as _;
use std::time::Duration;

use keepalive::{
    Action, Actions, Config, Discontinuity, DiscontinuityKind, Evidence, Input, Machine, Mode,
    Nanos, Probe, ProbeReason, Reason, Wakeup,
};

/// More machine inputs than any test here needs. A run that reaches it is a
/// machine that keeps asking to be woken without making progress.
pub const STEP_LIMIT: usize = 100_000;

// ---- Time helpers ----------------------------------------------------------

/// `s` seconds.
pub const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `m` milliseconds.
pub const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// The clock reading `s` seconds after the origin.
pub const fn at(s: u64) -> Nanos {
    Nanos::from_secs(s)
}

/// The clock reading `m` milliseconds after the origin.
pub const fn at_ms(m: u64) -> Nanos {
    Nanos::from_millis(m)
}

/// `instant + d`, saturating.
pub fn plus(instant: Nanos, d: Duration) -> Nanos {
    instant + d
}

/// `instant - d`, saturating at the origin.
pub fn minus(instant: Nanos, d: Duration) -> Nanos {
    Nanos(instant.0.saturating_sub(nanos(d)))
}

/// A forward clock step of `d`, for [`World::jump`].
pub fn forward(d: Duration) -> i128 {
    i128::from(nanos(d))
}

/// A backward clock step of `d`, for [`World::jump`].
pub fn backward(d: Duration) -> i128 {
    -i128::from(nanos(d))
}

/// A duration as whole nanoseconds (every duration in these tests fits).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Seconds with millisecond precision, for timelines and messages.
pub fn show(instant: Nanos) -> String {
    show_duration(instant.since_origin())
}

/// A duration in seconds with millisecond precision.
pub fn show_duration(d: Duration) -> String {
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

// ---- Configs ---------------------------------------------------------------

/// An active config with derived step (a quarter of the window) and
/// tolerance (a twentieth).
pub fn active(idle: Duration, window: Duration, misses: u32) -> Config {
    Config::builder()
        .idle(idle)
        .reply_window(window)
        .max_misses(misses)
        .build()
        .expect("a valid active config")
}

/// A passive config with derived step and tolerance.
pub fn passive(idle: Duration, window: Duration, misses: u32) -> Config {
    Config::builder()
        .passive()
        .idle(idle)
        .reply_window(window)
        .max_misses(misses)
        .build()
        .expect("a valid passive config")
}

/// The config most contract tests use: probe after 30 s of silence, each
/// probe waits 10 s, step 2.5 s, tolerance 0.5 s.
pub fn standard(misses: u32) -> Config {
    active(secs(30), secs(10), misses)
}

// ---- A small deterministic random source -----------------------------------

/// SplitMix64: enough randomness to vary timings, and the same sequence
/// for the same seed on every run and platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "an empty range {low}..={high}");
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        low + self.next_u64() % (span + 1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.next_u64() % denominator < numerator
    }
}

// ---- The harness -----------------------------------------------------------

/// One input and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The clock reading the input carried.
    pub at: Nanos,
    pub input: Input,
    pub actions: Actions<Nanos>,
    /// The machine's credited time after the input.
    pub credited: Duration,
}

/// Drives one machine on a virtual clock and checks the driving contract
/// after every input.
#[derive(Clone, Debug)]
pub struct Harness {
    pub machine: Machine<Nanos>,
    /// The reading of the latest input.
    pub now: Nanos,
    /// The timer as the driver holds it: set by `new`/`reset` and by every
    /// `ArmTimer`, cleared by a verdict.
    pub armed: Option<Wakeup<Nanos>>,
    pub log: Vec<Entry>,
}

impl Harness {
    pub fn new(config: Config, start: Nanos) -> Self {
        let machine = Machine::new(config, start);
        let armed = machine.next_wakeup();
        assert!(armed.is_some(), "a new machine asks for a wake-up");
        Harness {
            machine,
            now: start,
            armed,
            log: Vec::new(),
        }
    }

    /// Feeds one input and checks what every input must satisfy:
    ///
    /// * after a verdict nothing comes out until a reset;
    /// * a verdict comes with no timer, and the machine then has no wake-up;
    /// * a live machine always has a wake-up, never before the input's
    ///   instant, and it is the one the driver holds: a changed wake-up is
    ///   always reported, so a driver that re-arms only on `ArmTimer` never
    ///   sleeps past what the machine wants.
    pub fn feed(&mut self, at: Nanos, input: Input) -> Actions<Nanos> {
        let was_dead = self.machine.is_dead();
        let actions = self.machine.handle(at, input);
        self.now = at;

        if was_dead && input != Input::Reset {
            assert!(
                actions.is_empty(),
                "a dead machine answered {input:?} at {} with {actions:?}",
                show(at)
            );
        }
        if let Some(wakeup) = actions.timer {
            self.armed = Some(wakeup);
        }
        if actions.dead().is_some() || actions.misbehaving().is_some() {
            assert_eq!(actions.timer, None, "a verdict arms no timer");
            self.armed = None;
        }
        if input == Input::PeerProbe && !was_dead {
            assert!(
                actions.reply() || actions.misbehaving().is_some(),
                "the peer's probe at {} got neither a reply nor a verdict: \
                 {actions:?}",
                show(at)
            );
        } else {
            assert!(!actions.reply(), "a reply nobody asked for: {input:?}");
        }
        match self.machine.next_wakeup() {
            None => assert!(
                self.machine.is_dead(),
                "a live machine has no wake-up after {input:?} at {}",
                show(at)
            ),
            Some(wakeup) => {
                assert!(
                    wakeup.at >= at,
                    "next wake-up {} is before the input at {}",
                    show(wakeup.at),
                    show(at)
                );
                assert_eq!(
                    self.armed,
                    Some(wakeup),
                    "the machine changed its wake-up or its reason without \
                     an ArmTimer (after {input:?} at {})",
                    show(at)
                );
            }
        }

        self.log.push(Entry {
            at,
            input,
            actions,
            credited: self.machine.credited(),
        });
        actions
    }

    pub fn inbound(&mut self, at: Nanos) -> Actions<Nanos> {
        self.feed(at, Input::Inbound)
    }

    pub fn reply(&mut self, at: Nanos, seq: u64) -> Actions<Nanos> {
        self.feed(at, Input::Reply { seq })
    }

    pub fn peer_probe(&mut self, at: Nanos) -> Actions<Nanos> {
        self.feed(at, Input::PeerProbe)
    }

    pub fn sent(&mut self, at: Nanos) -> Actions<Nanos> {
        self.feed(at, Input::Sent)
    }

    pub fn timer(&mut self, at: Nanos) -> Actions<Nanos> {
        self.feed(at, Input::Timer)
    }

    pub fn resume(&mut self, at: Nanos, slept: Option<Duration>) -> Actions<Nanos> {
        self.feed(at, Input::Resume { slept })
    }

    pub fn reset(&mut self, at: Nanos) -> Actions<Nanos> {
        let actions = self.feed(at, Input::Reset);
        assert!(!self.machine.is_dead(), "a reset lifts the verdict");
        actions
    }

    /// The machine's pending wake-up; panics once the peer is dead.
    pub fn wakeup(&self) -> Wakeup<Nanos> {
        self.machine
            .next_wakeup()
            .expect("a live machine has a wake-up")
    }

    /// Fires the timer on time at each wake-up up to and including `until`,
    /// or until the verdict.
    pub fn run_until(&mut self, until: Nanos) {
        for _ in 0..STEP_LIMIT {
            match self.machine.next_wakeup() {
                Some(wakeup) if wakeup.at <= until => {
                    let _ = self.timer(wakeup.at);
                }
                _ => return,
            }
        }
        panic!(
            "runaway loop: {STEP_LIMIT} wake-ups before {} (stuck at {})",
            show(until),
            show(self.now)
        );
    }

    /// Fires the timer on time until the next probe, which must come by
    /// `limit`; returns its instant and the probe.
    pub fn next_probe(&mut self, limit: Nanos) -> (Nanos, Probe) {
        for _ in 0..STEP_LIMIT {
            let wakeup = self.wakeup();
            assert!(
                wakeup.at <= limit,
                "no probe by {}; timeline:\n{}",
                show(limit),
                self.timeline()
            );
            if let Some(probe) = self.timer(wakeup.at).probe() {
                return (wakeup.at, probe);
            }
        }
        panic!("runaway loop: {STEP_LIMIT} wake-ups without a probe");
    }

    /// Fires the timer on time until the verdict, which must come by `limit`;
    /// returns its instant and evidence.
    pub fn run_until_dead(&mut self, limit: Nanos) -> (Nanos, Evidence) {
        self.run_until(limit);
        self.verdict().unwrap_or_else(|| {
            panic!(
                "no verdict by {}; timeline:\n{}",
                show(limit),
                self.timeline()
            )
        })
    }

    /// Every probe so far, with the reading it went out at.
    pub fn probes(&self) -> Vec<(Nanos, Probe)> {
        self.log
            .iter()
            .filter_map(|entry| entry.actions.probe().map(|probe| (entry.at, probe)))
            .collect()
    }

    /// The readings the probes went out at.
    pub fn probe_times(&self) -> Vec<Nanos> {
        self.probes().into_iter().map(|(at, _)| at).collect()
    }

    /// Every heartbeat the machine asked for (passive send obligation).
    pub fn heartbeats(&self) -> Vec<Nanos> {
        self.log
            .iter()
            .filter(|entry| entry.actions.output == Some(Action::SendHeartbeat))
            .map(|entry| entry.at)
            .collect()
    }

    /// The verdict, if any, with the reading it came at.
    pub fn verdict(&self) -> Option<(Nanos, Evidence)> {
        self.log
            .iter()
            .find_map(|entry| entry.actions.dead().map(|evidence| (entry.at, evidence)))
    }

    /// Every discontinuity reported so far.
    pub fn discontinuities(&self) -> Vec<(Nanos, Discontinuity)> {
        self.log
            .iter()
            .filter_map(|entry| entry.actions.discontinuity.map(|seen| (entry.at, seen)))
            .collect()
    }

    /// The log as one line per input, with readings in seconds since the
    /// origin: reading, input, output, wake-up, discontinuity.
    pub fn timeline(&self) -> String {
        self.timeline_from(Nanos(0))
    }

    /// The log as one line per input in aligned columns, with readings in
    /// seconds relative to `origin` (a scenario's t = 0):
    ///
    /// ```text
    /// 570.000  timer     probe #0 idle  577.500 watch
    /// ```
    pub fn timeline_from(&self, origin: Nanos) -> String {
        let rows: Vec<[String; 5]> = self
            .log
            .iter()
            .map(|entry| {
                let output = match entry.actions.output {
                    None => String::new(),
                    Some(Action::SendProbe(probe)) => {
                        format!("probe #{} {}", probe.seq, probe_reason(probe.reason))
                    }
                    Some(Action::SendHeartbeat) => "heartbeat".to_owned(),
                    Some(Action::SendReply) => "reply".to_owned(),
                    Some(Action::Dead(evidence)) => {
                        format!("DEAD after {} missed", evidence.windows_missed)
                    }
                    Some(Action::Misbehaving(abuse)) => {
                        format!("MISBEHAVING after {} strikes", abuse.strikes)
                    }
                    Some(other) => format!("{other:?}"),
                };
                let timer = entry.actions.timer.map_or_else(String::new, |wakeup| {
                    format!("{} {}", relative(wakeup.at, origin), reason(wakeup.reason))
                });
                let seen = entry
                    .actions
                    .discontinuity
                    .map_or_else(String::new, discontinuity);
                [
                    relative(entry.at, origin),
                    input_name(entry.input),
                    output,
                    timer,
                    seen,
                ]
            })
            .collect();

        // Right-align the reading and the wake-up instant, left-align the
        // rest. The widest reading has no leading space, so the text
        // survives the indentation trimming of inline snapshots.
        let width = |column: usize| rows.iter().map(|row| row[column].len()).max().unwrap_or(0);
        let (at_w, input_w, output_w) = (width(0), width(1), width(2));
        let timer_w = rows
            .iter()
            .map(|row| row[3].split(' ').next().map_or(0, str::len))
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for [at, input, output, timer, seen] in rows {
            let timer = match timer.split_once(' ') {
                Some((instant, why)) => format!("{instant:>timer_w$} {why:<10}"),
                None => String::new(),
            };
            let line = format!(
                "{at:>at_w$}  {input:<input_w$}  {output:<output_w$}  {timer:<w$}  {seen}",
                w = timer_w + 11
            );
            let _ = writeln!(text, "{}", line.trim_end());
        }
        text
    }
}

/// Seconds from `origin` to `instant`, with millisecond precision and a
/// sign when the instant is before it.
pub fn relative(instant: Nanos, origin: Nanos) -> String {
    if instant >= origin {
        show(Nanos(instant.0 - origin.0))
    } else {
        format!("-{}", show(Nanos(origin.0 - instant.0)))
    }
}

fn input_name(input: Input) -> String {
    match input {
        Input::Inbound => "inbound".to_owned(),
        Input::Reply { seq } => format!("reply #{seq}"),
        Input::PeerProbe => "peer probe".to_owned(),
        Input::Sent => "sent".to_owned(),
        Input::Timer => "timer".to_owned(),
        Input::Resume { .. } => "resume".to_owned(),
        Input::Reset => "reset".to_owned(),
    }
}

fn probe_reason(reason: ProbeReason) -> &'static str {
    match reason {
        ProbeReason::Idle => "idle",
        ProbeReason::Retry => "retry",
        ProbeReason::SendObligation => "obligation",
        ProbeReason::Discontinuity => "discontinuity",
        ProbeReason::Resume => "resume",
    }
}

fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Idle => "idle",
        Reason::SendObligation => "obligation",
        Reason::WindowEnd => "window-end",
        Reason::Watch => "watch",
        Reason::Grace => "grace",
    }
}

fn discontinuity(seen: Discontinuity) -> String {
    match seen.kind {
        DiscontinuityKind::Late { by } => format!(
            "late by {} credited {}",
            show_duration(by),
            show_duration(seen.credited)
        ),
        DiscontinuityKind::Backward { by } => {
            format!("backward by {}", show_duration(by))
        }
        DiscontinuityKind::Resume { .. } => {
            format!("resume credited {}", show_duration(seen.credited))
        }
        DiscontinuityKind::Suspend { slept } => format!(
            "suspend of {} credited {}",
            show_duration(slept),
            show_duration(seen.credited)
        ),
    }
}

// ---- The world: real time, a jumping clock, stalls and a peer --------------

/// How the driver waits for the machine's wake-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    /// For the duration between the reading it armed at and the wake-up
    /// (a runtime timer wheel): clock steps during the sleep do not move
    /// the real instant it fires at.
    Relative,
    /// Until the clock reads the wake-up instant: a forward step fires it
    /// at once, a backward step postpones it by the step.
    Absolute,
}

/// What a stalled process handles first when it resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Input that queued during the stall, then the overdue timer (the
    /// driving contract asks for this).
    InputFirst,
    /// The overdue timer, then the queued input (a driver that cannot tell
    /// them apart; the grace turn exists for it).
    TimerFirst,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrival {
    Reply(u64),
    Traffic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Jump(usize),
    PeerSends,
    Arrive(usize),
    Timer,
}

/// A machine driven in a small simulated world. All `real` values are
/// nanoseconds of real time since the world began; the clock reading is
/// `real + offset`, clamped to the range of `Nanos`.
#[derive(Clone, Debug)]
pub struct World {
    pub harness: Harness,
    pub real: u64,
    offset: i128,
    pub sleep: Sleep,
    pub order: Order,
    /// Real time and reading when the driver last started waiting.
    armed_real: u64,
    armed_reading: Nanos,
    /// (real instant, signed step of the clock), applied in order.
    jumps: Vec<(u64, i128)>,
    next_jump: usize,
    /// Half-open real intervals during which the process is frozen.
    stalls: Vec<(u64, u64)>,
    /// Reply latencies, used in turn.
    latencies: Vec<Duration>,
    next_latency: usize,
    /// The peer answers and sends nothing at or after this real instant.
    dies_at: u64,
    /// The peer sends traffic this often (passive mode's heartbeats).
    heartbeat_every: Option<u64>,
    next_heartbeat: u64,
    arrivals: Vec<(u64, Arrival)>,
    /// The real instant of every input, parallel to `harness.log`.
    pub real_log: Vec<u64>,
}

impl World {
    /// A world whose clock reads `start` at real time zero, with a peer that
    /// answers every probe after 50 ms and never dies.
    pub fn new(config: Config, start: Nanos) -> Self {
        World {
            harness: Harness::new(config, start),
            real: 0,
            offset: i128::from(start.0),
            sleep: Sleep::Relative,
            order: Order::InputFirst,
            armed_real: 0,
            armed_reading: start,
            jumps: Vec::new(),
            next_jump: 0,
            stalls: Vec::new(),
            latencies: vec![ms(50)],
            next_latency: 0,
            dies_at: u64::MAX,
            heartbeat_every: None,
            next_heartbeat: 0,
            arrivals: Vec::new(),
            real_log: Vec::new(),
        }
    }

    pub fn sleeping(mut self, sleep: Sleep) -> Self {
        self.sleep = sleep;
        self
    }

    pub fn ordered(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// The clock steps by `by` nanoseconds (negative: backward) at real
    /// instant `when`.
    pub fn jump(mut self, when: Duration, by: i128) -> Self {
        self.jumps.push((nanos(when), by));
        self.jumps.sort_by_key(|&(when, _)| when);
        self
    }

    /// The process is frozen from real `from` for `length`.
    pub fn stall(mut self, from: Duration, length: Duration) -> Self {
        let start = nanos(from);
        self.stalls.push((start, start + nanos(length)));
        self
    }

    pub fn latencies(mut self, latencies: Vec<Duration>) -> Self {
        assert!(!latencies.is_empty(), "at least one latency");
        self.latencies = latencies;
        self
    }

    pub fn latency(self, latency: Duration) -> Self {
        self.latencies(vec![latency])
    }

    pub fn peer_dies_at(mut self, when: Duration) -> Self {
        self.dies_at = nanos(when);
        self
    }

    /// The peer sends traffic every `every`, the first at real `every`.
    pub fn heartbeats(mut self, every: Duration) -> Self {
        self.heartbeat_every = Some(nanos(every));
        self.next_heartbeat = nanos(every);
        self
    }

    /// Traffic from the peer arrives at real `when`.
    pub fn traffic_at(mut self, when: Duration) -> Self {
        self.arrivals.push((nanos(when), Arrival::Traffic));
        self
    }

    /// The clock reading now.
    pub fn reading(&self) -> Nanos {
        let reading = i128::from(self.real) + self.offset;
        Nanos(u64::try_from(reading.clamp(0, i128::from(u64::MAX))).expect("clamped"))
    }

    /// The real instant the driver's timer fires at, before any stall.
    fn timer_due(&self) -> Option<u64> {
        let wakeup = self.harness.armed?;
        Some(match self.sleep {
            Sleep::Relative => {
                let wait = wakeup.at.0.saturating_sub(self.armed_reading.0);
                self.armed_real.saturating_add(wait)
            }
            Sleep::Absolute => {
                let wait = wakeup.at.0.saturating_sub(self.reading().0);
                self.real.saturating_add(wait)
            }
        })
    }

    /// When the process gets to handle something that became ready at
    /// `ready`: at once, or when the stall around it ends.
    fn handled_at(&self, ready: u64) -> (u64, bool) {
        for &(from, to) in &self.stalls {
            if from <= ready && ready < to {
                return (to, true);
            }
        }
        (ready, false)
    }

    fn next_event(&self) -> Option<(u64, u8, Event)> {
        let mut best: Option<(u64, u8, Event)> = None;
        let mut offer = |when: u64, rank: u8, event: Event| {
            let better = match best {
                None => true,
                Some((w, r, _)) => (when, rank) < (w, r),
            };
            if better {
                best = Some((when, rank, event));
            }
        };

        // Things in the world happen whatever the process does.
        if let Some(&(when, _)) = self.jumps.get(self.next_jump) {
            offer(when, 0, Event::Jump(self.next_jump));
        }
        if self.heartbeat_every.is_some() && self.next_heartbeat < self.dies_at {
            offer(self.next_heartbeat, 1, Event::PeerSends);
        }

        // The process handles input before its timer, except that a timer
        // that went overdue during a stall may run first (`Order`).
        for (index, &(ready, _)) in self.arrivals.iter().enumerate() {
            let (when, _) = self.handled_at(ready);
            offer(when, 3, Event::Arrive(index));
        }
        if let Some(ready) = self.timer_due() {
            let (when, stalled) = self.handled_at(ready);
            let rank = if stalled && self.order == Order::TimerFirst {
                2
            } else {
                4
            };
            offer(when, rank, Event::Timer);
        }
        best
    }

    fn deliver(&mut self, when: u64, input: Input) {
        self.real = when;
        let reading = self.reading();
        let actions = self.harness.feed(reading, input);
        self.real_log.push(when);
        // Like the crate's driving loop, the driver waits afresh for the
        // wake-up it holds after every input, whether or not it changed.
        self.armed_real = when;
        self.armed_reading = reading;
        if let Some(probe) = actions.probe() {
            if when < self.dies_at {
                let latency = self.latencies[self.next_latency % self.latencies.len()];
                self.next_latency += 1;
                self.arrivals
                    .push((when + nanos(latency), Arrival::Reply(probe.seq)));
            }
        }
    }

    /// Runs the world until real time `until` (inclusive) or the verdict.
    pub fn run_until(&mut self, until: Duration) -> &mut Self {
        let until = nanos(until);
        for _ in 0..STEP_LIMIT {
            if self.harness.machine.is_dead() {
                return self;
            }
            let Some((when, _, event)) = self.next_event() else {
                return self;
            };
            if when > until {
                self.real = until.max(self.real);
                return self;
            }
            match event {
                Event::Jump(index) => {
                    self.real = when;
                    self.offset += self.jumps[index].1;
                    self.next_jump += 1;
                }
                Event::PeerSends => {
                    let latency = self.latencies[self.next_latency % self.latencies.len()];
                    self.next_latency += 1;
                    self.arrivals
                        .push((when + nanos(latency), Arrival::Traffic));
                    self.next_heartbeat += self.heartbeat_every.expect("heartbeats");
                }
                Event::Arrive(index) => {
                    let (_, arrival) = self.arrivals.remove(index);
                    let input = match arrival {
                        Arrival::Reply(seq) => Input::Reply { seq },
                        Arrival::Traffic => Input::Inbound,
                    };
                    self.deliver(when, input);
                }
                Event::Timer => self.deliver(when, Input::Timer),
            }
        }
        panic!(
            "runaway loop: {STEP_LIMIT} steps by real {}; last entries:\n{}",
            show(Nanos(self.real)),
            self.harness.timeline()
        );
    }

    /// The real instant of the verdict, if any.
    pub fn verdict_real(&self) -> Option<u64> {
        self.harness
            .log
            .iter()
            .zip(&self.real_log)
            .find_map(|(entry, &real)| entry.actions.dead().map(|_| real))
    }

    /// The real instants the probes went out at.
    pub fn probe_reals(&self) -> Vec<u64> {
        self.harness
            .log
            .iter()
            .zip(&self.real_log)
            .filter_map(|(entry, &real)| entry.actions.probe().map(|_| real))
            .collect()
    }

    pub fn is_dead(&self) -> bool {
        self.harness.machine.is_dead()
    }

    pub fn mode(&self) -> Mode {
        self.harness.machine.config().mode()
    }
}
