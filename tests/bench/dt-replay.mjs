// SPDX-License-Identifier: GPL-3.0-or-later
// dt-replay.mjs: replay an editing trace through diamond-types-node (see
// replay-common.mjs).
//
//   node --expose-gc dt-replay.mjs TRACE.json.gz [--repeat N] [--mode local|merge]
//
// local: one dt Doc, Doc.del / Doc.ins per patch.  Their positions count
//        unicode code points, like the traces, so no conversion is needed.
//        Then (reload_ms) its toBytes() loaded by Doc.fromBytes.
// merge: OpLog.fromBytes of the paper's .dt file (the whole event graph)
//        then checkout() (the merge that produces the text).

import fs from 'node:fs';
import { parseArgs, requirePackage, loadTrace, findBinaryDoc, measure } from './replay-common.mjs';

const opts = parseArgs(process.argv.slice(2));
const dt = requirePackage(opts, 'diamond-types-node');
const trace = loadTrace(opts.trace);

let run;
if (opts.mode === 'local') {
  if (!trace.linear) {
    console.error(`${opts.trace} has concurrent edits: use --mode merge`);
    process.exit(1);
  }
  run = () => {
    const doc = new dt.Doc('bench');
    for (let r = 0; r < opts.repeat; r++)
      for (const txn of trace.txns)
        for (const [pos, del, ins] of txn) {
          if (del > 0) doc.del(pos, del);
          if (ins.length > 0) doc.ins(pos, ins);
        }
    return { text: () => doc.get(), dispose: () => doc.free(), encoded: () => doc.toBytes().length,
             // what a peer that missed the whole history does with it
             reload: () => {
               const bytes = doc.toBytes();
               const t0 = performance.now();
               const fresh = dt.Doc.fromBytes(bytes);
               const text = fresh.get();
               const ms = performance.now() - t0;
               fresh.free();
               return { ms, text };
             } };
  };
} else {
  const bytes = fs.readFileSync(findBinaryDoc(opts, 'dt'));
  run = () => {
    const oplog = dt.OpLog.fromBytes(bytes);
    const branch = oplog.checkout();
    return { text: () => branch.get(), dispose: () => { branch.free(); oplog.free(); } };
  };
}

measure(opts, trace, run);
