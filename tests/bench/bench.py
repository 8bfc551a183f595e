#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tandem benchmark: real editing traces through Tandem and its peers.

What is measured (every number comes from this one run; each cell is the
median of --runs separate processes, run round-robin so drift hits all alike):

  automerge-paper local  sequential/automerge-paper.json.gz replayed as local
                         edits (259,778 keystrokes).  Tandem, diamond-types-node,
                         Yjs, and "floor": a bare gap buffer of code points in C
                         (floor.c), the least any editor could do.
  C1 merge               concurrent/friendsforever.json.gz x25 (the Eg-walker
                         paper's C1) merged into an empty peer.  Tandem replays
                         the JSON (tandem-peer replay ... --repeat 25); Yjs and
                         dt load the paper's own C1.yjs / C1.dt, i.e. decode and
                         merge the complete history into a fresh document.
  A1 merge               egwalker-paper/A1 (node.cc git history, 204 agents),
                         the same way (A1.yjs / A1.dt).
  memory                 after loading automerge-paper: Tandem's RSS growth
                         against Yjs's (and dt's) JS heap + external growth
                         (external includes dt's WebAssembly memory).

The network (on loopback, in the same run: real `tandem-peer run` processes
over TLS WebSockets, driven by net_bench.py; profiles in BUILDDIR/bench-net):

  typing latency         2 and 8 peers in a full mesh (--no-discovery), each
                         typing one character every 50 ms into one shared note
                         for 10 s (+1 s warm-up, not counted); per keystroke and
                         other peer, the time from writing the `insert` to the
                         typist's stdin to reading `remote-change` from the
                         other's stdout (time.monotonic_ns, one reader thread
                         per peer). p50 / p99 of all of them.  The same again
                         with the profiles in /dev/shm (no fsync cost), to
                         tell the disk's share from the CPU's.  Floor: half the
                         round trip of bench-ws-echo (ws-echo.c: a bare libsoup
                         WebSocket echo, TLS + permessage-deflate, 2,000 frames
                         of ~100 bytes between two processes).
  catch-up               a peer that was offline for the whole automerge-paper
                         history joins: the time from its `join` to its last
                         `remote-change` (all saved; checked by a dump), and
                         the TCP payload bytes both ways, counted by a relay.
                         Beside: Yjs's update V2 and dt's toBytes of the same
                         history, and the time each library takes to load that
                         into an empty document (no network).  The note is
                         typed into a profile once through `run` commands (a few
                         minutes) and kept in BUILDDIR/bench-net for as long as
                         tandem-peer and the trace stay the same.

The app (GTK under Xvfb: xvfb-run -a -s "-screen 0 1280x800x24", GTK_A11Y=none,
GSETTINGS_BACKEND=memory, GSK_RENDERER=cairo; app-bench.c from the release build;
the profile is made once by `app-bench prepare` in BUILDDIR/bench-app and each
run gets a fresh copy of it):

  start-up               the real TandemApplication with --profile on a profile
                         whose shared notebook holds 1,000 notes (titles, a few
                         Markdown paragraphs, tags, some pinned): from before the
                         exec of a new process to the end of the first frame of
                         the window that drew (its GdkFrameClock's after-paint),
                         the window showing that notebook.  Median of --runs;
                         the same again with a 20-note profile (about the rows
                         a window shows), to tell the note list's share.
  typing                 the same window showing the notebook's 100 KB note
                         while a second peer (its own process and store, joined
                         over TLS on loopback) makes 200 edits per second at
                         random places in it, each committed and sent, and the
                         buffer gets 10 keystrokes per second.  10 s of frames
                         after 1 s of warm-up: each frame's work (from its first
                         phase to the end of after-paint) and the interval
                         between frames (the clock is kept ticking, so a long
                         interval is the main loop stalling).  Pooled over
                         --runs; once more with the second peer in the window's
                         own process (--remote-in-process).  Both ends must
                         finish with the same text.

Timings cover the replay/merge only: reading and parsing the trace or the
binary file happens before the clock starts, in every implementation.  The JS
peers get one untimed warm-up replay in the same process first, so their JIT is
hot; that favours them, which is the safe direction for Tandem's targets.
Every implementation's final text is checked against the trace's endContent;
a mismatch is flagged in the table and makes this script exit 1.

Run it:
    meson compile -C build bench
    python3 tests/bench/bench.py build [--runs 5] [--only replay|net|app] [--json FILE]

--json FILE also writes every number measured, raw runs included, to FILE:
the results document that report.py (the Markdown report with plots, `meson
compile -C build bench-report`) reads.

--only replay: the replay, merge, memory and store tables; --only net: the
network tables (with one run of the Yjs and dt local replays for their sizes);
--only app: the app's tables (no traces, node or npm needed).
With --runs N the latencies of all N runs are pooled; catch-up is a median.

It installs yjs and diamond-types-node into BUILDDIR/bench-node (npm, never
into the repository), builds floor.c into BUILDDIR/bench-floor and ws-echo.c
into BUILDDIR/bench-ws-echo when missing or stale, and builds Tandem as users
get it (release, LTO) in BUILDDIR/bench-release.  Traces come from ../shared/traces next to the repository,
or $TANDEM_TRACES; without them it says so and exits 0.

The contract for `tandem-peer replay TRACE.json.gz [--repeat N]`: exit 0 and
print one JSON object on one line of stdout (the last line starting with "{"
is used) with at least
    events         int   keystrokes replayed (inserted + deleted code points)
    final_length   int   final text length in code points
    matches_end    bool  final text == endContent (x N with --repeat)
    replay_ms      num   wall time of the replay/merge only, not of parsing
    peak_rss_kb    int   peak resident set size of the process
    rss_growth_kb  int   RSS after the replay minus RSS just before it
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import net_bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT_S = 900

IMPLS = ("tandem", "dt", "yjs", "floor")
NAMES = {"tandem": "Tandem", "dt": "diamond-types-node", "yjs": "Yjs", "floor": "floor"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_node_packages(node_dir):
    """Returns an error string, or None when yjs and diamond-types-node load."""
    wanted = ("yjs", "diamond-types-node")
    if all((node_dir / "node_modules" / p / "package.json").exists() for p in wanted):
        return None
    if shutil.which("npm") is None:
        return "npm not found"
    node_dir.mkdir(parents=True, exist_ok=True)
    log(f"installing {' '.join(wanted)} into {node_dir}")
    r = subprocess.run(["npm", "install", "--prefix", str(node_dir), "--no-audit",
                        "--no-fund", "--loglevel=error", *wanted],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"npm install failed: {r.stderr.strip()[-300:]}"
    return None


def ensure_c_program(build, source, name, packages):
    """Builds tests/bench/SOURCE into BUILDDIR/NAME when missing or stale.

    Returns (path, None) or (None, error string)."""
    exe = build / name
    src = HERE / source
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe, None
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", *packages],
                               capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"pkg-config failed: {e}"
    # -O3, like the release build of Tandem that is measured.
    cmd = [os.environ.get("CC", "cc"), "-O3", "-o", str(exe), str(src), *flags]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"compiling {source} failed: {r.stderr.strip()[-300:]}"
    return exe, None


def ensure_floor(build):
    return ensure_c_program(build, "floor.c", "bench-floor", ("glib-2.0", "gio-2.0", "json-glib-1.0"))


def ensure_ws_echo(build):
    return ensure_c_program(build, "ws-echo.c", "bench-ws-echo", ("libsoup-3.0",))


def ensure_release_targets(build, targets):
    """Builds TARGETS as users get them (release, LTO) in BUILDDIR/bench-release.

    Returns (the release build directory, None) or (None, error string)."""
    rel = build / "bench-release"
    try:
        if not (rel / "build.ninja").exists():
            subprocess.run(["meson", "setup", str(rel), str(REPO), "--buildtype=release",
                            "-Db_lto=true"], capture_output=True, text=True, check=True)
        subprocess.run(["ninja", "-C", str(rel), *targets],
                       capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"release build failed: {getattr(e, 'stdout', '')}{getattr(e, 'stderr', e)}"[-500:]
    return rel, None


def ensure_release_peer(build):
    """Builds tandem-peer as users get it (release, LTO) in BUILDDIR/bench-release.

    Returns (path, None) or (None, error string)."""
    rel, err = ensure_release_targets(build, ["src/peer/tandem-peer"])
    return (None, err) if err else (rel / "src" / "peer" / "tandem-peer", None)


def ensure_release_app(build):
    """app-bench and the compiled GSettings schema, from the same release build.

    Returns (app-bench path, schema dir, None) or (None, None, error string)."""
    rel, err = ensure_release_targets(build, ["tests/bench/app-bench", "data/gschemas.compiled"])
    if err:
        return None, None, err
    exe = rel / "tests" / "bench" / "app-bench"
    if not exe.exists():
        return None, None, "the release build has no tests/bench/app-bench (no GTK?)"
    return exe, rel / "data", None


def run_once(cmd):
    """Runs one measurement process; returns (result dict, None) or (None, error)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except OSError as e:
        return None, str(e)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT_S} s"
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        err = (r.stderr.strip() or r.stdout.strip() or "no output").splitlines()[-1][:200]
        if r.returncode < 0:
            return None, f"killed by {signal.Signals(-r.returncode).name}: {err}"
        return None, f"exit {r.returncode}: {err}"
    try:
        res = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        return None, f"bad JSON line ({e}): {lines[-1][:200]}"
    missing = [k for k in ("events", "final_length", "matches_end", "replay_ms") if k not in res]
    if missing:
        return None, f"JSON line lacks {', '.join(missing)}"
    return res, None


def machine():
    """What the numbers were measured on: CPU model, logical CPUs, RAM, kernel."""
    info = {"arch": platform.machine(), "cpu": "unknown", "logical_cpus": os.cpu_count(),
            "ram_bytes": None, "kernel": f"{platform.system()} {platform.release()}",
            "os": "unknown"}
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        if models:
            info["cpu"] = models[0]
        with open("/proc/meminfo") as f:
            total = [l.split()[1] for l in f if l.startswith("MemTotal:")]
        if total:
            info["ram_bytes"] = int(total[0]) * 1024
        info["os"] = platform.freedesktop_os_release().get("PRETTY_NAME", "unknown")
    except (OSError, ValueError):
        pass
    return info


def command_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "not found"


def package_version(node_dir, name):
    try:
        return json.loads((node_dir / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    return f"{v:,.1f}{unit}" if isinstance(v, float) else f"{v:,}{unit}"


def fmt_ratio(r):
    if r is None:
        return "n/a"
    return f"{r:,.0f}" if r >= 1000 else f"{r:.3g}"


# ---- the network (net_bench.py does the work) ----

NET_PEERS = (2, 8)
NET_PLACES = ("disk", "tmpfs")
NET_TARGET_P99_MS = 5.0      # keystroke to remote apply, 8 peers
NET_TARGET_CATCH_UP_MS = 1000.0


def net_case(place, n):
    """The key of one typing case in net["latency"] and net["errors"] (a
    string, so that the results survive a trip through JSON)."""
    return f"{n} peers on {place}"


def run_network(build, tandem_exe, tandem_err, ws_echo_exe, ws_echo_err, trace, runs):
    """Everything the network tables show; errors by case instead of raising."""
    net = {"latency": {}, "catch_up": [], "errors": {}, "floor": None, "fsync": {}, "fill": None}
    errors = net["errors"]
    work = build / "bench-net"
    work.mkdir(parents=True, exist_ok=True)
    if ws_echo_err:
        errors["floor"] = ws_echo_err
    else:
        log("network: bench-ws-echo (the floor)")
        try:
            net["floor"] = net_bench.ws_echo_floor(ws_echo_exe)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            errors["floor"] = str(e)
    places = {"disk": work / "typing"}
    if Path("/dev/shm").is_dir():
        places["tmpfs"] = Path("/dev/shm") / f"tandem-bench-{os.getpid()}"
    for place, folder in places.items():
        folder.mkdir(parents=True, exist_ok=True)
        net["fsync"][place] = net_bench.fsync_probe(folder)
        shutil.rmtree(folder, ignore_errors=True)
    if tandem_err:
        for place in places:
            for n in NET_PEERS:
                errors[net_case(place, n)] = tandem_err
        errors["catch-up"] = tandem_err
        return net
    end = meta = None
    try:
        meta = net_bench.fill_history(tandem_exe, trace, work / "automerge-paper")
        net["fill"] = meta
        _, end = net_bench.load_patches(trace)
    except (net_bench.PeerError, OSError, ValueError) as e:
        errors["catch-up"] = f"filling the note failed: {e}"
    try:
        for run in range(runs):
            for place, folder in places.items():
                for n in NET_PEERS:
                    if net_case(place, n) in errors:
                        continue
                    log(f"run {run + 1}/{runs}: network: {n} peers typing, profiles on {place}")
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir(parents=True)
                    try:
                        r = net_bench.typing_latency(tandem_exe, n, folder)
                        net["latency"].setdefault(net_case(place, n), []).append(r)
                    except (net_bench.PeerError, OSError, ValueError) as e:
                        errors[net_case(place, n)] = str(e)[-300:]
            if "catch-up" not in errors:
                log(f"run {run + 1}/{runs}: network: catch-up on automerge-paper")
                try:
                    net["catch_up"].append(net_bench.catch_up(
                        tandem_exe, work / "automerge-paper" / "profile", meta, work / "catch-up", end))
                except (net_bench.PeerError, OSError, ValueError) as e:
                    errors["catch-up"] = str(e)[-300:]
    finally:
        for folder in places.values():
            shutil.rmtree(folder, ignore_errors=True)
    return net


def pooled(runs, key):
    return [v for r in runs for v in r[key]]


def fmt_ms(us_values, p):
    """A percentile of µs values, in ms."""
    v = net_bench.percentile(us_values, p)
    return "n/a" if v is None else f"{v / 1000:,.2f}"


def fmt_pair(us_values):
    return f"{fmt_ms(us_values, 50)} / {fmt_ms(us_values, 99)}"


def print_latency(net):
    """The typing latency tables; returns True when a result was wrong."""
    lat, errors = net["latency"], net["errors"]
    floor = net["floor"]
    wrong = False

    def bad(runs):
        return any(not r["converged"] or r["missing"] for r in runs)

    print("\n## Network: keystroke to remote apply (loopback, TLS WebSockets, full mesh)\n")
    print("Each peer types 20 characters/s into one shared note for 10 s; every keystroke "
          "at every other peer counts. Floor: half a round trip of a bare libsoup WebSocket "
          "echo (TLS, permessage-deflate, ~100-byte frames, two processes).\n")
    print("| case | Tandem p50 / p99 ms | floor p50 / p99 ms | Tandem p99 / floor p99 | "
          "target | met? |")
    print("|---|---:|---:|---:|---|---|")
    half = None
    if floor is not None:
        half = [floor["p50_us"] / 2, floor["p99_us"] / 2]
    for place in NET_PLACES:
        for n in NET_PEERS:
            key = net_case(place, n)
            if key in errors:
                print(f"| {n} peers, profiles on {place} | n/a: {errors[key][:120]} | | | | |")
                continue
            if key not in lat:
                continue
            runs = lat[key]
            samples = pooled(runs, "samples")
            p99 = net_bench.percentile(samples, 99)
            floor_cell = f"{half[0] / 1000:.3f} / {half[1] / 1000:.3f}" if half else "n/a"
            vs_floor = fmt_ratio(p99 / half[1] if half and p99 is not None else None)
            target, met = "", ""
            if place == "disk" and n == 8:
                target = f"p99 < {NET_TARGET_P99_MS:g} ms"
                met = ("n/a" if p99 is None else
                       "yes" if p99 / 1000 < NET_TARGET_P99_MS else "**NO**")
            if bad(runs):
                met, wrong = "**NO: WRONG RESULT**", True
            label = f"{n} peers, profiles on {place}" + (" (fsync ~free)" if place == "tmpfs" else "")
            print(f"| {label} | {fmt_pair(samples)} | {floor_cell} | {vs_floor} | {target} | {met} |")

    # where the time goes
    print("\n| detail (pooled over runs) | " +
          " | ".join(f"{n} peers, {place}" for place in NET_PLACES for n in NET_PEERS
                     if net_case(place, n) in lat) + " |")
    keys = [net_case(place, n) for place in NET_PLACES for n in NET_PEERS if net_case(place, n) in lat]
    print("|---|" + "---:|" * len(keys))

    def row(label, cell):
        print(f"| {label} | " + " | ".join(cell(lat[k]) for k in keys) + " |")

    def med(runs, key, f="{:,.2f}"):
        vals = [r[key] for r in runs if r.get(key) is not None]
        return "n/a" if not vals else f.format(statistics.median(vals))

    row("samples (keystrokes x other peers)", lambda rs: f"{len(pooled(rs, 'samples')):,}")
    row("typist's `insert` until its reply (saved and sent), p50 / p99 ms",
        lambda rs: fmt_pair(pooled(rs, "insert_reply")))
    row("peers' CPU per keystroke until applied everywhere, ms (all peers)",
        lambda rs: med(rs, "cpu_ms_per_keystroke"))
    row("peers' CPU while typing, cores (of the machine's " + str(os.cpu_count()) + ")",
        lambda rs: med(rs, "cpu_cores"))
    row("peers' CPU when idle, cores (a busy loop shows here)", lambda rs: med(rs, "idle_cpu_cores"))
    row("driver: `info` round trip, idle, p50 / p99 ms", lambda rs: fmt_pair(pooled(rs, "idle_rtt")))
    row("driver: `info` round trip while typing, p50 / p99 ms",
        lambda rs: fmt_pair(pooled(rs, "loaded_rtt")))
    row("driver's own CPU, cores", lambda rs: med(rs, "driver_cores"))
    row("driver: most a line was written behind its schedule, ms",
        lambda rs: f"{max(r['late_ms_max'] for r in rs):,.2f}")
    row("other processes on the machine meanwhile, cores", lambda rs: med(rs, "other_cores"))
    row("keystrokes that arrived together with the next one / never",
        lambda rs: f"{sum(r['coalesced'] for r in rs)} / {sum(r['missing'] for r in rs)}")
    row("every peer ended with the same text", lambda rs: "yes" if not bad(rs) else "**NO**")
    fs = net["fsync"]
    print("\nfdatasync after a 4 KB write (what each commit waits for), p50 / p99 ms: " +
          ", ".join(f"{place} {fmt_pair(v)}" for place, v in fs.items()) +
          (f". Echo round trip (floor x2): {floor['p50_us'] / 1000:.3f} / "
           f"{floor['p99_us'] / 1000:.3f} ms, deflate {'on' if floor['deflate'] else 'OFF'}."
           if floor else f". Floor: n/a ({errors.get('floor', '?')})"))
    return wrong


def catch_up_peers(doc):
    """The JS peers' side of the catch-up table, from their automerge-paper
    replays: {"dt"|"yjs": {"bytes": encoded history, "load_ms": decode into an
    empty doc}}."""
    return {impl: {"bytes": replay_median(doc, AUTOMERGE, impl, "encoded_bytes"),
                   "load_ms": replay_median(doc, AUTOMERGE, impl, "reload_ms")}
            for impl in ("dt", "yjs")}


def catch_up_median(net, key):
    """The median of one catch-up measure over the runs, or None."""
    vals = [r[key] for r in net["catch_up"] if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def print_catch_up(doc):
    """The catch-up table; returns True when a result was wrong."""
    net = doc["net"]
    errors, wrong = net["errors"], False
    js = catch_up_peers(doc)
    yjs_bytes, dt_bytes = js["yjs"]["bytes"], js["dt"]["bytes"]
    yjs_reload_ms, dt_reload_ms = js["yjs"]["load_ms"], js["dt"]["load_ms"]
    cu = net["catch_up"]
    print("\n## Network: catch-up on automerge-paper (259,778 keystrokes, loopback)\n")
    if "catch-up" in errors and not cu:
        print(f"n/a: {errors['catch-up']}")
        return wrong

    def m(key):
        return catch_up_median(net, key)

    ms, nbytes = m("ms"), m("bytes")
    wrong_cu = any(not r["matches_end"] for r in cu)
    wrong |= wrong_cu
    ms_ok = ("**NO: WRONG RESULT**" if wrong_cu else "n/a" if ms is None
             else "yes" if ms < NET_TARGET_CATCH_UP_MS else "**NO**")
    bytes_ok = ("n/a" if nbytes is None or yjs_bytes is None
                else "yes" if nbytes < yjs_bytes else "**NO**")
    print("| measure | Tandem | diamond-types-node | Yjs | Tandem/Yjs | target | met? |")
    print("|---|---:|---:|---:|---:|---|---|")
    print(f"| a fresh peer's `join` to the whole note saved, ms (Tandem); load the encoded "
          f"history into an empty doc, no network (dt, Yjs) | {fmt(ms)} | {fmt(dt_reload_ms)} | "
          f"{fmt(yjs_reload_ms)} | {fmt_ratio(ratio(ms, yjs_reload_ms))} | "
          f"< {NET_TARGET_CATCH_UP_MS:,.0f} ms | {ms_ok} |")
    print(f"| bytes (Tandem: TCP payload both ways, TLS and handshakes included; dt: toBytes; "
          f"Yjs: update V2) | {fmt(nbytes)} | {fmt(dt_bytes)} | {fmt(yjs_bytes)} | "
          f"{fmt_ratio(ratio(nbytes, yjs_bytes))} | < Yjs | {bytes_ok} |")
    print(f"| of which A to B / B to A | {fmt(m('bytes_down'))} / {fmt(m('bytes_up'))} | | | | | |")
    print(f"| `join` to connected / to the first batch saved, ms | {fmt(m('connected_ms'))} / "
          f"{fmt(m('first_change_ms'))} | | | | | |")
    print(f"| batches (remote-change events) | {fmt(m('batches'))} | | | | | |")
    print(f"| `join` to A's `wait-synced` (B acknowledged everything), ms | {fmt(m('synced_ms'))} "
          f"| | | | | |")
    fill = net["fill"]
    if fill:
        print(f"\nPeer A's note: {fill['commands']:,} `insert`/`delete` commands through `run`, "
              f"{fill['events']:,} events; " +
              ("reused from an earlier run of the same tandem-peer" if fill["reused"]
               else f"typed in {fill['fill_s']:.0f} s") + ".")
    return wrong


def print_network_raw(net):
    print("\nnetwork:")
    for key, runs in net["latency"].items():
        per_run = " ".join(f"{fmt_ms(r['samples'], 50)}/{fmt_ms(r['samples'], 99)}" for r in runs)
        print(f"  {key:<15}  p50/p99 ms per run: {per_run}  final_length="
              f"{runs[0]['final_length']:,}  converged={'yes' if all(r['converged'] for r in runs) else 'NO'}")
    for key, err in net["errors"].items():
        print(f"  {key}: n/a: {err}")
    for r in net["catch_up"]:
        print(f"  catch-up: {r['ms']:,.1f} ms, {r['bytes']:,} bytes, {r['batches']} batches, "
              f"{r['connections']} connection(s), matches_end="
              f"{'yes' if r['matches_end'] else 'NO  <<<<< WRONG RESULT'}")

# ---- the app (app-bench.c, under Xvfb) ----

APP_NOTES = 1000
APP_FEW_NOTES = 20            # about what a window shows: the cost of all but the list
APP_LONG_KB = 100
APP_RATE = 200
APP_SECONDS = 10
APP_TARGET_STARTUP_MS = 500.0
APP_TARGET_FRAME_MS = 16.0
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24"]


def app_env(schema_dir):
    env = dict(os.environ, GTK_A11Y="none", NO_AT_BRIDGE="1", GSETTINGS_BACKEND="memory",
               GSETTINGS_SCHEMA_DIR=str(schema_dir), GDK_BACKEND="x11",
               # Xvfb has no GPU: GL would go through llvmpipe
               GSK_RENDERER=os.environ.get("TANDEM_BENCH_GSK_RENDERER", "cairo"))
    env.pop("WAYLAND_DISPLAY", None)
    return env


def run_app_bench(cmd, env, timeout=300):
    """Returns (the last JSON line's dict, None) or (None, error)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except OSError as e:
        return None, str(e)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        err = (r.stderr.strip() or r.stdout.strip() or "no output").splitlines()[-1][:200]
        return None, f"exit {r.returncode}: {err}"
    try:
        return json.loads(lines[-1]), None
    except json.JSONDecodeError as e:
        return None, f"bad JSON line ({e}): {lines[-1][:200]}"


def run_app(build, runs):
    """Start-up and typing runs; errors by case instead of raising."""
    app = {"startup": [], "startup_few": [], "typing": [], "in_process": [], "errors": {},
           "prepare": None, "renderer": None}
    errors = app["errors"]
    exe, schema_dir, err = ensure_release_app(build)
    if err is None and shutil.which("xvfb-run") is None:
        err = "xvfb-run not found"
    cases = ("startup", "startup_few", "typing", "in_process")
    if err:
        for case in cases:
            errors[case] = err
        return app
    env = app_env(schema_dir)
    app["renderer"] = env["GSK_RENDERER"]
    work = build / "bench-app"
    profiles = {n: work / f"profile-{n}" for n in (APP_NOTES, APP_FEW_NOTES)}
    for n, profile in profiles.items():
        info = profile / "app-bench.json"
        # made again when app-bench (and so the store format) changed
        if info.exists() and info.stat().st_mtime >= exe.stat().st_mtime:
            continue
        shutil.rmtree(profile, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        log(f"app: preparing a profile with {n:,} notes")
        res, err = run_app_bench([str(exe), "prepare", str(profile), "--notes", str(n),
                                  "--long-kb", str(APP_LONG_KB)], env)
        if err:
            for case in cases:
                errors[case] = f"prepare: {err}"
            return app
        if n == APP_NOTES:
            app["prepare"] = res
    copy = work / "run"

    def fresh(n):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(profiles[n], copy)
        return str(copy)

    plan = [("startup", r, ["startup"]) for r in range(runs)]
    plan += [("startup_few", r, ["startup"]) for r in range(runs)]
    plan += [("typing", r, ["typing", "--seconds", str(APP_SECONDS), "--rate", str(APP_RATE)])
             for r in range(runs)]
    plan += [("in_process", 0, ["typing", "--seconds", str(APP_SECONDS), "--rate", str(APP_RATE),
                                "--remote-in-process"])]
    try:
        for case, r, args in plan:
            if case in errors:
                continue
            log(f"app: {case} run {r + 1}")
            folder = fresh(APP_FEW_NOTES if case == "startup_few" else APP_NOTES)
            busy0, t0, wall0 = net_bench.machine_busy_seconds(), os.times(), time.monotonic()
            res, err = run_app_bench([*XVFB, str(exe), args[0], folder, *args[1:]], env)
            busy1, t1, wall1 = net_bench.machine_busy_seconds(), os.times(), time.monotonic()
            if err:
                errors[case] = err
                continue
            # what else ran meanwhile: the machine's busy time less this
            # process's and its children's (Xvfb, the app, the second peer)
            if busy0 is not None and busy1 is not None:
                ours = sum(t1[i] - t0[i] for i in range(4))
                res["other_cores"] = max(0.0, (busy1 - busy0 - ours) / (wall1 - wall0))
            app[case].append(res)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    return app


def print_app(app, runs):
    """The app's tables; returns True when a result was wrong."""
    errors = app["errors"]
    wrong = False
    print("\n## The app (GTK 4 under Xvfb, release build)\n")
    print(f"A profile whose shared notebook holds {APP_NOTES:,} notes, one of them {APP_LONG_KB} KB of "
          f"Markdown; GSK_RENDERER={app['renderer'] or 'n/a'}. Typing: that note open, a second peer "
          f"(its own process) making {APP_RATE} edits/s in it at random places over TLS on loopback, "
          f"10 keystrokes/s in the window; {APP_SECONDS} s of frames per run.\n")
    print("| measure | result | target | met? |")
    print("|---|---:|---|---|")
    st = app["startup"]
    if "startup" in errors and not st:
        print(f"| start to first drawn window, ms | n/a: {errors['startup'][:120]} | "
              f"< {APP_TARGET_STARTUP_MS:,.0f} | n/a |")
    elif st:
        ms = statistics.median(r["startup_ms"] for r in st)
        lo, hi = min(r["startup_ms"] for r in st), max(r["startup_ms"] for r in st)
        shown = all(r.get("rows") == APP_NOTES and r.get("notebook_shown") == "prepared" for r in st)
        met = ("**NO: WRONG RESULT**" if not shown else
               "yes" if ms < APP_TARGET_STARTUP_MS else "**NO**")
        wrong |= not shown
        print(f"| start to first drawn window, {APP_NOTES:,} notes listed, ms (median of {len(st)}; "
              f"min–max) | {ms:,.0f} ({lo:,.0f}–{hi:,.0f}) | < {APP_TARGET_STARTUP_MS:,.0f} | {met} |")
    few = app["startup_few"]
    if few:
        ms = statistics.median(r["startup_ms"] for r in few)
        lo, hi = min(r["startup_ms"] for r in few), max(r["startup_ms"] for r in few)
        print(f"| the same with {APP_FEW_NOTES} notes (about the rows a window shows: all but the "
              f"list's cost), ms | {ms:,.0f} ({lo:,.0f}–{hi:,.0f}) | | |")

    def typing_rows(label, runs_):
        nonlocal wrong
        work = [v for r in runs_ for v in r["work_values_ms"]]
        gaps = [v for r in runs_ for v in r["interval_values_ms"]]
        refresh = runs_[0]["refresh_ms"]
        ok = all(r["converged"] and r["buffer_matches_note"] for r in runs_)
        wrong |= not ok
        over = sum(1 for v in work if v > APP_TARGET_FRAME_MS)
        late = sum(1 for v in gaps if v > refresh * 1.5)
        pct = lambda vals, p: net_bench.percentile(vals, p)
        met = ("**NO: WRONG RESULT**" if not ok else
               "yes" if over == 0 else f"**NO** ({over:,} of {len(work):,} frames)")
        print(f"| {label}: frame work p50 / p95 / p99 / max, ms | {pct(work, 50):.1f} / "
              f"{pct(work, 95):.1f} / {pct(work, 99):.1f} / {max(work):.1f} | every frame "
              f"< {APP_TARGET_FRAME_MS:g} | {met} |")
        met = ("**NO: WRONG RESULT**" if not ok else
               "yes" if late == 0 else f"**NO** ({late:,} of {len(gaps):,} intervals)")
        print(f"| {label}: interval between frames p50 / p95 / p99 / max, ms (frames per s) | "
              f"{pct(gaps, 50):.1f} / {pct(gaps, 95):.1f} / {pct(gaps, 99):.1f} / {max(gaps):,.0f} "
              f"({len(work) / sum(r['seconds'] for r in runs_):.3g}) | a frame every refresh "
              f"({refresh:.1f}), none after > {refresh * 1.5:.1f} | {met} |")

    for case, label in (("typing", "typing, 100 KB note, 200 remote edits/s"),
                        ("in_process", "the same, second peer in the window's process")):
        if case in errors and not app[case]:
            print(f"| {label} | n/a: {errors[case][:120]} | | n/a |")
        elif app[case]:
            typing_rows(label + (f" ({len(app[case])} runs pooled)" if len(app[case]) > 1 else ""),
                        app[case])

    if st:
        print(f"\n| start-up step (median, ms since the exec) | {APP_NOTES:,} notes | "
              f"{APP_FEW_NOTES} notes |")
        print("|---|---:|---:|")
        for key, label in (("exec_to_main_ms", "main() entered (exec, dynamic linking)"),
                           ("app_startup_done_ms", "GtkApplication started (GTK, libadwaita, CSS)"),
                           ("window_object_ms", "window object made (profile open, peer on the network, "
                                                "templates)"),
                           ("window_filled_ms", "window filled and realized (notebooks, the note list)"),
                           ("mapped_ms", "window mapped (sized)"),
                           ("first_frame_start_ms", "first frame begins"),
                           ("startup_ms", "first frame drawn")):
            cells = [f"{statistics.median(r[key] for r in rs):,.1f}" if rs else "n/a" for rs in (st, few)]
            print(f"| {label} | {' | '.join(cells)} |")
        cells = [f"{statistics.median(r['first_frame_layout_ms'] for r in rs):,.1f} / "
                 f"{statistics.median(r['first_frame_paint_ms'] for r in rs):,.1f}" if rs else "n/a"
                 for rs in (st, few)]
        print(f"| of the first frame: layout / paint (snapshot and render), ms | {' | '.join(cells)} |")
    ty = app["typing"]
    if ty:
        print("\n| typing detail (pooled over runs) | p50 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|")
        for phase in ("update", "layout", "paint", "after_paint"):
            vals = [r["phases_ms"][phase] for r in ty]
            print(f"| frame phase: {phase.replace('_', '-')} | "
                  f"{statistics.median(v['p50'] for v in vals):.2f} | "
                  f"{max(v['p99'] for v in vals):.2f} | {max(v['max'] for v in vals):.2f} |")
        print(f"\nSecond peer: {statistics.median(r['remote_edits_per_s'] for r in ty):.0f} edits/s "
              f"committed (mean commit {statistics.median(r['remote_commit_ms_mean'] for r in ty):.2f} ms); "
              f"window: {statistics.median(r['local_chars_typed'] for r in ty):.0f} keystrokes typed of "
              f"{ty[0]['local_chars_due']} due (a busy main loop delays them), "
              f"{statistics.median(r['remote_change_signals'] for r in ty):,.0f} remote-change signals; "
              f"both ends ended with the same text: "
              f"{'yes' if all(r['converged'] for r in ty) else '**NO**'}. The window's main thread "
              f"was busy {statistics.median(r['main_thread_busy'] for r in ty):.0%} of the time "
              f"(the app's process: {statistics.median(r['process_cores'] for r in ty):.2f} cores); "
              f"other processes on the machine meanwhile: "
              f"{statistics.median(r.get('other_cores', 0) for r in ty):.2f} cores of {os.cpu_count()}.")
    return wrong


def print_app_raw(app):
    print("\napp:")
    for case in ("startup", "startup_few"):
        for r in app[case]:
            print(f"  {case}: {r['startup_ms']:,.1f} ms, rows={r['rows']}, window {r['window']}, "
                  f"{r['renderer']}, other processes {r.get('other_cores', 0):.2f} cores")
    for case in ("typing", "in_process"):
        for r in app[case]:
            print(f"  {case}: main thread busy {r['main_thread_busy']:.0%}, other processes "
                  f"{r.get('other_cores', 0):.2f} cores, {r['frames']} frames, work p99/max {r['work_ms']['p99']:.1f}/"
                  f"{r['work_ms']['max']:.1f} ms, over 16 ms {r['work_ms']['n_over']}, interval "
                  f"p99/max {r['interval_ms']['p99']:.1f}/{r['interval_ms']['max']:.1f} ms, "
                  f"remote {r['remote_edits_per_s']:.0f}/s, typed {r['local_chars_typed']}, "
                  f"converged={'yes' if r['converged'] else 'NO  <<<<< WRONG RESULT'}, "
                  f"buffer==note={'yes' if r['buffer_matches_note'] else 'NO  <<<<< WRONG RESULT'}")
    for key, err in app["errors"].items():
        print(f"  {key}: n/a: {err}")


# ---- one run: measure everything into a results document ----

AUTOMERGE = "automerge-paper local"
C1 = "C1 merge (friendsforever x25)"
A1 = "A1 merge"
RESULTS_FORMAT = 1


def find_traces():
    """The traces folder, and the files the replay and the network use."""
    traces = Path(os.environ.get("TANDEM_TRACES", REPO.parent / "shared" / "traces")).resolve()
    return traces, {
        "automerge": traces / "sequential" / "automerge-paper.json.gz",
        "ff": traces / "concurrent" / "friendsforever.json.gz",
        "a1": traces / "egwalker-paper" / "A1.json.gz",
    }


def describe_run(runs, only):
    """The header of a results document: when, on what, from which commit."""
    git = lambda *a: command_version(["git", "-C", str(REPO), *a])
    dirty = git("status", "--porcelain", "--", "src", "meson.build")
    return {
        "format": RESULTS_FORMAT,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_changed": dirty not in ("unknown", "not found", ""),
        "runs": runs,
        "only": only,
    }


def run_replays(cases, runs):
    """cases: case -> impl -> command, or an error string when it cannot run.
    Returns case -> impl -> {"runs": [result dicts], "error": str or None}."""
    out = {c: {i: {"runs": [], "error": v if isinstance(v, str) else None}
               for i, v in impls.items()} for c, impls in cases.items()}
    for run in range(runs):
        for case, impls in cases.items():
            for impl, cmd in impls.items():
                if out[case][impl]["error"]:
                    continue
                log(f"run {run + 1}/{runs}: {case}: {NAMES[impl]}")
                res, err = run_once(cmd)
                if err:
                    out[case][impl]["error"] = err
                else:
                    out[case][impl]["runs"].append(res)
    return out


def measure(build, runs, only=None):
    """Runs the benchmarks (all, or --only one part) and returns the results
    document: plain data, what --json writes and the tables and the report
    are made from.  None when the traces are missing (nothing measured)."""
    doc = {"meta": describe_run(runs, only)}
    if only == "app":
        doc["app"] = run_app(build, runs)
        return doc

    traces, files = find_traces()
    absent = [str(p) for p in files.values() if not p.exists()]
    if absent:
        print(f"bench: traces not found ({', '.join(absent)}); set TANDEM_TRACES to the "
              "traces folder. Nothing measured.")
        return None

    node_dir = build / "bench-node"
    node_err = ensure_node_packages(node_dir) if shutil.which("node") else "node not found"
    floor_exe, floor_err = ensure_floor(build)
    tandem_exe, tandem_err = ensure_release_peer(build)
    do_replay, do_net = only != "net", only != "replay"
    doc["meta"].update({
        "node": command_version(["node", "--version"]),
        "yjs": package_version(node_dir, "yjs"),
        "diamond_types_node": package_version(node_dir, "diamond-types-node"),
        "tandem": str(tandem_exe), "traces": str(traces),
    })

    def node(script, trace, *extra):
        return ["node", "--expose-gc", str(HERE / script), str(trace), "--node-dir",
                str(node_dir), *extra]

    # case -> impl -> command, or an error string when it cannot run at all.
    cases = {
        AUTOMERGE: {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["automerge"]), "--store"],
            "dt": node_err or node("dt-replay.mjs", files["automerge"], "--mode", "local"),
            "yjs": node_err or node("yjs-replay.mjs", files["automerge"], "--mode", "local"),
            "floor": floor_err or [str(floor_exe), str(files["automerge"])],
        },
        C1: {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["ff"]), "--repeat", "25"],
            "dt": node_err or node("dt-replay.mjs", files["ff"], "--repeat", "25", "--mode", "merge"),
            "yjs": node_err or node("yjs-replay.mjs", files["ff"], "--repeat", "25", "--mode", "merge"),
        },
        A1: {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["a1"])],
            "dt": node_err or node("dt-replay.mjs", files["a1"], "--mode", "merge"),
            "yjs": node_err or node("yjs-replay.mjs", files["a1"], "--mode", "merge"),
        },
    }
    if do_replay:
        doc["replay"] = run_replays(cases, runs)
    else:
        # only the JS peers' sizes and load times of automerge-paper, once
        doc["js_sizes"] = run_replays(
            {AUTOMERGE: {i: cases[AUTOMERGE][i] for i in ("dt", "yjs")}}, 1)

    if only is None:
        doc["app"] = run_app(build, runs)
    if do_net:
        ws_echo_exe, ws_echo_err = ensure_ws_echo(build)
        doc["net"] = run_network(build, tandem_exe, tandem_err, ws_echo_exe, ws_echo_err,
                                 files["automerge"], runs)
    return doc


def save_results(doc, path):
    """The one writer of a results document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(path)


def load_results(path):
    doc = json.loads(Path(path).read_text())
    if doc.get("meta", {}).get("format") != RESULTS_FORMAT:
        raise ValueError(f"{path}: not a results document of format {RESULTS_FORMAT}")
    return doc


# ---- reading a results document ----

def replays(doc):
    """case -> impl -> {"runs", "error"}: the replay part, or the JS peers'
    automerge-paper sizes of a network-only run."""
    return doc.get("replay") or doc.get("js_sizes") or {}


def replay_median(doc, case, impl, key):
    """The median of KEY over an implementation's runs of a case; None when it
    failed, did not run or does not report KEY."""
    r = replays(doc).get(case, {}).get(impl)
    if not r or r["error"] or not r["runs"] or any(key not in x for x in r["runs"]):
        return None
    return statistics.median(x[key] for x in r["runs"])


def replay_wrong(doc):
    """(case, impl) pairs whose final text was not the trace's."""
    return [(c, i) for c, impls in replays(doc).items() for i, r in impls.items()
            if any(x["matches_end"] is not True for x in r["runs"])]


def ratio(a, b):
    return a / b if a is not None and b else None


# ---- the Markdown tables ----

def print_header(doc):
    m = doc["meta"]
    mc = m["machine"]
    ram = f"{mc['ram_bytes'] / 2**30:.1f} GiB RAM" if mc["ram_bytes"] else "RAM unknown"
    print("# Tandem benchmark\n")
    print(f"- date: {m['date']}")
    print(f"- machine: {mc['cpu']}, {mc['logical_cpus']} logical CPUs, {ram}, {mc['arch']}; "
          f"{mc['kernel']}, {mc['os']}")
    if "node" in m:
        print(f"- node {m['node']}, yjs {m['yjs']}, diamond-types-node {m['diamond_types_node']}")
    print(f"- tandem: commit {m['commit']}"
          f"{' with uncommitted changes in src/' if m['src_changed'] else ''}"
          f"{', ' + m['tandem'] if 'tandem' in m else ''}")
    if "traces" in m:
        print(f"- traces: {m['traces']}")
    if m["only"] == "app":
        print(f"- the app only ({m['runs']} runs)\n")
    elif m["only"] == "net":
        print(f"- network only ({m['runs']} runs); the JS peers' automerge-paper replay once\n")
    else:
        print(f"- medians of {m['runs']} run(s), each a separate process; times in ms "
              "(replay/merge only); JS peers after 1 warm-up replay\n")


def print_replay(doc):
    """The replay, merge and memory table."""
    wrong = replay_wrong(doc)
    med = lambda case, impl, key="replay_ms": replay_median(doc, case, impl, key)

    def check(case, conds):
        """conds: list of (label, value or None, ok?) -> the 'met?' cell."""
        wrong_here = [i for c, i in wrong if c == case]
        if "tandem" in wrong_here:
            return "**NO: WRONG RESULT**"
        if wrong_here:
            return "n/a (a peer's result is wrong)"
        if any(v is None for _, v, _ in conds):
            return "n/a"
        failed = [label for label, _, ok in conds if not ok]
        return "yes" if not failed else "**NO** (" + ", ".join(failed) + ")"

    rows = []
    for case in doc["replay"]:
        t, d, y, f = (med(case, i) for i in IMPLS)
        r_d, r_y, r_f = ratio(t, d), ratio(t, y), ratio(t, f)
        if case == AUTOMERGE:
            target = "<= dt/3, <= Yjs/50, <= 10x floor"
            met = check(case, [("dt", r_d, r_d is not None and r_d <= 1 / 3),
                               ("Yjs", r_y, r_y is not None and r_y <= 1 / 50),
                               ("floor", r_f, r_f is not None and r_f <= 10)])
        else:
            target = "<= dt/4"
            met = check(case, [("dt", r_d, r_d is not None and r_d <= 1 / 4)])
        rows.append([case, fmt(t), fmt(d), fmt(y), fmt(f),
                     fmt_ratio(r_d), fmt_ratio(r_y), fmt_ratio(r_f), target, met])

    # Memory: Tandem reports RSS, the JS peers their heap (+ external).
    mt, md, my, mf = (med(AUTOMERGE, "tandem", "rss_growth_kb"), med(AUTOMERGE, "dt", "heap_growth_kb"),
                      med(AUTOMERGE, "yjs", "heap_growth_kb"), med(AUTOMERGE, "floor", "buffer_kb"))
    r_d, r_y, r_f = ratio(mt, md), ratio(mt, my), ratio(mt, mf)
    met = check(AUTOMERGE, [("Yjs", r_y, r_y is not None and mt < my)])
    rows.append(["memory after automerge-paper (KB)¹", fmt(mt), fmt(md), fmt(my), fmt(mf),
                 fmt_ratio(r_d), fmt_ratio(r_y), fmt_ratio(r_f),
                 "Tandem RSS growth < Yjs heap growth", met])

    header = ["case", "Tandem ms", "diamond-types-node ms", "Yjs ms", "floor ms",
              "Tandem/dt", "Tandem/Yjs", "Tandem/floor", "target", "met?"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i in (0, 8, 9) else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\n¹ Tandem: RSS growth during the replay; Yjs, dt: JS heap + external growth "
          "(dt's WebAssembly memory is external); floor: its gap buffer's size.")


def print_store(doc):
    """The store: the same automerge-paper edits into a real profile (a commit
    every 100 edits), then the note opened again; sizes of the history as each
    library saves it, from the same runs."""
    med = lambda impl, key: replay_median(doc, AUTOMERGE, impl, key)
    log_b, disk_b = med("tandem", "log_bytes"), med("tandem", "store_bytes")
    yjs_b, dt_b = med("yjs", "encoded_bytes"), med("dt", "encoded_bytes")
    text_ms, load_ms = med("tandem", "text_load_ms"), med("tandem", "load_ms")
    print("\n## Store (automerge-paper)\n")
    print("| measure | Tandem | diamond-types-node | Yjs | target | met? |")
    print("|---|---:|---:|---:|---|---|")
    print(f"| store-backed replay, ms (commits) | {fmt(med('tandem', 'store_ms'))} "
          f"({fmt(med('tandem', 'commits'))}) | | | | |")
    size_ok = log_b is not None and yjs_b is not None and log_b <= yjs_b
    print(f"| history, bytes (Tandem: saved log; dt: toBytes; Yjs: update V2) | {fmt(log_b)} | "
          f"{fmt(dt_b)} | {fmt(yjs_b)} | <= Yjs | {'yes' if size_ok else '**NO**'} |")
    print(f"| profile files on disk, bytes | {fmt(disk_b)} | | | | |")
    load_ok = load_ms is not None and load_ms < 10
    print(f"| open the profile and show the text, ms | {fmt(text_ms)} | | | | |")
    print(f"| load the whole note, ms | {fmt(load_ms)} | | | < 10 | {'yes' if load_ok else '**NO**'} |")
    print(f"| memory held by the loaded note, bytes | {fmt(med('tandem', 'load_engine_bytes'))} "
          f"| | | | |")


def print_replay_raw(doc):
    print("\n## Correctness and raw runs\n")
    for case, impls in replays(doc).items():
        print(f"{case}:")
        for impl, r in impls.items():
            if r["error"]:
                print(f"  {NAMES[impl]:<20} n/a: {r['error']}")
                continue
            runs = r["runs"]
            ok = all(x["matches_end"] is True for x in runs)
            times = " ".join(f"{x['replay_ms']:.1f}" for x in runs)
            print(f"  {NAMES[impl]:<20} matches_end={'yes' if ok else 'NO  <<<<< WRONG RESULT'}"
                  f"  events={runs[0]['events']:,} final_length={runs[0]['final_length']:,}"
                  f"  ms: {times}")
        counts = {r["runs"][0]["events"] for r in impls.values() if r["runs"]}
        if len(counts) > 1:
            print("  note: the implementations count events differently "
                  "(expected: inserted + deleted code points)")


def print_tables(doc, after_section=lambda section: None):
    """bench.py's Markdown from a results document; returns the exit status
    (1 when any implementation ended with the wrong text).  after_section is
    called with "replay", "store", "latency", "catch-up" and "app" after each
    part's tables (the report puts its plots there)."""
    print_header(doc)
    if "replay" in doc:
        print_replay(doc)
        after_section("replay")
        print_store(doc)
        after_section("store")
    net_wrong = app_wrong = False
    if "net" in doc:
        net_wrong = print_latency(doc["net"])
        after_section("latency")
        net_wrong |= print_catch_up(doc)
        after_section("catch-up")
    if "app" in doc:
        app_wrong = print_app(doc["app"], doc["meta"]["runs"])
        after_section("app")
    print_replay_raw(doc)
    if "net" in doc:
        print_network_raw(doc["net"])
    if "app" in doc:
        print_app_raw(doc["app"])
    wrong = replay_wrong(doc)
    if wrong:
        print("\n!!! WRONG FINAL TEXT from: " +
              ", ".join(f"{NAMES[i]} in {c}" for c, i in wrong) + " !!!")
    if net_wrong:
        print("\n!!! THE NETWORK CASES ENDED WITH WRONG OR MISSING TEXT (see above) !!!")
    if app_wrong:
        print("\n!!! THE APP ENDED WITH WRONG TEXT OR THE WRONG NOTE LIST (see above) !!!")
    return 1 if wrong or net_wrong or app_wrong else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=("replay", "net", "app"),
                    help="only the replay tables, only the network ones, or only the app's")
    ap.add_argument("--json", type=Path, metavar="FILE",
                    help="also write every number measured (the results document) to FILE")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    doc = measure(args.builddir.resolve(), args.runs, args.only)
    if doc is None:
        return 0
    if args.json:
        save_results(doc, args.json)
    return print_tables(doc)


if __name__ == "__main__":
    sys.exit(main())
