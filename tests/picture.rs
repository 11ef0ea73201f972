//! The incident picture (`cargo run --example simulate -- --svg FILE`,
//! drawn by `examples/simulate/picture.rs`): the SVG holds one marker per
//! traced event of each kind, its PNG rendering shows every lane's
//! markers, `docs/incident.svg` is what the code draws, and the command
//! line writes it or says why it cannot.
//!
//! The PNG is rendered without fonts on purpose: no check here reads text
//! pixels, so the result does not depend on the fonts a machine has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use keepalive::sim::{incident, Entry, Event, Incident, Jump, Note, Order, Pause, Scenario, Trace};
use keepalive::Config;
use resvg::{tiny_skia, usvg};

#[allow(dead_code)] // `write` is the command line's, tested through it.
#[path = "../examples/simulate/picture.rs"]
mod picture;

use picture::{Area, Mark, Picture};

fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

// ---- Scenarios that show every kind of mark -------------------------------

/// S0 itself: the picture in `docs/incident.svg`.
fn s0() -> Scenario {
    Scenario::s0()
}

/// S0 for 700 s with a host sleep, a step back, a step forward of 120 s
/// that two-timers drops the master on, a death and a stall.
fn pauses() -> Scenario {
    let mut scenario = Scenario::s0();
    scenario.duration = secs(700.0);
    scenario.seed = 1;
    scenario.clock.random = None;
    scenario.clock.jumps = vec![
        Jump::backward(secs(300.0), secs(8.0)),
        Jump::forward(secs(560.0), secs(120.0)),
    ];
    scenario.peer.latency_min = secs(23.0);
    scenario.peer.latency_max = secs(23.0);
    scenario.peer.slow_probability = 0.0;
    scenario.peer.mean_life = None;
    scenario.peer.deaths = vec![secs(585.0)];
    scenario.driver.order = Order::TimerFirst;
    scenario.driver.stalls = vec![Pause {
        at: secs(592.6),
        length: secs(37.4),
    }];
    scenario.driver.suspends = vec![Pause {
        at: secs(150.0),
        length: secs(60.0),
    }];
    scenario
}

/// A stall over the end of a reply window under a timer-first driver: the
/// late timer gets the machine's grace turn, and two-timers drops the
/// master on it.
fn grace() -> Scenario {
    let mut scenario = Scenario::s0();
    scenario.duration = secs(700.0);
    scenario.clock.random = None;
    scenario.peer.latency_min = secs(23.0);
    scenario.peer.latency_max = secs(23.0);
    scenario.peer.slow_probability = 0.0;
    scenario.peer.mean_life = None;
    scenario.driver.order = Order::TimerFirst;
    scenario.driver.stalls = vec![Pause {
        at: secs(592.6),
        length: secs(37.4),
    }];
    scenario
}

/// A passive machine that owes the peer a heartbeat every 20 s, a peer
/// that sends one every 25 s and dies at 150 s, and a jump of 40 s at
/// 130 s that two-timers drops the master on.
fn passive() -> Scenario {
    let mut scenario = Scenario::s0();
    scenario.duration = secs(864.0);
    scenario.machine = Config::builder()
        .idle(secs(25.0))
        .reply_window(secs(10.0))
        .send_every(secs(20.0))
        .passive()
        .build()
        .expect("a valid passive config");
    scenario.models.interval = secs(35.0);
    scenario.models.timeout = secs(10.0);
    scenario.peer.heartbeat_every = Some(secs(25.0));
    scenario.peer.mean_life = None;
    scenario.peer.deaths = vec![secs(150.0)];
    scenario.clock.random = None;
    scenario.clock.jumps = vec![Jump::forward(secs(130.0), secs(40.0))];
    scenario
}

fn scenarios() -> [(&'static str, Scenario); 4] {
    [
        ("s0", s0()),
        ("pauses", pauses()),
        ("grace", grace()),
        ("passive", passive()),
    ]
}

/// The incident the command line draws for `scenario`.
fn found(scenario: &Scenario) -> Incident {
    incident(scenario, picture::BEFORE, picture::AFTER)
        .expect("the scenario is valid")
        .expect("two-timers drops a healthy master in it")
}

fn drawn(name: &str, scenario: &Scenario) -> (Incident, Picture) {
    let found = found(scenario);
    let picture = picture::draw(&found, name).expect("the picture draws");
    (found, picture)
}

// ---- Counting from the traces ---------------------------------------------

/// How many times each mark occurs in `trace`, counted from its rows.
fn counted(trace: &Trace) -> HashMap<Mark, usize> {
    counted_where(trace, |_, _| true)
}

/// How many times each mark occurs in the rows of `trace` that the zoom
/// on `found`'s incident shows.
fn counted_in_zoom(found: &Incident, trace: &Trace) -> HashMap<Mark, usize> {
    counted_where(trace, |real, length| {
        picture::in_zoom(found.at, real, length)
    })
}

/// How many times each mark occurs in the rows of `trace` whose real
/// time (and length, for a pause) passes `shown`.
fn counted_where(
    trace: &Trace,
    shown: impl Fn(Duration, Duration) -> bool,
) -> HashMap<Mark, usize> {
    let mut counts = HashMap::new();
    let mut waiting_on_grace = false;
    for row in &trace.rows {
        let length = match row.entry {
            Entry::Note(Note::Stall(length) | Note::Suspend(length)) => length,
            _ => Duration::ZERO,
        };
        let shown = shown(row.real, length);
        let mut add = |mark| {
            if shown {
                *counts.entry(mark).or_insert(0) += 1;
            }
        };
        let step = match row.entry {
            Entry::Note(note) => {
                add(match note {
                    Note::Jump(_) => Mark::Jump,
                    Note::Stall(_) => Mark::Stall,
                    Note::Suspend(_) => Mark::Suspend,
                    Note::PeerDies => Mark::PeerDies,
                });
                continue;
            }
            Entry::Input(step) => step,
        };
        match step.event {
            Event::Connect => add(Mark::Connect),
            Event::Reply { .. } | Event::Heartbeat => add(Mark::Received),
            Event::Resume { .. } => add(Mark::Resume),
            Event::Timer => {}
        }
        let response = step.response;
        if response.probe.is_some() {
            add(Mark::Probe);
        }
        if response.heartbeat {
            add(Mark::HeartbeatSent);
        }
        if response.discontinuity.is_some() {
            add(Mark::Discontinuity);
        }
        // A grace turn is given where the machine starts waiting on it.
        let grace = step.wake.is_some_and(|wake| wake.why == "grace");
        if grace && !waiting_on_grace {
            add(Mark::Grace);
        }
        waiting_on_grace = grace;
        match (response.dead, step.peer_alive) {
            (Some(_), true) => add(Mark::FalseVerdict),
            (Some(_), false) => add(Mark::Verdict),
            (None, _) => {}
        }
    }
    counts
}

/// The markers the picture must hold: one per occurrence in each lane, one
/// more per occurrence in the zoom, a band per pause in the clock panel
/// too, and one in the legend for each kind that occurs (none for the
/// others).
fn expected(found: &Incident) -> HashMap<Mark, usize> {
    let mut expected: HashMap<Mark, usize> = Mark::ALL.iter().map(|&m| (m, 0)).collect();
    for (_, trace) in &found.traces {
        for (mark, count) in counted(trace) {
            *expected.entry(mark).or_default() += count;
        }
        for (mark, count) in counted_in_zoom(found, trace) {
            *expected.entry(mark).or_default() += count;
        }
    }
    for count in expected.values_mut() {
        if *count > 0 {
            *count += 1;
        }
    }
    let (_, first) = &found.traces[0];
    for (mark, count) in counted(first) {
        if matches!(mark, Mark::Stall | Mark::Suspend) {
            *expected.entry(mark).or_default() += count;
        }
    }
    expected
}

/// The filled shapes in `svg`, by the mark whose colour they have.
fn markers_in(svg: &str) -> HashMap<Mark, usize> {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("the SVG parses");
    let mut found = HashMap::new();
    count_fills(tree.root(), &mut found);
    found
}

fn count_fills(group: &usvg::Group, found: &mut HashMap<Mark, usize>) {
    for node in group.children() {
        match node {
            usvg::Node::Group(group) => count_fills(group, found),
            usvg::Node::Path(path) => {
                let Some(usvg::Paint::Color(c)) = path.fill().map(|fill| fill.paint()) else {
                    continue;
                };
                let mark = Mark::ALL.into_iter().find(|mark| {
                    let m = mark.colour();
                    (m.0, m.1, m.2) == (c.red, c.green, c.blue)
                });
                if let Some(mark) = mark {
                    *found.entry(mark).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_picture_holds_one_marker_per_traced_event_of_each_kind() {
    for (name, scenario) in scenarios() {
        let (found, picture) = drawn(name, &scenario);

        let markers = markers_in(&picture.svg);

        for mark in Mark::ALL {
            let want = expected(&found)[&mark];
            let got = markers.get(&mark).copied().unwrap_or(0);
            assert_eq!(got, want, "{name}: markers for {mark:?}");
        }
    }
}

#[test]
fn the_legend_leaves_out_kinds_the_picture_does_not_hold() {
    let (found, picture) = drawn("s0", &s0());

    let markers = markers_in(&picture.svg);

    // S0's incident has no heartbeats, sleeps, stalls, grace turns or
    // deaths: not even a legend entry for them.
    let absent: Vec<Mark> = Mark::ALL
        .into_iter()
        .filter(|mark| {
            found
                .traces
                .iter()
                .all(|(_, t)| !counted(t).contains_key(mark))
        })
        .collect();
    assert!(absent.contains(&Mark::Grace) && absent.contains(&Mark::HeartbeatSent));
    for mark in absent {
        assert_eq!(markers.get(&mark), None, "{mark:?} is drawn");
    }
}

#[test]
fn the_scenarios_here_between_them_show_every_kind_of_mark() {
    let mut seen = HashMap::new();
    for (_, scenario) in scenarios() {
        for (_, trace) in &found(&scenario).traces {
            seen.extend(counted(trace));
        }
    }

    let missing: Vec<Mark> = Mark::ALL
        .into_iter()
        .filter(|mark| !seen.contains_key(mark))
        .collect();
    assert!(missing.is_empty(), "no scenario shows {missing:?}");
}

#[test]
fn a_verdict_on_a_healthy_peer_is_drawn_apart_from_one_on_a_dead_peer() {
    let (found, picture) = drawn("passive", &passive());

    let markers = markers_in(&picture.svg);

    // Two-timers dropped the live master; the machine later dropped the
    // dead one.
    let counts: Vec<_> = found.traces.iter().map(|(_, t)| counted(t)).collect();
    assert_eq!(counts[0].get(&Mark::FalseVerdict), Some(&1));
    assert_eq!(counts[2].get(&Mark::Verdict), Some(&1));
    assert_ne!(Mark::FalseVerdict.colour(), Mark::Verdict.colour());
    assert!(markers[&Mark::FalseVerdict] >= 2 && markers[&Mark::Verdict] >= 2);
}

// ---- The rendered PNG -------------------------------------------------------

/// Renders `svg` without fonts, writes the PNG beside the test's other
/// scratch files and reads it back.
fn png(name: &str, svg: &str) -> (tiny_skia::Pixmap, PathBuf) {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("a size");
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let bytes = pixmap.encode_png().expect("the pixmap encodes");

    // The SVG beside it, to look at with fonts.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join(format!("incident-{name}.svg")), svg)
        .expect("the scratch directory is writable");
    let path = dir.join(format!("incident-{name}.png"));
    std::fs::write(&path, &bytes).expect("the scratch directory is writable");
    let read = tiny_skia::Pixmap::decode_png(&bytes).expect("the PNG decodes");
    (read, path)
}

/// The pixels of `area` in `pixmap`, as (red, green, blue).
fn pixels(pixmap: &tiny_skia::Pixmap, area: &Area) -> Vec<(u8, u8, u8)> {
    let mut out = Vec::new();
    for y in area.y.clone() {
        for x in area.x.clone() {
            let pixel = pixmap
                .pixel(x as u32, y as u32)
                .expect("inside the picture");
            let pixel = pixel.demultiply();
            out.push((pixel.red(), pixel.green(), pixel.blue()));
        }
    }
    out
}

#[test]
fn every_lane_of_the_rendered_png_shows_the_markers_of_its_trace() {
    for (name, scenario) in scenarios() {
        let (found, picture) = drawn(name, &scenario);

        let (pixmap, path) = png(name, &picture.svg);

        let size = (pixmap.width(), pixmap.height());
        assert_eq!(size, picture::SIZE, "{}", path.display());
        assert_eq!(picture.lanes.len(), 3);
        for ((kind, area), (traced, trace)) in picture.lanes.iter().zip(&found.traces) {
            assert_eq!(kind, traced);
            let lane = pixels(&pixmap, area);
            let inked = lane.iter().filter(|&&p| p != (255, 255, 255)).count();
            assert!(
                inked * 100 > lane.len(),
                "{name}: the {} lane of {} is nearly blank",
                kind.name(),
                path.display()
            );
            for mark in counted(trace).into_keys() {
                let c = mark.colour();
                assert!(
                    lane.contains(&(c.0, c.1, c.2)),
                    "{name}: no {mark:?} drawn in the {} lane of {}",
                    kind.name(),
                    path.display()
                );
            }
        }

        assert_eq!(picture.zoom.len(), 3);
        for ((kind, area), (traced, trace)) in picture.zoom.iter().zip(&found.traces) {
            assert_eq!(kind, traced);
            let lane = pixels(&pixmap, area);
            for mark in counted_in_zoom(&found, trace).into_keys() {
                let c = mark.colour();
                assert!(
                    lane.contains(&(c.0, c.1, c.2)),
                    "{name}: no {mark:?} drawn in the {} zoom lane of {}",
                    kind.name(),
                    path.display()
                );
            }
        }

        let clock = pixels(&pixmap, &picture.clock);
        let line = clock.iter().filter(|&&p| p == (0, 0, 0)).count();
        assert!(line > 500, "{name}: no clock line in {}", path.display());
    }
}

#[test]
fn the_clock_panel_steps_where_the_clock_jumps() {
    let (found, picture) = drawn("s0", &s0());
    let (pixmap, path) = png("s0-clock", &picture.svg);

    let (_, trace) = &found.traces[0];
    let jumps = trace
        .rows
        .iter()
        .filter(|row| matches!(row.entry, Entry::Note(Note::Jump(_))))
        .count();
    assert!(jumps > 0);
    // The step of 84 s is a vertical stretch of the jump's colour, some
    // twenty pixels tall at this scale.
    let step = Mark::Jump.colour();
    let area = &picture.clock;
    let rows = area
        .y
        .clone()
        .filter(|&y| {
            area.x.clone().any(|x| {
                let p = pixmap
                    .pixel(x as u32, y as u32)
                    .expect("inside")
                    .demultiply();
                (p.red(), p.green(), p.blue()) == (step.0, step.1, step.2)
            })
        })
        .count();
    assert!(
        rows >= 15,
        "{rows} rows: no step in the clock line of {}",
        path.display()
    );
}

/// The middle column of the pixels of `mark`'s colour in `area`, if any.
fn column_of(pixmap: &tiny_skia::Pixmap, area: &Area, mark: Mark) -> Option<i32> {
    let c = mark.colour();
    let columns: Vec<i32> = area
        .x
        .clone()
        .filter(|&x| {
            area.y.clone().any(|y| {
                let p = pixmap
                    .pixel(x as u32, y as u32)
                    .expect("inside")
                    .demultiply();
                (p.red(), p.green(), p.blue()) == (c.0, c.1, c.2)
            })
        })
        .collect();
    Some((columns.first()? + columns.last()?) / 2)
}

#[test]
fn the_zoom_spreads_the_incident_out_in_the_order_it_happened() {
    let (found, picture) = drawn("s0", &s0());
    let (pixmap, path) = png("s0-zoom", &picture.svg);

    // Every step of the zoom is within seconds of the incident.
    for (_, trace) in &found.traces {
        let shown = counted_in_zoom(&found, trace);
        assert!(shown.contains_key(&Mark::Jump) && shown.contains_key(&Mark::Probe));
        assert!(!shown.is_empty() && shown.values().sum::<usize>() < counted(trace).values().sum());
    }
    let at = |lane: usize, mark| {
        let (kind, area) = &picture.zoom[lane];
        column_of(&pixmap, area, mark).unwrap_or_else(|| {
            panic!(
                "no {mark:?} in the {} zoom lane of {}",
                kind.name(),
                path.display()
            )
        })
    };
    // Two-timers: the jump, then in the same instant the probe and the
    // verdict together, then the new connection.
    assert!(
        at(0, Mark::Jump) + 50 < at(0, Mark::Probe),
        "{}",
        path.display()
    );
    assert!((at(0, Mark::Probe) - at(0, Mark::FalseVerdict)).abs() <= 2);
    assert!(at(0, Mark::FalseVerdict) + 50 < at(0, Mark::Connect));
    // The machine: the jump, then the probe beside the discontinuity it
    // reports, then the reply, which check-at-send gets at the same time.
    assert!(at(2, Mark::Jump) + 50 < at(2, Mark::Probe));
    assert!((at(2, Mark::Probe) - at(2, Mark::Discontinuity)).abs() <= 2);
    assert!(at(2, Mark::Probe) + 50 < at(2, Mark::Received));
    assert_eq!(at(1, Mark::Received), at(2, Mark::Received));
    // The reply comes after the verdict it would have prevented.
    assert!(at(0, Mark::FalseVerdict) + 50 < at(1, Mark::Received));
}

// ---- The committed picture ------------------------------------------------

#[test]
fn the_committed_picture_is_what_the_code_draws() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/incident.svg");
    let committed = std::fs::read_to_string(committed).expect("docs/incident.svg exists");

    let scenario = s0();
    let (_, picture) = drawn(&picture::name(None, scenario.seed), &scenario);

    assert!(
        committed == picture.svg,
        "docs/incident.svg is out of date: regenerate it with \
         `cargo run --example simulate -- --svg docs/incident.svg`"
    );
}

// ---- The command line -------------------------------------------------------

/// Runs the example with `args`.
fn simulate(args: &[&str]) -> Output {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "simulate", "--manifest-path"])
        .arg(manifest)
        .arg("--")
        .args(args)
        .output()
        .expect("cargo runs")
}

fn scratch(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn svg_with_a_seed_and_a_scenario_file_draws_that_runs_incident() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios/s0.toml");
    let file = file.to_str().expect("a UTF-8 path");
    let path = scratch("seed-7.svg");
    let out = path.to_str().expect("a UTF-8 path");

    let run = simulate(&["--scenario", file, "--seed", "7", "--svg", out]);

    assert!(run.status.success(), "{}", text(&run.stderr));
    let mut scenario = s0();
    scenario.seed = 7;
    let found = found(&scenario);
    let name = picture::name(Some(Path::new(file)), 7);
    let want = picture::draw(&found, &name).expect("the picture draws").svg;
    let written = std::fs::read_to_string(&path).expect("the picture was written");
    assert!(
        written == want,
        "--svg drew something else than seed 7's incident"
    );
    let at = format!("{}.{:03} s", found.at.as_secs(), found.at.subsec_millis());
    assert!(text(&run.stdout).contains(&at), "{}", text(&run.stdout));
}

#[test]
fn svg_beside_trace_prints_the_same_timelines_as_trace_alone() {
    let path = scratch("beside-trace.svg");
    let out = path.to_str().expect("a UTF-8 path");

    let both = simulate(&["--trace", "--svg", out]);
    let alone = simulate(&["--trace"]);

    assert!(both.status.success(), "{}", text(&both.stderr));
    assert_eq!(text(&both.stdout), text(&alone.stdout));
    assert!(path.exists());
}

#[test]
fn a_path_that_cannot_be_written_is_an_error_that_names_it() {
    let dir = scratch("no-such-directory");
    let path = dir.join("incident.svg");
    let out = path.to_str().expect("a UTF-8 path");

    let run = simulate(&["--svg", out]);

    // 1 is the example's error exit; a panic would be 101.
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot write the picture to {out}: ")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_run_without_an_incident_is_an_error_for_svg_and_writes_nothing() {
    let path = scratch("no-incident.svg");
    let out = path.to_str().expect("a UTF-8 path");

    // S0's first healthy drop comes on day 2.
    let run = simulate(&["--days", "1", "--svg", out]);

    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("no incident to draw"), "{stderr}");
    assert!(
        stderr.contains("try another --seed or more --days"),
        "{stderr}"
    );
    assert!(!path.exists());
}

#[test]
fn help_documents_svg() {
    let run = simulate(&["--help"]);

    let help = text(&run.stdout);
    assert!(help.contains("--svg <FILE>"), "{help}");
    assert!(help.contains("SVG file"), "{help}");
}
