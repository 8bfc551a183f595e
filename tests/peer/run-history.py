#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A note's history through the real tandem-peer (TAP).

usage: run-history.py TANDEM_PEER

Every commit that adds events marks a version; `show` rebuilds the text of
any version; `restore-version` turns today's text into an old one with a
new edit (so it can be undone, and syncs); snapshots keep a version by name
through `thin-history`.
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


def run(*args, stdin=None):
    return subprocess.run([peer, *args], input=stdin, capture_output=True, text=True)


def edit(profile, *commands):
    p = run('edit', '--profile', profile, '--brief', stdin=''.join(json.dumps(c) + '\n' for c in commands))
    return [json.loads(l) for l in p.stdout.splitlines()]


with tempfile.TemporaryDirectory() as tmp:
    profile = str(Path(tmp) / 'p')
    texts = {}
    replies = edit(profile, {'do': 'ins', 'pos': 0, 'text': 'one'})
    texts[replies[-1]['saved']] = 'one'
    replies = edit(profile, {'do': 'ins', 'pos': 3, 'text': ' two'})
    texts[replies[-1]['saved']] = 'one two'
    replies = edit(profile, {'do': 'del', 'pos': 0, 'len': 4}, {'do': 'ins', 'pos': 0, 'text': 'caf\u00e9 '})
    texts[replies[0]['saved']] = 'two'
    texts[replies[1]['saved']] = 'caf\u00e9 two'
    note = json.loads(run('list', '--profile', profile).stdout.splitlines()[0])['id']

    history = [json.loads(l) for l in run('history', '--profile', profile, note).stdout.splitlines()]
    check('recent versions by one author group into one step',
          len(history) == 1 and history[0]['versions'] == 4 and history[0]['version'] == max(texts)
          and len(history[0]['authors']) == 1, json.dumps(history))

    shown = {v: run('show', '--profile', profile, note, '--version', str(v)).stdout for v in texts}
    check('show rebuilds the text of every version', shown == texts, json.dumps(shown))
    p = run('show', '--profile', profile, note, '--version', '999')
    check('a version past the end is a clear error', p.returncode == 1 and 'no version 999' in p.stderr, p.stderr)

    first = min(texts)
    p = run('restore-version', '--profile', profile, note, '--version', str(first))
    now = json.loads(run('verify', '--profile', profile).stdout)['notes'][0]
    check('restoring makes today\'s text the old one', p.returncode == 0 and now['text'] == 'one', json.dumps(now))
    check('restoring is a new edit on top of the history', now['events'] > max(texts), json.dumps(now))
    undone = edit(profile, {'do': 'undo'})
    check('and it can be undone', undone and undone[0]['length'] == len('caf\u00e9 two'), json.dumps(undone))

    p = run('snapshot', '--profile', profile, note, '--version', str(first), '--name', 'first draft')
    thinned = run('thin-history', '--profile', profile, '--keep-days', '0')
    history = [json.loads(l) for l in run('history', '--profile', profile, note).stdout.splitlines()]
    check('thinning keeps only the named snapshot',
          p.returncode == 0 and thinned.stdout.strip().isdigit() and int(thinned.stdout) > 0 and
          [h['name'] for h in history] == ['first draft'], thinned.stdout + json.dumps(history))
    check('a snapshot still shows its text',
          run('show', '--profile', profile, note, '--version', str(first)).stdout == 'one')
    p = run('snapshot', '--profile', profile, note, '--version', str(first))
    run('thin-history', '--profile', profile, '--keep-days', '0')
    history = run('history', '--profile', profile, note).stdout
    check('deleting the snapshot lets it be thinned', p.returncode == 0 and history == '', history)
    check('the profile is sound afterwards', run('verify', '--profile', profile).returncode == 0)

print(f'1..{len(tests)}')
for n, (name, ok, detail) in enumerate(tests, 1):
    print(f'{"ok" if ok else "not ok"} {n} {name}')
    if not ok:
        for line in detail.splitlines():
            print(f'# {line}')
