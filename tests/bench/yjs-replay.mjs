// SPDX-License-Identifier: GPL-3.0-or-later
// yjs-replay.mjs: replay an editing trace through Yjs (see replay-common.mjs).
//
//   node --expose-gc yjs-replay.mjs TRACE.json.gz [--repeat N] [--mode local|merge]
//
// local: one Y.Doc, each trace txn is one Yjs transaction of delete/insert;
//        then (reload_ms) its update V2 applied to a fresh Y.Doc.
// merge: Y.applyUpdateV2 of the paper's .yjs file (the whole history in
//        update V2 encoding) into a fresh Y.Doc.

import fs from 'node:fs';
import { parseArgs, requirePackage, loadTrace, findBinaryDoc, measure } from './replay-common.mjs';

const opts = parseArgs(process.argv.slice(2));
const Y = requirePackage(opts, 'yjs');
const trace = loadTrace(opts.trace);

// Yjs counts UTF-16 units, the traces count code points.  They differ only
// after a character outside the BMP, and traces have very few of those, so
// track where they are and shift each position by how many come before it.
// Done before timing; traces without such characters pass through as they are.
function toUtf16(txns, repeat) {
  const astralRe = /[\u{10000}-\u{10FFFF}]/u;
  const copies = [];
  if (!txns.some(t => t.some(([, , ins]) => astralRe.test(ins)))) {
    for (let r = 0; r < repeat; r++) copies.push(txns);
    return copies;
  }
  let astral = [];  // code point positions of non-BMP characters in the document
  for (let r = 0; r < repeat; r++) {
    copies.push(txns.map(t => t.map(([pos, del, ins]) => {
      const before = astral.filter(p => p < pos).length;
      const deleted = astral.filter(p => p >= pos && p < pos + del).length;
      const cps = [...ins];
      astral = astral.filter(p => p < pos || p >= pos + del)
                     .map(p => (p >= pos + del ? p - del + cps.length : p));
      cps.forEach((c, k) => { if (c.length === 2) astral.push(pos + k); });
      astral.sort((a, b) => a - b);
      return [pos + before, del + deleted, ins];
    })));
  }
  return copies;
}

let run;
if (opts.mode === 'local') {
  if (!trace.linear) {
    console.error(`${opts.trace} has concurrent edits: use --mode merge`);
    process.exit(1);
  }
  const copies = toUtf16(trace.txns, opts.repeat);
  run = () => {
    const doc = new Y.Doc();
    const ytext = doc.getText('text');
    for (const txns of copies)
      for (const txn of txns)
        doc.transact(() => {
          for (const [pos, del, ins] of txn) {
            if (del > 0) ytext.delete(pos, del);
            if (ins.length > 0) ytext.insert(pos, ins);
          }
        });
    return { text: () => ytext.toString(), dispose: () => doc.destroy(),
             encoded: () => Y.encodeStateAsUpdateV2(doc).length,
             // what a peer that missed the whole history does with it
             reload: () => {
               const update = Y.encodeStateAsUpdateV2(doc);
               const t0 = performance.now();
               const fresh = new Y.Doc();
               Y.applyUpdateV2(fresh, update);
               const text = fresh.getText('text').toString();
               const ms = performance.now() - t0;
               fresh.destroy();
               return { ms, text };
             } };
  };
} else {
  const bytes = fs.readFileSync(findBinaryDoc(opts, 'yjs'));
  run = () => {
    const doc = new Y.Doc();
    Y.applyUpdateV2(doc, bytes);
    return { text: () => doc.getText('text').toString(), dispose: () => doc.destroy() };
  };
}

measure(opts, trace, run);
