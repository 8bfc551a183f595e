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

Timings cover the replay/merge only: reading and parsing the trace or the
binary file happens before the clock starts, in every implementation.  The JS
peers get one untimed warm-up replay in the same process first, so their JIT is
hot; that favours them, which is the safe direction for Tandem's targets.
Every implementation's final text is checked against the trace's endContent;
a mismatch is flagged in the table and makes this script exit 1.

Run it:
    meson compile -C build bench
    python3 tests/bench/bench.py build [--runs 5] [--only replay|net]

--only replay: the replay, merge, memory and store tables; --only net: the
network tables (with one run of the Yjs and dt local replays for their sizes).
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


def ensure_release_peer(build):
    """Builds tandem-peer as users get it (release, LTO) in BUILDDIR/bench-release.

    Returns (path, None) or (None, error string)."""
    rel = build / "bench-release"
    try:
        if not (rel / "build.ninja").exists():
            subprocess.run(["meson", "setup", str(rel), str(REPO), "--buildtype=release",
                            "-Db_lto=true"], capture_output=True, text=True, check=True)
        subprocess.run(["ninja", "-C", str(rel), "src/peer/tandem-peer"],
                       capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"release build failed: {getattr(e, 'stdout', '')}{getattr(e, 'stderr', e)}"[-500:]
    return rel / "src" / "peer" / "tandem-peer", None


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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        return f"{models[0]} ({len(models)} logical CPUs)" if models else "unknown"
    except OSError:
        return "unknown"


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
NET_TARGET_P99_MS = 5.0      # keystroke to remote apply, 8 peers
NET_TARGET_CATCH_UP_MS = 1000.0


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
                errors[(place, n)] = tandem_err
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
                    if (place, n) in errors:
                        continue
                    log(f"run {run + 1}/{runs}: network: {n} peers typing, profiles on {place}")
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir(parents=True)
                    try:
                        r = net_bench.typing_latency(tandem_exe, n, folder)
                        net["latency"].setdefault((place, n), []).append(r)
                    except (net_bench.PeerError, OSError, ValueError) as e:
                        errors[(place, n)] = str(e)[-300:]
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


def print_network(net, yjs_bytes, dt_bytes, yjs_reload_ms, dt_reload_ms):
    """The network tables; returns True when a result was wrong."""
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
    for place in ("disk", "tmpfs"):
        for n in NET_PEERS:
            key = (place, n)
            if key in errors:
                print(f"| {n} peers, profiles on {place} | n/a: {errors[key][:120]} | | | | |")
                continue
            if key not in lat:
                continue
            runs = lat[key]
            samples = pooled(runs, "samples")
            p99 = net_bench.percentile(samples, 99)
            floor_cell = f"{half[0] / 1000:.3f} / {half[1] / 1000:.3f}" if half else "n/a"
            ratio = fmt_ratio(p99 / half[1] if half and p99 is not None else None)
            target, met = "", ""
            if place == "disk" and n == 8:
                target = f"p99 < {NET_TARGET_P99_MS:g} ms"
                met = ("n/a" if p99 is None else
                       "yes" if p99 / 1000 < NET_TARGET_P99_MS else "**NO**")
            if bad(runs):
                met, wrong = "**NO: WRONG RESULT**", True
            label = f"{n} peers, profiles on {place}" + (" (fsync ~free)" if place == "tmpfs" else "")
            print(f"| {label} | {fmt_pair(samples)} | {floor_cell} | {ratio} | {target} | {met} |")

    # where the time goes
    print("\n| detail (pooled over runs) | " +
          " | ".join(f"{n} peers, {place}" for place in ("disk", "tmpfs") for n in NET_PEERS
                     if (place, n) in lat) + " |")
    keys = [(place, n) for place in ("disk", "tmpfs") for n in NET_PEERS if (place, n) in lat]
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

    # catch-up
    cu = net["catch_up"]
    print("\n## Network: catch-up on automerge-paper (259,778 keystrokes, loopback)\n")
    if "catch-up" in errors and not cu:
        print(f"n/a: {errors['catch-up']}")
        return wrong

    def m(key):
        vals = [r[key] for r in cu if r.get(key) is not None]
        return statistics.median(vals) if vals else None

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
          f"{fmt(yjs_reload_ms)} | {fmt_ratio(ratio_of(ms, yjs_reload_ms))} | "
          f"< {NET_TARGET_CATCH_UP_MS:,.0f} ms | {ms_ok} |")
    print(f"| bytes (Tandem: TCP payload both ways, TLS and handshakes included; dt: toBytes; "
          f"Yjs: update V2) | {fmt(nbytes)} | {fmt(dt_bytes)} | {fmt(yjs_bytes)} | "
          f"{fmt_ratio(ratio_of(nbytes, yjs_bytes))} | < Yjs | {bytes_ok} |")
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


def ratio_of(a, b):
    return a / b if a is not None and b else None


def print_network_raw(net):
    print("\nnetwork:")
    for key, runs in sorted(net["latency"].items(), key=lambda kv: (kv[0][0], kv[0][1])):
        place, n = key
        per_run = " ".join(f"{fmt_ms(r['samples'], 50)}/{fmt_ms(r['samples'], 99)}" for r in runs)
        print(f"  {n} peers on {place:<5}  p50/p99 ms per run: {per_run}  final_length="
              f"{runs[0]['final_length']:,}  converged={'yes' if all(r['converged'] for r in runs) else 'NO'}")
    for key, err in net["errors"].items():
        print(f"  {key}: n/a: {err}")
    for r in net["catch_up"]:
        print(f"  catch-up: {r['ms']:,.1f} ms, {r['bytes']:,} bytes, {r['batches']} batches, "
              f"{r['connections']} connection(s), matches_end="
              f"{'yes' if r['matches_end'] else 'NO  <<<<< WRONG RESULT'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=("replay", "net"),
                    help="only the replay tables, or only the network ones")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    build = args.builddir.resolve()

    traces = Path(os.environ.get("TANDEM_TRACES", REPO.parent / "shared" / "traces")).resolve()
    files = {
        "automerge": traces / "sequential" / "automerge-paper.json.gz",
        "ff": traces / "concurrent" / "friendsforever.json.gz",
        "a1": traces / "egwalker-paper" / "A1.json.gz",
    }
    absent = [str(p) for p in files.values() if not p.exists()]
    if absent:
        print(f"bench: traces not found ({', '.join(absent)}); set TANDEM_TRACES to the "
              "traces folder. Nothing measured.")
        return 0

    node_dir = build / "bench-node"
    node_err = ensure_node_packages(node_dir) if shutil.which("node") else "node not found"
    floor_exe, floor_err = ensure_floor(build)
    tandem_exe, tandem_err = ensure_release_peer(build)
    do_replay, do_net = args.only != "net", args.only != "replay"

    def node(script, trace, *extra):
        return ["node", "--expose-gc", str(HERE / script), str(trace), "--node-dir",
                str(node_dir), *extra]

    # case -> impl -> command, or an error string when it cannot run at all.
    cases = {
        "automerge-paper local": {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["automerge"]), "--store"],
            "dt": node_err or node("dt-replay.mjs", files["automerge"], "--mode", "local"),
            "yjs": node_err or node("yjs-replay.mjs", files["automerge"], "--mode", "local"),
            "floor": floor_err or [str(floor_exe), str(files["automerge"])],
        },
        "C1 merge (friendsforever x25)": {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["ff"]), "--repeat", "25"],
            "dt": node_err or node("dt-replay.mjs", files["ff"], "--repeat", "25", "--mode", "merge"),
            "yjs": node_err or node("yjs-replay.mjs", files["ff"], "--repeat", "25", "--mode", "merge"),
        },
        "A1 merge": {
            "tandem": tandem_err or [str(tandem_exe), "replay", str(files["a1"])],
            "dt": node_err or node("dt-replay.mjs", files["a1"], "--mode", "merge"),
            "yjs": node_err or node("yjs-replay.mjs", files["a1"], "--mode", "merge"),
        },
    }

    replay_runs = args.runs
    if not do_replay:
        # only the JS peers' sizes and load times of automerge-paper, once
        cases = {"automerge-paper local": {i: cases["automerge-paper local"][i] for i in ("dt", "yjs")}}
        replay_runs = 1 if do_net else 0

    results = {c: {i: [] for i in impls} for c, impls in cases.items()}
    errors = {c: {i: v for i, v in impls.items() if isinstance(v, str)} for c, impls in cases.items()}
    for run in range(replay_runs):
        for case, impls in cases.items():
            for impl, cmd in impls.items():
                if impl in errors[case]:
                    continue
                log(f"run {run + 1}/{args.runs}: {case}: {NAMES[impl]}")
                res, err = run_once(cmd)
                if err:
                    errors[case][impl] = err
                else:
                    results[case][impl].append(res)

    net, net_wrong = None, False
    if do_net:
        ws_echo_exe, ws_echo_err = ensure_ws_echo(build)
        net = run_network(build, tandem_exe, tandem_err, ws_echo_exe, ws_echo_err,
                          files["automerge"], args.runs)

    def median(case, impl, key):
        runs = results[case].get(impl, [])
        if impl in errors[case] or not runs or any(key not in r for r in runs):
            return None
        return statistics.median(r[key] for r in runs)

    wrong = [(c, i) for c, impls in results.items() for i, runs in impls.items()
             if any(r["matches_end"] is not True for r in runs)]

    def ratio(a, b):
        return a / b if a is not None and b else None

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
    for case in (cases if do_replay else ()):
        t, d, y, f = (median(case, i, "replay_ms") for i in IMPLS)
        r_d, r_y, r_f = ratio(t, d), ratio(t, y), ratio(t, f)
        if case.startswith("automerge"):
            target = "<= dt/3, <= Yjs/50, <= 10x floor"
            met = check(case, [("dt", r_d, r_d is not None and r_d <= 1 / 3),
                               ("Yjs", r_y, r_y is not None and r_y <= 1 / 50),
                               ("floor", r_f, r_f is not None and r_f <= 10)])
        else:
            target = "<= dt/4"
            met = check(case, [("dt", r_d, r_d is not None and r_d <= 1 / 4)])
        rows.append([case, fmt(t), fmt(d), fmt(y), fmt(f),
                     fmt_ratio(r_d), fmt_ratio(r_y), fmt_ratio(r_f), target, met])

    if do_replay:
        # Memory: Tandem reports RSS, the JS peers their heap (+ external).
        mc = "automerge-paper local"
        mt = median(mc, "tandem", "rss_growth_kb")
        md = median(mc, "dt", "heap_growth_kb")
        my = median(mc, "yjs", "heap_growth_kb")
        mf = median(mc, "floor", "buffer_kb")
        r_d, r_y, r_f = ratio(mt, md), ratio(mt, my), ratio(mt, mf)
        met = check(mc, [("Yjs", r_y, r_y is not None and mt < my)])
        rows.append(["memory after automerge-paper (KB)¹", fmt(mt), fmt(md), fmt(my), fmt(mf),
                     fmt_ratio(r_d), fmt_ratio(r_y), fmt_ratio(r_f),
                     "Tandem RSS growth < Yjs heap growth", met])

    print("# Tandem benchmark\n")
    print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {platform.machine()}, {cpu_model()}")
    print(f"- node {command_version(['node', '--version'])}, "
          f"yjs {package_version(node_dir, 'yjs')}, "
          f"diamond-types-node {package_version(node_dir, 'diamond-types-node')}")
    dirty = command_version(['git', '-C', str(REPO), 'status', '--porcelain', '--', 'src', 'meson.build'])
    print(f"- tandem: {tandem_exe}, commit "
          f"{command_version(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])}"
          f"{' with uncommitted changes in src/' if dirty not in ('unknown', 'not found') else ''}")
    print(f"- traces: {traces}")
    if do_replay:
        print(f"- medians of {args.runs} runs, each a separate process; times in ms "
              "(replay/merge only); JS peers after 1 warm-up replay\n")
    else:
        print(f"- network only ({args.runs} runs); the JS peers' automerge-paper replay once\n")

    if do_replay:
        header = ["case", "Tandem ms", "diamond-types-node ms", "Yjs ms", "floor ms",
                  "Tandem/dt", "Tandem/Yjs", "Tandem/floor", "target", "met?"]
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i in (0, 8, 9) else "---:" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")

        print("\n¹ Tandem: RSS growth during the replay; Yjs, dt: JS heap + external growth "
              "(dt's WebAssembly memory is external); floor: its gap buffer's size.")

        # The store: the same automerge-paper edits into a real profile (a commit
        # every 100 edits), then the note opened again; sizes of the history as
        # each library saves it, from the same runs.
        sc = "automerge-paper local"
        log_b, disk_b = median(sc, "tandem", "log_bytes"), median(sc, "tandem", "store_bytes")
        yjs_b, dt_b = median(sc, "yjs", "encoded_bytes"), median(sc, "dt", "encoded_bytes")
        text_ms, load_ms = median(sc, "tandem", "text_load_ms"), median(sc, "tandem", "load_ms")
        print("\n## Store (automerge-paper)\n")
        print("| measure | Tandem | diamond-types-node | Yjs | target | met? |")
        print("|---|---:|---:|---:|---|---|")
        print(f"| store-backed replay, ms (commits) | {fmt(median(sc, 'tandem', 'store_ms'))} "
              f"({fmt(median(sc, 'tandem', 'commits'))}) | | | | |")
        size_ok = log_b is not None and yjs_b is not None and log_b <= yjs_b
        print(f"| history, bytes (Tandem: saved log; dt: toBytes; Yjs: update V2) | {fmt(log_b)} | "
              f"{fmt(dt_b)} | {fmt(yjs_b)} | <= Yjs | {'yes' if size_ok else '**NO**'} |")
        print(f"| profile files on disk, bytes | {fmt(disk_b)} | | | | |")
        load_ok = load_ms is not None and load_ms < 10
        print(f"| open the profile and show the text, ms | {fmt(text_ms)} | | | | |")
        print(f"| load the whole note, ms | {fmt(load_ms)} | | | < 10 | {'yes' if load_ok else '**NO**'} |")
        print(f"| memory held by the loaded note, bytes | {fmt(median(sc, 'tandem', 'load_engine_bytes'))} "
              f"| | | | |")
    if net is not None:
        net_wrong = print_network(net, median("automerge-paper local", "yjs", "encoded_bytes"),
                                  median("automerge-paper local", "dt", "encoded_bytes"),
                                  median("automerge-paper local", "yjs", "reload_ms"),
                                  median("automerge-paper local", "dt", "reload_ms"))
    print("\n## Correctness and raw runs\n")
    for case in cases:
        print(f"{case}:")
        for impl in cases[case]:
            if impl in errors[case]:
                print(f"  {NAMES[impl]:<20} n/a: {errors[case][impl]}")
                continue
            runs = results[case][impl]
            ok = all(r["matches_end"] is True for r in runs)
            times = " ".join(f"{r['replay_ms']:.1f}" for r in runs)
            print(f"  {NAMES[impl]:<20} matches_end={'yes' if ok else 'NO  <<<<< WRONG RESULT'}"
                  f"  events={runs[0]['events']:,} final_length={runs[0]['final_length']:,}"
                  f"  ms: {times}")
        counts = {r[0]["events"] for r in results[case].values() if r}
        if len(counts) > 1:
            print("  note: the implementations count events differently "
                  "(expected: inserted + deleted code points)")
    if net is not None:
        print_network_raw(net)
    if wrong:
        print("\n!!! WRONG FINAL TEXT from: " +
              ", ".join(f"{NAMES[i]} in {c}" for c, i in wrong) + " !!!")
    if net_wrong:
        print("\n!!! THE NETWORK CASES ENDED WITH WRONG OR MISSING TEXT (see above) !!!")
    return 1 if wrong or net_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
