//! The WebSocket example's driver (`examples/websocket/session.rs`) against
//! the example's in-process server, over loopback, in real time.
//!
//! Durations are short (a reply window of 0.6 s to 1 s) so each test takes
//! a second or two; loopback replies take well under a millisecond, so a
//! healthy peer's margin is the window minus what clock jumps may cost it
//! (`S + E` each, 30 % of the window with the default step and tolerance).
//! Clock jumps go through a clock the driver reads (`JumpClock`), while
//! tokio's timers keep real time.

#[path = "../examples/websocket/server.rs"]
mod server;
#[path = "../examples/websocket/session.rs"]
mod session;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{SinkExt, StreamExt};
use keepalive::{Config, Discontinuity, DiscontinuityKind, Evidence, ProbeReason};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use server::Server;
use session::{Clock, Event, SessionError, SystemClock};

/// Room for the scheduler on a loaded machine when a real-time verdict is
/// compared with its bound. The bound already lets every wake-up be `E`
/// late; a wake-up later than that delays the verdict by its own lateness
/// (the stall row of docs/guarantees.md), and a verdict goes through at
/// most a handful of wake-ups (the idle one, then the window ends), each
/// of which a busy two-core machine can delay by some tens of
/// milliseconds.
const SCHEDULING_ALLOWANCE: Duration = Duration::from_millis(300);

/// No test may hang: each gives up after this.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn config(idle: u64, window: u64, misses: u32) -> Config {
    Config::builder()
        .idle(ms(idle))
        .reply_window(ms(window))
        .max_misses(misses)
        .build()
        .expect("a config that can work")
}

/// `idle + max_misses × reply_window + 2 × tolerance`: the real time from
/// the last inbound traffic to the verdict when nothing jumps and every
/// wake-up is at most `E` late.
fn bound(config: &Config) -> Duration {
    config.detection_time() + 2 * config.tolerance()
}

// ---- Test doubles ----------------------------------------------------------

/// A clock that reads `std::time::Instant::now()` shifted by an offset the
/// test changes at will: a jump of the system's idea of time while tokio's
/// timers keep running in real time.
#[derive(Clone)]
struct JumpClock {
    offset_ns: Arc<AtomicI64>,
}

impl JumpClock {
    /// Backward jumps in one test must add up to less than this.
    const HEADROOM: Duration = Duration::from_secs(3600);

    fn new() -> JumpClock {
        JumpClock {
            offset_ns: Arc::new(AtomicI64::new(0)),
        }
    }

    fn jump(&self, by_ms: i64) {
        self.offset_ns
            .fetch_add(by_ms * 1_000_000, Ordering::SeqCst);
    }
}

impl Clock for JumpClock {
    fn now(&self) -> Instant {
        let offset = self.offset_ns.load(Ordering::SeqCst);
        let shifted = Instant::now() + JumpClock::HEADROOM;
        let by = Duration::from_nanos(offset.unsigned_abs());
        if offset >= 0 {
            shifted + by
        } else {
            shifted - by
        }
    }
}

/// Every event the driver reported, with the real instant it came at.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Instant, Event)>>>);

impl Log {
    fn recorder(&self) -> impl FnMut(Event) {
        let log = self.0.clone();
        move |event| log.lock().unwrap().push((Instant::now(), event))
    }

    fn events(&self) -> Vec<(Instant, Event)> {
        self.0.lock().unwrap().clone()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn probes(&self) -> Vec<keepalive::Probe> {
        self.filter(|event| match event {
            Event::Probe(probe) => Some(probe),
            _ => None,
        })
    }

    fn replies(&self) -> Vec<u64> {
        self.filter(|event| match event {
            Event::Reply { seq } => Some(seq),
            _ => None,
        })
    }

    fn discontinuities(&self) -> Vec<Discontinuity> {
        self.filter(|event| match event {
            Event::Discontinuity(seen) => Some(seen),
            _ => None,
        })
    }

    fn filter<T>(&self, pick: impl Fn(Event) -> Option<T>) -> Vec<T> {
        self.events()
            .into_iter()
            .filter_map(|(_, event)| pick(event))
            .collect()
    }

    /// Waits until an event logged at index `from` or later matches, and
    /// returns the first one that does with the instant it came at.
    async fn wait_for(
        &self,
        from: usize,
        what: &str,
        matches: impl Fn(&Event) -> bool,
    ) -> (Instant, Event) {
        let give_up = Instant::now() + Duration::from_secs(5);
        loop {
            let events = self.events();
            let found = events
                .get(from..)
                .and_then(|newer| newer.iter().find(|(_, event)| matches(event)).copied());
            if let Some(found) = found {
                return found;
            }
            assert!(
                Instant::now() < give_up,
                "no {what} within 5 s: {events:#?}"
            );
            sleep(ms(5)).await;
        }
    }
}

/// Runs the session in a task of its own until `script` finishes (the
/// session must still be running: its end is returned as an error) or the
/// session ends first.
///
/// The session gets its own task, as in an application, so that it is
/// polled only when its own connection or timer wakes it, never because
/// the script's timers woke a task they share.
async fn until_done<T>(
    session: impl Future<Output = Result<Evidence, SessionError>> + Send + 'static,
    script: impl Future<Output = T>,
) -> Result<T, Result<Evidence, SessionError>> {
    let mut session = tokio::spawn(session);
    let run = async {
        tokio::select! {
            ended = &mut session => Err(ended.expect("the session does not panic")),
            done = script => Ok(done),
        }
    };
    let outcome = timeout(TEST_TIMEOUT, run).await;
    session.abort();
    outcome.expect("the test finished in time")
}

async fn connect(server: &Server) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    let (ws, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .expect("the in-process server accepts");
    ws
}

/// A small deterministic generator for the random jumps; the seed is
/// printed so that a failing run can be replayed with `WEBSOCKET_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env_or_time() -> Rng {
        let seed = std::env::var("WEBSOCKET_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                let since = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                since.as_nanos() as u64
            });
        eprintln!("WEBSOCKET_SEED={seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

// ---- A healthy peer --------------------------------------------------------

#[tokio::test]
async fn a_healthy_peer_survives_clock_jumps_forward_and_back() {
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let clock = JumpClock::new();
    let log = Log::default();
    let config = config(250, 1000, 2);

    let mut rng = Rng::from_env_or_time();
    let mut jumps: Vec<i64> = vec![90_000, 300_000, -60_000];
    for _ in 0..3 {
        let jump = if rng.below(2) == 0 {
            5_000 + rng.below(600_000) as i64
        } else {
            -(10_000 + rng.below(120_000) as i64)
        };
        jumps.push(jump);
    }

    let script = async {
        for (i, &jump) in jumps.iter().enumerate() {
            let from = log.len();
            if i % 2 == 1 {
                // Inside a reply window: the server holds its Pong back
                // while the clock jumps, and answers 0.3 s after the
                // probe. The window (1 s) must survive the 0.3 s of
                // latency plus the `S + E` = 0.3 s the jump may cost.
                server.freeze();
                log.wait_for(from, "probe", |event| matches!(event, Event::Probe(_)))
                    .await;
                sleep(ms(100)).await;
                clock.jump(jump);
                sleep(ms(200)).await;
                server.unfreeze();
            } else {
                // Anywhere in the idle phase.
                sleep(ms(50 + rng.below(300))).await;
                clock.jump(jump);
            }

            let expected = jump.unsigned_abs() as u128;
            log.wait_for(
                from,
                &format!("discontinuity for the jump of {jump} ms"),
                |event| {
                    let Event::Discontinuity(seen) = event else {
                        return false;
                    };
                    // The size seen is the jump minus the real time or the
                    // wait that passed around it: well within a second.
                    match seen.kind {
                        DiscontinuityKind::Late { by } if jump > 0 => {
                            by.as_millis().abs_diff(expected) < 1000
                        }
                        DiscontinuityKind::Backward { by } if jump < 0 => {
                            by.as_millis().abs_diff(expected) < 1000
                        }
                        _ => false,
                    }
                },
            )
            .await;
            // The peer still answers after the jump.
            log.wait_for(log.len(), "reply after the jump", |event| {
                matches!(event, Event::Reply { .. })
            })
            .await;
        }
    };
    let outcome = until_done(
        session::run(ws, config, clock.clone(), log.recorder()),
        script,
    )
    .await;

    assert!(outcome.is_ok(), "the session ended: {outcome:?}");
    let probes = log.probes();
    let replies = log.replies();
    assert!(probes.len() >= jumps.len(), "{probes:?}");
    assert!(
        probes
            .iter()
            .all(|probe| probe.reason != ProbeReason::Retry),
        "a window expired: {probes:?}"
    );
    // Every probe was answered, but perhaps the last one, still in flight.
    for probe in &probes[..probes.len() - 1] {
        assert!(replies.contains(&probe.seq), "#{} unanswered", probe.seq);
    }
    assert!(log.discontinuities().len() >= jumps.len());
}

/// Counts its reads of the system clock.
#[derive(Clone, Default)]
struct CountingClock(Arc<AtomicU64>);

impl Clock for CountingClock {
    fn now(&self) -> Instant {
        self.0.fetch_add(1, Ordering::Relaxed);
        SystemClock.now()
    }
}

/// Each input and each timer change reads the clock once or twice, so a
/// driver that sleeps between wake-ups reads it a few dozen times in a
/// second and a half of probes every 250 ms; one that spins on a sleep
/// that has already fired reads it millions of times.
#[tokio::test]
async fn the_driver_sleeps_between_wake_ups() {
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let clock = CountingClock::default();
    let log = Log::default();
    let config = config(250, 1000, 2);

    let outcome = until_done(
        session::run(ws, config, clock.clone(), log.recorder()),
        sleep(ms(1500)),
    )
    .await;

    assert!(outcome.is_ok(), "the session ended: {outcome:?}");
    let probes = log.probes().len();
    assert!((4..=6).contains(&probes), "{probes} probes");
    let reads = clock.0.load(Ordering::Relaxed);
    eprintln!("{reads} clock reads for {probes} probes");
    assert!(reads <= 10 * probes as u64, "{reads} clock reads");
}

// ---- A dead peer -----------------------------------------------------------

/// What `freeze_until_dead` saw.
struct Death {
    evidence: Evidence,
    /// Real time from the freeze to the verdict.
    after_freeze: Duration,
    /// Real time from the last frame heard (logged just before the machine
    /// was told) to the verdict: what the bound is about.
    after_last_heard: Duration,
    /// Discontinuities logged after the last input that heard the peer
    /// (one reported by that input itself is cleared with it).
    discontinuities_since_heard: u32,
    log: Log,
}

/// Connects, lets the session be healthy for a moment, freezes the server,
/// runs `during` (clock jumps, say) and waits for the verdict.
async fn freeze_until_dead<D, F>(config: Config, during: D) -> Death
where
    D: FnOnce(JumpClock, Log) -> F,
    F: Future<Output = ()>,
{
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let clock = JumpClock::new();
    let log = Log::default();
    let frozen_at = Cell::new(None);

    let script = async {
        log.wait_for(0, "first reply", |event| {
            matches!(event, Event::Reply { .. })
        })
        .await;
        sleep(ms(100)).await;
        server.freeze();
        frozen_at.set(Some(Instant::now()));
        during(clock.clone(), log.clone()).await;
        std::future::pending::<()>().await;
    };
    let session = session::run(ws, config, clock.clone(), log.recorder());
    let outcome = until_done(session, script).await;
    let verdict_at = Instant::now();

    let Err(Ok(evidence)) = outcome else {
        panic!("expected a verdict, got {outcome:?}");
    };
    let mut last_heard = None;
    let mut since_heard = 0;
    let mut same_input = false;
    for (at, event) in log.events() {
        match event {
            Event::Reply { .. } | Event::Inbound => {
                last_heard = Some(at);
                since_heard = 0;
                same_input = true;
                continue;
            }
            Event::Discontinuity(_) if !same_input => since_heard += 1,
            _ => {}
        }
        same_input = false;
    }
    let frozen_at = frozen_at.get().expect("the server froze");
    let last_heard = last_heard.expect("a reply came before the freeze");
    Death {
        evidence,
        after_freeze: verdict_at - frozen_at,
        after_last_heard: verdict_at - last_heard,
        discontinuities_since_heard: since_heard,
        log,
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_declared_dead_within_the_bound() {
    let config = config(250, 600, 2);

    let death = freeze_until_dead(config, |_, _| async {}).await;
    let (evidence, took) = (death.evidence, death.after_last_heard);
    eprintln!(
        "verdict {took:?} after the last Pong ({:?} after the freeze), \
         bound {:?}",
        death.after_freeze,
        bound(&config)
    );

    assert_eq!(evidence.windows_missed, 2);
    assert_eq!(evidence.probes_sent, 2);
    assert_eq!(evidence.discontinuities, death.discontinuities_since_heard);
    // Credited time never runs ahead of real time when nothing jumps.
    assert!(evidence.silence >= config.detection_time(), "{evidence:?}");
    assert!(evidence.silence <= took, "{evidence:?} {took:?}");
    // Not before `idle` and the windows could have run out...
    assert!(took >= config.detection_time(), "dead after {took:?}");
    // ...and no later than the bound.
    assert!(
        took <= bound(&config) + SCHEDULING_ALLOWANCE,
        "dead after {took:?}, bound {:?}",
        bound(&config)
    );
}

#[tokio::test]
async fn forward_jumps_while_the_peer_is_dead_add_at_most_the_tolerance_each() {
    let config = config(250, 600, 2);
    let jumps = [(ProbeReason::Idle, 120_000), (ProbeReason::Retry, 300_000)];

    let death = freeze_until_dead(config, |clock, log| async move {
        // One jump in each reply window, 50 ms after its probe.
        for (reason, jump) in jumps {
            let from = log.len();
            log.wait_for(
                from,
                "probe",
                |event| matches!(event, Event::Probe(probe) if probe.reason == reason),
            )
            .await;
            sleep(ms(50)).await;
            clock.jump(jump);
        }
    })
    .await;
    let (evidence, took) = (death.evidence, death.after_last_heard);
    eprintln!(
        "verdict {took:?} after the last Pong with two jumps, bound {:?} + 2 E",
        bound(&config)
    );

    assert_eq!(evidence.windows_missed, 2);
    assert_eq!(evidence.probes_sent, 2);
    assert_eq!(evidence.discontinuities, death.discontinuities_since_heard);
    let late = death
        .log
        .discontinuities()
        .into_iter()
        .filter(|seen| matches!(seen.kind, DiscontinuityKind::Late { by } if by > ms(60_000)))
        .count();
    assert_eq!(late, jumps.len(), "{:#?}", death.log.discontinuities());
    // docs/guarantees.md: a forward jump adds at most `E` to the verdict.
    let jumps_allowance = 2 * config.tolerance();
    assert!(
        took <= bound(&config) + jumps_allowance + SCHEDULING_ALLOWANCE,
        "dead after {took:?}, bound {:?} + {jumps_allowance:?}",
        bound(&config)
    );
}

// ---- Input before the timer -------------------------------------------------

/// A stream whose read side can be held back, and whose readiness then
/// reaches the task one poll late: the first read after the hold ends
/// returns `Pending` (and wakes the task at once), as when the reactor has
/// not yet reported a frame that already sits in the socket, or the frame
/// landed between the select's poll of the connection and of the timer.
struct LateReadiness {
    inner: TcpStream,
    gate: Arc<Mutex<Gate>>,
}

#[derive(Default)]
struct Gate {
    /// Reads return `Pending` (without a wake-up: nothing was reported)
    /// until this instant.
    hold_until: Option<Instant>,
    /// The next read returns `Pending` and wakes the task.
    one_poll_late: bool,
}

impl AsyncRead for LateReadiness {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        {
            let mut gate = self.gate.lock().unwrap();
            if let Some(until) = gate.hold_until {
                if Instant::now() < until {
                    return Poll::Pending;
                }
                gate.hold_until = None;
                gate.one_poll_late = true;
            }
            if gate.one_poll_late {
                gate.one_poll_late = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for LateReadiness {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The Pong for the first probe is in the socket 0.57 s into its 0.6 s
/// window, but the task only learns of it one poll late, when the window's
/// end has fired too (on time, well within the 200 ms tolerance, so the
/// machine's grace turn for late calls does not apply). With one miss
/// allowed, handing the machine the timer first would declare the peer
/// dead; the driver drains the ready frame first and the peer lives.
#[tokio::test]
async fn a_reply_ready_with_the_window_end_is_delivered_before_the_timer() {
    let window = ms(600);
    let config = Config::builder()
        .idle(ms(250))
        .reply_window(window)
        .tolerance(ms(200))
        .max_misses(1)
        .build()
        .unwrap();
    let server = Server::start().await.unwrap();
    let gate = Arc::new(Mutex::new(Gate::default()));
    let tcp = TcpStream::connect(server.url().trim_start_matches("ws://"))
        .await
        .unwrap();
    let stream = LateReadiness {
        inner: tcp,
        gate: gate.clone(),
    };
    let (ws, _) = tokio_tungstenite::client_async(server.url(), stream)
        .await
        .unwrap();

    let log = Log::default();
    let mut record = log.recorder();
    let on_event = move |event: Event| {
        if let Event::Probe(probe) = event {
            if probe.seq == 0 {
                let until = Instant::now() + window - ms(30);
                gate.lock().unwrap().hold_until = Some(until);
            }
        }
        record(event);
    };
    let script = async {
        log.wait_for(0, "reply to #0", |event| *event == Event::Reply { seq: 0 })
            .await;
        sleep(ms(300)).await;
    };
    let outcome = until_done(session::run(ws, config, SystemClock, on_event), script).await;

    assert!(outcome.is_ok(), "the session ended: {outcome:?}");
    let events = log.events();
    let probe_at = events
        .iter()
        .find(|(_, event)| matches!(event, Event::Probe(probe) if probe.seq == 0))
        .unwrap()
        .0;
    let reply_at = events
        .iter()
        .find(|(_, event)| *event == Event::Reply { seq: 0 })
        .unwrap()
        .0;
    // The reply really waited until the window's end was due.
    assert!(reply_at - probe_at >= window - ms(30), "{events:#?}");
}

// ---- What counts as a reply --------------------------------------------------

#[tokio::test]
async fn a_pong_with_a_foreign_payload_is_inbound_traffic_not_a_reply() {
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let log = Log::default();
    let config = config(250, 600, 2);

    // The server answers no Ping, but sends a Pong of its own every
    // 100 ms; its payload is not 8 bytes, so it carries no sequence number.
    server.freeze();
    let script = async {
        for _ in 0..20 {
            server.push(Message::Pong(Bytes::from_static(b"heartbeat")));
            sleep(ms(100)).await;
        }
    };
    let outcome = until_done(
        session::run(ws, config, SystemClock, log.recorder()),
        script,
    )
    .await;

    assert!(outcome.is_ok(), "the session ended: {outcome:?}");
    let inbound = log.filter(|event| (event == Event::Inbound).then_some(()));
    assert!(inbound.len() >= 15, "{:#?}", log.events());
    assert_eq!(log.replies(), Vec::<u64>::new());
}

/// The server answers the first probe, then stops answering and sends a
/// Pong of its own every 100 ms instead, carrying a number no probe of the
/// session carried: one past the last probe's, one before the first, or one
/// far away. Each is traffic from the peer and keeps it alive (silent, it
/// would be dead 1.5 s after its reply); handed to the machine as a reply,
/// it would be ignored and the peer declared dead.
#[tokio::test]
async fn a_pong_with_a_sequence_number_never_issued_is_inbound_traffic() {
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let log = Log::default();
    let config = config(250, 600, 2);

    let script = async {
        log.wait_for(0, "reply to #0", |event| *event == Event::Reply { seq: 0 })
            .await;
        server.freeze();
        let probes = log.probes();
        let first = probes[0].seq;
        let last = probes[probes.len() - 1].seq;
        let never_issued = [last.wrapping_add(1), first.wrapping_sub(1), 1 << 40];
        for seq in never_issued.into_iter().cycle().take(25) {
            let payload = Bytes::copy_from_slice(&seq.to_be_bytes());
            server.push(Message::Pong(payload));
            sleep(ms(100)).await;
        }
    };
    let outcome = until_done(
        session::run(ws, config, SystemClock, log.recorder()),
        script,
    )
    .await;

    assert!(outcome.is_ok(), "the session ended: {outcome:?}");
    let probes = log.probes();
    for seq in log.replies() {
        assert!(
            probes.iter().any(|probe| probe.seq == seq),
            "#{seq} was never issued, yet logged as a reply: {probes:?}"
        );
    }
    let inbound = log.filter(|event| (event == Event::Inbound).then_some(()));
    assert!(inbound.len() >= 15, "{:#?}", log.events());
}

// ---- How a session ends without a verdict ---------------------------------------

/// The peer closes the connection; the session ends as closed, and the
/// peer receives the close frame that answers its own, which tungstenite
/// queues on reading the peer's but writes only when flushed.
#[tokio::test]
async fn a_close_frame_from_the_peer_is_answered_and_ends_the_session_as_closed() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let config = config(250, 600, 2);

    let peer = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let close = CloseFrame {
            code: CloseCode::Away,
            reason: "maintenance".into(),
        };
        ws.send(Message::Close(Some(close))).await.unwrap();
        // The answer, or the end of the connection if none came.
        ws.next().await
    });
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let outcome = timeout(TEST_TIMEOUT, session::run(ws, config, SystemClock, |_| {}))
        .await
        .unwrap();

    match outcome {
        Err(SessionError::Closed(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason, "maintenance");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    let answer = timeout(TEST_TIMEOUT, peer).await.unwrap().unwrap();
    match answer {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away);
        }
        other => panic!("expected the answering close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_dropped_without_a_close_is_a_transport_error() {
    let server = Server::start().await.unwrap();
    let ws = connect(&server).await;
    let config = config(250, 600, 2);

    let script = async {
        sleep(ms(100)).await;
        drop(server);
        std::future::pending::<()>().await;
    };
    let outcome = until_done(session::run(ws, config, SystemClock, |_| {}), script).await;

    match outcome {
        Err(Err(SessionError::Transport(error))) => {
            assert!(!error.to_string().is_empty());
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_peer_that_pings_too_often_is_closed_with_a_policy_violation() {
    // The client allows one Ping per 200 ms, one too-early Ping forgiven;
    // the peer pings every 20 ms and sends nothing else. Each Ping is
    // answered (by tungstenite) until the second strike closes the
    // connection with 1008.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let config = Config::builder()
        .idle(ms(1_000))
        .reply_window(ms(600))
        .peer_probe_limit(ms(200), 1)
        .build()
        .expect("valid");
    let peer = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let mut pongs = 0;
        loop {
            let ping = ws.send(Message::Ping(Bytes::from_static(b"hi"))).await;
            if ping.is_err() {
                return (pongs, None);
            }
            match timeout(ms(20), ws.next()).await {
                Ok(Some(Ok(Message::Pong(_)))) => pongs += 1,
                Ok(Some(Ok(Message::Close(frame)))) => return (pongs, frame),
                Ok(None | Some(Err(_))) => return (pongs, None),
                Ok(Some(Ok(_))) | Err(_) => {}
            }
        }
    });
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let outcome = timeout(TEST_TIMEOUT, session::run(ws, config, SystemClock, |_| {}))
        .await
        .unwrap();

    match outcome {
        Err(SessionError::Misbehaving(abuse)) => {
            assert_eq!(abuse.strikes, 2);
            assert!(abuse.gap < ms(200), "{abuse:?}");
        }
        other => panic!("expected the abuse verdict, got {other:?}"),
    }
    let (pongs, frame) = timeout(TEST_TIMEOUT, peer).await.unwrap().unwrap();
    assert!(
        pongs >= 2,
        "the Pings before the verdict were answered: {pongs}"
    );
    let frame = frame.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert_eq!(frame.reason, "too many pings");
}
