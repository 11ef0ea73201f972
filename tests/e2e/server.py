"""A WebSocket server for the end-to-end check, built on Python's
`websockets` package (PyPI), so the clients talk to a peer written
independently of them.

It listens on 127.0.0.1 (port from argv, 0 or none for any free port),
prints `listening PORT` once ready, keeps every connection open and
discards whatever text or binary messages arrive. The library answers
each Ping with a Pong by itself.

The server also pings each client every 5 s of real time (the library's
default is 20 s; the interval is set explicitly so the run does not depend
on it). A server that sends its own pings is common, and those pings reach
the clients as inbound traffic: after a backward clock step, such traffic
is what lets a client see the step at all, as a real server would. 5 s is
longer than the crate's idle time in the run (2 s), so the clients keep
sending their own probes between the server's pings. A stopped server
(SIGSTOP) sends nothing at all, so this traffic cannot hide a dead peer.
"""

import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

PING_INTERVAL_S = 5.0
PING_TIMEOUT_S = 20.0


async def hold(connection):
    try:
        async for _message in connection:
            pass
    except ConnectionClosed:
        # A client that declares the server dead drops the connection
        # without a closing handshake; that is expected here.
        pass


async def main(port):
    async with serve(
        hold,
        "127.0.0.1",
        port,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_TIMEOUT_S,
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening {bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
