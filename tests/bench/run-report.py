#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark report (report.py) from made-up results documents (TAP).

usage: run-report.py [--seed S]

No benchmark runs here (they take minutes): the documents are random, in the
shape bench.measure() returns, from a seed (printed; the time by default).
The checks recompute what they expect from the raw runs in the document on
their own (medians, nearest-rank percentiles) and look for it in report.md and
in the gnuplot scripts beside the plots:

 1. a results document survives save_results/load_results unchanged, and the
    report made from the loaded one is the report made from the original
 2. report.md names the date, the machine and the commit, and every
    implementation's median replay time is in its case's row and in the
    plot's data; a failed implementation is "n/a"
 3. the typing latencies (p50 / p99 over every run's samples) and the floor
    are in the table and in the latency plot's data
 4. every plot that report.md shows is a PNG of the size asked for, with
    more than a few colours in it (ImageMagick counts them, when it is
    there); every PNG made is shown
 5. a wrong final text makes the exit status 1 and says so
 6. an app-only document gives the app's plots and no others; a network-only
    one the network's, with the JS peers' sizes from their one replay
 7. report.py --reuse: from BUILDDIR/bench-report/results.json, status 0;
    without it, or with a broken one, a clear error and status 1
 8. publishing copies report.md and the plots and drops stale plots

Skipped when gnuplot is missing.
"""

import copy
import json
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SEED = int(time.time())
if sys.argv[1:2] == ["--seed"] and len(sys.argv) > 2:
    SEED = int(sys.argv[2])

if shutil.which("gnuplot") is None:
    print("1..0 # SKIP gnuplot not found (Debian: gnuplot-nox)")
    sys.exit(0)

import bench   # noqa: E402
import report  # noqa: E402

rng = random.Random(SEED)


def values(n, low, high):
    return [round(rng.uniform(low, high), 3) for _ in range(n)]


def replay_run(impl, ms):
    r = {"events": 259778, "final_length": 104852, "matches_end": True, "replay_ms": ms}
    if impl == "tandem":
        r.update(rss_growth_kb=rng.randint(1000, 5000), log_bytes=rng.randint(50000, 150000),
                 store_bytes=rng.randint(500000, 900000), store_ms=rng.uniform(1000, 3000),
                 commits=2598, text_load_ms=rng.uniform(1, 5), load_ms=rng.uniform(5, 15),
                 load_engine_bytes=rng.randint(10**6, 3 * 10**6))
    elif impl in ("dt", "yjs"):
        r.update(heap_growth_kb=rng.randint(1000, 5000), encoded_bytes=rng.randint(80000, 200000),
                 reload_ms=rng.uniform(5, 50))
    else:
        r["buffer_kb"] = rng.randint(300, 700)
    return r


def typing_run(refresh):
    work, gaps = values(200, 2, 30), values(200, refresh * 0.9, refresh * 8)
    stats = lambda v: {"p50": statistics.median(v), "p99": max(v), "max": max(v)}
    return {
        "work_values_ms": work, "interval_values_ms": gaps, "refresh_ms": refresh,
        "seconds": 10.0, "frames": len(work), "converged": True, "buffer_matches_note": True,
        "work_ms": {**stats(work), "n_over": sum(v > 16 for v in work)},
        "interval_ms": stats(gaps),
        "phases_ms": {p: stats(values(50, 0.1, 9)) for p in ("update", "layout", "paint", "after_paint")},
        "remote_edits_per_s": 199.0, "remote_commit_ms_mean": 0.7, "local_chars_typed": 98,
        "local_chars_due": 100, "remote_change_signals": 1500, "main_thread_busy": 0.9,
        "process_cores": 1.1, "other_cores": 0.2,
    }


def startup_run(notes):
    steps = sorted(values(7, 5, 1200))
    keys = ("exec_to_main_ms", "app_startup_done_ms", "window_object_ms", "window_filled_ms",
            "mapped_ms", "first_frame_start_ms", "startup_ms")
    return {**dict(zip(keys, steps)), "first_frame_layout_ms": 20.0, "first_frame_paint_ms": 40.0,
            "rows": notes, "notebook_shown": "prepared", "window": "1280x800", "renderer": "cairo",
            "other_cores": 0.1}


def make_app(runs):
    refresh = 16.667
    return {"startup": [startup_run(bench.APP_NOTES) for _ in range(runs)],
            "startup_few": [startup_run(bench.APP_FEW_NOTES) for _ in range(runs)],
            "typing": [typing_run(refresh) for _ in range(runs)],
            "in_process": [typing_run(refresh)], "errors": {}, "prepare": None, "renderer": "cairo"}


def make_doc(runs=3):
    """A document as bench.measure() makes it, with random numbers; A1's
    floor does not exist and diamond-types-node failed on A1."""
    doc = {"meta": bench.describe_run(runs, None)}
    doc["meta"].update(node="v20.0.0", yjs="13.6.0", diamond_types_node="1.0.2",
                       tandem="/build/tandem-peer", traces="/traces")
    replay = {}
    for case, impls in ((bench.AUTOMERGE, bench.IMPLS), (bench.C1, bench.IMPLS[:3]),
                        (bench.A1, bench.IMPLS[:3])):
        replay[case] = {}
        for impl in impls:
            scale = {"tandem": 40, "dt": 80, "yjs": 5000, "floor": 5}[impl]
            replay[case][impl] = {"runs": [replay_run(impl, rng.uniform(scale, scale * 2))
                                           for _ in range(runs)], "error": None}
    replay[bench.A1]["dt"] = {"runs": [], "error": "exit 1: made-up failure"}
    doc["replay"] = replay
    latency = {}
    for place in bench.NET_PLACES:
        for n in bench.NET_PEERS:
            latency[bench.net_case(place, n)] = [{
                "samples": values(50 * n, 500, 30000), "insert_reply": values(50, 100, 900),
                "idle_rtt": values(20, 50, 300), "loaded_rtt": values(20, 50, 900),
                "cpu_ms_per_keystroke": 0.5, "cpu_cores": 0.4, "idle_cpu_cores": 0.01,
                "driver_cores": 0.1, "late_ms_max": 1.0, "other_cores": 0.3,
                "coalesced": 0, "missing": 0, "converged": True, "final_length": 400 * n,
            } for _ in range(runs)]
    doc["net"] = {
        "latency": latency, "errors": {},
        "floor": {"p50_us": rng.uniform(100, 200), "p99_us": rng.uniform(200, 400), "deflate": True},
        "fsync": {"disk": values(20, 1000, 5000), "tmpfs": values(20, 5, 20)},
        "fill": {"commands": 259778, "events": 259778, "reused": True},
        "catch_up": [{"ms": rng.uniform(300, 900), "bytes": rng.randint(200000, 700000),
                      "bytes_down": 1, "bytes_up": 1, "connected_ms": 10.0, "first_change_ms": 50.0,
                      "batches": 12, "synced_ms": 900.0, "connections": 1, "matches_end": True}
                     for _ in range(runs)],
    }
    doc["app"] = make_app(runs)
    return doc


def nearest_rank(vals, p):
    s = sorted(vals)
    return s[max(1, -(-len(s) * p // 100)) - 1]


def make_report(doc, out_dir):
    return report.write_report(doc, out_dir)


def table_row(md, first_cell):
    rows = [l for l in md.splitlines() if l.startswith(f"| {first_cell} |")]
    return rows[0] if rows else ""


def png_size(path):
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def colours(path):
    r = subprocess.run(["convert", str(path), "-format", "%k", "info:"],
                       capture_output=True, text=True)
    return int(r.stdout) if r.returncode == 0 and r.stdout.strip().isdigit() else None


results = []


def check(name, ok, why=""):
    results.append((name, bool(ok), why))


def main():
    print(f"# seed {SEED}")
    work = Path(tempfile.mkdtemp(prefix="tandem-report-test-"))
    try:
        run_checks(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"1..{len(results)}")
    for i, (name, ok, why) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if not ok and why:
            for line in str(why).splitlines():
                print(f"# {line}")
    return 1 if any(not ok for _, ok, _ in results) else 0


def run_checks(work):
    doc = make_doc()
    # 1. the JSON round trip
    saved = work / "results.json"
    bench.save_results(doc, saved)
    loaded = bench.load_results(saved)
    check("a results document survives saving and loading", loaded == doc)
    status, files = make_report(doc, work / "a")
    status_b, _ = make_report(loaded, work / "b")
    md = (work / "a" / "report.md").read_text()
    check("the report from the loaded document is the same",
          md == (work / "b" / "report.md").read_text() and status == status_b == 0,
          f"status {status} / {status_b}")

    # 2. header and replay
    m = doc["meta"]
    check("report.md names the date, the CPU, the kernel and the commit",
          all(s in md for s in (m["date"], m["machine"]["cpu"], m["machine"]["kernel"],
                                f"commit {m['commit']}")))
    gp = (work / "a" / "replay.gp").read_text()
    missing = []
    for case, impls in doc["replay"].items():
        row = table_row(md, case)
        for impl, r in impls.items():
            if r["error"]:
                if "n/a" not in row:
                    missing.append(f"{case} {impl}: no n/a in {row!r}")
                continue
            med = statistics.median(x["replay_ms"] for x in r["runs"])
            if f"| {med:,.1f} |" not in row:
                missing.append(f"{case} {impl}: {med:,.1f} not in {row!r}")
            if not re.search(rf"^\S+ {re.escape(repr(med))} ", gp, re.M):
                missing.append(f"{case} {impl}: {med!r} not in replay.gp")
    check("every median replay time is in its row and in the plot; a failure is n/a",
          not missing, "\n".join(missing))

    # 3. latency
    gp = (work / "a" / "latency.gp").read_text()
    missing = []
    for key, runs in doc["net"]["latency"].items():
        samples = [v for r in runs for v in r["samples"]]
        p50, p99 = nearest_rank(samples, 50) / 1000, nearest_rank(samples, 99) / 1000
        place, n = key.split(" peers on ")[1], key.split()[0]
        row = next((l for l in md.splitlines() if l.startswith(f"| {n} peers, profiles on {place}")), "")
        if f"{p50:,.2f} / {p99:,.2f}" not in row:
            missing.append(f"{key}: {p50:,.2f} / {p99:,.2f} not in {row!r}")
        for v in (p50, p99):
            if not re.search(rf"^\S+ {re.escape(repr(v))} ", gp, re.M):
                missing.append(f"{key}: {v!r} not in latency.gp")
    floor = doc["net"]["floor"]
    for v in (floor["p50_us"] / 2000, floor["p99_us"] / 2000):
        if not re.search(rf"^\S+ {re.escape(repr(v))} ", gp, re.M):
            missing.append(f"floor: {v!r} not in latency.gp")
    check("the latencies and the floor are in the table and the plot", not missing,
          "\n".join(missing))

    gp = (work / "a" / "catch-up.gp").read_text()
    cu = doc["net"]["catch_up"]
    ms = statistics.median(r["ms"] for r in cu)
    nbytes = statistics.median(r["bytes"] for r in cu)
    yjs = statistics.median(r["encoded_bytes"] for r in doc["replay"][bench.AUTOMERGE]["yjs"]["runs"])
    row = next((l for l in md.splitlines() if l.startswith("| bytes (Tandem: TCP payload")), "")
    in_gp = lambda v: re.search(rf"^\S+ {re.escape(repr(v))} ", gp, re.M)
    check("catch-up: the median time and bytes, and Yjs's bytes, in the table and the plot",
          f"| {nbytes:,} |" in row.replace(".0 |", " |") and f"| {yjs:,} |" in row.replace(".0 |", " |")
          and f"| {ms:,.1f} |" in md and in_gp(ms) and in_gp(nbytes / 1000) and in_gp(yjs / 1000),
          f"{ms} {nbytes} {yjs}: {row}")

    # 4. the plots
    shown = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    made = sorted(p.name for p in (work / "a").glob("*.png"))
    bad = []
    for name in shown:
        path = work / "a" / name
        size = png_size(path) if path.exists() else None
        gp_text = (work / "a" / name.replace(".png", ".gp")).read_text() if size else ""
        asked = re.search(r"size (\d+),(\d+)", gp_text)
        if size is None or not asked or size != (int(asked[1]), int(asked[2])):
            bad.append(f"{name}: {size} (asked {asked and asked.groups()})")
        elif shutil.which("convert") and (colours(path) or 0) < 20:
            bad.append(f"{name}: {colours(path)} colours")
    expected = {"replay.png", "latency.png", "catch-up.png", "app-startup.png", "app-frames.png"}
    check("every plot shown is a PNG of the size asked for, drawn on; every plot made is shown",
          not bad and sorted(shown) == made and set(shown) == expected,
          f"{bad}; shown {shown}; made {made}")
    check("report.md and its plots are the files reported", sorted(files) == sorted(["report.md", *made]))

    # 5. a wrong text
    wrong = copy.deepcopy(doc)
    wrong["replay"][bench.C1]["yjs"]["runs"][0]["matches_end"] = False
    status, _ = make_report(wrong, work / "wrong")
    text = (work / "wrong" / "report.md").read_text()
    check("a wrong final text gives status 1 and says so",
          status == 1 and "WRONG FINAL TEXT from: Yjs in C1" in text, f"status {status}")

    # 6. the app only
    app_doc = {"meta": bench.describe_run(2, "app"), "app": make_app(2)}
    status, files = make_report(app_doc, work / "app")
    check("an app-only document gives the app's plots only",
          status == 0 and sorted(files) == ["app-frames.png", "app-startup.png", "report.md"],
          f"status {status}, files {files}")

    net_doc = {"meta": bench.describe_run(3, "net"), "net": doc["net"],
               "js_sizes": {bench.AUTOMERGE: {i: doc["replay"][bench.AUTOMERGE][i] for i in ("dt", "yjs")}}}
    status, files = make_report(net_doc, work / "net")
    text = (work / "net" / "report.md").read_text()
    row = next((l for l in text.splitlines() if l.startswith("| bytes (Tandem: TCP payload")), "")
    check("a network-only document gives the network's plots, with the JS peers' sizes",
          status == 0 and sorted(files) == ["catch-up.png", "latency.png", "report.md"]
          and f"| {yjs:,} |" in row.replace(".0 |", " |"), f"status {status}, files {files}, {row}")

    # 7. the command line
    build = work / "build"
    bench.save_results(doc, build / "bench-report" / "results.json")
    cmd = [sys.executable, str(HERE / "report.py"), str(build), "--reuse"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    check("report.py --reuse makes the report from results.json",
          r.returncode == 0 and (build / "bench-report" / "report.md").read_text() == md,
          r.stderr[-500:])
    (build / "bench-report" / "results.json").write_text('{"meta": {"format": 1}, "replay": ')
    r = subprocess.run(cmd, capture_output=True, text=True)
    check("a broken results.json: status 1 and a clear error",
          r.returncode == 1 and "cannot reuse" in r.stderr and "results.json" in r.stderr,
          r.stderr[-500:])
    shutil.rmtree(build)
    r = subprocess.run(cmd, capture_output=True, text=True)
    check("no results.json: status 1 and a clear error",
          r.returncode == 1 and "cannot reuse" in r.stderr, r.stderr[-500:])

    # 8. publishing
    dest = work / "published"
    dest.mkdir()
    (dest / "stale.png").write_bytes(b"old")
    (dest / "keep.txt").write_text("not a plot")
    report.publish(work / "a", sorted(["report.md", *made]), dest)
    got = sorted(p.name for p in dest.iterdir())
    check("publishing copies the report and the plots, drops stale plots only",
          got == sorted(["keep.txt", "report.md", *made])
          and (dest / "report.md").read_text() == md, f"{got}")


if __name__ == "__main__":
    sys.exit(main())
