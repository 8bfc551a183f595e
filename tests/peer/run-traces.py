#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replays editing traces with `tandem-peer replay` and checks the result (TAP).

usage: run-traces.py TANDEM_PEER TESTS_DATA_DIR SHARED_DIR

The traces in tests/data always run; those in SHARED_DIR/traces run when that
folder exists. Every trace must reproduce its endContent exactly, except
egwalker-paper A2, whose tie order depends on agent names the file lacks:
it must reach the exact length (227,352 code points).

Damaged traces (the shapes fuzz-trace found) must be refused with a reason:
exit status 1, a message, no GLib critical.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

peer, data, shared = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]) / 'traces'

cases = [(data / 'traces' / 'friendsforever_flat.json.gz', 1, None),
         (data / 'traces' / 'friendsforever.json.gz', 1, None)]
if shared.is_dir():
    cases += [(f, 1, None) for f in sorted((shared / 'sequential').glob('*.json.gz'))]
    cases += [(shared / 'concurrent' / 'friendsforever.json.gz', 1, None),
              (shared / 'concurrent' / 'friendsforever.json.gz', 25, None),
              (shared / 'concurrent' / 'clownschool.json.gz', 1, None),
              (shared / 'concurrent' / 'clownschool.json.gz', 25, None),
              (shared / 'egwalker-paper' / 'A1.json.gz', 1, None),
              (shared / 'egwalker-paper' / 'A2.json.gz', 1, 227352)]
else:
    print(f'# {shared} is not here: only the traces in tests/data run')

# name -> file contents; each was once a crash or a critical
damaged = {
    'empty file': '',
    'two documents, the second broken': '{"endContent": "", "txns": []} {"txns": [',
    'not an object': '[1, 2]',
    'endContent not a string': '{"endContent": 3, "txns": []}',
    'a txn not an object': '{"endContent": "", "txns": [5]}',
    'a patch not [pos, del, text]': '{"endContent": "", "txns": [{"patches": [[0, "x", "a"]]}]}',
    'patches missing': '{"endContent": "", "txns": [{}]}',
    'kind not a string': '{"kind": [], "endContent": "", "txns": []}',
    'no numAgents': '{"kind": "concurrent", "endContent": "", "txns": []}',
    'numAgents too big': '{"kind": "concurrent", "endContent": "", "numAgents": 4000000000, "txns": []}',
    'a parent not a number': '{"kind": "concurrent", "endContent": "", "numAgents": 1, '
                             '"txns": [{"agent": 0, "parents": ["x"], "patches": []}]}',
}

print(f'1..{len(cases) + len(damaged)}')
for n, (path, repeat, length) in enumerate(cases, 1):
    name = f'{path.parent.name}/{path.name} x{repeat}'
    p = subprocess.run([peer, 'replay', str(path), '--repeat', str(repeat)],
                       capture_output=True, text=True)
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f'not ok {n} {name}')
        print(f'# no result: {p.stderr.strip()}')
        continue
    ok = r['final_length'] == length if length else (r['matches_end'] and p.returncode == 0)
    print(f'{"ok" if ok else "not ok"} {n} {name}')
    print(f'# {json.dumps(r)}')

with tempfile.TemporaryDirectory() as tmp:
    for n, (name, contents) in enumerate(damaged.items(), len(cases) + 1):
        path = Path(tmp) / 'trace.json'
        path.write_text(contents)
        p = subprocess.run([peer, 'replay', str(path)], capture_output=True, text=True)
        ok = p.returncode == 1 and 'Cannot replay' in p.stderr and 'CRITICAL' not in p.stderr
        print(f'{"ok" if ok else "not ok"} {n} damaged trace refused: {name}')
        print(f'# {p.stderr.strip()}')
