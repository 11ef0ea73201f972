//! What runs produce: each strategy's results, the three built-in
//! strategies side by side in a table, and the timelines of one incident.

use std::fmt;
use std::time::Duration;

use super::run::{run, Outcome, RunOptions};
use super::scenario::{Bound, Scenario, SimError};
use super::strategy::StrategyKind;
use super::trace::{seconds, Trace};

/// The detection of one dead peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Real time of the death.
    pub died: Duration,
    /// Real time from the death to the verdict; `None` when the run ended
    /// more than `bound` after the death without one.
    pub took: Option<Duration>,
    /// The bound that applied to this detection (see
    /// [`Scenario::bound`]).
    pub bound: Duration,
}

impl Detection {
    /// True when the verdict came within the bound.
    pub fn within_bound(&self) -> bool {
        self.took.is_some_and(|took| took <= self.bound)
    }
}

/// Smallest, median and largest of some durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// The smallest.
    pub min: Duration,
    /// The median (the lower one of an even count).
    pub median: Duration,
    /// The largest.
    pub max: Duration,
}

/// What one strategy did over one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The strategy's name.
    pub strategy: &'static str,
    /// Inputs handed to it.
    pub inputs: u64,
    /// Probes (keepalives) it sent.
    pub probes: u64,
    /// Clock discontinuities it reported (only the machine looks).
    pub discontinuities: u64,
    /// Real times of verdicts against a live peer.
    pub healthy_drops: Vec<Duration>,
    /// Every death of a peer while connected, in order, except a
    /// [`pending`](Stats::pending) one.
    pub deaths: Vec<Detection>,
    /// Real time of a death the run ended on before its bound passed,
    /// without a verdict: neither noticed nor missed.
    pub pending: Option<Duration>,
}

impl Stats {
    /// Deaths followed by a verdict.
    pub fn noticed(&self) -> usize {
        self.deaths.iter().filter(|d| d.took.is_some()).count()
    }

    /// The spread of the times from death to verdict, if any.
    pub fn detection_times(&self) -> Option<Spread> {
        let mut took: Vec<Duration> = self.deaths.iter().filter_map(|d| d.took).collect();
        took.sort();
        Some(Spread {
            min: *took.first()?,
            median: took[(took.len() - 1) / 2],
            max: *took.last()?,
        })
    }

    /// True when every death in [`deaths`](Stats::deaths) was noticed
    /// within its bound (a [`pending`](Stats::pending) one is not judged).
    pub fn all_within_bound(&self) -> bool {
        self.deaths.iter().all(Detection::within_bound)
    }
}

/// The results of the three built-in strategies on one scenario.
///
/// `Display` renders them as a table, with the bound that applies to the
/// crate's detections; [`Comparison::LEGEND`] explains its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The bound (see [`Scenario::bound`]).
    pub bound: Bound,
    /// One entry per strategy, in the order of [`StrategyKind::ALL`].
    pub stats: Vec<Stats>,
}

/// Runs the three built-in strategies through `scenario`.
pub fn compare(scenario: &Scenario) -> Result<Comparison, SimError> {
    let stats = StrategyKind::ALL
        .into_iter()
        .map(|kind| Ok(run_kind(scenario, kind, &RunOptions::default())?.stats))
        .collect::<Result<_, SimError>>()?;
    Ok(Comparison {
        bound: scenario.bound(),
        stats,
    })
}

fn run_kind(
    scenario: &Scenario,
    kind: StrategyKind,
    options: &RunOptions,
) -> Result<Outcome, SimError> {
    run(scenario, kind.build(scenario).as_mut(), options)
}

impl Comparison {
    /// What the columns "within bound" and "discontinuities reported"
    /// mean, one line each, in the layout of the strategies' summaries.
    pub const LEGEND: &'static str = "\
within bound   yes when every dead peer got its verdict within the bound above: the crate's
               documented detection bound, against which every strategy is judged alike;
               pending when the run ended on a death with neither verdict nor bound passed
discontinuities reported
               clock discontinuities (jumps, stalls, late wake-ups) the strategy reported;
               only this crate's machine looks, and it credits a forward jump smaller than
               the pending wait silently, so this is far below the number of jumps";
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<_> = self.stats.iter().map(Cells::new).collect();
        let width = cells.iter().map(|c| c.deaths.len()).fold(7, usize::max);
        let header = [
            (
                ["strategy", "healthy", "deaths", "probes"],
                "death to verdict (s)",
            ),
            (["", "drops", "noticed", ""], "min / median / max"),
        ];
        let ends = [["within", "discontinuities"], ["bound", "reported"]];
        for ((start, times), end) in header.into_iter().zip(ends) {
            row(f, start, width, times, end)?;
        }
        for c in &cells {
            let start = [c.strategy, &c.drops, &c.deaths, &c.probes];
            row(f, start, width, &c.times, [c.within, &c.discontinuities])?;
        }

        let bound = &self.bound;
        let [base, per_jump, per_wakeup] =
            [bound.base, bound.per_jump, bound.per_wakeup].map(seconds);
        write!(
            f,
            "bound: {base} s after the death, plus {per_jump} s per clock \
             jump near it"
        )?;
        if !bound.per_wakeup.is_zero() {
            write!(f, " and {per_wakeup} s per wake-up")?;
        }
        writeln!(f)
    }
}

/// One strategy's cells of the comparison table.
struct Cells {
    strategy: &'static str,
    drops: String,
    deaths: String,
    probes: String,
    times: String,
    within: &'static str,
    discontinuities: String,
}

impl Cells {
    fn new(stats: &Stats) -> Self {
        let times = stats.detection_times().map_or("-".to_owned(), |t| {
            let [min, median, max] = [t.min, t.median, t.max].map(seconds);
            format!("{min} / {median} / {max}")
        });
        let pending = usize::from(stats.pending.is_some());
        let total = stats.deaths.len() + pending;
        let mut deaths = format!("{}/{total}", stats.noticed());
        if pending > 0 {
            deaths += &format!(" ({pending} pending)");
        }
        let within = if !stats.all_within_bound() {
            "NO"
        } else if pending > 0 {
            "pending"
        } else if total == 0 {
            "-"
        } else {
            "yes"
        };
        Cells {
            strategy: stats.strategy,
            drops: stats.healthy_drops.len().to_string(),
            deaths,
            probes: stats.probes.to_string(),
            times,
            within,
            discontinuities: stats.discontinuities.to_string(),
        }
    }
}

/// One line of the comparison table, with the deaths column `width`
/// wide.
fn row(
    f: &mut fmt::Formatter<'_>,
    [name, drops, deaths, probes]: [&str; 4],
    width: usize,
    times: &str,
    [within, discontinuities]: [&str; 2],
) -> fmt::Result {
    writeln!(
        f,
        "{name:<14} {drops:>8} {deaths:>width$} {probes:>9}  {times:<27} \
         {within:>7}  {discontinuities:>15}"
    )
}

/// The first time two-timers dropped a live peer, and every strategy's
/// timeline around it.
///
/// `Display` renders a title, a legend and the three timelines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// Real time of two-timers' verdict.
    pub at: Duration,
    /// Each strategy's trace from `before` the incident to `after` it, in
    /// the order of [`StrategyKind::ALL`].
    pub traces: Vec<(StrategyKind, Trace)>,
}

/// Finds the first healthy-peer drop by two-timers in `scenario` and
/// traces all three strategies from `before` it to `after` it. `None`
/// when two-timers never dropped a live peer.
///
/// All three start together and see the same clock and latencies, so up
/// to the first drop they probe at the same moments and the traces line
/// up.
pub fn incident(
    scenario: &Scenario,
    before: Duration,
    after: Duration,
) -> Result<Option<Incident>, SimError> {
    let two_timers = StrategyKind::TwoTimers;
    let outcome = run_kind(scenario, two_timers, &RunOptions::default())?;
    let Some(&at) = outcome.stats.healthy_drops.first() else {
        return Ok(None);
    };

    let end = at.saturating_add(after);
    let short = Scenario {
        duration: end.min(scenario.duration),
        ..scenario.clone()
    };
    let options = RunOptions {
        trace: Some(at.saturating_sub(before)..end),
        max_steps: None,
    };
    let traces = StrategyKind::ALL
        .into_iter()
        .map(|kind| Ok((kind, run_kind(&short, kind, &options)?.trace)))
        .collect::<Result<_, SimError>>()?;
    Ok(Some(Incident { at, traces }))
}

impl fmt::Display for Incident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "two-timers dropped a healthy master at real time {} s (day {:.1})",
            seconds(self.at),
            self.at.as_secs_f64() / 86_400.0
        )?;
        writeln!(f, "{}", Trace::LEGEND)?;
        for (kind, trace) in &self.traces {
            write!(f, "\n== {}: {}\n{trace}", kind.name(), kind.summary())?;
        }
        Ok(())
    }
}
