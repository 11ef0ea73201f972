//! The blocking driver: one TCP socket, one thread, std only.
//!
//! The protocol is one line per message. The client's probes are
//! `PING <seq>`, the server answers `PONG <seq>`, and every other line is
//! application traffic. The server's side is in `server.rs`.
//!
//! # Why a reader thread and not read timeouts
//!
//! A reader thread turns the socket into a channel of whole lines, and
//! the wait for input or the wake-up is `Receiver::recv_timeout`. The
//! alternative, one socket whose read timeout is the timer, needs no
//! second thread, but on Linux `SO_RCVTIMEO` runs on the kernel's coarse
//! timer wheel: measured on a test host, a 1 s read timeout returned
//! about 30 ms late and a 3 s one about 60 ms late, while `recv_timeout` (a
//! futex with a high-resolution deadline) was within half a millisecond.
//! A wake-up later than the machine's tolerance is reported as a clock
//! discontinuity, so the precise wait is worth the thread. The reader
//! never times out, so a line split across two reads simply waits in its
//! buffer for the rest, however many wake-ups come in between.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use keepalive::{Action, Actions, Config, Discontinuity, Evidence, Machine, ProbeReason};

/// The longest line either side accepts, newline included. A peer that
/// sends more without a newline is broken or hostile, not slow.
pub const MAX_LINE: usize = 4096;

/// Lines the reader may hold ahead of the machine. When they are not
/// taken, the reader stops reading and TCP's flow control slows the peer.
const INBOX: usize = 64;

/// Something the driver did or saw, reported as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A probe went out.
    Probe { seq: u64, reason: ProbeReason },
    /// A heartbeat went out (passive mode with a send obligation).
    Heartbeat,
    /// A reply to a probe this session sent.
    Reply { seq: u64 },
    /// Any other line from the peer, fed to the machine as inbound traffic.
    Inbound { line: String },
    /// The wake-up came and the machine was given the timer.
    Timer,
    /// The machine saw a clock discontinuity.
    Discontinuity(Discontinuity),
}

/// How a session ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The machine declared the peer dead.
    Dead {
        evidence: Evidence,
        /// When the verdict came.
        at: Instant,
        /// When the last line from the peer was handed to the machine, if
        /// one ever was.
        last_inbound: Option<Instant>,
    },
    /// The peer closed the connection.
    Closed,
}

/// Why a session stopped early.
#[derive(Debug)]
pub enum Error {
    /// A socket call failed; the string says which.
    Io(&'static str, io::Error),
    /// The peer sent more than [`MAX_LINE`] bytes without a newline.
    LineTooLong,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(what, error) => write!(f, "{what}: {error}"),
            Error::LineTooLong => {
                write!(
                    f,
                    "the peer sent more than {MAX_LINE} bytes without a newline"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Bytes received but not yet handed out as lines.
///
/// A read can end anywhere, in the middle of a line in particular; the
/// tail stays here until its newline comes.
#[derive(Debug, Default)]
pub struct Lines {
    buffer: Vec<u8>,
}

impl Lines {
    /// Appends bytes as they came off the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete line without its `\n` (or `\r\n`), if one is
    /// buffered. Invalid UTF-8 is replaced, not refused: it is still
    /// traffic from the peer.
    pub fn next_line(&mut self) -> Result<Option<String>, Error> {
        let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
            if self.buffer.len() >= MAX_LINE {
                return Err(Error::LineTooLong);
            }
            return Ok(None);
        };
        if end >= MAX_LINE {
            return Err(Error::LineTooLong);
        }

        let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }
}

/// What the reader thread passes on.
enum Received {
    Line(String),
    Closed,
    Failed(Error),
}

/// One connection, its reader thread and its machine.
pub struct Session {
    stream: TcpStream,
    inbox: Receiver<Received>,
    reader: JoinHandle<()>,
    machine: Machine<Instant>,
    wake: Instant,
    /// The first and the latest sequence number this session sent.
    issued: Option<(u64, u64)>,
    last_inbound: Option<Instant>,
}

impl Session {
    /// A session over a connected stream; the machine starts now.
    pub fn new(stream: TcpStream, config: Config) -> Result<Session, Error> {
        // A probe is a few bytes; a send that blocks this long means the
        // peer stopped reading long ago, and blocking longer would keep
        // the machine from its timer.
        stream
            .set_write_timeout(Some(config.reply_window()))
            .map_err(|e| Error::Io("setting the write timeout", e))?;
        let reading = stream
            .try_clone()
            .map_err(|e| Error::Io("cloning the socket for the reader", e))?;
        let (lines, inbox) = mpsc::sync_channel(INBOX);
        let reader = thread::spawn(move || read_lines(reading, &lines));

        let machine = Machine::new(config, Instant::now());
        let wake = machine.next_wakeup().expect("a new machine is live").at;
        Ok(Session {
            stream,
            inbox,
            reader,
            machine,
            wake,
            issued: None,
            last_inbound: None,
        })
    }

    /// Drives the connection until the peer is declared dead or closes
    /// it, then closes the connection and stops the reader.
    pub fn run(mut self, mut on_event: impl FnMut(Instant, &Event)) -> Result<Outcome, Error> {
        let result = self.drive(&mut on_event);

        // The reader is blocked either in `read`, which the shutdown ends,
        // or in `send`, which the closed channel ends.
        let Session {
            stream,
            inbox,
            reader,
            ..
        } = self;
        drop(inbox);
        let _ = stream.shutdown(Shutdown::Both);
        let _ = reader.join();
        result
    }

    fn drive(&mut self, on_event: &mut impl FnMut(Instant, &Event)) -> Result<Outcome, Error> {
        loop {
            // Sleep relative to now: the wait is what is left until the
            // wake-up, so no clock step can stretch it. Once it is due,
            // lines already received still go first (after a stall one of
            // them may be the reply the timer is about to give up on).
            let now = Instant::now();
            let received = if now < self.wake {
                match self.inbox.recv_timeout(self.wake - now) {
                    Ok(received) => Some(received),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Received::Closed),
                }
            } else {
                match self.inbox.try_recv() {
                    Ok(received) => Some(received),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(Received::Closed),
                }
            };

            let now = Instant::now();
            let actions = match received {
                Some(Received::Line(line)) => self.on_line(now, line, on_event),
                Some(Received::Closed) => return Ok(Outcome::Closed),
                Some(Received::Failed(error)) => return Err(error),
                None => {
                    on_event(now, &Event::Timer);
                    self.machine.on_timer(now)
                }
            };
            if let Some(outcome) = self.act(now, actions, on_event)? {
                return Ok(outcome);
            }
        }
    }

    /// Feeds one line to the machine.
    ///
    /// Only a `PONG` carrying a number this session sent is a reply. Every
    /// other line, a `PONG` with a number never sent included, is still
    /// traffic from the peer and counts as inbound, not as a reply.
    fn on_line(
        &mut self,
        now: Instant,
        line: String,
        on_event: &mut impl FnMut(Instant, &Event),
    ) -> Actions<Instant> {
        self.last_inbound = Some(now);
        let reply = line
            .strip_prefix("PONG ")
            .and_then(|seq| seq.parse::<u64>().ok())
            .filter(|&seq| self.issued(seq));

        match reply {
            Some(seq) => {
                on_event(now, &Event::Reply { seq });
                self.machine.on_reply(now, seq)
            }
            None => {
                on_event(now, &Event::Inbound { line });
                self.machine.on_inbound(now)
            }
        }
    }

    fn issued(&self, seq: u64) -> bool {
        matches!(self.issued, Some((first, last)) if (first..=last).contains(&seq))
    }

    /// Acts on the machine's answer, in its order: log, send or give up,
    /// then re-arm.
    fn act(
        &mut self,
        now: Instant,
        actions: Actions<Instant>,
        on_event: &mut impl FnMut(Instant, &Event),
    ) -> Result<Option<Outcome>, Error> {
        for action in actions {
            match action {
                Action::Discontinuity(seen) => on_event(now, &Event::Discontinuity(seen)),
                Action::SendProbe(probe) => {
                    self.send(format!("PING {}\n", probe.seq).as_bytes())?;
                    let first = self.issued.map_or(probe.seq, |(first, _)| first);
                    self.issued = Some((first, probe.seq));
                    on_event(
                        now,
                        &Event::Probe {
                            seq: probe.seq,
                            reason: probe.reason,
                        },
                    );
                }
                Action::SendHeartbeat => {
                    self.send(b"HEARTBEAT\n")?;
                    on_event(now, &Event::Heartbeat);
                }
                Action::ArmTimer(wakeup) => self.wake = wakeup.at,
                Action::Dead(evidence) => {
                    return Ok(Some(Outcome::Dead {
                        evidence,
                        at: now,
                        last_inbound: self.last_inbound,
                    }))
                }
                _ => {}
            }
        }
        Ok(None)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream
            .write_all(bytes)
            .map_err(|e| Error::Io("writing to the peer", e))
    }
}

/// The reader thread: reads without a timeout and passes on whole lines,
/// then how the stream ended.
fn read_lines(mut stream: TcpStream, out: &SyncSender<Received>) {
    let mut lines = Lines::default();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = out.send(Received::Failed(Error::Io("reading from the peer", e)));
                return;
            }
        };
        lines.push(&chunk[..n]);

        loop {
            let received = match lines.next_line() {
                Ok(Some(line)) => Received::Line(line),
                Ok(None) => break,
                Err(error) => Received::Failed(error),
            };
            let failed = matches!(received, Received::Failed(_));
            // A closed channel means the session is over.
            if out.send(received).is_err() || failed {
                return;
            }
        }
    }
    let _ = out.send(Received::Closed);
}
