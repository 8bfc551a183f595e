// SPDX-License-Identifier: GPL-3.0-or-later
// replay-common.mjs: what yjs-replay.mjs and dt-replay.mjs share, so both
// peers are loaded, timed and measured in exactly the same way.
//
// Both scripts take: TRACE.json.gz [--repeat N] [--mode local|merge]
//                    [--doc FILE] [--warmup K] [--node-dir DIR]
//
// local: replay the trace's patches as local edits into one document.
// merge: load the peer's own binary encoding of the whole history (the
//        Eg-walker paper's C1/A1 files) into an empty document; this is
//        "merge everything into a peer that has nothing".
//
// Output: one JSON line
//   {"events":N,"final_length":L,"matches_end":B,"replay_ms":X,
//    "heap_growth_kb":K,"rss_growth_kb":R,"warmup":W,
//    "encoded_bytes":E,"reload_ms":T,"reload_matches":B}
// events = keystrokes (inserted + deleted code points) x repeat, as in the paper.
// encoded_bytes / reload_*: only where the script offers them (local mode):
// the size of the whole history as the library saves it, and the time to
// load that into a fresh document and read its text (after one untimed
// warm-up load), i.e. a peer catching up on everything, minus the network.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

export function parseArgs(argv) {
  const opts = { trace: null, repeat: 1, mode: 'local', doc: null, warmup: 1,
                 nodeDir: process.env.TANDEM_BENCH_NODE_DIR || null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--repeat') opts.repeat = parseInt(value(), 10);
    else if (a === '--mode') opts.mode = value();
    else if (a === '--doc') opts.doc = value();
    else if (a === '--warmup') opts.warmup = parseInt(value(), 10);
    else if (a === '--node-dir') opts.nodeDir = value();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (opts.trace === null) opts.trace = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!opts.trace || !(opts.repeat >= 1) || !(opts.warmup >= 0) ||
      !['local', 'merge'].includes(opts.mode))
    usage('bad arguments');
  return opts;
}

function usage(msg) {
  console.error(`${msg}\nusage: node ${path.basename(process.argv[1])} TRACE.json.gz ` +
                '[--repeat N] [--mode local|merge] [--doc FILE] [--warmup K] [--node-dir DIR]');
  process.exit(2);
}

// The packages live in BUILDDIR/bench-node, never in the repository, and an
// ES module import cannot be pointed at another node_modules: require can.
export function requirePackage(opts, name) {
  const base = opts.nodeDir ? path.join(path.resolve(opts.nodeDir), 'package.json')
                            : import.meta.url;
  try {
    return createRequire(base)(name);
  } catch (e) {
    console.error(`cannot load ${name} (${e.message}); run tests/bench/bench.py ` +
                  'or pass --node-dir BUILDDIR/bench-node');
    process.exit(1);
  }
}

// Flattened before the clock starts, so only the peer's own work is timed.
export function loadTrace(file) {
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
  const patches = [];
  let keystrokes = 0;
  // The paper's S1-S3 use the concurrent format for one straight line of
  // edits; only a history with real forks needs merge mode.
  let linear = true;
  for (const [i, txn] of trace.txns.entries()) {
    const parents = txn.parents ?? (i === 0 ? [] : [i - 1]);
    if (parents.length !== (i === 0 ? 0 : 1) || (i > 0 && parents[0] !== i - 1))
      linear = false;
    const txnPatches = [];
    for (const [pos, del, ins] of txn.patches) {
      txnPatches.push([pos, del, ins]);
      keystrokes += del + [...ins].length;
    }
    patches.push(txnPatches);
  }
  return { linear, endContent: trace.endContent,
           txns: patches, keystrokes };
}

// The shipped binary document for a merge case: egwalker-paper/X.json.gz
// goes with X.yjs / X.dt; the README defines C1 / C2 as friendsforever /
// clownschool x25, so those map onto egwalker-paper/C1 / C2.
export function findBinaryDoc(opts, ext) {
  if (opts.doc) return opts.doc;
  const dir = path.dirname(path.resolve(opts.trace));
  const name = path.basename(opts.trace).replace(/\.json\.gz$/, '');
  const c = { friendsforever: 'C1', clownschool: 'C2' };
  let file = null;
  if (path.basename(dir) === 'egwalker-paper' && opts.repeat === 1)
    file = path.join(dir, `${name}.${ext}`);
  else if (c[name] && opts.repeat === 25)
    file = path.join(dir, '..', 'egwalker-paper', `${c[name]}.${ext}`);
  if (!file || !fs.existsSync(file)) {
    console.error(`no shipped .${ext} document for ${opts.trace} x${opts.repeat}; pass --doc FILE`);
    process.exit(1);
  }
  return file;
}

function memory() {
  if (global.gc) { global.gc(); global.gc(); }
  const m = process.memoryUsage();
  // external includes ArrayBuffers and the WebAssembly memory (diamond-types).
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

// run() does one complete replay and returns { text, dispose, encoded?, reload? }: the closure
// keeps the document alive until memory was measured; text() reads the final
// text (not timed); dispose() frees a warm-up document (WebAssembly objects
// are not garbage collected).
export function measure(opts, trace, run) {
  if (!global.gc)
    console.error('warning: run node with --expose-gc, heap_growth_kb is noisy without it');
  const before = memory();
  // JS peers get untimed warm-up replays so their JIT is hot when timed.
  // This favours them, which is the safe direction for Tandem's targets.
  for (let i = 0; i < opts.warmup; i++) run().dispose();
  const t0 = performance.now();
  const out = run();
  const t1 = performance.now();
  const after = memory();
  const text = out.text();
  const expected = trace.endContent.repeat(opts.repeat);
  let reload = null;
  if (out.reload) {
    out.reload();   // warm-up
    reload = out.reload();
  }
  console.log(JSON.stringify({
    events: trace.keystrokes * opts.repeat,
    final_length: [...text].length,
    matches_end: text === expected,
    replay_ms: Math.round((t1 - t0) * 1000) / 1000,
    heap_growth_kb: Math.round((after.heap - before.heap) / 1024),
    rss_growth_kb: Math.round((after.rss - before.rss) / 1024),
    // the whole history as the library saves it (not timed)
    encoded_bytes: out.encoded ? out.encoded() : undefined,
    reload_ms: reload ? Math.round(reload.ms * 1000) / 1000 : undefined,
    reload_matches: reload ? reload.text === expected : undefined,
    warmup: opts.warmup,
  }));
}
