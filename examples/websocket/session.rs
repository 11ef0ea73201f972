//! A keepalive driver for one tokio-tungstenite WebSocket connection.
//!
//! [`run`] owns the connection until the peer is declared dead or the
//! connection ends. Probes are WebSocket Ping frames whose payload is the
//! probe's sequence number as 8 big-endian bytes; a Pong carrying the number
//! of a probe this session sent is handed to the machine as a reply, and
//! every other frame as plain inbound traffic.
//!
//! The file depends on nothing but `keepalive`, tokio, tokio-tungstenite and
//! futures-util, so it can be copied into an application as it is.

use std::fmt;
use std::time::Instant;

use futures_util::{FutureExt, SinkExt, StreamExt};
use keepalive::{Abuse, Action, Actions, Config, Discontinuity, Evidence, Machine, Probe, Wakeup};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout, Duration};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::WebSocketStream;

/// How long closing the connection after a verdict may take. A dead peer
/// does not read, so the close frame may never leave the send buffer; the
/// connection is dropped after this whatever happened.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the driver reads the current instant.
///
/// The machine never reads a clock: the driver passes the instant in with
/// every input. Reading it through this trait lets a test hand the driver a
/// clock that jumps while the real timers keep running.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The process's monotonic clock, `std::time::Instant::now()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Something the driver did or saw, reported as it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A probe (a Ping frame) was sent.
    Probe(Probe),
    /// A Pong carrying the sequence number of a probe this session sent
    /// arrived and was handed to the machine as a reply.
    Reply {
        /// The sequence number the Pong carried.
        seq: u64,
    },
    /// Any other frame arrived: a Pong with some other payload (a number
    /// this session never sent included), a Ping, text or binary data.
    Inbound,
    /// The machine saw a clock discontinuity (a jump, a stall, a late
    /// wake-up); informational.
    Discontinuity(Discontinuity),
    /// The single timer was armed for this wake-up.
    Wakeup(Wakeup<Instant>),
}

/// Why a session ended without a verdict.
#[derive(Debug)]
pub enum SessionError {
    /// The peer closed the connection, with its close frame if it sent one
    /// (the reply to it has been sent, as far as the connection allowed).
    Closed(Option<CloseFrame>),
    /// Reading or writing the connection failed (reset, broken pipe, a
    /// protocol violation).
    Transport(tungstenite::Error),
    /// The peer pinged more often than the config's `peer_probe_limit`
    /// allows; the connection was closed with code 1008.
    Misbehaving(Abuse),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Closed(Some(frame)) if frame.reason.is_empty() => {
                write!(f, "closed by the peer (code {})", frame.code)
            }
            SessionError::Closed(Some(frame)) => write!(
                f,
                "closed by the peer (code {}: {})",
                frame.code, frame.reason
            ),
            SessionError::Closed(None) => f.write_str("closed by the peer"),
            SessionError::Misbehaving(abuse) => write!(
                f,
                "closed: the peer pinged {} times too soon (the last {:?} after the one \
                 before, the limit {:?})",
                abuse.strikes, abuse.gap, abuse.min_interval
            ),
            SessionError::Transport(error) => {
                write!(f, "connection failed: {error}")
            }
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Closed(_) | SessionError::Misbehaving(_) => None,
            SessionError::Transport(error) => Some(error),
        }
    }
}

/// Keeps `ws` alive with a [`Machine`] built from `config` until the peer
/// is declared dead (the evidence is returned and the connection closed)
/// or the connection ends (the error says how).
///
/// `clock` supplies every instant the machine sees; `on_event` hears about
/// each probe, reply, other frame, discontinuity and timer change.
///
/// # How the loop waits
///
/// * **One timer.** The machine keeps exactly one pending wake-up. The
///   loop keeps the instant it was last armed for and re-arms its single
///   sleep only when an `ArmTimer` replaces that instant, or after the
///   sleep fired. Inbound frames do not touch it: the machine moves the
///   idle deadline lazily, when the timer fires, so the hot path costs no
///   timer operation.
/// * **Sleep relative to now.** The sleep lasts the distance from the
///   clock's current reading to the wake-up, and tokio measures that
///   distance on its own monotonic clock. Sleeping until an absolute
///   instant would, after the clock stepped backward, oversleep by the size
///   of the step before the machine could see it; a relative sleep wakes
///   when the machine asked and lets it notice the step. tokio's own clock
///   never runs backward, so the distance is added to the latest instant
///   tokio's clock showed, not to its current reading (see
///   `Driver::deadline`): otherwise a step back of the process's monotonic
///   clock would make every sleep fire at once until the clock caught up.
/// * **Input first.** The select is biased towards the connection, and when
///   the timer wins anyway, every frame that is already readable is handed
///   to the machine before the timer. After a stall both are ready at once,
///   and a reply that waited behind the timer must close its window rather
///   than lose to it. Readiness can also reach the task one poll late (the
///   reactor saw the timer first, or the frame landed between the two
///   polls of the select): the drain covers that case.
/// * **The read side is always polled.** tungstenite answers the peer's
///   Pings only while the stream is read, so the loop reads continuously
///   instead of reading only when it expects a Pong.
pub async fn run<S, C, F>(
    ws: WebSocketStream<S>,
    config: Config,
    clock: C,
    on_event: F,
) -> Result<Evidence, SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Clock,
    F: FnMut(Event),
{
    let mut driver = Driver {
        machine: Machine::new(config, clock.now()),
        ws,
        clock,
        on_event,
        latest: tokio::time::Instant::now(),
        issued: None,
    };
    let result = driver.run().await;

    if result.is_ok() {
        // Best effort: a dead peer may never read the close frame. The
        // connection is dropped (and the TCP socket closed) either way.
        let _ = timeout(CLOSE_TIMEOUT, driver.ws.close(None)).await;
    }
    result
}

struct Driver<S, C, F> {
    machine: Machine<Instant>,
    ws: WebSocketStream<S>,
    clock: C,
    on_event: F,
    /// The latest instant seen on tokio's clock: the floor of every
    /// deadline (see [`Driver::deadline`]).
    latest: tokio::time::Instant,
    /// The sequence numbers of the probes sent so far: the first, and one
    /// past the last (`None` before the first probe). The machine ignores a
    /// reply carrying a number it never issued, yet a Pong from the peer is
    /// traffic whatever it carries: only a number in this range goes to
    /// `on_reply`, any other to `on_inbound`.
    issued: Option<(u64, u64)>,
}

impl<S, C, F> Driver<S, C, F>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Clock,
    F: FnMut(Event),
{
    async fn run(&mut self) -> Result<Evidence, SessionError> {
        let first = self
            .machine
            .next_wakeup()
            .expect("a new machine always has a pending wake-up");
        (self.on_event)(Event::Wakeup(first));
        let mut wake = first.at;
        let sleep = tokio::time::sleep_until(self.deadline(wake));
        tokio::pin!(sleep);

        loop {
            let armed = wake;
            tokio::select! {
                biased;

                frame = self.ws.next() => {
                    if let Some(evidence) = self.on_frame(frame, &mut wake).await? {
                        return Ok(evidence);
                    }
                }
                () = &mut sleep => {
                    // The timer won the select, yet frames may already be
                    // waiting: deliver each of them before the timer. The
                    // drain stops at the first frame not yet readable; a
                    // peer that keeps it going proves itself alive anyway.
                    while let Some(frame) = self.ws.next().now_or_never() {
                        if let Some(evidence) = self.on_frame(frame, &mut wake).await? {
                            return Ok(evidence);
                        }
                    }
                    let actions = self.machine.on_timer(self.clock.now());
                    if let Some(evidence) = self.act(actions, &mut wake).await? {
                        return Ok(evidence);
                    }
                    // The sleep has completed: arm it again even if the
                    // machine kept its wake-up (an early or spurious call).
                    // tokio's timer has reached the deadline that fired, so
                    // the next one is measured from there at the earliest.
                    self.latest = self.latest.max(sleep.deadline());
                    sleep.as_mut().reset(self.deadline(wake));
                    continue;
                }
            }
            if wake != armed {
                sleep.as_mut().reset(self.deadline(wake));
            }
        }
    }

    /// Hands one frame (or the end of the stream) to the machine.
    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        wake: &mut Instant,
    ) -> Result<Option<Evidence>, SessionError> {
        let message = match frame {
            Some(Ok(message)) => message,
            None => return Err(SessionError::Closed(None)),
            Some(Err(error)) => return Err(closed_or_transport(error)),
        };

        let now = self.clock.now();
        let actions = match message {
            Message::Close(frame) => {
                // tungstenite has queued the reply to the close frame; it
                // goes out only with a flush. Best effort, as after a
                // verdict: the connection is dropped either way.
                let _ = timeout(CLOSE_TIMEOUT, self.ws.flush()).await;
                return Err(SessionError::Closed(frame));
            }
            Message::Pong(payload) => match decode_seq(&payload) {
                Some(seq) if self.was_issued(seq) => {
                    (self.on_event)(Event::Reply { seq });
                    self.machine.on_reply(now, seq)
                }
                _ => {
                    (self.on_event)(Event::Inbound);
                    self.machine.on_inbound(now)
                }
            },
            // The peer's probe. tungstenite has already queued the Pong;
            // it goes out on the next read or write, so the machine's
            // `SendReply` needs nothing more.
            Message::Ping(_) => {
                (self.on_event)(Event::Inbound);
                self.machine.on_peer_probe(now)
            }
            _ => {
                (self.on_event)(Event::Inbound);
                self.machine.on_inbound(now)
            }
        };
        self.act(actions, wake).await
    }

    /// Carries out the machine's actions in the order given.
    ///
    /// The machine counts a probe or a heartbeat as a send when it hands it
    /// out, so neither is followed by `on_sent`: after a send that waited
    /// behind a backlog, that call would report a false `Late`
    /// discontinuity.
    async fn act(
        &mut self,
        actions: Actions<Instant>,
        wake: &mut Instant,
    ) -> Result<Option<Evidence>, SessionError> {
        for action in actions {
            match action {
                Action::Discontinuity(seen) => {
                    (self.on_event)(Event::Discontinuity(seen));
                }
                Action::SendProbe(probe) => {
                    let first = self.issued.map_or(probe.seq, |(first, _)| first);
                    self.issued = Some((first, probe.seq.wrapping_add(1)));
                    let payload = Bytes::copy_from_slice(&probe.seq.to_be_bytes());
                    self.send(Message::Ping(payload)).await?;
                    (self.on_event)(Event::Probe(probe));
                }
                Action::SendHeartbeat => {
                    // An unsolicited Pong is the heartbeat RFC 6455
                    // provides for; the peer sends nothing back.
                    self.send(Message::Pong(Bytes::new())).await?;
                }
                Action::ArmTimer(wakeup) => {
                    (self.on_event)(Event::Wakeup(wakeup));
                    *wake = wakeup.at;
                }
                Action::Dead(evidence) => return Ok(Some(evidence)),
                // Only with a `peer_probe_limit` in the config: the peer
                // pings too often. 1008 is RFC 6455's policy violation.
                Action::Misbehaving(abuse) => {
                    let frame = CloseFrame {
                        code: CloseCode::Policy,
                        reason: "too many pings".into(),
                    };
                    let _ = timeout(CLOSE_TIMEOUT, self.ws.close(Some(frame))).await;
                    return Err(SessionError::Misbehaving(abuse));
                }
                // `Action` may grow; nothing else needs doing today.
                _ => {}
            }
        }
        Ok(None)
    }

    /// Sends one of the machine's frames. An application that sends its
    /// own data frames on the connection calls `machine.on_sent(now)` after
    /// each of them (and acts on what it returns) when its config has a
    /// send obligation; the machine's own frames need no such call.
    async fn send(&mut self, message: Message) -> Result<(), SessionError> {
        self.ws.send(message).await.map_err(closed_or_transport)
    }

    /// Whether `seq` is the number of a probe this session sent. Numbers
    /// are issued one after another, so the range is checked with wrapping
    /// arithmetic, as the machine does.
    fn was_issued(&self, seq: u64) -> bool {
        self.issued
            .is_some_and(|(first, end)| seq.wrapping_sub(first) < end.wrapping_sub(first))
    }

    /// How long to sleep until `wake`, measured on the injected clock.
    fn until(&self, wake: Instant) -> Duration {
        wake.saturating_duration_since(self.clock.now())
    }

    /// The tokio deadline `until(wake)` from tokio's now: a relative sleep.
    ///
    /// tokio's timer never runs backward: when the process's monotonic
    /// clock steps back (a virtual machine's broken clock source, or a
    /// test shifting the clock), the timer holds at the latest instant it
    /// reached until the clock catches up, and every deadline below that
    /// instant fires at once. Measured from tokio's current reading, each
    /// re-armed sleep would then fire at once again and the loop would spin
    /// until the clock caught up. Measured from the latest instant seen, the
    /// sleep waits instead; the machine's wake-ups are then late by at most
    /// the step, as with a driver that sleeps to an absolute instant
    /// (`docs/guarantees.md`), while input is still handled as it arrives.
    fn deadline(&mut self, wake: Instant) -> tokio::time::Instant {
        self.latest = self.latest.max(tokio::time::Instant::now());
        self.latest + self.until(wake)
    }
}

/// The sequence number a Pong payload carries, if it is one of ours.
fn decode_seq(payload: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = payload.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn closed_or_transport(error: tungstenite::Error) -> SessionError {
    match error {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            SessionError::Closed(None)
        }
        error => SessionError::Transport(error),
    }
}
