//! The discrete-event loop over real time that drives one strategy
//! through a scenario, and what it counts.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::Range;
use std::time::Duration;

use super::clock::Clock;
use super::driver::{merge, Driver, Order, Pause, ResumeHint, Sleep};
use super::peer::Peer;
use super::record::{Handed, Heard, HeartbeatFact, Overdue, ProbeFact, Record, VerdictFact};
use super::report::{Detection, Stats};
use super::scenario::{Scenario, SimError};
use super::strategy::{Event, Strategy};
use super::trace::{Entry, Note, Row, Step, Trace};
use crate::Nanos;

/// More inputs than this at one real instant is a runaway, however long
/// the run: even a day-long host sleep under a heartbeat every 0.1 s
/// queues fewer.
const SAME_INSTANT_LIMIT: u64 = 1_000_000;

/// What to record and how long to let a run go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Record a trace of the inputs whose real time falls in this span.
    pub trace: Option<Range<Duration>>,
    /// Give up with [`SimError::Runaway`] after this many inputs. `None`
    /// derives a generous limit from the scenario.
    pub max_steps: Option<u64>,
}

/// The result of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What the strategy did.
    pub stats: Stats,
    /// The rows in [`RunOptions::trace`]'s span.
    pub trace: Trace,
}

/// Runs `strategy` through `scenario`.
///
/// Errors when the scenario is invalid (see [`Scenario::validate`]) or the
/// loop runs away.
pub fn run(
    scenario: &Scenario,
    strategy: &mut dyn Strategy,
    options: &RunOptions,
) -> Result<Outcome, SimError> {
    scenario.validate()?;
    Ok(Sim::new(scenario, strategy, options, false).run()?.0)
}

/// Runs `strategy` through `scenario` like [`run`], and also records the
/// facts of every probe, heartbeat, wake-up and verdict (see [`Record`]).
///
/// The run itself is the same: recording draws no random numbers, so the
/// outcome equals what [`run`] returns.
pub fn run_recorded(
    scenario: &Scenario,
    strategy: &mut dyn Strategy,
    options: &RunOptions,
) -> Result<(Outcome, Record), SimError> {
    scenario.validate()?;
    let (outcome, record) = Sim::new(scenario, strategy, options, true).run()?;
    Ok((outcome, record.expect("a recording run keeps its record")))
}

/// The order of things at one real instant: notes and the peer's own
/// doings, then a host's resume, then (when the driver runs timers first)
/// a timer that came due during a pause, then input, then timers.
const NOTE: u8 = 0;
const RESUME: u8 = 1;
const LATE_TIMER: u8 = 2;
const INPUT: u8 = 3;
const TIMER: u8 = 4;

#[derive(Clone, Copy, Debug)]
enum What {
    /// The worker opens a connection.
    Connect,
    /// Input for connection `conn` arrives.
    Deliver {
        conn: u64,
        event: Event,
        /// Its entry in the record's probes (a reply) or heartbeats.
        fact: Option<usize>,
    },
    /// The timer armed as number `armed` fires.
    Timer {
        armed: u64,
        spurious: bool,
    },
    /// The host wakes.
    Resume {
        slept: Option<Duration>,
    },
    /// The peer sends a heartbeat on connection `conn`.
    PeerSends {
        conn: u64,
    },
    Note(Note),
}

impl What {
    /// Whether it needs the process running (not stalled, host awake).
    fn needs_process(&self) -> bool {
        !matches!(self, What::PeerSends { .. } | What::Note(_))
    }
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    at: Duration,
    class: u8,
    /// Breaks ties in the order things were scheduled.
    seq: u64,
    what: What,
}

impl Pending {
    fn key(&self) -> (Duration, u8, u64) {
        (self.at, self.class, self.seq)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

struct Sim<'a> {
    scenario: &'a Scenario,
    strategy: &'a mut dyn Strategy,
    clock: Clock,
    peer: Peer,
    driver: Driver,
    suspends: Vec<Pause>,
    window: Option<Range<Duration>>,
    max_steps: u64,

    queue: BinaryHeap<Reverse<Pending>>,
    scheduled: u64,
    now: Duration,
    /// Inputs handled since real time last advanced.
    same_instant: u64,

    /// Real time of the latest traffic from the peer (or connection).
    heard: Duration,
    /// The input that handed it over.
    heard_input: u64,
    /// Timer inputs since then.
    wakeups: u32,
    /// The current connection; input for an older one is dropped.
    conn: u64,
    connected: bool,
    /// The wake-up the timer is armed for, and the arming's number.
    armed: Option<Nanos>,
    arming: u64,
    /// When the sleep of the armed timer ends (or ended: it stays until
    /// the timer is armed again, so that inputs after it are seen late).
    sleep_ends: Option<Duration>,

    stats: Stats,
    trace: Trace,
    /// Kept only by [`run_recorded`].
    record: Option<Record>,
}

impl<'a> Sim<'a> {
    fn new(
        scenario: &'a Scenario,
        strategy: &'a mut dyn Strategy,
        options: &RunOptions,
        recording: bool,
    ) -> Self {
        let (seed, until) = (scenario.seed, scenario.duration);
        let suspends = merge(scenario.driver.suspends.iter().copied());
        let clock = Clock::new(&scenario.clock, &suspends, seed, until);
        let driver = Driver::new(&scenario.driver, seed);
        let max_steps = options
            .max_steps
            .unwrap_or_else(|| step_limit(scenario, &clock));
        let stats = Stats {
            strategy: strategy.name(),
            ..Stats::default()
        };
        let record = recording.then(|| Record {
            jumps: clock.jumps_in(Duration::ZERO..Duration::MAX).to_vec(),
            blocked: driver.blocked().to_vec(),
            ..Record::default()
        });
        Sim {
            scenario,
            strategy,
            peer: Peer::new(&scenario.peer, seed, until),
            clock,
            driver,
            suspends,
            window: options.trace.clone(),
            max_steps,
            queue: BinaryHeap::new(),
            scheduled: 0,
            now: Duration::ZERO,
            same_instant: 0,
            heard: Duration::ZERO,
            heard_input: 0,
            wakeups: 0,
            conn: 0,
            connected: false,
            armed: None,
            arming: 0,
            sleep_ends: None,
            stats,
            trace: Trace::default(),
            record,
        }
    }

    fn push(&mut self, at: Duration, class: u8, what: What) {
        self.scheduled += 1;
        let seq = self.scheduled;
        self.queue.push(Reverse(Pending {
            at,
            class,
            seq,
            what,
        }));
    }

    fn run(mut self) -> Result<(Outcome, Option<Record>), SimError> {
        self.push(Duration::ZERO, INPUT, What::Connect);
        let hint = self.scenario.driver.resume_hint;
        for pause in self.suspends.clone() {
            if hint != ResumeHint::Off {
                let slept = (hint == ResumeHint::Slept).then_some(pause.length);
                self.push(pause.end(), RESUME, What::Resume { slept });
            }
        }
        self.push_notes();

        while let Some(Reverse(next)) = self.queue.pop() {
            if next.at > self.scenario.duration {
                break;
            }
            if next.what.needs_process() {
                if let Some(end) = self.driver.blocked_until(next.at) {
                    let timer = matches!(next.what, What::Timer { .. });
                    let class = match self.scenario.driver.order {
                        Order::TimerFirst if timer => LATE_TIMER,
                        _ => next.class,
                    };
                    self.push(end, class, next.what);
                    continue;
                }
            }
            if next.at > self.now {
                self.same_instant = 0;
            }
            self.now = next.at;
            self.dispatch(next.what)?;
        }
        self.finish();
        if let Some(window) = &self.window {
            let end = window.end.min(self.scenario.duration);
            let start = window.start.min(end);
            self.trace.clock = self.clock.corners(start..end);
        }
        let outcome = Outcome {
            stats: self.stats,
            trace: self.trace,
        };
        Ok((outcome, self.record))
    }

    fn push_notes(&mut self) {
        let Some(window) = self.window.clone() else {
            return;
        };
        let jumps = self.clock.jumps_in(window.clone()).to_vec();
        for jump in jumps {
            self.push(jump.at, NOTE, What::Note(Note::Jump(jump)));
        }
        let driver = &self.scenario.driver;
        let stalls = driver.stalls.iter().map(|p| (p, Note::Stall(p.length)));
        let sleeps = driver.suspends.iter().map(|p| (p, Note::Suspend(p.length)));
        let notes: Vec<_> = stalls
            .chain(sleeps)
            .filter(|(pause, _)| window.contains(&pause.at))
            .map(|(pause, note)| (pause.at, note))
            .collect();
        for (at, note) in notes {
            self.push(at, NOTE, What::Note(note));
        }
    }

    fn dispatch(&mut self, what: What) -> Result<(), SimError> {
        match what {
            What::Connect => self.connect(),
            What::Deliver { conn, event, fact } if conn == self.conn && self.connected => {
                self.handed(event, fact);
                self.step(event)
            }
            What::Timer { armed, spurious } if armed == self.arming => {
                if !spurious {
                    self.armed = None;
                }
                self.step(Event::Timer)
            }
            What::Resume { slept } if self.connected => self.step(Event::Resume { slept }),
            What::PeerSends { conn } if conn == self.conn && self.peer.alive(self.now) => {
                let latency = self.peer.latency();
                let arrives = self.now.saturating_add(latency);
                let fact = self.record.as_mut().map(|record| {
                    record.heartbeats.push(HeartbeatFact {
                        conn,
                        arrives,
                        handed: None,
                    });
                    record.heartbeats.len() - 1
                });
                let heartbeat = What::Deliver {
                    conn,
                    event: Event::Heartbeat,
                    fact,
                };
                self.push(arrives, INPUT, heartbeat);
                self.schedule_heartbeat();
                Ok(())
            }
            What::Note(note) => {
                self.record(Entry::Note(note));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Notes in the record which input a reply or heartbeat was handed
    /// over on (the input [`Sim::step`] is about to count).
    fn handed(&mut self, event: Event, fact: Option<usize>) {
        let (Some(record), Some(fact)) = (&mut self.record, fact) else {
            return;
        };
        let input = Some(Handed {
            input: self.stats.inputs + 1,
            at: self.now,
        });
        match event {
            Event::Reply { .. } => record.probes[fact].handed = input,
            _ => record.heartbeats[fact].handed = input,
        }
    }

    fn schedule_heartbeat(&mut self) {
        if let Some(every) = self.peer.model().heartbeat_every {
            let conn = self.conn;
            self.push(
                self.now.saturating_add(every),
                NOTE,
                What::PeerSends { conn },
            );
        }
    }

    fn connect(&mut self) -> Result<(), SimError> {
        self.conn += 1;
        if let Some(record) = &mut self.record {
            record.connects.push(self.now);
        }
        self.connected = true;
        if self.peer.connect(self.now) {
            if let Some(death) = self.peer.death() {
                self.push(death, NOTE, What::Note(Note::PeerDies));
            }
        }
        self.schedule_heartbeat();
        self.step(Event::Connect)
    }

    fn step(&mut self, event: Event) -> Result<(), SimError> {
        self.stats.inputs += 1;
        self.same_instant += 1;
        if self.stats.inputs > self.max_steps || self.same_instant > SAME_INSTANT_LIMIT {
            return Err(SimError::Runaway {
                strategy: self.stats.strategy,
                steps: self.stats.inputs,
                at: self.now,
            });
        }

        match event {
            Event::Timer => self.wakeups = self.wakeups.saturating_add(1),
            Event::Resume { .. } => {}
            _ => {
                (self.heard, self.wakeups) = (self.now, 0);
                self.heard_input = self.stats.inputs;
            }
        }
        self.note_overdue();
        let observed = self.clock.observed(self.now);
        let response = self.strategy.handle(observed, event);
        if response.discontinuity.is_some() {
            self.stats.discontinuities += 1;
        }
        if let Some(probe) = response.probe {
            self.stats.probes += 1;
            let reply = self
                .peer
                .alive(self.now)
                .then(|| self.now.saturating_add(self.peer.latency()));
            let fact = self.record.as_mut().map(|record| {
                record.probes.push(ProbeFact {
                    conn: self.conn,
                    input: self.stats.inputs,
                    at: self.now,
                    seq: probe.seq,
                    reply,
                    handed: None,
                });
                record.probes.len() - 1
            });
            if let Some(arrives) = reply {
                let reply = What::Deliver {
                    conn: self.conn,
                    event: Event::Reply { seq: probe.seq },
                    fact,
                };
                self.push(arrives, INPUT, reply);
            }
        }
        if self.tracing() {
            self.record(Entry::Input(Step {
                event,
                response,
                credited: self.strategy.credited(),
                wake: self.strategy.wakeup(),
                peer_alive: self.peer.alive(self.now),
            }));
        }

        if response.dead.is_some() {
            self.verdict();
        } else {
            self.rearm();
        }
        Ok(())
    }

    /// Records the input about to be handed over if the armed timer's
    /// sleep has ended.
    fn note_overdue(&mut self) {
        let (Some(record), Some(ends)) = (&mut self.record, self.sleep_ends) else {
            return;
        };
        if self.now <= ends {
            return;
        }
        let blocked = blocked_within(self.driver.blocked(), ends..self.now);
        record.overdue.push(Overdue {
            input: self.stats.inputs,
            at: self.now,
            by: (self.now - ends).saturating_sub(blocked),
        });
    }

    fn tracing(&self) -> bool {
        self.window.as_ref().is_some_and(|w| w.contains(&self.now))
    }

    fn record(&mut self, entry: Entry) {
        if self.tracing() {
            self.trace.rows.push(Row {
                real: self.now,
                observed: self.clock.observed(self.now),
                entry,
            });
        }
    }

    /// Arms the timer again when the wanted wake-up changed or the timer
    /// fired, as a driver does on each new `ArmTimer`.
    fn rearm(&mut self) {
        let wake = self.strategy.wakeup().map(|wake| wake.at);
        if wake == self.armed {
            return;
        }
        self.armed = wake;
        self.arming += 1;
        self.sleep_ends = None;
        let Some(wake) = wake else {
            return;
        };
        let firing = self.driver.arm(&self.clock, self.now, wake);
        self.sleep_ends = Some(firing.ends);
        let armed = self.arming;
        let timers = [(Some(firing.at), false), (firing.spurious, true)];
        for (at, spurious) in timers {
            if let Some(at) = at {
                let timer = What::Timer { armed, spurious };
                self.push(at, TIMER, timer);
            }
        }
    }

    /// The connection is dropped; the worker connects again later.
    fn verdict(&mut self) {
        self.connected = false;
        self.armed = None;
        self.sleep_ends = None;
        self.arming += 1;

        let heard = self.heard_now();
        if let Some(record) = &mut self.record {
            record.verdicts.push(VerdictFact {
                input: self.stats.inputs,
                at: self.now,
                heard,
            });
        }
        match self.peer.death().filter(|&died| died <= self.now) {
            Some(died) => {
                let detection = self.detection(died, self.now);
                self.stats.deaths.push(detection);
            }
            None => self.stats.healthy_drops.push(self.now),
        }
        let again = self.now.saturating_add(self.scenario.reconnect_after);
        self.push(again, INPUT, What::Connect);
    }

    /// The current connection's last inbound traffic and the peer's death
    /// so far.
    fn heard_now(&self) -> Heard {
        Heard {
            conn: self.conn,
            at: self.heard,
            input: self.heard_input,
            died: self.peer.death().filter(|&died| died <= self.now),
        }
    }

    fn detection(&self, died: Duration, verdict: Duration) -> Detection {
        let bound = self.scenario.bound();
        let span = self.heard.min(died)..verdict;

        let late = bound.per_wakeup.saturating_mul(self.wakeups);
        let mut total = bound.base.saturating_add(late);
        for jump in self.clock.jumps_in(span.clone()) {
            total = total.saturating_add(bound.per_jump);
            if jump.backward {
                // An absolute sleep oversleeps by the step; a relative one
                // loses the credit of the wait the step cancels.
                let lost = match self.scenario.driver.sleep {
                    Sleep::Absolute => jump.by,
                    Sleep::Relative => jump.by.min(self.scenario.machine.longest_idle()),
                };
                total = total.saturating_add(lost);
            }
        }
        for pause in self.driver.blocked() {
            if pause.at < span.end && span.start < pause.end() {
                total = total.saturating_add(pause.length);
            }
        }
        Detection {
            died,
            took: Some(verdict - died),
            bound: total,
        }
    }

    /// A death the run ended on counts as missed only once its bound has
    /// passed; before that it is pending.
    fn finish(&mut self) {
        let end = self.scenario.duration;
        let open = self.connected.then(|| Heard {
            died: self.peer.death().filter(|&died| died <= end),
            ..self.heard_now()
        });
        let armed_until = self.sleep_ends.filter(|_| self.connected);
        if let Some(record) = &mut self.record {
            record.open_at_end = open;
            record.armed_until = armed_until;
            record.end = end;
        }
        let died = self.peer.death().filter(|&died| died <= end);
        if let (true, Some(died)) = (self.connected, died) {
            let detection = self.detection(died, end);
            if end - died > detection.bound {
                self.stats.deaths.push(Detection {
                    took: None,
                    ..detection
                });
            } else {
                self.stats.pending = Some(died);
            }
        }
    }
}

/// How much of `span` the pauses (sorted, not overlapping) cover.
pub(crate) fn blocked_within(pauses: &[Pause], span: Range<Duration>) -> Duration {
    let first = pauses.partition_point(|pause| pause.end() <= span.start);
    pauses[first..]
        .iter()
        .take_while(|pause| pause.at < span.end)
        .fold(Duration::ZERO, |sum, pause| {
            let overlap = pause
                .end()
                .min(span.end)
                .saturating_sub(pause.at.max(span.start));
            sum.saturating_add(overlap)
        })
}

/// A generous step limit: sixteen times the inputs of a strategy that
/// woke every `max_step`, every heartbeat and every keepalive period, and
/// handled every jump, plus a million.
fn step_limit(scenario: &Scenario, clock: &Clock) -> u64 {
    let models = &scenario.models;
    let periods = [
        Some(scenario.machine.max_step()),
        scenario.peer.heartbeat_every,
        Some(models.interval.saturating_sub(models.timeout)),
    ];
    let shortest = periods.into_iter().flatten().min().unwrap_or_default();
    let busy = scenario.duration.as_secs_f64() / shortest.as_secs_f64().max(1e-9);
    let jumps = clock.jumps_in(Duration::ZERO..Duration::MAX).len() as f64;
    (1e6 + 16.0 * (busy + jumps)).min(u64::MAX as f64) as u64
}
