#!/usr/bin/env bash
# The end-to-end check: the crate's WebSocket client and a naive tokio
# keepalive run as real processes under libfaketime against a server built
# on Python's `websockets`, while their clocks are shifted (see run.py).
#
# Needs libfaketime (Debian/Ubuntu: `apt-get install faketime`) and the
# `websockets` package for python3 (`python3 -m pip install websockets`).
# Set FAKETIME_LIB to use a libfaketime.so.1 found elsewhere. Exits non-zero
# when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

lib="${FAKETIME_LIB:-}"
if [ -z "$lib" ] && command -v dpkg >/dev/null; then
    lib="$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n 1 || true)"
fi
if [ -z "$lib" ]; then
    for candidate in /usr/lib/*/faketime/libfaketime.so.1 \
        /usr/lib/faketime/libfaketime.so.1 /usr/local/lib/faketime/libfaketime.so.1; do
        if [ -f "$candidate" ]; then
            lib="$candidate"
            break
        fi
    done
fi
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
    echo "error: libfaketime.so.1 not found; install faketime or set FAKETIME_LIB" >&2
    exit 2
fi
if ! python3 -c 'import websockets' 2>/dev/null; then
    echo "error: python3 cannot import websockets; run: python3 -m pip install websockets" >&2
    exit 2
fi

# Build with cargo, then run the binaries directly: cargo itself must not
# run under faketime.
cargo build --quiet --example websocket --example naive-websocket
target="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

exec python3 tests/e2e/run.py \
    --crate-client "$target/debug/examples/websocket" \
    --naive-client "$target/debug/examples/naive-websocket" \
    --faketime-lib "$lib"
