#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark report: every benchmark of bench.py from one run, as
Markdown tables beside PNG plots, with the machine and the date.

    meson compile -C build bench-report
    python3 tests/bench/report.py BUILDDIR [--runs N] [--reuse] [--publish]

Measures everything bench.py measures (replay and merge beside
diamond-types-node, Yjs and the floor; the store; typing latency and catch-up
on the network; the app's start-up and frames), writes the numbers to
BUILDDIR/bench-report/results.json (bench.py's results document, the one
writer of them) and makes BUILDDIR/bench-report/report.md from it, bench.py's
own tables with plots drawn by gnuplot (pngcairo) beside them.

--runs N    runs of each benchmark (medians, latencies and frames pooled), as
            bench.py's --runs.
--reuse     no measuring: the report again from the last results.json (for
            changing the plots, or publishing what was measured).
--publish   then copy report.md and the plots into tests/bench/results/, which
            is committed and which README embeds (the old plots there go).

Exit status: 1 when an implementation ended with the wrong text (as bench.py)
or nothing could be measured, 2 on bad usage; 0 otherwise.
"""

import argparse
import contextlib
import io
import math
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import bench
import net_bench

HERE = Path(__file__).resolve().parent
PUBLISHED = HERE / "results"

# one colour per implementation, the same in every plot
COLOURS = {
    "Tandem": "#1c71d8", "diamond-types-node": "#e66100", "Yjs": "#26a269",
    "floor": "#77767b", "p50": "#62a0ea", "p99": "#1a5fb4",
    "second peer in its own process": "#1c71d8", "second peer in the window's process": "#e66100",
}
TARGET_COLOUR = "#c01c28"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- gnuplot ----

def gp_string(s):
    """A gnuplot double-quoted string (\\n makes a new line)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def figure(out_dir, name, title, panels, width=1000, height=560, widths=None):
    """Draws PANELS side by side into OUT_DIR/NAME.png, each as wide as its
    share in WIDTHS (equal by default); the script is kept beside it as
    NAME.gp.  Returns the PNG's file name."""
    script = [f"set terminal pngcairo size {width},{height} enhanced font 'DejaVu Sans,11' "
              f"background rgb 'white'",
              f"set output {gp_string(name + '.png')}"]
    if len(panels) == 1:
        # the title is the plot's own: gnuplot leaves room for it
        *setup, plot = panels[0]
        script += [*setup, f"set title {gp_string(title)} font ',14'", plot]
    else:
        widths = widths or [1 / len(panels)] * len(panels)
        script.append(f"set multiplot title {gp_string(title)} font ',14'")
        x = 0.0
        for p, w in zip(panels, widths):
            # the panels' own margins know nothing of the figure's title:
            # they stay below it
            script += ["reset", f"set size {w},0.93", f"set origin {x},0", *p]
            x += w
        script.append("unset multiplot")
    (out_dir / f"{name}.gp").write_text("\n".join(script) + "\n")
    r = subprocess.run(["gnuplot", f"{name}.gp"], cwd=out_dir, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"gnuplot {name}.gp: {r.stderr.strip()[-500:]}")
    return f"{name}.png"


def short_number(v):
    """Three significant digits, thousands separated: 0.0732, 4.81, 45.4, 6,449."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def bar_panel(title, ylabel, groups, log_scale=False, lines=(), key_inside=False):
    """One bar chart.  groups: [(x label, [(series, value or None), ...])];
    the bars of a group stand side by side, coloured by series (COLOURS), each
    with its value written above it; a missing value leaves a gap marked n/a.
    lines: [(y, label)] drawn across as dashed targets or floors.
    title None: the figure's title says it all.  key_inside: the key in the
    top left corner (a log scale leaves room there) rather than above."""
    values = [v for _, bars in groups for _, v in bars if v is not None]
    if not values:
        return None
    widest = max(len(bars) for _, bars in groups)
    width = 0.8 / widest
    if log_scale:
        low = min(values + [y for y, _ in lines]) / 4
        high = max(values + [y for y, _ in lines]) * 6
    else:
        low, high = 0, max(values + [y for y, _ in lines]) * 1.2
    by_series, missing = {}, []
    for g, (_, bars) in enumerate(groups):
        for j, (series, v) in enumerate(bars):
            x = g + (j - (len(bars) - 1) / 2) * width
            if v is None:
                missing.append(x)
            else:
                by_series.setdefault(series, []).append((x, v))
    label_lines = max(label.count("\n") + 1 for label, _ in groups)
    out = [f"set title {gp_string(title)}" if title else "unset title",
           f"set ylabel {gp_string(ylabel)}",
           "set xtics (" + ", ".join(f"{gp_string(label)} {g}" for g, (label, _) in enumerate(groups))
           + ") scale 0 font ',10'",
           f"set bmargin {label_lines + 1.5}",
           f"set xrange [-0.6:{len(groups) - 0.4}]",
           f"set yrange [{low}:{high}]",
           "set grid ytics lc rgb '#dddddd'",
           # single bars are named by their x label; side by side ones by a key
           "unset key" if widest == 1 else
           "set key inside top left vertical Left reverse samplen 2 font ',10' opaque"
           if key_inside else
           "set key outside top center horizontal Left reverse samplen 2 width 1 font ',10'",
           "set style fill solid 0.9 border lc rgb '#333333'",
           "set format y '%g'"]
    if log_scale:
        out.append("set logscale y")
    out.append("set style textbox opaque noborder margins 1,1")
    for y, label in lines:
        out.append(f"set arrow from graph 0, first {y} to graph 1, first {y} nohead "
                   f"dt 2 lw 2 lc rgb '{TARGET_COLOUR}' front")
        out.append(f"set label {gp_string(label)} at graph 0.99, first {y} right offset 0,0.8 "
                   f"tc rgb '{TARGET_COLOUR}' font ',9' front boxed")
    for x in missing:
        out.append(f"set label 'n/a' at first {x}, first {low * 1.5 if log_scale else high * 0.03} "
                   f"center font ',9'")
    plots = []
    for k, (series, bars) in enumerate(by_series.items()):
        block = f"$s{k}"
        out.append(f"{block} << EOD")
        out += [f"{x} {v} {gp_string(short_number(v))}" for x, v in bars]
        out.append("EOD")
        colour = COLOURS.get(series, "#5e5c64")
        # boxxyerror, so that on a log scale a bar starts at the axis's bottom
        plots.append(f"{block} using 1:2:($1-{width / 2}):($1+{width / 2}):({low}):2 "
                     f"with boxxyerror lc rgb '{colour}' title {gp_string(series)}")
        plots.append(f"{block} using 1:2:3 with labels offset 0,0.6 font ',9' notitle")
    out.append("plot " + ", \\\n     ".join(plots))
    return out


def histogram_panel(title, xlabel, series, bins_per_decade, limit=None):
    """How many of each series' values [(name, values in ms)] fall in each
    bin, bins evenly spaced on a log scale (BINS_PER_DECADE), the counts on a
    log scale too: a frame that takes 10 times longer is the point, and it
    may be one among hundreds.  limit: (x, label) drawn as a dashed line."""
    series = [(n, v) for n, v in series if v]
    if not series:
        return None
    out = [f"set title {gp_string(title)}",
           f"set xlabel {gp_string(xlabel)}",
           "set ylabel 'frames (log scale)'",
           "set logscale xy",
           "set format x '%g'",
           "set yrange [0.8:*]",
           "set grid xtics ytics mxtics lc rgb '#dddddd'",
           "set key outside top center horizontal Left reverse samplen 2 width 1 font ',10'",
           "set style fill transparent solid 0.45 border"]
    if limit:
        x, label = limit
        out.append(f"set arrow from first {x}, graph 0 to first {x}, graph 1 nohead dt 2 lw 2 "
                   f"lc rgb '{TARGET_COLOUR}' front")
        out.append(f"set label {gp_string(label)} at first {x}, graph 0.97 left offset 0.5,0 "
                   f"tc rgb '{TARGET_COLOUR}' font ',9' front")
    plots = []
    edge = lambda b: 10 ** (b / bins_per_decade)
    for k, (name, values) in enumerate(series):
        counts = {}
        for v in values:
            # below 0.1 ms is "about nothing": the first bin
            b = math.floor(math.log10(max(v, 0.1)) * bins_per_decade)
            counts[b] = counts.get(b, 0) + 1
        out.append(f"$h{k} << EOD")
        out += [f"{math.sqrt(edge(b) * edge(b + 1))} {c} {edge(b)} {edge(b + 1)}"
                for b, c in sorted(counts.items())]
        out.append("EOD")
        colour = COLOURS.get(name, "#5e5c64")
        plots.append(f"$h{k} using 1:2:3:4:(0.8):2 with boxxyerror lc rgb '{colour}' "
                     f"title {gp_string(f'{name} ({len(values):,} frames)')}")
    out.append("plot " + ", \\\n     ".join(plots))
    return out


# ---- the plots, from a results document ----

def replay_figure(doc, out_dir):
    if "replay" not in doc:
        return None
    med = lambda case, impl, key="replay_ms": bench.replay_median(doc, case, impl, key)
    labels = {bench.AUTOMERGE: "automerge-paper\nlocal edits",
              bench.C1: "C1: friendsforever ×25\nmerged into an empty peer",
              bench.A1: "A1: node.cc history\nmerged into an empty peer"}
    groups = [(labels[case], [(bench.NAMES[i], med(case, i)) for i in impls])
              for case, impls in doc["replay"].items()]
    times = bar_panel("Replay or merge time (median)", "ms (log scale)", groups, log_scale=True)
    memory = bar_panel(
        "Memory held after automerge-paper", "KB",
        [(label, [(bench.NAMES[i], med(bench.AUTOMERGE, i, key))])
         for i, key, label in (("tandem", "rss_growth_kb", "Tandem:\nRSS growth"),
                               ("dt", "heap_growth_kb", "diamond-\ntypes-node:\nJS heap\n+ external"),
                               ("yjs", "heap_growth_kb", "Yjs:\nJS heap\n+ external"),
                               ("floor", "buffer_kb", "floor:\nits gap\nbuffer"))])
    panels = [p for p in (times, memory) if p]
    if not panels:
        return None
    return figure(out_dir, "replay", "Tandem beside diamond-types-node, Yjs and a floor "
                  "(a gap buffer in C): real editing traces", panels, width=1200,
                  # the times get two thirds of the width
                  widths=[0.64, 0.36] if len(panels) == 2 else None)


def latency_figure(doc, out_dir):
    net = doc.get("net")
    if not net:
        return None
    pct = lambda samples, p: (None if not samples else net_bench.percentile(samples, p) / 1000)
    groups = []
    for place in bench.NET_PLACES:
        for n in bench.NET_PEERS:
            runs = net["latency"].get(bench.net_case(place, n))
            if runs is None:
                continue
            samples = bench.pooled(runs, "samples")
            groups.append((f"{n} peers\nprofiles on {place}",
                           [("p50", pct(samples, 50)), ("p99", pct(samples, 99))]))
    floor = net["floor"]
    if floor:
        # half a round trip, as bench.py's table
        groups.append(("floor: half a round trip\nof a bare libsoup WebSocket",
                       [("p50", floor["p50_us"] / 2000), ("p99", floor["p99_us"] / 2000)]))
    panel = bar_panel(None, "ms (log scale)", groups, log_scale=True, key_inside=True,
                      lines=[(bench.NET_TARGET_P99_MS,
                              f"target: p99 < {bench.NET_TARGET_P99_MS:g} ms with 8 peers")])
    if panel is None:
        return None
    return figure(out_dir, "latency", "Keystroke to remote apply, p50 and p99 of every keystroke "
                  "at every other peer\n{/*0.8 loopback, TLS WebSockets, full mesh; each peer "
                  "types 20 characters/s for 10 s}", [panel])


def catch_up_figure(doc, out_dir):
    net = doc.get("net")
    if not net or not net["catch_up"]:
        return None
    js = bench.catch_up_peers(doc)
    saved_log = bench.replay_median(doc, bench.AUTOMERGE, "tandem", "log_bytes")
    kb = lambda b: None if b is None else b / 1000
    size = bar_panel(
        "The whole history", "kB (1,000 bytes)",
        [("Tandem: the join,\nbytes on the wire\n(TCP both ways)",
          [("Tandem", kb(bench.catch_up_median(net, "bytes")))]),
         ("Tandem:\nsaved log", [("Tandem", kb(saved_log))]),
         ("diamond-types\n-node:\ntoBytes", [("diamond-types-node", kb(js["dt"]["bytes"]))]),
         ("Yjs:\nupdate V2", [("Yjs", kb(js["yjs"]["bytes"]))])])
    time_ = bar_panel(
        "Time", "ms",
        [("Tandem: join until\nthe whole note\nis saved", [("Tandem", bench.catch_up_median(net, "ms"))]),
         ("diamond-types\n-node: load into\nan empty doc", [("diamond-types-node", js["dt"]["load_ms"])]),
         ("Yjs: load into\nan empty doc\n(no network)", [("Yjs", js["yjs"]["load_ms"])])],
        lines=[(bench.NET_TARGET_CATCH_UP_MS, f"target: < {bench.NET_TARGET_CATCH_UP_MS:,.0f} ms")])
    panels = [p for p in (size, time_) if p]
    if not panels:
        return None
    return figure(out_dir, "catch-up", "Catch-up: a fresh peer joins after all of "
                  "automerge-paper (259,778 keystrokes)", panels, width=1100)


def app_figures(doc, out_dir):
    app = doc.get("app")
    if not app:
        return []
    made = []
    med = lambda runs: statistics.median(r["startup_ms"] for r in runs) if runs else None
    startup = bar_panel(
        None, "ms",
        [(f"{bench.APP_NOTES:,} notes listed", [("Tandem", med(app["startup"]))]),
         (f"{bench.APP_FEW_NOTES} notes listed", [("Tandem", med(app["startup_few"]))])],
        lines=[(bench.APP_TARGET_STARTUP_MS, f"target: < {bench.APP_TARGET_STARTUP_MS:,.0f} ms")])
    if startup:
        made.append(figure(out_dir, "app-startup", "The app: start to the first drawn window "
                           "(median)\n{/*0.8 GTK 4 under Xvfb, release build}", [startup],
                           width=640, height=520))
    cases = (("typing", "second peer in its own process"), ("in_process", "second peer in the window's process"))
    work = [(name, [v for r in app[c] for v in r["work_values_ms"]]) for c, name in cases]
    gaps = [(name, [v for r in app[c] for v in r["interval_values_ms"]]) for c, name in cases]
    refresh = next((r["refresh_ms"] for c, _ in cases for r in app[c]), None)
    panels = [histogram_panel("Work of a frame (first phase to the end of after-paint)",
                              "ms (log scale)", work, 20,
                              (bench.APP_TARGET_FRAME_MS, f"{bench.APP_TARGET_FRAME_MS:g} ms")),
              histogram_panel("Interval between frames", "ms (log scale)", gaps, 20,
                              (refresh * 1.5, f"1.5 refreshes, {refresh * 1.5:.0f} ms")
                              if refresh else None)]
    panels = [p for p in panels if p]
    if panels:
        made.append(figure(out_dir, "app-frames", f"The app's frames while typing in a "
                           f"{bench.APP_LONG_KB} KB note that a second peer edits "
                           f"{bench.APP_RATE} times/s", panels))
    return made


PLOTS = {"replay": replay_figure, "latency": latency_figure, "catch-up": catch_up_figure}


# ---- the report ----

def write_report(doc, out_dir):
    """report.md and its plots in OUT_DIR; returns (bench.py's exit status,
    the files made)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    made = []

    def plots_after(section):
        if section in PLOTS:
            pngs = [PLOTS[section](doc, out_dir)]
        elif section == "app":
            pngs = app_figures(doc, out_dir)
        else:
            return
        for png in filter(None, pngs):
            made.append(png)
            print(f"\n![{section}]({png})")

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status = bench.print_tables(doc, plots_after)
    body = text.getvalue()
    title, _, rest = body.partition("\n")
    report = (f"{title.replace('Tandem benchmark', 'Tandem benchmark report')}\n\n"
              f"Made by `python3 tests/bench/report.py` from one run of every benchmark "
              f"(tests/bench/bench.py). Plots: gnuplot.\n{rest}")
    (out_dir / "report.md").write_text(report)
    return status, ["report.md", *made]


def publish(out_dir, files, dest=PUBLISHED):
    """Copies FILES from OUT_DIR into DEST; the plots of an earlier report
    that this one lacks go."""
    dest.mkdir(exist_ok=True)
    for old in dest.glob("*.png"):
        old.unlink()
    for name in files:
        shutil.copy2(out_dir / name, dest / name)
    log(f"published {', '.join(files)} into {dest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reuse", action="store_true",
                    help="no measuring: the report from the last results.json")
    ap.add_argument("--publish", action="store_true",
                    help="copy report.md and the plots into tests/bench/results/")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if shutil.which("gnuplot") is None:
        ap.error("gnuplot not found (Debian: apt install gnuplot-nox)")
    build = args.builddir.resolve()
    out_dir = build / "bench-report"
    results = out_dir / "results.json"
    if args.reuse:
        try:
            doc = bench.load_results(results)
        except (OSError, ValueError) as e:
            log(f"report: cannot reuse {results}: {e}")
            return 1
    else:
        doc = bench.measure(build, args.runs)
        if doc is None:
            log("report: nothing measured (see above)")
            return 1
        bench.save_results(doc, results)
    status, files = write_report(doc, out_dir)
    log(f"report: {out_dir / 'report.md'} and {len(files) - 1} plots")
    if args.publish:
        publish(out_dir, files)
    return status


if __name__ == "__main__":
    sys.exit(main())
