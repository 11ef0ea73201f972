//! The incident as a picture (`--svg`): the process's clock over the
//! traced span, real time against what the clock read, below it one
//! lane per strategy with a marker for everything that happened to it,
//! and at the bottom a zoom on the incident's seconds: the same markers,
//! one column per step in the order they happened. Times are seconds from
//! the incident.
//!
//! Drawn with plotters' SVG backend. `tests/picture.rs` includes this file
//! as well: it renders the SVG and counts the markers against the traces.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use keepalive::sim::{
    Entry, Event, Incident, Note, Reading, Row, StrategyKind, Trace, CLOCK_ORIGIN,
};
use keepalive::{Discontinuity, DiscontinuityKind, Nanos};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How much of the run `--trace` and `--svg` show before two-timers'
/// verdict: from before the previous keepalive, so that the activity both
/// timers count from shows.
pub const BEFORE: Duration = Duration::from_secs(600);

/// How much they show after it: the reconnection, and the replies the
/// other two strategies get.
pub const AFTER: Duration = Duration::from_secs(60);

/// The scenario as the title names it: its file's name (the directory
/// would crowd the title out), or S0, and the seed.
pub fn name(file: Option<&Path>, seed: u64) -> String {
    match file {
        Some(file) => {
            let name = file.file_name().map_or(file.as_os_str(), |name| name);
            format!("{}, seed {seed}", name.to_string_lossy())
        }
        None => format!("S0, seed {seed}"),
    }
}

/// Draws `incident` (see [`draw`]) into the SVG file at `path`.
pub fn write(incident: &Incident, scenario: &str, path: &Path) -> Result<(), String> {
    let picture = draw(incident, scenario)?;
    std::fs::write(path, picture.svg)
        .map_err(|e| format!("cannot write the picture to {}: {e}", path.display()))
}

/// The picture's size in pixels.
pub const SIZE: (u32, u32) = (1360, 1480);

/// Something the picture marks: one marker per occurrence in a lane (or
/// one band, for a pause), and one more in the legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mark {
    /// The strategy sent a probe.
    Probe,
    /// The machine sent a heartbeat of its own (passive mode).
    HeartbeatSent,
    /// A reply or a heartbeat from the peer was handed over.
    Received,
    /// The clock jumped.
    Jump,
    /// The host woke and the driver said so.
    Resume,
    /// The strategy reported a clock discontinuity.
    Discontinuity,
    /// The machine gave a reply window its grace turn.
    Grace,
    /// A connection opened.
    Connect,
    /// The peer died.
    PeerDies,
    /// A verdict on a peer that had died.
    Verdict,
    /// A verdict on a peer that was alive: a healthy peer dropped.
    FalseVerdict,
    /// The process stalled (a band over the stall).
    Stall,
    /// The host slept (a band over the sleep).
    Suspend,
}

/// How a mark is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Up,
    Down,
    Dot,
    Diamond,
    Square,
    Plus,
    Cross,
    Band,
}

/// The rows of a lane, top to bottom.
const ROWS: [&str; 7] = [
    "probe sent",
    "traffic in",
    "clock",
    "discontinuity",
    "grace turn",
    "connection",
    "verdict",
];

impl Mark {
    /// Every mark, in the legend's order.
    pub const ALL: [Mark; 13] = [
        Mark::Probe,
        Mark::HeartbeatSent,
        Mark::Received,
        Mark::Jump,
        Mark::Resume,
        Mark::Discontinuity,
        Mark::Grace,
        Mark::Connect,
        Mark::PeerDies,
        Mark::Verdict,
        Mark::FalseVerdict,
        Mark::Stall,
        Mark::Suspend,
    ];

    /// Its line in the legend.
    pub fn label(self) -> &'static str {
        match self {
            Mark::Probe => "probe sent",
            Mark::HeartbeatSent => "heartbeat sent",
            Mark::Received => "reply or heartbeat received",
            Mark::Jump => "clock jumps",
            Mark::Resume => "host wakes (resume input)",
            Mark::Discontinuity => "discontinuity reported",
            Mark::Grace => "grace turn given",
            Mark::Connect => "connection opened",
            Mark::PeerDies => "peer dies",
            Mark::Verdict => "verdict: dead peer dropped",
            Mark::FalseVerdict => "verdict: HEALTHY peer dropped",
            Mark::Stall => "process stalled",
            Mark::Suspend => "host asleep",
        }
    }

    /// Its colour, used by nothing else in the picture, so that a
    /// marker's kind can be told from its fill alone.
    pub fn colour(self) -> RGBColor {
        match self {
            Mark::Probe => RGBColor(0x1f, 0x5f, 0xbf),
            Mark::HeartbeatSent => RGBColor(0x7f, 0xa8, 0xe0),
            Mark::Received => RGBColor(0x2e, 0x9e, 0x44),
            Mark::Jump => RGBColor(0xe0, 0x8a, 0x00),
            Mark::Resume => RGBColor(0x5d, 0x6d, 0x7e),
            Mark::Discontinuity => RGBColor(0x8e, 0x44, 0xad),
            Mark::Grace => RGBColor(0xc2, 0x18, 0x7b),
            Mark::Connect => RGBColor(0x11, 0x7a, 0x8b),
            Mark::PeerDies => RGBColor(0x3b, 0x2f, 0x2f),
            Mark::Verdict => RGBColor(0x60, 0x60, 0x60),
            Mark::FalseVerdict => RGBColor(0xd6, 0x27, 0x28),
            Mark::Stall => RGBColor(0xf6, 0xdd, 0xb0),
            Mark::Suspend => RGBColor(0xcf, 0xdc, 0xea),
        }
    }

    fn shape(self) -> Shape {
        match self {
            Mark::Probe | Mark::HeartbeatSent => Shape::Up,
            Mark::Received | Mark::Grace => Shape::Dot,
            Mark::Jump => Shape::Diamond,
            Mark::Resume => Shape::Down,
            Mark::Discontinuity | Mark::Connect => Shape::Square,
            Mark::PeerDies => Shape::Plus,
            Mark::Verdict | Mark::FalseVerdict => Shape::Cross,
            Mark::Stall | Mark::Suspend => Shape::Band,
        }
    }

    /// The lane row it sits in (a band spans them all).
    fn row(self) -> usize {
        match self {
            Mark::Probe | Mark::HeartbeatSent => 0,
            Mark::Received => 1,
            Mark::Jump | Mark::Resume | Mark::Stall | Mark::Suspend => 2,
            Mark::Discontinuity => 3,
            Mark::Grace => 4,
            Mark::Connect | Mark::PeerDies => 5,
            Mark::Verdict | Mark::FalseVerdict => 6,
        }
    }
}

/// One occurrence of a mark: where it starts in real time and, for a
/// pause, how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marked {
    /// What.
    pub mark: Mark,
    /// Real time.
    pub at: Duration,
    /// A pause's length; zero for the others.
    pub length: Duration,
    /// The index of the trace row it comes from.
    pub step: usize,
}

/// Everything in `trace` that the picture marks, in the trace's order.
pub fn marks(trace: &Trace) -> Vec<Marked> {
    let mut marks = Vec::new();
    // A grace turn is marked where the machine starts waiting on it, not
    // again on inputs that leave it waiting.
    let mut in_grace = false;
    for (step, row) in trace.rows.iter().enumerate() {
        let mut push = |mark, at, length| {
            marks.push(Marked {
                mark,
                at,
                length,
                step,
            })
        };
        let at = row.real;
        let step = match row.entry {
            Entry::Note(Note::Jump(_)) => {
                push(Mark::Jump, at, Duration::ZERO);
                continue;
            }
            Entry::Note(Note::Stall(length)) => {
                push(Mark::Stall, at, length);
                continue;
            }
            Entry::Note(Note::Suspend(length)) => {
                push(Mark::Suspend, at, length);
                continue;
            }
            Entry::Note(Note::PeerDies) => {
                push(Mark::PeerDies, at, Duration::ZERO);
                continue;
            }
            Entry::Input(step) => step,
        };

        let zero = Duration::ZERO;
        match step.event {
            Event::Connect => push(Mark::Connect, at, zero),
            Event::Reply { .. } | Event::Heartbeat => push(Mark::Received, at, zero),
            Event::Resume { .. } => push(Mark::Resume, at, zero),
            Event::Timer => {}
        }
        let response = step.response;
        if response.discontinuity.is_some() {
            push(Mark::Discontinuity, at, zero);
        }
        if response.probe.is_some() {
            push(Mark::Probe, at, zero);
        }
        if response.heartbeat {
            push(Mark::HeartbeatSent, at, zero);
        }
        let grace = step.wake.is_some_and(|wake| wake.why == "grace");
        if grace && !in_grace {
            push(Mark::Grace, at, zero);
        }
        in_grace = grace;
        if response.dead.is_some() {
            let verdict = if step.peer_alive {
                Mark::FalseVerdict
            } else {
                Mark::Verdict
            };
            push(verdict, at, zero);
        }
    }
    marks
}

/// A rectangle of the picture, in pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// Columns, left to right.
    pub x: Range<i32>,
    /// Rows, top to bottom.
    pub y: Range<i32>,
}

/// The SVG, and where its panels' plotting areas lie.
#[derive(Clone, Debug)]
pub struct Picture {
    /// The SVG document.
    pub svg: String,
    /// The clock panel.
    pub clock: Area,
    /// Each strategy's lane over the whole traced span, in the incident's
    /// order.
    pub lanes: Vec<(StrategyKind, Area)>,
    /// Each strategy's lane in the zoom on the incident, in the same order.
    pub zoom: Vec<(StrategyKind, Area)>,
}

/// How much of the run the zoom shows before the incident.
pub const ZOOM_BEFORE: Duration = Duration::from_secs(2);

/// How much it shows after it: long enough for a reconnection.
pub const ZOOM_AFTER: Duration = Duration::from_secs(8);

/// Whether the zoom on an incident at real time `at` shows a trace row
/// at real time `real`, or a pause that starts there and lasts `length`
/// (zero for the others).
pub fn in_zoom(at: Duration, real: Duration, length: Duration) -> bool {
    at.saturating_sub(ZOOM_BEFORE) <= real + length && real <= at + ZOOM_AFTER
}

/// In a few words, what happened in trace row `row`.
fn what(row: &Row) -> &'static str {
    match row.entry {
        Entry::Note(Note::Jump(_)) => "clock jumps",
        Entry::Note(Note::Stall(_)) => "process stalls",
        Entry::Note(Note::Suspend(_)) => "host sleeps",
        Entry::Note(Note::PeerDies) => "peer dies",
        Entry::Input(step) => match step.event {
            Event::Timer => "timer fires",
            Event::Reply { .. } => "reply arrives",
            Event::Heartbeat => "heartbeat arrives",
            Event::Connect => "connects",
            Event::Resume { .. } => "host wakes",
        },
    }
}

/// The zoom's columns: one per step (a trace row) in the zoom that the
/// picture marks, in the order they happened. Rows of different lanes at the same real time
/// share a column when they are the same in the lanes' order at that
/// time (the first row at that time, the second, ...).
struct Columns {
    /// Each column's real time.
    times: Vec<Duration>,
    /// What happened in each column, in a few words per kind of step.
    what: Vec<Vec<&'static str>>,
    /// For each lane, the column of each of its rows in the zoom, by the
    /// row's index in its trace.
    of: Vec<HashMap<usize, usize>>,
}

fn columns(incident: &Incident) -> Columns {
    let mut keys: BTreeMap<(Duration, usize), Vec<&'static str>> = BTreeMap::new();
    let mut lanes = Vec::new();
    for (_, trace) in &incident.traces {
        let marked: BTreeSet<usize> = marks(trace).iter().map(|m| m.step).collect();
        let mut lane = Vec::new();
        let mut previous = None;
        let mut nth = 0;
        for (index, row) in trace.rows.iter().enumerate() {
            nth = if previous == Some(row.real) {
                nth + 1
            } else {
                0
            };
            previous = Some(row.real);
            if marked.contains(&index) && in_zoom(incident.at, row.real, Duration::ZERO) {
                let words = keys.entry((row.real, nth)).or_default();
                if !words.contains(&what(row)) {
                    words.push(what(row));
                }
                lane.push((index, (row.real, nth)));
            }
        }
        lanes.push(lane);
    }
    let (keys, what): (Vec<(Duration, usize)>, Vec<_>) = keys.into_iter().unzip();
    let of = lanes
        .into_iter()
        .map(|lane| {
            lane.into_iter()
                .map(|(index, key)| (index, keys.binary_search(&key).unwrap_or(0)))
                .collect()
        })
        .collect();
    Columns {
        times: keys.into_iter().map(|(real, _)| real).collect(),
        what,
        of,
    }
}

/// Where a lane puts things along x.
enum View<'a> {
    /// The whole traced span, in seconds from the incident.
    Overview { span: Range<f64>, at: Duration },
    /// The zoom: one column per step, numbered from zero.
    Zoom { columns: &'a Columns, lane: usize },
}

impl View<'_> {
    fn range(&self) -> Range<f64> {
        match self {
            View::Overview { span, .. } => span.clone(),
            View::Zoom { columns, .. } => -0.5..(columns.times.len().max(1) as f64 - 0.5),
        }
    }

    /// The x of something at real time `real` from trace row `step`, if
    /// this view shows it.
    fn x(&self, step: usize, real: Duration) -> Option<f64> {
        match self {
            View::Overview { at, .. } => Some(relative(real, *at)),
            View::Zoom { columns, lane } => columns.of[*lane].get(&step).map(|&c| c as f64),
        }
    }

    /// Where a pause from trace row `step` that starts at real time
    /// `start` and lasts `length` starts along x, if this view shows it.
    fn start(&self, step: usize, start: Duration, length: Duration) -> Option<f64> {
        match self {
            View::Overview { .. } => self.x(step, start),
            View::Zoom { columns, lane } => match columns.of[*lane].get(&step) {
                Some(&c) => Some(c as f64 - 0.3),
                None => columns
                    .times
                    .first()
                    .filter(|&&first| start < first && first <= start + length)
                    .map(|_| -0.5),
            },
        }
    }

    /// Where a pause that ends at real time `end` ends along x.
    fn end(&self, end: Duration) -> f64 {
        match self {
            View::Overview { at, .. } => relative(end, *at),
            View::Zoom { columns, .. } => columns
                .times
                .iter()
                .position(|&t| t >= end)
                .map_or(columns.times.len() as f64 - 0.5, |c| c as f64 - 0.3),
        }
    }

    /// Whether this view labels what it shows from a row at real time
    /// `real`: the zoom labels what it shows, the overview what the zoom
    /// does not.
    fn labels(&self, real: Duration) -> bool {
        match self {
            View::Overview { at, .. } => !in_zoom(*at, real, Duration::ZERO),
            View::Zoom { .. } => true,
        }
    }
}

/// Seconds from `at` to `real` (negative before it).
fn relative(real: Duration, at: Duration) -> f64 {
    secs(real) - secs(at)
}

/// A time relative to the incident as the zoom's columns show it.
fn from_incident(real: Duration, at: Duration) -> String {
    if real == at {
        "t = 0".to_owned()
    } else if real > at {
        format!("t = +{:.3} s", relative(real, at))
    } else {
        format!("t = \u{2212}{:.3} s", -relative(real, at))
    }
}

/// The grey of the strip that marks the zoom's seconds in the overview.
const ZOOMED: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);

/// Draws `incident`; `scenario` names the scenario in the title (such as
/// "S0, seed 2").
pub fn draw(incident: &Incident, scenario: &str) -> Result<Picture, String> {
    let readings = incident
        .traces
        .first()
        .map(|(_, trace)| trace.clock.as_slice())
        .unwrap_or_default();
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Err("the incident's traces cover no time: nothing to draw".to_owned());
    };
    let at = incident.at;
    let start = relative(first.real, at);
    let span = start..relative(last.real, at).max(start + 1.0);
    let zoomed = relative(at.saturating_sub(ZOOM_BEFORE), at)..relative(at + ZOOM_AFTER, at);
    let present: Vec<Mark> = Mark::ALL
        .into_iter()
        .filter(|&mark| {
            incident
                .traces
                .iter()
                .any(|(_, trace)| marks(trace).iter().any(|m| m.mark == mark))
        })
        .collect();
    let columns = columns(incident);

    let mut svg = String::new();
    let (clock, lanes, zoom) = {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let (head, body) = root.split_vertically(70);
        title(&head, incident, scenario)?;
        let (main, side) = body.split_horizontally(SIZE.0 - 300);
        legend(&side.margin(34, 10, 10, 16), &present)?;

        let (top, rest) = main.split_vertically(280);
        let (middle, rest) = rest.split_vertically(3 * 160 + 24);
        let (header, bottom) = rest.split_vertically(84);
        let pauses: Vec<Marked> = incident
            .traces
            .first()
            .map(|(_, trace)| marks(trace))
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.mark.shape() == Shape::Band)
            .collect();
        let clock = clock_panel(&top, span.clone(), at, readings, &pauses, &zoomed)?;

        let count = incident.traces.len().max(1);
        let overview = View::Overview {
            span: span.clone(),
            at,
        };
        let mut lanes = Vec::new();
        for (index, ((kind, trace), area)) in incident
            .traces
            .iter()
            .zip(middle.split_evenly((count, 1)))
            .enumerate()
        {
            let bottom_lane = index + 1 == count;
            let desc = bottom_lane.then_some(OVERVIEW_X);
            let caption = format!("{}: {}", kind.name(), kind.summary());
            let drawn = lane(
                &area,
                &overview,
                *kind,
                trace,
                &caption,
                desc,
                Some(&zoomed),
            )?;
            lanes.push((*kind, drawn.area));
        }

        let mut zoom = Vec::new();
        let mut drawn_zoom = Vec::new();
        for (index, ((kind, trace), area)) in incident
            .traces
            .iter()
            .zip(bottom.split_evenly((count, 1)))
            .enumerate()
        {
            let bottom_lane = index + 1 == count;
            let desc = bottom_lane.then_some(ZOOM_X);
            let view = View::Zoom {
                columns: &columns,
                lane: index,
            };
            let caption = format!("zoom, {}", kind.name());
            let drawn = lane(&area, &view, *kind, trace, &caption, desc, None)?;
            zoom.push((*kind, drawn.area.clone()));
            drawn_zoom.push(drawn);
        }
        if let (Some(top_lane), Some(bottom_lane)) = (drawn_zoom.first(), drawn_zoom.last()) {
            zoom_header(&root, &header, &columns, at, top_lane, bottom_lane)?;
        }
        root.present().map_err(failed)?;
        (clock, lanes, zoom)
    };
    Ok(Picture {
        svg,
        clock,
        lanes,
        zoom,
    })
}

/// The overview's x axis.
const OVERVIEW_X: &str =
    "real time (s), t = 0 at two-timers' verdict; the grey strip is the zoom below";

/// The zoom's x axis.
const ZOOM_X: &str =
    "steps in the order they happened, not to scale; under each, its time from the verdict (s)";

type Panel<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn failed(error: impl std::fmt::Display) -> String {
    format!("cannot draw the picture: {error}")
}

/// Seconds with millisecond precision, as `--trace` prints them.
fn seconds(duration: Duration) -> String {
    format!("{}.{:03}", duration.as_secs(), duration.subsec_millis())
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// What the clock read, in seconds from where it stood at real time zero
/// (the `clock` column of `--trace`).
fn reading(observed: Nanos) -> f64 {
    let origin = CLOCK_ORIGIN.since_origin().as_secs_f64();
    observed.since_origin().as_secs_f64() - origin
}

fn area_of<X, Y>(chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>) -> Area
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    let (x, y) = chart.plotting_area().get_pixel_range();
    Area { x, y }
}

fn title(area: &Panel<'_>, incident: &Incident, scenario: &str) -> Result<(), String> {
    let heading = format!(
        "{scenario}: two-timers dropped a healthy master at real time {} s (day {:.1})",
        seconds(incident.at),
        incident.at.as_secs_f64() / 86_400.0
    );
    let style = ("sans-serif", 22).into_font().style(FontStyle::Bold);
    area.draw(&Text::new(heading, (16, 12), style))
        .map_err(failed)?;
    let under = "The same run seen three ways: all three strategies get the same clock, \
                 the same peer and the same latencies. t = 0 is that drop; the zoom at the \
                 bottom spreads out its seconds.";
    area.draw(&Text::new(under, (16, 42), ("sans-serif", 15)))
        .map_err(failed)
}

/// The legend: a line for each kind of mark in `present`, the marks the
/// picture holds.
fn legend(area: &Panel<'_>, present: &[Mark]) -> Result<(), String> {
    let heading = ("sans-serif", 17).into_font().style(FontStyle::Bold);
    area.draw(&Text::new("Legend", (0, 0), heading))
        .map_err(failed)?;
    let font = ("sans-serif", 15).into_font();
    let mut y = 34;
    for &mark in present {
        put(area, mark, (12, y + 8))?;
        area.draw(&Text::new(mark.label(), (32, y), font.clone()))
            .map_err(failed)?;
        y += 27;
    }

    let notes = [
        "",
        "Top: the process's clock. A vertical",
        "step is a jump; a flat stretch, a host",
        "sleep; the dashed line, a clock that",
        "kept time.",
        "",
        "Middle: what each strategy did over",
        "the whole traced span, one row per",
        "kind of event. Only this crate's",
        "machine reports discontinuities and",
        "gives grace turns; the other two never",
        "look at the clock's behaviour.",
        "",
        "Bottom: the zoom on the grey strip.",
        "The same markers, one column per",
        "step, left to right in the order they",
        "happened, even within one instant.",
        "",
        "A discontinuity is the machine seeing",
        "that its clock moved more (or less)",
        "than it should have; it then counts",
        "only part of that time as silence.",
    ];
    let small = ("sans-serif", 14)
        .into_font()
        .color(&RGBColor(0x40, 0x40, 0x40));
    for line in notes {
        area.draw(&Text::new(line, (0, y), small.clone()))
            .map_err(failed)?;
        y += 19;
    }
    Ok(())
}
/// The outline of `mark`'s marker around its centre, in pixels. Every
/// marker is one filled polygon, so that each occurrence is one element
/// of the SVG.
fn outline(mark: Mark) -> Vec<(i32, i32)> {
    match mark.shape() {
        Shape::Up => vec![(0, -7), (7, 6), (-7, 6)],
        Shape::Down => vec![(0, 7), (7, -6), (-7, -6)],
        Shape::Dot => (0..16)
            .map(|i| {
                let angle = f64::from(i) * std::f64::consts::PI / 8.0;
                (
                    (6.0 * angle.cos()).round() as i32,
                    (6.0 * angle.sin()).round() as i32,
                )
            })
            .collect(),
        Shape::Diamond => vec![(0, -8), (7, 0), (0, 8), (-7, 0)],
        Shape::Square => vec![(-6, -6), (6, -6), (6, 6), (-6, 6)],
        Shape::Plus => vec![
            (-2, -8),
            (2, -8),
            (2, -2),
            (8, -2),
            (8, 2),
            (2, 2),
            (2, 8),
            (-2, 8),
            (-2, 2),
            (-8, 2),
            (-8, -2),
            (-2, -2),
        ],
        // Larger than the rest: a verdict is the outcome the reader looks
        // for first.
        Shape::Cross => vec![
            (-9, -6),
            (-6, -9),
            (0, -3),
            (6, -9),
            (9, -6),
            (3, 0),
            (9, 6),
            (6, 9),
            (0, 3),
            (-6, 9),
            (-9, 6),
            (-3, 0),
        ],
        Shape::Band => vec![(-8, -7), (8, -7), (8, 7), (-8, 7)],
    }
}

/// Draws `mark`'s marker centred on `at`.
fn put<DB, C>(area: &DrawingArea<DB, C>, mark: Mark, at: C::From) -> Result<(), String>
where
    DB: DrawingBackend,
    C: CoordTranslate,
    C::From: Clone,
{
    let shape = Polygon::new(outline(mark), mark.colour().filled());
    area.draw(&(EmptyElement::at(at) + shape)).map_err(failed)
}

fn clock_panel(
    area: &Panel<'_>,
    span: Range<f64>,
    at: Duration,
    readings: &[Reading],
    pauses: &[Marked],
    zoomed: &Range<f64>,
) -> Result<Area, String> {
    let points: Vec<(f64, f64)> = readings
        .iter()
        .map(|r| (relative(r.real, at), reading(r.observed)))
        .collect();
    // The clock that kept time: the first reading, running at one second
    // per second.
    let (x0, y0) = points[0];
    let ideal = [(span.start, y0), (span.end, y0 + (span.end - x0))];
    let (low, high) = points
        .iter()
        .chain(&ideal)
        .fold((f64::MAX, f64::MIN), |(lo, hi), &(_, y)| {
            (lo.min(y), hi.max(y))
        });
    let pad = ((high - low) * 0.08).max(1.0);
    let y_range = (low - pad)..(high + pad);

    let mut chart = ChartBuilder::on(area)
        .caption(
            "The process's clock: what it read (y) at each real time (x)",
            ("sans-serif", 17),
        )
        .margin_left(12)
        .margin_right(24)
        .margin_top(6)
        .x_label_area_size(46)
        .y_label_area_size(96)
        .build_cartesian_2d(span.clone(), y_range.clone())
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc(OVERVIEW_X)
        .y_desc("clock reading (s)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .draw()
        .map_err(failed)?;

    let strip = Rectangle::new(
        [(zoomed.start, y_range.start), (zoomed.end, y_range.end)],
        ZOOMED.filled(),
    );
    chart.draw_series([strip]).map_err(failed)?;
    for pause in pauses {
        let start = relative(pause.at, at);
        let end = relative(pause.at + pause.length, at);
        let band = Rectangle::new(
            [(start, y_range.start), (end, y_range.end)],
            pause.mark.colour().filled(),
        );
        chart.draw_series([band]).map_err(failed)?;
    }

    let grey = RGBColor(0x99, 0x99, 0x99);
    chart
        .draw_series(DashedLineSeries::new(ideal, 6, 5, grey.stroke_width(1)))
        .map_err(failed)?;
    chart
        .draw_series(LineSeries::new(points.clone(), BLACK.stroke_width(2)))
        .map_err(failed)?;

    // Each step of the clock, in the colour of a jump, with its size.
    let label = ("sans-serif", 14).into_font().color(&Mark::Jump.colour());
    for pair in points.windows(2) {
        let ((x, before), (x1, after)) = (pair[0], pair[1]);
        if x != x1 {
            continue;
        }
        let step = PathElement::new(
            vec![(x, before), (x, after)],
            Mark::Jump.colour().stroke_width(3),
        );
        chart.draw_series([step]).map_err(failed)?;
        // Up and to the left of a step forward, down and to the right of
        // one back: the two sides the clock line never runs through.
        let by = after - before;
        let (text, anchor, offset) = if by < 0.0 {
            let text = format!("clock jumps back {:.1} s", -by);
            (text, Pos::new(HPos::Left, VPos::Top), (6, 4))
        } else {
            let text = format!("clock jumps forward {by:.1} s");
            (text, Pos::new(HPos::Right, VPos::Bottom), (-6, -4))
        };
        let text =
            EmptyElement::at((x, after)) + Text::new(text, offset, label.clone().pos(anchor));
        chart.draw_series([text]).map_err(failed)?;
    }
    Ok(area_of(&chart))
}
/// A label to write beside a marker: the full text, and a shorter one
/// for when that does not fit.
struct Label {
    at: (f64, f64),
    row: usize,
    long: String,
    short: &'static str,
    mark: Mark,
}

/// An estimate of the width of `text` in the labels' font (14 px bold
/// sans-serif), on the wide side so that labels keep clear of each other.
fn label_width(text: &str) -> i32 {
    (text.chars().count() as f64 * 7.0).ceil() as i32
}

/// Writes each label beside its marker where it overlaps no other label
/// or marker of its row: right of the marker, else left of it, else the
/// short text on either side, else none (the legend still names the
/// mark).
fn place_labels(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    markers: &[(usize, i32)],
    labels: Vec<Label>,
) -> Result<(), String> {
    let (columns, _) = chart.plotting_area().get_pixel_range();
    let mut taken: Vec<(usize, Range<i32>)> = markers
        .iter()
        .map(|&(row, x)| (row, x - 10..x + 10))
        .collect();
    let gap = 14;
    for label in labels {
        let (x, _) = chart.backend_coord(&label.at);
        let candidates = [label.long.as_str(), label.short]
            .into_iter()
            .flat_map(|text| {
                let width = label_width(text);
                [
                    (text, true, x + gap..x + gap + width),
                    (text, false, x - gap - width..x - gap),
                ]
            });
        let free = |span: &Range<i32>| {
            columns.start <= span.start
                && span.end <= columns.end
                && !taken
                    .iter()
                    .any(|(row, t)| *row == label.row && t.start < span.end && span.start < t.end)
        };
        let Some((text, right, span)) = candidates.into_iter().find(|(_, _, span)| free(span))
        else {
            continue;
        };
        let (offset, side) = if right {
            (gap, HPos::Left)
        } else {
            (-gap, HPos::Right)
        };
        let font = ("sans-serif", 14)
            .into_font()
            .style(FontStyle::Bold)
            .color(&label.mark.colour())
            .pos(Pos::new(side, VPos::Center));
        let text = EmptyElement::at(label.at) + Text::new(text.to_owned(), (offset, 0), font);
        chart.plotting_area().draw(&text).map_err(failed)?;
        taken.push((label.row, span));
    }
    Ok(())
}

/// A lane as drawn: its plotting area and, in the zoom, the pixel column
/// of each of its steps' columns.
struct Drawn {
    area: Area,
    columns: Vec<i32>,
}

/// One decimal, for the plain-words labels.
fn tenths(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64())
}

/// What a reported discontinuity means, in plain words, and a shorter
/// text for when that does not fit. `real` is the real time that passed
/// since the machine's previous input.
fn discontinuity_words(seen: &Discontinuity, real: Duration) -> (String, &'static str) {
    let counted = |part: Duration| {
        if part < Duration::from_millis(50) {
            "counted none of it".to_owned()
        } else {
            format!("counted only {} s of it", tenths(part))
        }
    };
    match seen.kind {
        DiscontinuityKind::Late { by } => {
            let jumped = seen.observed.saturating_sub(real);
            if jumped >= Duration::from_millis(1) && seen.credited >= real {
                let long = format!(
                    "clock jumped {} s: the machine {}",
                    tenths(jumped),
                    counted(seen.credited - real)
                );
                (long, "clock jumped")
            } else {
                let long = format!(
                    "woke {} s late: of the {} s that passed, the machine counted {} s",
                    tenths(by),
                    tenths(seen.observed),
                    tenths(seen.credited)
                );
                (long, "woke late")
            }
        }
        DiscontinuityKind::Backward { by } => {
            let long = format!(
                "clock went back {} s: the machine counted {} s for this step",
                tenths(by),
                tenths(seen.credited)
            );
            (long, "clock went back")
        }
        DiscontinuityKind::Resume { .. } => {
            let long = format!(
                "host woke from sleep: of the {} s the clock moved, the machine counted {} s",
                tenths(seen.observed),
                tenths(seen.credited)
            );
            (long, "host woke")
        }
        DiscontinuityKind::Suspend { slept } => {
            let long = format!(
                "host slept {} s: the machine counted the sleep as idle time",
                tenths(slept)
            );
            (long, "host slept")
        }
    }
}

fn lane(
    area: &Panel<'_>,
    view: &View<'_>,
    kind: StrategyKind,
    trace: &Trace,
    caption: &str,
    x_desc: Option<&str>,
    zoomed: Option<&Range<f64>>,
) -> Result<Drawn, String> {
    let rows = ROWS.len() as f64;
    // Row 0 at the top.
    let y = |row: usize| rows - 1.0 - row as f64;
    let y_range = -0.6..(rows - 0.4);
    let span = view.range();
    let zoom = matches!(view, View::Zoom { .. });

    let mut chart = ChartBuilder::on(area)
        .caption(
            caption,
            ("sans-serif", 16).into_font().style(FontStyle::Bold),
        )
        .margin_left(12)
        .margin_right(24)
        .margin_top(4)
        .x_label_area_size(match (x_desc.is_some(), zoom) {
            (true, true) => 50,
            (true, false) => 44,
            (false, true) => 6,
            (false, false) => 22,
        })
        .y_label_area_size(96)
        .build_cartesian_2d(span.clone(), y_range.clone())
        .map_err(failed)?;
    // Only the rows' own ticks get a name.
    let row_name = |value: &f64| {
        let row = rows - 1.0 - value;
        let index = row.round();
        if (row - index).abs() < 1e-6 && (0.0..rows).contains(&index) {
            ROWS[index as usize].to_owned()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.disable_y_mesh()
        .y_labels(ROWS.len())
        .y_label_formatter(&row_name)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .bold_line_style(RGBColor(0xe2, 0xe2, 0xe2));
    if zoom {
        mesh.disable_x_mesh().x_labels(0);
    }
    if let Some(desc) = x_desc {
        mesh.x_desc(desc);
    }
    mesh.draw().map_err(failed)?;

    if let Some(zoomed) = zoomed {
        let strip = Rectangle::new(
            [(zoomed.start, y_range.start), (zoomed.end, y_range.end)],
            ZOOMED.filled(),
        );
        chart.draw_series([strip]).map_err(failed)?;
    }
    let columns: Vec<i32> = match view {
        View::Zoom { columns, .. } => (0..columns.times.len())
            .map(|c| chart.backend_coord(&(c as f64, 0.0)).0)
            .collect(),
        View::Overview { .. } => Vec::new(),
    };
    if let View::Zoom { columns, .. } = view {
        // A guide down each column, fainter within one instant.
        for (c, &time) in columns.times.iter().enumerate() {
            let x = c as f64;
            let same = c > 0 && columns.times[c - 1] == time;
            let colour = if same {
                RGBColor(0xf0, 0xf0, 0xf0)
            } else {
                RGBColor(0xd8, 0xd8, 0xd8)
            };
            let line = PathElement::new(vec![(x, y_range.start), (x, y_range.end)], colour);
            chart.draw_series([line]).map_err(failed)?;
        }
    }

    let marks = marks(trace);
    for pause in marks.iter().filter(|m| m.mark.shape() == Shape::Band) {
        let Some(start) = view.start(pause.step, pause.at, pause.length) else {
            continue;
        };
        let end = view.end(pause.at + pause.length).max(start + 0.2);
        let band = Rectangle::new(
            [(start, y_range.start), (end, y_range.end)],
            pause.mark.colour().filled(),
        );
        chart.draw_series([band]).map_err(failed)?;
    }
    let guide = RGBColor(0xdd, 0xdd, 0xdd);
    for row in 0..ROWS.len() {
        let line = PathElement::new(vec![(span.start, y(row)), (span.end, y(row))], guide);
        chart.draw_series([line]).map_err(failed)?;
    }

    if kind != StrategyKind::Machine && !zoom {
        let note = ("sans-serif", 13)
            .into_font()
            .color(&RGBColor(0x88, 0x88, 0x88));
        let text = "(this design does not look at the clock's behaviour)";
        for row in [3, 4] {
            let at =
                EmptyElement::at((span.start, y(row))) + Text::new(text, (8, -7), note.clone());
            chart.draw_series([at]).map_err(failed)?;
        }
    }

    let mut markers = Vec::new();
    for m in marks.iter().filter(|m| m.mark.shape() != Shape::Band) {
        let Some(x) = view.x(m.step, m.at) else {
            continue;
        };
        put(chart.plotting_area(), m.mark, (x, y(m.mark.row())))?;
        markers.push((m.mark.row(), chart.backend_coord(&(x, 0.0)).0));
    }

    // Say what each verdict and each reported discontinuity was, beside
    // its marker.
    let mut labels = Vec::new();
    let mut verdicts = 0;
    let mut previous_input = None;
    for (index, row) in trace.rows.iter().enumerate() {
        let Entry::Input(step) = row.entry else {
            continue;
        };
        let since = previous_input.map_or(Duration::ZERO, |before| row.real - before);
        previous_input = Some(row.real);
        let response = step.response;
        if response.dead.is_some() {
            verdicts += 1;
        }
        let Some(at) = view.x(index, row.real) else {
            continue;
        };
        if !view.labels(row.real) {
            continue;
        }
        if let Some(seen) = response.discontinuity {
            let (long, short) = discontinuity_words(&seen, since);
            let mark = Mark::Discontinuity;
            let row = mark.row();
            labels.push(Label {
                at: (at, y(row)),
                row,
                long,
                short,
                mark,
            });
        }
        if let Some(silence) = response.dead {
            let silence = tenths(silence);
            let (mark, long, short) = if step.peer_alive {
                let long =
                    format!("DEAD: {silence} s of silence on its clock, but the peer was alive");
                (Mark::FalseVerdict, long, "DEAD, peer alive")
            } else {
                let long = format!("dead after {silence} s of silence: the peer had died");
                (Mark::Verdict, long, "peer had died")
            };
            let row = mark.row();
            labels.push(Label {
                at: (at, y(row)),
                row,
                long,
                short,
                mark,
            });
        }
    }
    place_labels(&chart, &markers, labels)?;
    if verdicts == 0 {
        let text = "no verdict: the connection stays up";
        let font = ("sans-serif", 14)
            .into_font()
            .color(&RGBColor(0x2e, 0x7d, 0x32));
        let at = EmptyElement::at((span.start, y(6))) + Text::new(text, (8, -8), font);
        chart.draw_series([at]).map_err(failed)?;
    }
    Ok(Drawn {
        area: area_of(&chart),
        columns,
    })
}

/// The zoom's heading above its lanes, with how long passed between
/// each column and the next, and each column's time under the bottom
/// lane.
fn zoom_header(
    root: &Panel<'_>,
    header: &Panel<'_>,
    columns: &Columns,
    at: Duration,
    top: &Drawn,
    bottom: &Drawn,
) -> Result<(), String> {
    let (left, base) = header.get_base_pixel();
    let heading = ("sans-serif", 17).into_font().style(FontStyle::Bold);
    let text = "Zoom on the incident: one column per step, in the order they happened";
    root.draw(&Text::new(text, (left + 110, base + 18), heading))
        .map_err(failed)?;

    let grey = ("sans-serif", 13)
        .into_font()
        .color(&RGBColor(0x55, 0x55, 0x55))
        .pos(Pos::new(HPos::Center, VPos::Center));
    let gap_y = base + 68;
    let bold = ("sans-serif", 14)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    for (c, &x) in top.columns.iter().enumerate() {
        let text = columns.what[c].join(" / ");
        root.draw(&Text::new(text, (x, base + 50), bold.clone()))
            .map_err(failed)?;
    }
    for c in 1..columns.times.len() {
        let (Some(&x0), Some(&x1)) = (top.columns.get(c - 1), top.columns.get(c)) else {
            continue;
        };
        let (t0, t1) = (columns.times[c - 1], columns.times[c]);
        let text = if t0 == t1 {
            "same instant".to_owned()
        } else {
            format!("{:.3} s later", secs(t1) - secs(t0))
        };
        let arrow = format!("\u{2192} {text} \u{2192}");
        root.draw(&Text::new(arrow, ((x0 + x1) / 2, gap_y), grey.clone()))
            .map_err(failed)?;
    }

    let under = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (c, &x) in bottom.columns.iter().enumerate() {
        let text = from_incident(columns.times[c], at);
        root.draw(&Text::new(text, (x, bottom.area.y.end + 6), under.clone()))
            .map_err(failed)?;
    }
    Ok(())
}
