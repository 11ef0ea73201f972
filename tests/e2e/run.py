#!/usr/bin/env python3
"""End-to-end check: real processes, a real WebSocket server, and a clock
that is shifted while the clients run.

`run.sh` builds the two clients and calls this script; run it directly only
with the paths it needs (see `--help`). Python's standard library only.

Two clients run at once, each as its own process under libfaketime, their
monotonic clocks following an offset file that this script rewrites:

* `crate`: the crate's WebSocket example (`examples/websocket`), driven by
  the keepalive machine.
* `naive`: `tests/e2e/naive.rs`, an interval timer plus a deadline, as a
  tokio keepalive is commonly written.

The server (`server.py`, Python's `websockets` package) runs on the real
clock. The main timeline, against server A:

    healthy -> clock +90 s -> clock +300 s more -> clock back 60 s -> wait
    -> SIGSTOP server A -> verdicts -> SIGCONT

For the crate's client this script asserts: no verdict and no lost
connection before the SIGSTOP; at most `CPU_LIMIT_S` of CPU in any phase; after each shift a probe answered and the
shift reported as a discontinuity of the right kind and size; after the
SIGSTOP a verdict within `idle + misses × window + 2 × tolerance`
(`tolerance` = window / 20) plus `ALLOWANCE_S`, measured on this script's
own clock both from the SIGSTOP and from the last traffic before the
verdict, and not before `idle + misses × window` of silence. For the naive
client it only reports.

A second pair of the same clients runs against server B on its own offset
file. At the moment of the main timeline's backward step, its clock steps
back 60 s and server B is stopped at once, so that no traffic follows the
step: the time to the verdicts is recorded and reported, not asserted (see
the README's section on the end-to-end check for why it is longer).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The crate's client: probe after 2 s of silence, 3 s per reply window, dead
# after 2 unanswered windows. The tolerance is the default window / 20.
IDLE_S = 2.0
WINDOW_S = 3.0
MISSES = 2
TOLERANCE_S = WINDOW_S / 20
BOUND_S = IDLE_S + MISSES * WINDOW_S + 2 * TOLERANCE_S

# The naive client: a Ping every 2 s, dead after 8 s without any frame,
# the crate's `idle + misses × window`.
PING_EVERY_S = 2.0
TIMEOUT_S = IDLE_S + MISSES * WINDOW_S

# Added to the bound for what lies between the machine and this script: the
# stopped server's last Pong may still be in flight when SIGSTOP lands, the
# verdict line crosses a pipe, and two cores are shared by five processes.
ALLOWANCE_S = 0.5

# The verdict must not come before `idle + misses × window` of silence
# (the credited clock never runs faster than the real one here); the events'
# arrival times may be off by this much either way.
DETECTION_S = IDLE_S + MISSES * WINDOW_S
JITTER_S = 0.2

# The crate's client sleeps between its wake-ups: CPU time it may use in
# any one phase of the timeline (it uses about 0.01 s). A driver whose timer
# fires at once, again and again, after the backward step burns tens of
# seconds here.
CPU_LIMIT_S = 2.0

# The timeline, in seconds of real time.
HEALTHY_S = 6.0
AFTER_FORWARD_S = 8.0
# After the backward step, tokio's timer wheel does not run backward: a
# sleep registered before the step fires only once the shifted clock has
# caught up with where it was (60 s), and any later sleep ending before that
# point fires at once. The wait covers the step plus a healthy stretch, so
# that the SIGSTOP measurement starts from an ordinary state.
BACK_STEP_S = 60.0
AFTER_BACKWARD_S = BACK_STEP_S + 10.0
# How long to wait for the naive client's verdict after the SIGSTOP.
STOPPED_MAX_S = 3 * BOUND_S
AFTER_CONTINUE_S = 3.0
# The side pair's verdicts are awaited this long after its step and stop.
SIDE_MAX_S = BACK_STEP_S + 3 * BOUND_S

# Each shift of the main pair's clock: its label, the offset written to the
# file (relative to the real clock, so the steps add up), and the kind and
# size of discontinuity the crate's client must report for it.
SHIFTS = [
    ("+90 s", 90.0, "Late", 90.0),
    ("+300 s", 390.0, "Late", 300.0),
    ("-60 s", 390.0 - BACK_STEP_S, "Backward", BACK_STEP_S),
]
# How far a reported size may be from the shift: the machine measures a
# forward jump from the wake-up it had asked for, and a backward one from
# its previous input, each some seconds away from the moment of the shift.
SIZE_SLACK_S = 10.0


class Server:
    """`server.py` on a free port, on the real clock."""

    def __init__(self, name, log_dir):
        self.name = name
        self.log = open(os.path.join(log_dir, f"server-{name}.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise RuntimeError(f"server {name} did not start: {line!r}")
        self.url = f"ws://127.0.0.1:{line[1]}/"

    def stop(self):
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


class Client:
    """A client process under libfaketime, with its events timestamped on
    arrival by this script's (real) clock."""

    def __init__(self, name, argv, offset_file, faketime_lib, log_dir):
        self.name = name
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=faketime_lib,
            FAKETIME_TIMESTAMP_FILE=offset_file,
            FAKETIME_NO_CACHE="1",
            FAKETIME_DONT_FAKE_MONOTONIC="0",
        )
        self.events = []
        self.lock = threading.Lock()
        self.log = open(os.path.join(log_dir, f"{name}.events"), "w")
        self.stderr = open(os.path.join(log_dir, f"{name}.stderr"), "w")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=self.stderr, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            real = time.monotonic()
            self.log.write(f"{real:.3f} {line}")
            self.log.flush()
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line.rstrip()}
            with self.lock:
                self.events.append((real, event))

    def between(self, start, end, kind=None):
        """The events that arrived in `[start, end)`, of one kind or all."""
        with self.lock:
            return [
                (real, event)
                for real, event in self.events
                if start <= real < end and (kind is None or event["event"] == kind)
            ]

    def first_after(self, start, kind, max_wait):
        """Waits until `max_wait` after `start` for an event of `kind` that
        arrives after `start`; returns its arrival time or None."""
        while True:
            found = self.between(start, float("inf"), kind)
            if found:
                return found[0][0]
            if time.monotonic() > start + max_wait:
                return None
            time.sleep(0.02)

    def cpu_s(self):
        """User plus system CPU time so far, from /proc (None elsewhere)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        self.log.close()
        self.stderr.close()


def set_offset(path, seconds):
    """Rewrites the offset file atomically, so a client never reads it
    half-written."""
    scratch = path + ".new"
    with open(scratch, "w") as f:
        f.write(f"{seconds:+.0f}\n")
    os.replace(scratch, path)


def sleep_until(when):
    time.sleep(max(0.0, when - time.monotonic()))


def answered(client, start, end):
    """Sequence numbers of probes sent in `[start, end)` whose replies also
    arrived in it."""
    sent = {e["seq"] for _, e in client.between(start, end, "probe")}
    got = {e["seq"] for _, e in client.between(start, end, "reply")}
    return sorted(sent & got)


def last_traffic(client, before):
    """Arrival time of the last reply or other inbound frame before
    `before`."""
    heard = [
        real
        for real, e in client.between(0, before)
        if e["event"] in ("reply", "inbound")
    ]
    return heard[-1] if heard else float("nan")


def describe_discontinuities(client, start, end, most=None):
    """The discontinuities seen between two instants; with `most`, only the
    first `most` of them and a count of the rest."""
    seen = client.between(start, end, "discontinuity")
    if not seen:
        return "none"
    named = [
        f"{e['kind']} {e['by_ms'] / 1000:.1f} s" if e.get("by_ms") is not None
        else e["kind"]
        for _, e in seen
    ]
    if most is not None and len(named) > most:
        named = named[:most] + [f"{len(named) - most} more"]
    return ", ".join(named)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crate-client", required=True, help="the built websocket example")
    parser.add_argument("--naive-client", required=True, help="the built naive-websocket example")
    parser.add_argument("--faketime-lib", required=True, help="path of libfaketime.so.1")
    args = parser.parse_args()

    log_dir = tempfile.mkdtemp(prefix="keepalive-e2e-")
    print(f"event logs: {log_dir}", flush=True)
    timeline = open(os.path.join(log_dir, "timeline.txt"), "w")
    started = time.monotonic()

    def mark(text):
        line = f"{time.monotonic() - started:7.3f} s  {text}"
        print(line, flush=True)
        timeline.write(line + "\n")
        timeline.flush()

    servers, clients = [], []
    try:
        return run(args, log_dir, mark, servers, clients)
    finally:
        for process in clients + servers:
            process.close()
        timeline.close()
        print(f"event logs: {log_dir}", flush=True)


def run(args, log_dir, mark, servers, clients):
    server_a = Server("a", log_dir)
    server_b = Server("b", log_dir)
    servers += [server_a, server_b]
    offset_a = os.path.join(log_dir, "offset-a")
    offset_b = os.path.join(log_dir, "offset-b")
    set_offset(offset_a, 0)
    set_offset(offset_b, 0)

    def start(name, server, offset):
        common = ["--url", server.url, "--events", "--reconnect"]
        crate_argv = [args.crate_client] + common + [
            "--idle", f"{IDLE_S}s", "--window", f"{WINDOW_S}s", "--misses", str(MISSES),
        ]
        naive_argv = [args.naive_client] + common + [
            "--ping-every", f"{PING_EVERY_S}s", "--timeout", f"{TIMEOUT_S}s",
        ]
        pair = (
            Client(f"crate-{name}", crate_argv, offset, args.faketime_lib, log_dir),
            Client(f"naive-{name}", naive_argv, offset, args.faketime_lib, log_dir),
        )
        clients.extend(pair)
        return pair

    crate, naive = start("a", server_a, offset_a)
    side_crate, side_naive = start("b", server_b, offset_b)
    mark(f"servers {server_a.url} (a), {server_b.url} (b); clients started")
    mark(
        f"crate: idle {IDLE_S} s, window {WINDOW_S} s, {MISSES} misses, "
        f"bound {BOUND_S:.2f} s (+ {ALLOWANCE_S} s allowance); "
        f"naive: ping every {PING_EVERY_S} s, timeout {TIMEOUT_S} s"
    )

    failures = []
    for client in clients:
        if client.first_after(0, "connected", time.monotonic() + 15) is None:
            failures.append(f"{client.name} did not connect within 15 s")
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        return 1
    mark("all four clients connected")

    # The phases of the main timeline: (label, start, end), filled in as
    # the script goes.
    phases = []
    cpu = {client.name: [client.cpu_s()] for client in clients}

    def next_phase(label, length):
        begin = time.monotonic()
        sleep_until(begin + length)
        phases.append((label, begin, time.monotonic()))
        for client in clients:
            cpu[client.name].append(client.cpu_s())

    phase_start = time.monotonic()
    sleep_until(phase_start + HEALTHY_S)
    phases.append(("healthy", phase_start, time.monotonic()))
    for client in clients:
        cpu[client.name].append(client.cpu_s())

    side_stopped = None
    for label, offset, kind, _size in SHIFTS:
        set_offset(offset_a, offset)
        mark(f"clock {label} (offset file a: {offset:+.0f} s)")
        if kind == "Backward":
            # The side pair: the same backward step, then server b stops
            # at once, so that nothing reaches its clients after the step.
            set_offset(offset_b, -BACK_STEP_S)
            server_b.stop()
            side_stopped = time.monotonic()
            mark("side: clock -60 s (offset file b) and SIGSTOP server b")
            next_phase(label, AFTER_BACKWARD_S)
        else:
            next_phase(label, AFTER_FORWARD_S)

    server_a.stop()
    stopped = time.monotonic()
    mark("SIGSTOP server a")
    crate_dead = crate.first_after(stopped, "dead", BOUND_S + ALLOWANCE_S + 2)
    naive_dead = naive.first_after(stopped, "dead", STOPPED_MAX_S)
    for client in clients:
        cpu[client.name].append(client.cpu_s())
    phases.append(("SIGSTOP", stopped, time.monotonic()))
    server_a.cont()
    continued = time.monotonic()
    mark("SIGCONT server a")

    side_crate_dead = side_crate.first_after(side_stopped, "dead", SIDE_MAX_S)
    side_naive_dead = side_naive.first_after(side_stopped, "dead", SIDE_MAX_S)
    server_b.cont()
    mark("SIGCONT server b")
    sleep_until(continued + AFTER_CONTINUE_S)
    mark("done")

    # The crate's client: the assertions.
    for kind in ("dead", "closed", "error"):
        found = crate.between(0, stopped, kind)
        if found:
            failures.append(
                f"crate: {len(found)} '{kind}' event(s) before the SIGSTOP, the "
                "first: " + "; ".join(json.dumps(e) for _, e in found[:3])
            )
    for label, begin, end in phases[1:4]:
        if not answered(crate, begin, end):
            failures.append(f"crate: no probe answered after the {label} shift")
    for (label, begin, end), (_, _, kind, size) in zip(phases[1:4], SHIFTS):
        seen = crate.between(begin, end, "discontinuity")
        matching = [
            e for _, e in seen
            if e["kind"] == kind and abs(e["by_ms"] / 1000 - size) <= SIZE_SLACK_S
        ]
        if not matching:
            failures.append(
                f"crate: the {label} shift was not reported as {kind} by "
                f"{size:.0f} s (± {SIZE_SLACK_S:.0f} s); seen: "
                + describe_discontinuities(crate, begin, end)
            )
    for index, (label, _, _) in enumerate(phases):
        before, after = cpu[crate.name][index], cpu[crate.name][index + 1]
        if before is not None and after is not None and after - before > CPU_LIMIT_S:
            failures.append(
                f"crate: {after - before:.2f} s of CPU in the {label} phase, over "
                f"{CPU_LIMIT_S} s: the loop is spinning"
            )
    crate_silence = None
    if crate_dead is None:
        failures.append(
            f"crate: no verdict within {BOUND_S + ALLOWANCE_S + 2:.2f} s of the SIGSTOP"
        )
    else:
        took = crate_dead - stopped
        if took > BOUND_S + ALLOWANCE_S:
            failures.append(
                f"crate: verdict {took:.3f} s after the SIGSTOP, beyond the bound "
                f"{BOUND_S:.2f} s + {ALLOWANCE_S} s"
            )
        # The bound runs from the last traffic, which came some seconds
        # before the SIGSTOP: measured from there the check is tighter, and
        # a verdict before `idle + misses × window` would mean the windows
        # were cut short.
        crate_silence = crate_dead - last_traffic(crate, crate_dead)
        if not DETECTION_S - JITTER_S <= crate_silence <= BOUND_S + ALLOWANCE_S:
            failures.append(
                f"crate: verdict {crate_silence:.3f} s after the last traffic, outside "
                f"[{DETECTION_S:.2f} s - {JITTER_S} s, {BOUND_S:.2f} s + {ALLOWANCE_S} s]"
            )
        dead = crate.between(stopped, float("inf"), "dead")[0][1]
        if dead.get("windows_missed") != MISSES:
            failures.append(f"crate: the verdict's evidence is off: {json.dumps(dead)}")
    if crate.proc.poll() is not None:
        failures.append(f"crate: the client exited with status {crate.proc.returncode}")

    lines = summary(
        phases, cpu, crate, naive,
        [
            ("SIGSTOP of server a", stopped, crate_dead, naive_dead,
             f"crate's bound {BOUND_S:.2f} s + {ALLOWANCE_S} s allowance"),
            ("last traffic before the verdict (same SIGSTOP)", None, crate_dead, naive_dead,
             f"crate: within [{DETECTION_S:.2f} s - {JITTER_S} s, {BOUND_S:.2f} s + "
             f"{ALLOWANCE_S} s]"),
            ("side: clock -60 s, then SIGSTOP of server b at once", side_stopped,
             side_crate_dead, side_naive_dead,
             f"not asserted; the step plus the bound is {BACK_STEP_S + BOUND_S:.2f} s"),
        ],
        continued,
    )
    with open(os.path.join(log_dir, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print()
    print("\n".join(lines))
    print()

    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        return 1
    print("end-to-end check passed")
    return 0


def summary(phases, cpu, crate, naive, stops, continued):
    """The table of the run, as lines of text."""
    lines = [
        "End-to-end summary (real time; a 'dead' before the SIGSTOP is a false verdict)",
        "A discontinuity's size is measured from the machine's previous input (backward) or",
        "its pending wake-up (late), so it can differ from the shift by a few seconds.",
        "",
        f"{'':<19}| {'crate (keepalive machine)':<73}| naive (interval + deadline)",
        f"{'phase':<9}{'length':>9} | {'dead':>5} {'connects':>8} {'replies':>7} "
        f"{'cpu':>6}  {'discontinuities':<40}| {'dead':>5} {'connects':>8} "
        f"{'replies':>7} {'cpu':>6}",
    ]
    lines.append("-" * len(lines[-1]))
    for index, (label, begin, end) in enumerate(phases):
        cells = []
        for client in (crate, naive):
            before, after = cpu[client.name][index], cpu[client.name][index + 1]
            spent = "?" if None in (before, after) else f"{after - before:5.2f}s"
            cells.append(
                f"{len(client.between(begin, end, 'dead')):>5} "
                f"{len(client.between(begin, end, 'connected')):>8} "
                f"{len(client.between(begin, end, 'reply')):>7} {spent:>6}"
            )
        lines.append(
            f"{label:<9}{end - begin:8.1f}s | {cells[0]}  "
            f"{describe_discontinuities(crate, begin, end, most=2):<40}| {cells[1]}"
        )
    lines.append("")
    lines.append("time to the verdict, from:")
    for label, since, crate_at, naive_at, note in stops:
        def took(at, client):
            if at is None:
                return "   none  "
            start = since if since is not None else last_traffic(client, at)
            return f"{at - start:7.3f} s"
        lines.append(f"  {label}")
        lines.append(
            f"    crate {took(crate_at, crate)}   naive {took(naive_at, naive)}   ({note})"
        )
    lines.append(
        "reconnected after the SIGCONT of server a: "
        f"crate {'yes' if crate.between(continued, float('inf'), 'connected') else 'no'}, "
        f"naive {'yes' if naive.between(continued, float('inf'), 'connected') else 'no'}"
    )
    return lines


if __name__ == "__main__":
    sys.exit(main())
