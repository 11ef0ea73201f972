//! Keeps a WebSocket connection alive with `keepalive`, over tokio and
//! tokio-tungstenite.
//!
//! Without `--url` it runs a demo against a server in the same process:
//! a healthy session for a few seconds, then the server freezes (stops
//! reading, so no Pong comes back, while the TCP connection stays open) and
//! the peer is declared dead, within the bound of `docs/guarantees.md`.
//!
//! `session.rs` is the driver (the part to copy); `server.rs` is the demo
//! server.

// The tests drive the server with commands the demo does not need.
#[allow(dead_code)]
mod server;
mod session;

use std::cell::Cell;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use keepalive::{Config, DiscontinuityKind, Evidence, MAX_SPAN};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::{uri_mode, IntoClientRequest};
use tokio_tungstenite::tungstenite::stream::Mode;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::WebSocketStream;

use server::Server;
use session::{Event, SessionError, SystemClock};

/// How many idle periods the demo stays healthy before the server
/// freezes: three probes and their Pongs, then the freeze halfway through
/// the next idle period.
const HEALTHY_IDLE_PERIODS: f64 = 3.5;

/// How long a connection attempt may take (a silent address would
/// otherwise hold the TCP handshake for minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause before connecting again with `--reconnect`.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Parser, Debug)]
#[command(
    about = "Keep a WebSocket connection alive with the keepalive machine",
    long_about = "Keep a WebSocket connection alive with the keepalive \
                  machine: Ping probes after `idle` of silence, each \
                  answered within `window`, and the peer declared dead \
                  after `misses` unanswered windows in a row.\n\n\
                  Without --url, runs a demo against a server in this \
                  process: a healthy session, then the server stops \
                  reading and the peer is declared dead.",
    after_help = "Durations: `1.5s`, `500ms`, or plain seconds (`0.25`).\n\n\
                  Exit status with --url: 0 when the peer closed the \
                  connection, 1 when connecting or the connection failed, \
                  2 for bad arguments or a config that cannot work, 3 when \
                  the peer was declared dead. With --reconnect the program \
                  runs until interrupted (130 on Ctrl-C). The demo: 0 when \
                  the verdict came within the bound, 4 when it came later \
                  (a window too short for this machine's scheduling), 1 \
                  when the demo could not run."
)]
struct Args {
    /// Connect to this server (`ws://host:port/path`) instead of running
    /// the demo.
    #[arg(long, value_parser = parse_url)]
    url: Option<String>,

    /// Inbound silence before a probe is sent.
    #[arg(
        long,
        default_value = "1s",
        value_parser = parse_duration,
        allow_hyphen_values = true
    )]
    idle: Duration,

    /// How long each probe waits for its Pong.
    ///
    /// A window under about 100 ms is too short for tokio's timer, which
    /// works in 1 ms steps: the tolerance for a late wake-up is a twentieth
    /// of the window (5 ms at 100 ms), and each wake-up later than that is
    /// reported as a clock discontinuity.
    #[arg(
        long,
        default_value = "1.5s",
        value_parser = parse_duration,
        allow_hyphen_values = true
    )]
    window: Duration,

    /// Unanswered windows in a row before the peer is declared dead.
    #[arg(long, default_value_t = 2)]
    misses: u32,

    /// Print one JSON object per line on stdout instead of text; `t` is
    /// seconds since the process started, on its monotonic clock.
    #[arg(long)]
    events: bool,

    /// After a verdict or a closed connection, connect again a second
    /// later, until interrupted.
    #[arg(long)]
    reconnect: bool,
}

fn main() -> ExitCode {
    let start = Instant::now();
    let args = Args::parse();

    let config = match Config::builder()
        .idle(args.idle)
        .reply_window(args.window)
        .max_misses(args.misses)
        .build()
    {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    let out = Output {
        start,
        json: args.events,
        last_heard: Cell::new(None),
    };
    runtime.block_on(async {
        let work = async {
            match &args.url {
                None => demo(&out, config).await,
                Some(url) => keep_alive(&out, url, config, args.reconnect).await,
            }
        };
        tokio::select! {
            code = work => code,
            _ = tokio::signal::ctrl_c() => ExitCode::from(130),
        }
    })
}

/// The demo: a healthy session, then a frozen server and its verdict.
async fn demo(out: &Output, config: Config) -> ExitCode {
    let server = match Server::start().await {
        Ok(server) => server,
        Err(error) => {
            out.error(&format!("cannot start the demo server: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let url = server.url();
    let ws = match connect(&url).await {
        Ok(ws) => ws,
        Err(why) => {
            out.error(&why);
            return ExitCode::FAILURE;
        }
    };
    out.connected(&url);
    out.note(&describe(&config));

    let freeze = async {
        tokio::time::sleep(config.idle().mul_f64(HEALTHY_IDLE_PERIODS)).await;
        server.freeze();
        out.note("the server stops reading (no more Pongs)");
        Instant::now()
    };
    let session = session::run(ws, config, SystemClock, |event| out.event(&event));
    let (frozen_at, result) = tokio::join!(freeze, session);

    match result {
        Ok(evidence) => {
            out.dead(&evidence);
            let since = |instant: Option<Instant>| {
                instant.map_or(f64::NAN, |instant| instant.elapsed().as_secs_f64())
            };
            let silence = since(out.last_heard.get());
            out.note(&format!(
                "verdict {:.3} s after the freeze, {:.3} s after the last \
                 Pong; bound idle + misses × window + 2 × tolerance = {:.3} s",
                since(Some(frozen_at)),
                silence,
                bound(&config).as_secs_f64(),
            ));
            // NaN (no Pong ever) fails the comparison too.
            if silence <= bound(&config).as_secs_f64() {
                ExitCode::SUCCESS
            } else {
                out.error(
                    "the verdict came later than the bound: this machine \
                     schedules the loop too late for so short a window; \
                     widen --window",
                );
                ExitCode::from(4)
            }
        }
        Err(error) => {
            out.end(&error);
            ExitCode::FAILURE
        }
    }
}

/// Keeps `url` alive until the peer is dead or the connection ends, and
/// again and again with `reconnect`.
async fn keep_alive(out: &Output, url: &str, config: Config, reconnect: bool) -> ExitCode {
    if !out.json {
        out.text(&describe(&config));
    }
    loop {
        let code = match connect(url).await {
            Err(why) => {
                out.error(&why);
                ExitCode::FAILURE
            }
            Ok(ws) => {
                out.connected(url);
                // The machine counts the connection's start as traffic.
                out.last_heard.set(Some(Instant::now()));
                let session = session::run(ws, config, SystemClock, |event| out.event(&event));
                match session.await {
                    Ok(evidence) => {
                        out.dead(&evidence);
                        if !out.json {
                            let heard = out.last_heard.get().expect("set on connecting");
                            out.text(&format!(
                                "verdict {:.3} s after the last traffic; bound {:.3} s",
                                heard.elapsed().as_secs_f64(),
                                bound(&config).as_secs_f64(),
                            ));
                        }
                        ExitCode::from(3)
                    }
                    Err(error) => {
                        out.end(&error);
                        match error {
                            SessionError::Closed(_) => ExitCode::SUCCESS,
                            SessionError::Transport(_) | SessionError::Misbehaving(_) => {
                                ExitCode::FAILURE
                            }
                        }
                    }
                }
            }
        };
        if !reconnect {
            return code;
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Result<Ws, String> {
    let request = url
        .into_client_request()
        .map_err(|error| format!("bad url {url:?}: {error}"))?;
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(error)) => Err(format!("cannot connect to {url}: {error}")),
        Err(_) => Err(format!(
            "cannot connect to {url}: no answer within {CONNECT_TIMEOUT:?}"
        )),
    }
}

/// `idle + max_misses × reply_window + 2 × tolerance`: the real time from
/// the peer's last traffic to the verdict when nothing jumps and every
/// wake-up is at most the tolerance late (`docs/guarantees.md`).
fn bound(config: &Config) -> Duration {
    config.detection_time() + 2 * config.tolerance()
}

/// The config and the bound it gives, in one line.
fn describe(config: &Config) -> String {
    format!(
        "idle {:?}, window {:?}, {} misses, tolerance {:?}: a dead peer \
         is declared dead within {:?} of its last traffic",
        config.idle(),
        config.reply_window(),
        config.max_misses(),
        config.tolerance(),
        bound(config),
    )
}

/// Accepts a `ws://` URL with a host; anything else is a bad argument
/// rather than a connection that fails.
fn parse_url(text: &str) -> Result<String, String> {
    let request = text
        .into_client_request()
        .map_err(|error| format!("{text:?} is not a URL: {error}"))?;
    let uri = request.uri();
    match uri_mode(uri) {
        Ok(Mode::Plain) => {}
        Ok(Mode::Tls) => {
            return Err(format!(
                "{text:?} needs TLS, which this example is built without: \
                 use a ws:// URL"
            ))
        }
        Err(_) => return Err(format!("{text:?} is not a ws:// URL")),
    }
    if uri.host().map_or(true, str::is_empty) {
        return Err(format!("{text:?} has no host: write ws://host:port/path"));
    }
    // The URI parser takes any digits as a port; the socket needs a u16.
    let authority = uri.authority().map_or("", |authority| authority.as_str());
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    let port = host_and_port
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|port| !port.contains(']'));
    if let Some(port) = port {
        if !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err(format!(
                "{text:?} has port {port}: write a port from 1 to 65535"
            ));
        }
    }
    Ok(text.to_string())
}

/// Accepts `1.5s`, `500ms` or plain seconds (`0.25`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(millis) = text.strip_suffix("ms") {
        (millis, 1e-3)
    } else if let Some(secs) = text.strip_suffix('s') {
        (secs, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write `1.5s`, `500ms` or `0.25`"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "{text:?} is not a duration: it must be finite and not negative"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| {
        format!(
            "{text:?} is too large: the machine supports at most {} s",
            MAX_SPAN.as_secs()
        )
    })
}

/// Prints what happens, as text or as one JSON object per line.
struct Output {
    start: Instant,
    json: bool,
    /// When the latest Pong or other frame arrived.
    last_heard: Cell<Option<Instant>>,
}

impl Output {
    fn event(&self, event: &Event) {
        if let Event::Reply { .. } | Event::Inbound = event {
            self.last_heard.set(Some(Instant::now()));
        }
        match *event {
            Event::Probe(probe) => {
                let reason = format!("{:?}", probe.reason);
                self.line(
                    json!({"event": "probe", "seq": probe.seq, "reason": reason}),
                    || format!("-> ping #{} ({reason})", probe.seq),
                )
            }
            Event::Reply { seq } => self.line(json!({"event": "reply", "seq": seq}), || {
                format!("<- pong #{seq}")
            }),
            Event::Inbound => self.line(json!({"event": "inbound"}), || "<- other frame".into()),
            Event::Discontinuity(seen) => {
                let (kind, by) = match seen.kind {
                    DiscontinuityKind::Late { by } => ("Late", Some(by)),
                    DiscontinuityKind::Backward { by } => ("Backward", Some(by)),
                    DiscontinuityKind::Resume { .. } => ("Resume", None),
                    DiscontinuityKind::Suspend { slept } => ("Suspend", Some(slept)),
                };
                self.line(
                    json!({
                        "event": "discontinuity",
                        "kind": kind,
                        "by_ms": by.map(millis),
                        "credited_ms": millis(seen.credited),
                    }),
                    || {
                        format!(
                            "clock discontinuity: {kind}{}, credited {:.3} s",
                            by.map(|by| format!(" by {:.3} s", by.as_secs_f64()))
                                .unwrap_or_default(),
                            seen.credited.as_secs_f64()
                        )
                    },
                )
            }
            Event::Wakeup(wakeup) => {
                if !self.json {
                    let wait = wakeup.at.saturating_duration_since(Instant::now());
                    self.text(&format!(
                        "   next wake-up in {:.3} s ({:?})",
                        wait.as_secs_f64(),
                        wakeup.reason
                    ));
                }
            }
        }
    }

    fn connected(&self, url: &str) {
        self.line(json!({"event": "connected", "url": url}), || {
            format!("connected to {url}")
        });
    }

    fn dead(&self, evidence: &Evidence) {
        self.line(
            json!({
                "event": "dead",
                "windows_missed": evidence.windows_missed,
                "probes_sent": evidence.probes_sent,
                "silence_ms": millis(evidence.silence),
                "discontinuities": evidence.discontinuities,
            }),
            || {
                format!(
                    "PEER DEAD: {} windows missed, {} probes sent, {:.3} s \
                     of silence, {} discontinuities",
                    evidence.windows_missed,
                    evidence.probes_sent,
                    evidence.silence.as_secs_f64(),
                    evidence.discontinuities
                )
            },
        );
    }

    fn end(&self, error: &SessionError) {
        match error {
            SessionError::Closed(_) => self.closed(&error.to_string()),
            SessionError::Transport(_) | SessionError::Misbehaving(_) => {
                self.error(&error.to_string())
            }
        }
    }

    fn closed(&self, why: &str) {
        self.line(json!({"event": "closed", "why": why}), || {
            format!("connection {why}")
        });
    }

    fn error(&self, why: &str) {
        if self.json {
            self.line(json!({"event": "error", "why": why}), String::new);
        } else {
            eprintln!("error: {why}");
        }
    }

    /// Text beside the events: on stdout as text, on stderr with `--events`
    /// so that stdout stays one JSON object per line.
    fn note(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            self.text(text);
        }
    }

    fn line(&self, mut object: Value, text: impl FnOnce() -> String) {
        if !self.json {
            return self.text(&text());
        }
        let t = self.start.elapsed().as_secs_f64();
        if let Value::Object(map) = &mut object {
            map.insert("t".to_string(), json!(t));
        }
        let mut stdout = std::io::stdout().lock();
        // A closed stdout leaves nothing to report to.
        let _ = writeln!(stdout, "{object}").and_then(|()| stdout.flush());
    }

    fn text(&self, text: &str) {
        let t = self.start.elapsed().as_secs_f64();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{t:7.3} s  {text}").and_then(|()| stdout.flush());
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
