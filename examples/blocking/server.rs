//! The server's side of the line protocol: answer `PING <seq>` with
//! `PONG <seq>`, until told to freeze.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use crate::driver::{Error, Lines};

/// The line the server greets each connection with: application traffic,
/// so the client's first inbound line is not a reply.
pub const GREETING: &str = "HELLO keepalive";

/// A server answering pings on its own threads.
///
/// Dropping it stops accepting and closes every connection.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    frozen: AtomicBool,
    stopping: AtomicBool,
    /// A handle on every accepted connection, to close them.
    connections: Mutex<Vec<TcpStream>>,
}

impl Server {
    /// Binds `addr` and serves on background threads.
    pub fn start(addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());

        let accepting = Arc::clone(&shared);
        thread::spawn(move || accept(listener, &accepting, |_| {}));
        Ok(Server { addr, shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops answering, the way a hung process would: connections stay
    /// open and what clients send is read and dropped. Returns when.
    pub fn freeze(&self) -> Instant {
        self.shared.frozen.store(true, Ordering::SeqCst);
        Instant::now()
    }

    /// Closes every connection, as a server that exits would.
    pub fn hang_up(&self) {
        let connections = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for connection in connections.iter() {
            // Already closed by the client is fine.
            let _ = connection.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.hang_up();
        // `accept` blocks; one last connection wakes it to see the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Serves on the calling thread until accepting fails, reporting each
/// connection as it opens and ends to `log`.
pub fn serve(listener: TcpListener, log: fn(&str)) -> io::Result<()> {
    accept(listener, &Arc::new(Shared::default()), log)
}

fn accept(listener: TcpListener, shared: &Arc<Shared>, log: fn(&str)) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A client that gave up before being accepted is not the
            // listener's fault.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        log(&format!("{peer} connected"));
        if let Ok(handle) = stream.try_clone() {
            shared
                .connections
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(handle);
        }

        let answering = Arc::clone(shared);
        thread::spawn(move || match answer(stream, &answering.frozen) {
            Ok(()) => log(&format!("{peer} closed the connection")),
            Err(e) => log(&format!("{peer}: {e}")),
        });
    }
}

/// Greets the client, then answers each `PING <seq>` line with
/// `PONG <seq>` until the client closes. Other lines are ignored.
fn answer(mut stream: TcpStream, frozen: &AtomicBool) -> Result<(), Error> {
    // Replies go out at once instead of waiting to be coalesced.
    stream
        .set_nodelay(true)
        .map_err(failed("setting TCP_NODELAY"))?;
    writeln!(stream, "{GREETING}").map_err(failed("greeting"))?;

    // The same reassembly as the client's: a line split across reads is
    // handed out whole, once its newline came.
    let mut lines = Lines::default();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io("reading", e)),
        };
        lines.push(&chunk[..n]);

        while let Some(line) = lines.next_line()? {
            if frozen.load(Ordering::SeqCst) {
                continue;
            }
            let ping = line.strip_prefix("PING ").map(str::parse::<u64>);
            if let Some(Ok(seq)) = ping {
                writeln!(stream, "PONG {seq}").map_err(failed("answering"))?;
            }
        }
    }
}

fn failed(what: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |e| Error::Io(what, e)
}
