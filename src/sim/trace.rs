//! The record of a run, one row per input, and its rendering as a text
//! timeline.

use std::fmt::{self, Write as _};
use std::time::Duration;

use super::clock::{Jump, CLOCK_ORIGIN};
use super::strategy::{Event, Response, Wake};
use crate::{DiscontinuityKind, Nanos};

/// What happened around the strategy, noted in the trace between its
/// inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// The observed clock jumped.
    Jump(Jump),
    /// The process stalls for this long.
    Stall(Duration),
    /// The host sleeps for this long.
    Suspend(Duration),
    /// The peer dies.
    PeerDies,
}

/// One input handed to the strategy, and what came of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The input.
    pub event: Event,
    /// What the strategy did.
    pub response: Response,
    /// The strategy's own clock after the input, if it keeps one.
    pub credited: Option<Duration>,
    /// The pending wake-up after the input.
    pub wake: Option<Wake>,
    /// Whether the peer was alive at the input, which the simulator knows
    /// and the strategy does not: a verdict while it was is a healthy
    /// peer dropped.
    pub peer_alive: bool,
}

/// One line of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Real time since the start of the run.
    pub real: Duration,
    /// What the process's clock showed.
    pub observed: Nanos,
    /// What the row records.
    pub entry: Entry,
}

/// What a row of a trace records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An input handed to the strategy.
    Input(Step),
    /// A change in the strategy's surroundings.
    Note(Note),
}

/// What the process's clock showed at one real time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Real time since the start of the run.
    pub real: Duration,
    /// What the process's clock showed.
    pub observed: Nanos,
}

/// The rows of one run within the traced span, in order, and the
/// process's clock over that span.
///
/// `Display` renders the timeline: times in seconds with millisecond
/// precision; `clock` counts from where the process's clock stood at real
/// time zero, so it equals `real` until the clock misbehaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The rows.
    pub rows: Vec<Row>,
    /// The observed clock from the start of the traced span to its end
    /// (or the end of the run, if sooner), as the corners of a piecewise
    /// linear function of real time: between two readings the clock runs
    /// straight from one to the other. A jump is two readings at the same
    /// real time, before and after it; a host sleep is a flat stretch.
    /// Empty when the run traced nothing.
    pub clock: Vec<Reading>,
}

impl Trace {
    /// What the columns of the rendered timeline mean.
    pub const LEGEND: &'static str = "\
real       seconds since the start
clock      what the process's clock shows; equal to real until it jumps
credited   the machine's own clock, since the connection opened
input      what the strategy was handed
actions    what it did. \"late +x: credits c of s\": the clock moved s since the
           last input, x past the wake-up, and the machine counted c of it;
           \"silent\": time since the peer was last heard, as measured
next wake  the clock reading it asks to be woken at
reason     why it chose that wake-up
~          something around the process, not an input";
}

const HEADER: [&str; 7] = [
    "real",
    "clock",
    "credited",
    "input",
    "actions",
    "next wake",
    "reason",
];

/// Columns whose text is right-aligned (the times).
const NUMERIC: [bool; 7] = [true, true, true, false, false, true, false];

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<[String; 7]> = self.rows.iter().map(cells).collect();
        let mut widths = HEADER.map(str::len);
        for (line, row) in lines.iter().zip(&self.rows) {
            // A note spans the input, actions and wake columns.
            let columns = if matches!(row.entry, Entry::Input(_)) {
                7
            } else {
                3
            };
            for (width, cell) in widths.iter_mut().zip(line).take(columns) {
                *width = (*width).max(cell.chars().count());
            }
        }

        let mut out = String::new();
        for line in std::iter::once(&HEADER.map(String::from)).chain(&lines) {
            for (column, cell) in line.iter().enumerate() {
                let width = widths[column];
                if NUMERIC[column] {
                    write!(out, "{cell:>width$}  ")?;
                } else {
                    write!(out, "{cell:<width$}  ")?;
                }
            }
            writeln!(f, "{}", out.trim_end())?;
            out.clear();
        }
        Ok(())
    }
}

fn cells(row: &Row) -> [String; 7] {
    let real = seconds(row.real);
    let observed = clock(row.observed);
    let step = match &row.entry {
        Entry::Input(step) => step,
        Entry::Note(note) => {
            let text = match note {
                Note::Jump(jump) => format!("~ clock jumps {}", jump_size(jump)),
                Note::Stall(length) => format!("~ process stalls {}", seconds(*length)),
                Note::Suspend(length) => format!("~ host sleeps {}", seconds(*length)),
                Note::PeerDies => "~ peer dies".to_owned(),
            };
            let none = String::new;
            return [real, observed, none(), text, none(), none(), none()];
        }
    };

    let credited = step.credited.map_or("-".to_owned(), seconds);
    let (wake, why) = match step.wake {
        Some(wake) => (clock(wake.at), wake.why),
        None => ("-".to_owned(), "none"),
    };
    [
        real,
        observed,
        credited,
        event(&step.event),
        actions(&step.response),
        wake,
        why.to_owned(),
    ]
}

fn event(event: &Event) -> String {
    match event {
        Event::Connect => "connect".to_owned(),
        Event::Reply { seq } => format!("reply #{seq}"),
        Event::Heartbeat => "heartbeat".to_owned(),
        Event::Timer => "timer".to_owned(),
        Event::Resume { slept: None } => "resume".to_owned(),
        Event::Resume { slept: Some(slept) } => {
            format!("resume, slept {}", seconds(*slept))
        }
    }
}

fn actions(response: &Response) -> String {
    let mut parts = Vec::new();
    if let Some(seen) = &response.discontinuity {
        let credits = format!(
            "credits {} of {}",
            seconds(seen.credited),
            seconds(seen.observed)
        );
        parts.push(match seen.kind {
            DiscontinuityKind::Late { by } => {
                format!("late +{}: {credits}", seconds(by))
            }
            DiscontinuityKind::Backward { by } => {
                format!("back -{}: {credits}", seconds(by))
            }
            DiscontinuityKind::Resume { .. } => format!("resumed: {credits}"),
            DiscontinuityKind::Suspend { slept } => {
                format!("slept {}: {credits}", seconds(slept))
            }
        });
    }
    if let Some(probe) = &response.probe {
        parts.push(format!("probe #{} ({})", probe.seq, probe.why));
    }
    if response.heartbeat {
        parts.push("heartbeat".to_owned());
    }
    if let Some(silence) = response.dead {
        parts.push(format!("DEAD, silent {}", seconds(silence)));
    }
    if parts.is_empty() {
        return "-".to_owned();
    }
    parts.join("; ")
}

fn jump_size(jump: &Jump) -> String {
    let sign = if jump.backward { '-' } else { '+' };
    format!("{sign}{}", seconds(jump.by))
}

/// A duration in seconds with millisecond precision.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{}.{:03}", duration.as_secs(), duration.subsec_millis())
}

/// An observed instant as seconds from the clock's origin; negative after
/// backward steps beyond it.
fn clock(observed: Nanos) -> String {
    let origin = CLOCK_ORIGIN.since_origin();
    let since = observed.since_origin();
    match since.checked_sub(origin) {
        Some(ahead) => seconds(ahead),
        None => format!("-{}", seconds(origin - since)),
    }
}
