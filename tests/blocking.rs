//! The blocking example's driver (`examples/blocking/`) over real
//! loopback sockets: against the example's own server for the healthy and
//! the frozen session, and against scripted peers for input that waits
//! behind a due wake-up, split lines and traffic that is not a reply.
//!
//! The configs are short (a detection takes about a second) and leave
//! room for a loaded machine: windows far longer than a loopback round
//! trip, and an allowance, explained where it is used, on the one
//! assertion about real elapsed time.

#[path = "../examples/blocking/driver.rs"]
mod driver;
#[allow(dead_code)] // `serve` is for the example's command line only
#[path = "../examples/blocking/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use keepalive::{Config, ProbeReason};

use driver::{Error, Event, Lines, Outcome, Session};
use server::{Server, GREETING};

/// Probes after 200 ms of silence, 500 ms per window, dead after two.
/// The tolerance is raised from the derived 25 ms to 50 ms so that an
/// ordinary scheduling delay on a busy machine is not a discontinuity.
fn config() -> Config {
    Config::builder()
        .idle(Duration::from_millis(200))
        .reply_window(Duration::from_millis(500))
        .max_misses(2)
        .tolerance(Duration::from_millis(50))
        .build()
        .expect("a config that can work")
}

/// One window of 1 s after 100 ms of silence, for the peers that never
/// reply: a driver that did not count their lines as traffic would see
/// the peer dead 1.1 s in, while the peers talk for 1.5 s.
fn one_miss_config() -> Config {
    Config::builder()
        .idle(Duration::from_millis(100))
        .reply_window(Duration::from_secs(1))
        .max_misses(1)
        .tolerance(Duration::from_millis(50))
        .build()
        .expect("a config that can work")
}

/// Runs a session to its end and returns how it ended and what happened.
fn run(stream: TcpStream, config: Config) -> (Result<Outcome, Error>, Vec<(Instant, Event)>) {
    let mut events = Vec::new();
    let outcome = Session::new(stream, config)
        .and_then(|session| session.run(|at, event| events.push((at, event.clone()))));
    (outcome, events)
}

/// What went over the connection: the events other than wake-ups and
/// discontinuities. On a loaded machine a thread may wait for a core
/// longer than the tolerance, which the machine rightly reports as a
/// discontinuity; that is not what these tests are about.
fn traffic(events: &[(Instant, Event)]) -> Vec<Event> {
    events
        .iter()
        .map(|(_, event)| event.clone())
        .filter(|event| !matches!(event, Event::Timer | Event::Discontinuity(_)))
        .collect()
}

fn probes(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|event| matches!(event, Event::Probe { .. }))
        .count()
}

/// A peer scripted by the test: `script` gets the accepted stream. When
/// it returns, the peer stops sending (a FIN, not a reset) and reads
/// until the client closes, so the client sees an orderly close.
fn scripted_peer(script: impl FnOnce(&mut TcpStream) + Send + 'static) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the client connects");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        script(&mut stream);
        let _ = stream.shutdown(Shutdown::Write);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    TcpStream::connect(addr).expect("connecting to the peer")
}

/// Reads until a `PING` line comes and returns its number.
fn next_ping(stream: &mut TcpStream, lines: &mut Lines) -> u64 {
    let mut chunk = [0u8; 256];
    loop {
        while let Some(line) = lines.next_line().expect("short lines") {
            if let Some(seq) = line.strip_prefix("PING ") {
                return seq.parse().expect("a probe number");
            }
        }
        let n = stream.read(&mut chunk).expect("reading a probe");
        assert_ne!(n, 0, "the client closed before probing");
        lines.push(&chunk[..n]);
    }
}

// ---- Against the example's server -------------------------------------

#[test]
fn a_healthy_session_has_every_probe_answered_and_no_verdict() {
    let server = Server::start("127.0.0.1:0").expect("a loopback port");
    let stream = TcpStream::connect(server.addr()).expect("connecting");

    let (outcome, events) = thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(1200));
            server.hang_up();
        });
        run(stream, config())
    });

    assert_eq!(outcome.expect("no socket error"), Outcome::Closed);
    let events = traffic(&events);
    assert_eq!(
        events[0],
        Event::Inbound {
            line: GREETING.into()
        }
    );
    // 1.2 s at one probe per 200 ms of silence: about five.
    assert!(probes(&events) >= 3, "too few probes: {events:?}");
    for pair in events[1..].chunks(2) {
        match pair {
            [Event::Probe { seq, .. }, Event::Reply { seq: answered }] => {
                assert_eq!(seq, answered, "{events:?}")
            }
            // The server hung up after this probe went out.
            [Event::Probe { .. }] => {}
            _ => panic!("a probe without its reply: {events:?}"),
        }
    }
}

#[test]
fn a_frozen_server_is_declared_dead_within_the_bound() {
    let config = config();
    let server = Server::start("127.0.0.1:0").expect("a loopback port");
    let stream = TcpStream::connect(server.addr()).expect("connecting");

    let (outcome, frozen_at) = thread::scope(|scope| {
        let freezer = scope.spawn(|| {
            thread::sleep(Duration::from_millis(500));
            server.freeze()
        });
        let (outcome, _) = run(stream, config);
        (outcome, freezer.join().expect("the freezer does not panic"))
    });

    let Outcome::Dead {
        evidence,
        at,
        last_inbound,
    } = outcome.expect("no socket error")
    else {
        panic!("no verdict");
    };
    let last_inbound = last_inbound.expect("the server answered before it froze");
    assert!(at > frozen_at, "declared dead before the freeze");

    // The idle probe and one retry, both unanswered.
    assert_eq!(evidence.probes_sent, 2, "{evidence:?}");
    assert_eq!(evidence.windows_missed, 2, "{evidence:?}");
    // The first window waited its whole length; the retry's window is
    // anchored to the first one's end, so it can be a little shorter.
    assert!(
        evidence.longest_window >= config.reply_window(),
        "{evidence:?}"
    );

    // In credited time the verdict comes between `idle + N × W` and that
    // plus 2E (docs/guarantees.md, "Liveness"), plus one more E when a
    // wake-up more than E late earns the last window its grace turn.
    let detection = config.detection_time();
    let tolerance = config.tolerance();
    assert!(evidence.silence >= detection, "{evidence:?}");
    assert!(
        evidence.silence <= detection + 3 * tolerance,
        "{evidence:?}"
    );

    // In real time the machine credits at most the time that passed, so
    // the verdict cannot come early. It can come late by the part of a
    // wake-up's lateness beyond E, which the machine does not credit: a
    // thread that waits for a core on a loaded two-core machine. 300 ms
    // covers several such delays over the dozen wake-ups of a detection.
    let allowance = Duration::from_millis(300);
    let elapsed = at - last_inbound;
    println!(
        "last traffic -> verdict: {elapsed:?}; bound {:?}",
        detection + 2 * tolerance
    );
    assert!(elapsed >= detection, "too early: {elapsed:?}");
    assert!(
        elapsed <= detection + 2 * tolerance + allowance,
        "too late: {elapsed:?}"
    );
}

// ---- Against scripted peers -------------------------------------------

#[test]
fn a_reply_waiting_behind_a_due_wake_up_goes_in_first() {
    // The driver's thread stalls right after sending the probe, as in a
    // long pause, until the peer has answered and 500 ms more (time for
    // the reader thread to take the reply in). When the thread runs again
    // its wake-up is long due, and the reply must reach the machine
    // before the timer does.
    let (answered, sent) = mpsc::channel();
    let stream = scripted_peer(move |peer| {
        let seq = next_ping(peer, &mut Lines::default());
        writeln!(peer, "PONG {seq}").expect("the reply");
        let _ = answered.send(());
    });
    let mut events = Vec::new();

    let outcome = Session::new(stream, config()).and_then(|session| {
        session.run(|_, event| {
            events.push(event.clone());
            if matches!(event, Event::Probe { .. }) {
                let _ = sent.recv_timeout(Duration::from_secs(5));
                thread::sleep(Duration::from_millis(500));
            }
        })
    });

    assert_eq!(outcome.expect("no socket error"), Outcome::Closed);
    let after_probe: Vec<&Event> = events
        .iter()
        .skip_while(|event| !matches!(event, Event::Probe { .. }))
        .skip(1)
        .collect();
    let until_reply: Vec<&Event> = after_probe
        .iter()
        .copied()
        .take_while(|event| !matches!(event, Event::Reply { .. }))
        .collect();
    assert!(
        until_reply.len() < after_probe.len(),
        "no reply: {events:?}"
    );
    assert!(
        !until_reply.contains(&&Event::Timer),
        "the timer went in before the reply: {events:?}"
    );
    // The stall itself is seen, on the first input after it.
    assert!(
        after_probe
            .iter()
            .any(|event| matches!(event, Event::Discontinuity(_))),
        "{events:?}"
    );
}

#[test]
fn a_reply_split_across_wake_ups_is_reassembled() {
    // Half of the reply, then nothing for 400 ms: with a window open the
    // machine wakes every 75 ms, so the wait times out between halves.
    let stream = scripted_peer(|peer| {
        let seq = next_ping(peer, &mut Lines::default());
        peer.write_all(b"PO").expect("first half");
        thread::sleep(Duration::from_millis(400));
        peer.write_all(format!("NG {seq}\n").as_bytes())
            .expect("second half");
    });
    let config = Config::builder()
        .idle(Duration::from_millis(100))
        .reply_window(Duration::from_millis(1500))
        .max_misses(1)
        .tolerance(Duration::from_millis(50))
        .max_step(Duration::from_millis(75))
        .build()
        .expect("a config that can work");

    let (outcome, events) = run(stream, config);

    assert_eq!(outcome.expect("no socket error"), Outcome::Closed);
    let split = events
        .iter()
        .skip_while(|(_, event)| !matches!(event, Event::Probe { .. }))
        .take_while(|(_, event)| !matches!(event, Event::Reply { .. }))
        .filter(|(_, event)| *event == Event::Timer)
        .count();
    assert!(split >= 2, "no wake-up between the halves: {events:?}");
    let traffic = traffic(&events);
    assert_eq!(
        traffic[..2],
        [
            Event::Probe {
                seq: 0,
                reason: ProbeReason::Idle
            },
            Event::Reply { seq: 0 },
        ],
        "{traffic:?}"
    );
    assert!(
        !traffic
            .iter()
            .any(|event| matches!(event, Event::Inbound { .. })),
        "a fragment was taken for a line: {traffic:?}"
    );
}

#[test]
fn lines_that_are_not_replies_count_as_inbound_traffic_only() {
    // Never a reply, one line every 100 ms for 1.5 s.
    let garbage: [&[u8]; 15] = [
        b"hello\n",
        b"PONG\n",
        b"PONG x\r\n",
        b"PING 0\n",
        b"\n",
        b"\xff\xfe\n",
        b"pong 0\n",
        b"PONG 0 extra\n",
        b"PONG -1\n",
        b"PONG 99999999999999999999\n",
        b" PONG 0\n",
        b"PONG  0\n",
        b"PONG 4000\n",
        b"PING\n",
        b"\t\n",
    ];
    let stream = scripted_peer(move |peer| {
        for line in garbage {
            peer.write_all(line).expect("a garbage line");
            thread::sleep(Duration::from_millis(100));
        }
    });

    let (outcome, events) = run(stream, one_miss_config());

    assert_eq!(outcome.expect("no socket error"), Outcome::Closed);
    let events = traffic(&events);
    let inbound: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            Event::Inbound { line } => Some(line.as_str()),
            Event::Reply { .. } => panic!("garbage taken for a reply: {events:?}"),
            _ => None,
        })
        .collect();
    assert_eq!(
        inbound,
        [
            "hello",
            "PONG",
            "PONG x",
            "PING 0",
            "",
            "\u{fffd}\u{fffd}",
            "pong 0",
            "PONG 0 extra",
            "PONG -1",
            "PONG 99999999999999999999",
            " PONG 0",
            "PONG  0",
            "PONG 4000",
            "PING",
            "\t",
        ]
    );
    assert!(probes(&events) >= 3, "{events:?}");
}

#[test]
fn a_pong_with_a_number_never_sent_counts_as_inbound_not_as_a_reply() {
    // Each probe is answered, but with the wrong number, fifteen times
    // (about 1.5 s). The machine ignores a reply to a probe it never sent,
    // so the driver must hand these in as plain traffic.
    let stream = scripted_peer(|peer| {
        let mut lines = Lines::default();
        for _ in 0..15 {
            let seq = next_ping(peer, &mut lines);
            writeln!(peer, "PONG {}", seq + 1000).expect("a wrong answer");
        }
    });

    let (outcome, events) = run(stream, one_miss_config());

    assert_eq!(outcome.expect("no socket error"), Outcome::Closed);
    let events = traffic(&events);
    let answers: Vec<Event> = events
        .iter()
        .filter(|event| !matches!(event, Event::Probe { .. }))
        .cloned()
        .collect();
    let expected: Vec<Event> = (1000..1015)
        .map(|seq| Event::Inbound {
            line: format!("PONG {seq}"),
        })
        .collect();
    assert_eq!(answers, expected, "{events:?}");
}

// ---- The line buffer ----------------------------------------------------

#[test]
fn lines_come_out_whole_wherever_the_reads_split_them() {
    let bytes = b"PONG 1\nhello\r\n\nPING 22\n";
    let expected = ["PONG 1", "hello", "", "PING 22"];

    for first in 0..=bytes.len() {
        for second in first..=bytes.len() {
            let mut lines = Lines::default();
            let mut out = Vec::new();
            for part in [&bytes[..first], &bytes[first..second], &bytes[second..]] {
                lines.push(part);
                while let Some(line) = lines.next_line().expect("short lines") {
                    out.push(line);
                }
            }
            assert_eq!(out, expected, "split at {first} and {second}");
        }
    }
}

#[test]
fn a_line_without_an_end_is_refused_once_it_is_too_long() {
    let mut lines = Lines::default();
    lines.push(&[b'x'; driver::MAX_LINE - 1]);
    assert!(matches!(lines.next_line(), Ok(None)));

    lines.push(b"x");
    assert!(matches!(lines.next_line(), Err(Error::LineTooLong)));
}
