#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs scenario files through `tandem-peer scenario` and reports TAP.

usage: run-scenarios.py TANDEM_PEER [--shuffle N] [--refused] DIR...

Each *.json in each DIR is one test. With --refused every file must be
refused: exit status 1 and a FAIL line that says "refused:" and why. A DIR
that does not exist is skipped with a message (../shared is optional).
"""
import subprocess
import sys
from pathlib import Path

args = sys.argv[1:]
peer = args.pop(0)
shuffle = '0'
refused = False
dirs = []
while args:
    a = args.pop(0)
    if a == '--shuffle':
        shuffle = args.pop(0)
    elif a == '--refused':
        refused = True
    else:
        dirs.append(Path(a))

files = []
for d in dirs:
    if d.is_dir():
        files += sorted(d.glob('*.json'))
    else:
        print(f'# {d} is not here; its scenarios are skipped')
if not files:
    print('1..0 # SKIP no scenario files found')
    sys.exit(0)

print(f'1..{len(files)}')
for n, f in enumerate(files, 1):
    cmd = [peer, 'scenario', '--shuffle', shuffle, str(f)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    out = (p.stdout + p.stderr).strip()
    if refused:
        ok = p.returncode == 1 and 'refused:' in out and 'CRITICAL' not in out
    else:
        ok = p.returncode == 0 and out.startswith('ok ') and 'CRITICAL' not in out and 'WARNING' not in out
    print(f'{"ok" if ok else "not ok"} {n} {f.name}')
    if not ok or refused:
        for line in out.splitlines():
            print(f'# {line}')
