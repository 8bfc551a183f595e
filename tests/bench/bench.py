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

Timings cover the replay/merge only: reading and parsing the trace or the
binary file happens before the clock starts, in every implementation.  The JS
peers get one untimed warm-up replay in the same process first, so their JIT is
hot; that favours them, which is the safe direction for Tandem's targets.
Every implementation's final text is checked against the trace's endContent;
a mismatch is flagged in the table and makes this script exit 1.

Run it:
    meson compile -C build bench
    python3 tests/bench/bench.py build [--runs 5]

It installs yjs and diamond-types-node into BUILDDIR/bench-node (npm, never
into the repository), builds floor.c into BUILDDIR/bench-floor when missing
or stale, and builds Tandem as users get it (release, LTO) in
BUILDDIR/bench-release.  Traces come from ../shared/traces next to the repository,
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


def ensure_floor(build):
    """Returns (path, None) or (None, error string)."""
    exe = build / "bench-floor"
    src = HERE / "floor.c"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe, None
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0", "gio-2.0",
                                "json-glib-1.0"], capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"pkg-config failed: {e}"
    # -O3, like the release build of Tandem that is measured.
    cmd = [os.environ.get("CC", "cc"), "-O3", "-o", str(exe), str(src), *flags]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"compiling floor.c failed: {r.stderr.strip()[-300:]}"
    return exe, None


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
    return "n/a" if r is None else f"{r:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir", type=Path)
    ap.add_argument("--runs", type=int, default=5)
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

    results = {c: {i: [] for i in impls} for c, impls in cases.items()}
    errors = {c: {i: v for i, v in impls.items() if isinstance(v, str)} for c, impls in cases.items()}
    for run in range(args.runs):
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
    for case in cases:
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
    print(f"- tandem: {tandem_exe}, commit "
          f"{command_version(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])}")
    print(f"- traces: {traces}")
    print(f"- medians of {args.runs} runs, each a separate process; times in ms "
          "(replay/merge only); JS peers after 1 warm-up replay\n")

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
    if wrong:
        print("\n!!! WRONG FINAL TEXT from: " +
              ", ".join(f"{NAMES[i]} in {c}" for c, i in wrong) + " !!!")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
