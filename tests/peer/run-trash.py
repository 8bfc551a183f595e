#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The trash through the real tandem-peer (TAP).

usage: run-trash.py TANDEM_PEER

Trashing writes the synced `trashed` field; restoring unsets it; emptying
the trash deletes only what has been there longer than the grace period,
and a restored note is never deleted.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

peer = sys.argv[1]
tests = []


def check(name, ok, detail=''):
    tests.append((name, ok, detail))


def run(*args):
    return subprocess.run([peer, *args], capture_output=True, text=True)


def notes(profile):
    p = run('list', '--profile', profile)
    return {n['id']: n for n in map(json.loads, p.stdout.splitlines())}


with tempfile.TemporaryDirectory() as tmp:
    profile = str(Path(tmp) / 'p')
    for i, title in enumerate(['keep', 'bin', 'back']):
        f = Path(tmp) / f'{i}.md'
        f.write_text(f'---\ntitle: "{title}"\n---\nnote {title}\n')
        run('import', '--profile', profile, str(f))
    by_title = {n['title']: n['id'] for n in notes(profile).values()}
    check('three notes', sorted(by_title) == ['back', 'bin', 'keep'], str(by_title))

    p1 = run('trash', '--profile', profile, by_title['bin'])
    p2 = run('trash', '--profile', profile, by_title['back'])
    listed = notes(profile)
    check('trash marks notes with the time',
          p1.returncode == 0 and p2.returncode == 0 and listed[by_title['bin']]['trashed'] > 1_600_000_000
          and listed[by_title['keep']]['trashed'] == 0, json.dumps(listed) + p1.stderr)

    p = run('restore', '--profile', profile, by_title['back'])
    check('restore takes a note out of the trash',
          p.returncode == 0 and notes(profile)[by_title['back']]['trashed'] == 0, p.stderr)

    p = run('empty-trash', '--profile', profile)
    check('within the grace period nothing goes', p.stdout.strip() == '0' and len(notes(profile)) == 3,
          p.stdout + p.stderr)

    p = run('empty-trash', '--profile', profile, '--grace-days', '0')
    left = {n['title'] for n in notes(profile).values()}
    check('after it, only the trashed note goes', p.stdout.strip() == '1' and left == {'keep', 'back'},
          p.stdout + str(left))

    p = run('trash', '--profile', profile, '0123456789abcdef0123456789abcdef')
    check('an unknown note is a clear error', p.returncode == 1 and 'Cannot open the note' in p.stderr, p.stderr)
    v = run('verify', '--profile', profile)
    check('the profile is sound afterwards', v.returncode == 0, v.stdout)

print(f'1..{len(tests)}')
for n, (name, ok, detail) in enumerate(tests, 1):
    print(f'{"ok" if ok else "not ok"} {n} {name}')
    if not ok:
        for line in detail.splitlines():
            print(f'# {line}')
