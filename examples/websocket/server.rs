//! An in-process WebSocket server to keep alive: it answers Pings, and on
//! command freezes (stops reading while keeping the TCP connection open,
//! so no Pong is ever written), thaws, or sends a frame of the caller's
//! choosing.

use std::io;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// A running server on `127.0.0.1` and the commands it takes. Dropping it
/// stops accepting and closes every connection.
pub struct Server {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
    push: broadcast::Sender<Message>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds `127.0.0.1` on a free port and starts accepting connections.
    pub async fn start() -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (frozen, _) = watch::channel(false);
        let (push, _) = broadcast::channel(16);

        let accept = tokio::spawn({
            let frozen = frozen.clone();
            let push = push.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let frozen = frozen.subscribe();
                    let push = push.subscribe();
                    tokio::spawn(serve(stream, frozen, push));
                }
            }
        });

        Ok(Server {
            addr,
            frozen,
            push,
            accept,
        })
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Every connection stops reading: Pings pile up unanswered in the
    /// socket, and nothing is sent, but the TCP connection stays open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Every connection reads again and answers the Pings that waited.
    pub fn unfreeze(&self) {
        self.frozen.send_replace(false);
    }

    /// Sends `message` on every open connection, frozen or not (a frozen
    /// connection still writes what it is told to, it only stops reading).
    pub fn push(&self, message: Message) {
        // No receiver only means no connection is open.
        let _ = self.push.send(message);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves one connection until it closes or fails.
async fn serve(
    stream: TcpStream,
    mut frozen: watch::Receiver<bool>,
    mut push: broadcast::Receiver<Message>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    loop {
        // Not reading is the whole point of a freeze: tungstenite writes
        // the Pong for a Ping only while the stream is read.
        let reading = !*frozen.borrow_and_update();
        tokio::select! {
            frame = ws.next(), if reading => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            changed = frozen.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            message = push.recv() => match message {
                Ok(message) => {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
