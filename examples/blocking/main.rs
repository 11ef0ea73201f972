//! A keepalive over TCP with std only: a thread that reads whole lines,
//! and the session's thread waiting on them with `recv_timeout` as the
//! machine's single timer.
//!
//! ```text
//! cargo run --example blocking                          # the demo below
//! cargo run --example blocking -- --serve 127.0.0.1:7070
//! cargo run --example blocking -- --connect 127.0.0.1:7070
//! ```
//!
//! With no arguments it starts a server on its own threads, shows a
//! healthy session, then freezes the server (it keeps the connection open
//! and stops answering) and shows the verdict, its evidence and how long
//! it took beside the bound from `docs/guarantees.md`. With `--serve` and
//! `--connect` in two terminals, stop the server with `kill -STOP <pid>`
//! to watch the client find out, or `kill -CONT <pid>` in time to watch
//! it recover.
//!
//! The protocol is one line per message: the client's probes are
//! `PING <seq>`, the server answers `PONG <seq>`, and any other line is
//! application traffic. `driver.rs` is the part to copy.

mod driver;
mod server;

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use keepalive::{Config, DiscontinuityKind, Evidence, ProbeReason};

use driver::{Event, Outcome, Session};
use server::Server;

/// Exit codes, as listed in `--help`.
const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_DEAD: u8 = 3;
const EXIT_OVER_BOUND: u8 = 4;

/// A blocking keepalive over TCP (std only) driving the `keepalive`
/// machine. Without --connect or --serve: a demo against a server on its
/// own threads that freezes after a healthy while.
#[derive(Parser)]
#[command(
    version,
    after_help = "Exit codes:\n  \
        0  demo: the verdict came within the bound; --connect: the server \
        closed the connection\n  \
        1  a socket or address error\n  \
        2  a bad command line, or a config the machine refuses\n  \
        3  --connect: the server was declared dead\n  \
        4  demo: no verdict, or a verdict later than the bound"
)]
struct Args {
    /// Drive a connection to a server run elsewhere (`--serve`).
    #[arg(long, value_name = "ADDR", conflicts_with = "serve")]
    connect: Option<String>,

    /// Run only the server: answer `PING <seq>` with `PONG <seq>`.
    #[arg(long, value_name = "ADDR")]
    serve: Option<String>,

    /// Inbound silence before a probe, in seconds.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    idle: Duration,

    /// How long each probe waits for its reply, in seconds.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    reply_window: Duration,

    /// Unanswered windows in a row before the server is declared dead.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_misses: u32,

    /// Demo only: how long the server answers before it freezes, in
    /// seconds.
    #[arg(long, value_name = "SECS", default_value = "3.5", value_parser = seconds)]
    healthy: Duration,
}

/// Why the program stops early: the message and the exit code.
struct Failure(u8, String);

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn run(args: Args) -> Result<u8, Failure> {
    if let Some(addr) = &args.serve {
        return serve(addr);
    }
    let config = Config::builder()
        .idle(args.idle)
        .reply_window(args.reply_window)
        .max_misses(args.max_misses)
        .build()
        .map_err(|e| Failure(EXIT_USAGE, e.to_string()))?;
    match &args.connect {
        Some(addr) => connect(addr, config),
        None => demo(config, args.healthy),
    }
}

/// The demo: a healthy session, then a frozen server and the verdict.
fn demo(config: Config, healthy: Duration) -> Result<u8, Failure> {
    let server = Server::start("127.0.0.1:0").map_err(error("starting the server"))?;
    println!("server on {} (in this process)", server.addr());
    print_config(&config);
    let stream = TcpStream::connect(server.addr()).map_err(error("connecting"))?;
    let start = Instant::now();

    let (outcome, frozen_at) = thread::scope(|scope| {
        let freezer = scope.spawn(|| {
            thread::sleep(healthy);
            let at = server.freeze();
            println!(
                "{}  server frozen: the connection stays open, nothing is answered",
                stamp(start, at)
            );
            at
        });
        let outcome = Session::new(stream, config)
            .and_then(|session| session.run(|at, event| print_event(start, at, event)));
        let frozen_at = freezer.join().expect("the freezing thread does not panic");
        (outcome, frozen_at)
    });

    let outcome = outcome.map_err(|e| Failure(EXIT_ERROR, e.to_string()))?;
    let Outcome::Dead {
        evidence,
        at,
        last_inbound,
    } = outcome
    else {
        return Err(Failure(
            EXIT_OVER_BOUND,
            "the server closed the connection before any verdict".into(),
        ));
    };
    print_verdict(start, at, &evidence);
    if at < frozen_at {
        return Err(Failure(
            EXIT_OVER_BOUND,
            "the server was declared dead before it froze".into(),
        ));
    }

    // From the last inbound traffic, when nothing jumps and the driver is
    // at most `tolerance` late: docs/guarantees.md, "Liveness".
    let bound = config.detection_time() + 2 * config.tolerance();
    let silence = at - last_inbound.unwrap_or(start);
    println!("freeze -> verdict:        {}", secs(at - frozen_at));
    println!("last traffic -> verdict:  {}", secs(silence));
    println!(
        "bound:                    {}  (idle + max_misses x reply_window + 2 x tolerance, \
         from the last traffic; docs/guarantees.md)",
        secs(bound)
    );
    if silence > bound {
        return Err(Failure(
            EXIT_OVER_BOUND,
            format!(
                "the verdict came {} after the bound: a wake-up was late by more than the \
                 tolerance (a loaded machine?), which adds its lateness",
                secs(silence - bound)
            ),
        ));
    }
    println!("within the bound");
    Ok(0)
}

/// Drives one connection to a server run elsewhere.
fn connect(addr: &str, config: Config) -> Result<u8, Failure> {
    let addr = resolve(addr)?;
    let stream = TcpStream::connect(addr).map_err(error(format!("connecting to {addr}")))?;
    println!("connected to {addr}");
    print_config(&config);
    let start = Instant::now();

    let outcome = Session::new(stream, config)
        .and_then(|session| session.run(|at, event| print_event(start, at, event)))
        .map_err(|e| Failure(EXIT_ERROR, e.to_string()))?;
    match outcome {
        Outcome::Dead { evidence, at, .. } => {
            print_verdict(start, at, &evidence);
            Ok(EXIT_DEAD)
        }
        Outcome::Closed => {
            println!(
                "{}  the server closed the connection",
                stamp(start, Instant::now())
            );
            Ok(0)
        }
    }
}

/// Runs only the server, on this thread, until it fails.
fn serve(addr: &str) -> Result<u8, Failure> {
    let addr = resolve(addr)?;
    let listener = TcpListener::bind(addr).map_err(error(format!("listening on {addr}")))?;
    let bound = listener
        .local_addr()
        .map_err(error("reading the address"))?;
    println!(
        "serving on {bound}; freeze with `kill -STOP {pid}`, thaw with `kill -CONT {pid}`",
        pid = std::process::id()
    );
    server::serve(listener, |message| println!("{message}"))
        .map_err(error("accepting connections"))?;
    Ok(0)
}

fn resolve(addr: &str) -> Result<SocketAddr, Failure> {
    let mut addrs = addr.to_socket_addrs().map_err(|e| {
        Failure(
            EXIT_USAGE,
            format!("{addr:?} is not a host:port address: {e}"),
        )
    })?;
    addrs
        .next()
        .ok_or_else(|| Failure(EXIT_USAGE, format!("{addr:?} resolves to no address")))
}

fn error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Failure {
    let what = what.into();
    move |e| Failure(EXIT_ERROR, format!("{what}: {e}"))
}

/// Parses a number of seconds for the command line.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(value).map_err(|_| format!("{text:?} is not a usable duration"))
}

fn print_config(config: &Config) {
    println!(
        "idle {}, reply window {}, max misses {}, max step {}, tolerance {}",
        secs(config.idle()),
        secs(config.reply_window()),
        config.max_misses(),
        secs(config.max_step()),
        secs(config.tolerance()),
    );
}

fn print_event(start: Instant, at: Instant, event: &Event) {
    let what = match event {
        Event::Probe { seq, reason } => {
            let why = match reason {
                ProbeReason::Idle => "idle",
                ProbeReason::Retry => "retry",
                ProbeReason::SendObligation => "send obligation",
                ProbeReason::Discontinuity => "after a clock discontinuity",
                ProbeReason::Resume => "after a resume",
            };
            format!("-> PING {seq}  ({why})")
        }
        Event::Heartbeat => "-> HEARTBEAT".into(),
        Event::Reply { seq } => format!("<- PONG {seq}"),
        Event::Inbound { line } => format!("<- {line:?}  (application traffic)"),
        // Every wake-up of the timer would drown the rest.
        Event::Timer => return,
        Event::Discontinuity(seen) => {
            let kind = match seen.kind {
                DiscontinuityKind::Late { by } => format!("a wake-up {} late", secs(by)),
                DiscontinuityKind::Backward { by } => format!("the clock {} back", secs(by)),
                DiscontinuityKind::Resume { .. } => "a resume".into(),
                DiscontinuityKind::Suspend { slept } => format!("a host sleep of {}", secs(slept)),
            };
            format!(
                "clock discontinuity: {kind}; credited {} of {}",
                secs(seen.credited),
                secs(seen.observed)
            )
        }
    };
    println!("{}  {what}", stamp(start, at));
}

fn print_verdict(start: Instant, at: Instant, evidence: &Evidence) {
    println!(
        "{}  server dead: {} probes sent, {} windows missed (each waited {} to {}), \
         {} of silence (credited), {} clock discontinuities",
        stamp(start, at),
        evidence.probes_sent,
        evidence.windows_missed,
        secs(evidence.shortest_window),
        secs(evidence.longest_window),
        secs(evidence.silence),
        evidence.discontinuities,
    );
}

/// Seconds since the session started, aligned.
fn stamp(start: Instant, at: Instant) -> String {
    format!("{:>8.3}", at.saturating_duration_since(start).as_secs_f64())
}

fn secs(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}
