//! A WebSocket client whose keepalive is written the way it is commonly
//! written with tokio, for the end-to-end comparison in `tests/e2e/`.
//!
//! It does not use the `keepalive` crate. One `tokio::select!` loop waits
//! on three things:
//!
//! * an interval timer (`tokio::time::interval`, default missed-tick
//!   behaviour) that sends a Ping every `--ping-every`;
//! * the read side of the connection; any frame that arrives moves the
//!   deadline to `now + --timeout`;
//! * the deadline (`tokio::time::sleep_until`); when it fires, the peer is
//!   declared dead.
//!
//! The defaults (a Ping every 2 s, dead after 8 s without any frame) match
//! the end-to-end run of the crate's client (idle 2 s, reply window 3 s,
//! 2 misses: 8 s from the last traffic to the verdict), so both declare a
//! silent peer dead after the same time.
//!
//! ```text
//! cargo run --example naive-websocket -- --url ws://127.0.0.1:9001 --events
//! ```
//!
//! With `--events` every event is printed as one JSON object per line
//! (`connected`, `probe`, `reply`, `inbound`, `dead`, `closed`, `error`),
//! `t` being the seconds since the process started by its own clock.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::time::{interval, sleep, sleep_until, Instant};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket client with an interval-plus-deadline keepalive.
#[derive(Parser)]
#[command(name = "naive-websocket")]
struct Args {
    /// The server to connect to (`ws://host:port/path`).
    #[arg(long)]
    url: String,

    /// Send a Ping this often (`500ms`, `2s`, `1.5s`, `1m`).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    ping_every: Duration,

    /// Declare the peer dead after this long without any frame.
    #[arg(long, default_value = "8s", value_parser = parse_duration)]
    timeout: Duration,

    /// Print one JSON object per line instead of readable lines.
    #[arg(long)]
    events: bool,

    /// Connect again one second after a verdict, a close or an error,
    /// forever, instead of exiting.
    #[arg(long)]
    reconnect: bool,
}

/// The longest period or timeout accepted: a year.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses `500ms`, `2s`, `1.5s`, `1m` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try `2s` or `500ms`)"))?;
    let seconds = value * scale;
    // A zero period would make `tokio::time::interval` panic.
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("`{text}` must be longer than zero"));
    }
    // A bound keeps `now + timeout` far from overflowing the clock.
    if seconds > MAX_DURATION.as_secs_f64() {
        return Err(format!("`{text}` is longer than a year"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Writes events to stdout, one line each, flushed at once so that a
/// reader sees every event when it happens.
struct Events {
    json: bool,
    started: Instant,
}

impl Events {
    fn emit(&self, event: &str, fields: Value) {
        let t = self.started.elapsed().as_secs_f64();
        let fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let line = if self.json {
            let mut object = Map::new();
            object.insert("event".into(), event.into());
            object.insert("t".into(), json!((t * 1e6).round() / 1e6));
            object.extend(fields);
            Value::Object(object).to_string()
        } else {
            let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{t:10.3}  {event:<10} {}", rest.join(" "))
        };

        // Nothing useful can be done when stdout is gone; the next event
        // will fail the same way, so the error is dropped.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// Why a connection ended.
enum Ending {
    Dead,
    Closed,
    Error,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let events = Events {
        json: args.events,
        started: Instant::now(),
    };

    loop {
        let ending = run_connection(&args, &events).await;
        if !args.reconnect {
            return match ending {
                Ending::Closed => ExitCode::SUCCESS,
                Ending::Dead | Ending::Error => ExitCode::FAILURE,
            };
        }
        sleep(Duration::from_secs(1)).await;
    }
}

/// Connects once and runs the keepalive until a verdict, a close or an
/// error, each of which is reported as an event.
async fn run_connection(args: &Args, events: &Events) -> Ending {
    let stream = match connect_async(args.url.as_str()).await {
        Ok((stream, _response)) => stream,
        Err(error) => {
            events.emit("error", json!({ "why": format!("connect: {error}") }));
            return Ending::Error;
        }
    };
    events.emit("connected", json!({ "url": args.url }));
    let (mut write, mut read) = stream.split();

    // The first tick completes at once, so a Ping goes out on connect.
    let mut ticker = interval(args.ping_every);
    let mut sent: u64 = 0;
    let mut last_heard = Instant::now();
    let deadline = sleep_until(last_heard + args.timeout);
    tokio::pin!(deadline);

    loop {
        tokio::select! {
            _ = ticker.tick() => {
                sent += 1;
                let payload = sent.to_be_bytes().to_vec();
                if let Err(error) = write.send(Message::Ping(payload.into())).await {
                    events.emit("error", json!({ "why": format!("send: {error}") }));
                    return Ending::Error;
                }
                events.emit("probe", json!({ "seq": sent, "reason": "Interval" }));
            }
            frame = read.next() => {
                let message = match frame {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        events.emit("error", json!({ "why": format!("read: {error}") }));
                        return Ending::Error;
                    }
                    None => {
                        events.emit("closed", json!({ "why": "end of stream" }));
                        return Ending::Closed;
                    }
                };

                last_heard = Instant::now();
                deadline.as_mut().reset(last_heard + args.timeout);
                match message {
                    Message::Pong(payload) => {
                        let seq = <[u8; 8]>::try_from(payload.as_ref())
                            .map(u64::from_be_bytes)
                            .ok();
                        events.emit("reply", json!({ "seq": seq }));
                    }
                    Message::Close(frame) => {
                        let why = frame.map_or_else(
                            || "close frame".to_owned(),
                            |f| format!("close frame: {} {}", f.code, f.reason),
                        );
                        events.emit("closed", json!({ "why": why }));
                        return Ending::Closed;
                    }
                    _ => events.emit("inbound", json!({})),
                }
            }
            () = &mut deadline => {
                let silence = last_heard.elapsed().as_secs_f64() * 1e3;
                events.emit(
                    "dead",
                    json!({ "silence_ms": silence.round(), "probes_sent": sent }),
                );
                return Ending::Dead;
            }
        }
    }
}
