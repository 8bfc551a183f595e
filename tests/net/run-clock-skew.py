#!/usr/bin/env python3
# run-clock-skew.py: peers whose clocks differ by hours still agree (TAP)
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Peers whose wall clocks differ by hours converge and order fields by
causality, never by time (TAP).

usage: run-clock-skew.py TANDEM_PEER

Three real `tandem-peer run` processes on loopback: A on the real clock,
B 3 hours behind and C 5 hours ahead (libfaketime, preloaded, shifts the
wall clock only: FAKETIME_DONT_FAKE_MONOTONIC=1, as a wrong clock would).
Skipped when libfaketime is not installed (Debian package `faketime`).

 1. the clocks really differ: each peer trashes a private note, and the
    "trashed" time it stamps (its g_get_real_time()) is its own clock:
    now, now - 3 h, now + 5 h.
 2. causal order: the colour (last writer wins) and the title ("ask me":
    concurrent titles are a conflict) are set in turn by C, B, A, B, C,
    each only after the previous value has reached it. Every time, all
    three hold the value just set, with no conflict, whatever the clock of
    who set it (B, 3 h behind, overrides C, 5 h ahead, and so on).
 3. concurrency: the three peers go offline, and each alone inserts text
    and sets the colour and the title (B sets the colour twice, so its
    last write has the highest Lamport time while its clock is the
    earliest). Back together, all three hold the same text with every
    insert, the same colour, which is B's last one (Lamport time decides;
    by wall clock C's would win), and the same title conflict listing the
    three titles; resolving it on one clears it everywhere.
 4. history: on every profile `tandem-peer history` lists the note's
    versions in order, stamped by that peer's own clock (hours apart from
    one peer to the next, steady within one), and `show` of the last
    version is the text every peer holds; `verify` passes.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tandem_peers import Peer, PeerError  # noqa: E402
from tap import check, comment, report  # noqa: E402

if len(sys.argv) < 2:
    print('usage: run-clock-skew.py TANDEM_PEER', file=sys.stderr)
    sys.exit(2)
PROGRAM = sys.argv[1]

# libfaketimeMT: the multi-threaded variant (GLib runs threads)
FAKETIME_LIBS = sorted(glob.glob('/usr/lib/*/faketime/libfaketimeMT.so.1') +
                       glob.glob('/usr/lib/faketime/libfaketimeMT.so.1'))
if not FAKETIME_LIBS:
    print('1..0 # SKIP libfaketime is not installed (Debian package faketime)')
    sys.exit(0)   # meson's TAP reader takes any other status as an error
if os.environ.get('TANDEM_SANITIZED'):
    # ASan's runtime must be the first library loaded; preloaded, libfaketime
    # comes before it and the peer does not start
    print('1..0 # SKIP libfaketime cannot be preloaded into a sanitized build')
    sys.exit(0)   # meson's TAP reader takes any other status as an error

HOUR = 3600
OFFSETS = {'A': 0, 'B': -3 * HOUR, 'C': 5 * HOUR}
CLOCK_SLACK_S = 300          # a stamp may differ this much from the expected clock


def clock_env(offset):
    if offset == 0:
        return {}
    return {'LD_PRELOAD': FAKETIME_LIBS[0], 'FAKETIME': f'{offset:+d}',
            'FAKETIME_DONT_FAKE_MONOTONIC': '1'}


def wait_until(fn, timeout, interval=0.2):
    """Calls fn() -> (done, value) until done; -> (done, value)."""
    deadline = time.monotonic() + timeout
    while True:
        done, value = fn()
        if done or time.monotonic() > deadline:
            return done, value
        time.sleep(interval)


def state(p, note):
    """The note as p holds it, or None while p does not have it."""
    d = p.cmd('dump', note=note, check=False)
    if not d.get('ok'):
        return None
    return {'text': d['text'], 'fields': d['fields'], 'conflicts': d['conflicts']}


def all_hold(peers, note, want):
    """Every peer's dump matches want(dump) -> (ok, the dumps)."""
    def fn():
        ds = {p.name: state(p, note) for p in peers}
        return all(d is not None and want(d) for d in ds.values()), ds
    return fn


def tool(*args):
    return subprocess.run([PROGRAM, *args], capture_output=True, text=True, timeout=60)


def main():
    t0 = time.monotonic()
    peers = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(tmp, peers)
        except PeerError as e:
            check('the test ran to its end', False, str(e))
        finally:
            for p in peers:
                p.quit()
    report(f'{time.monotonic() - t0:.1f} s in all')


def run(tmp, peers):
    real_start = time.time()
    a, b, c = (Peer(PROGRAM, os.path.join(tmp, n), name=n, env=clock_env(OFFSETS[n])) for n in 'ABC')
    peers += [a, b, c]

    # -- 1. the clocks
    stamps = {}
    for p in peers:
        note = p.cmd('create-note', title='private')['note']
        p.cmd('trash', note=note)
        stamps[p.name] = p.cmd('dump', note=note)['fields'].get('trashed')
    now = time.time()
    off = {n: (s - now if isinstance(s, int) else None) for n, s in stamps.items()}
    comment('each peer\'s clock, from the "trashed" time it stamps, minus ours: ' +
            ', '.join(f'{n} {o / HOUR:+.3f} h' if o is not None else f'{n} ?' for n, o in off.items()))
    check('the peers\' clocks are now, 3 h behind and 5 h ahead (libfaketime works in the peer)',
          all(o is not None and abs(o - OFFSETS[n]) < CLOCK_SLACK_S for n, o in off.items()), str(stamps))

    nb = a.cmd('create-notebook', name='Skewed')
    notebook = nb['notebook']
    b.cmd('join', invite=nb['invite'])
    c.cmd('join', invite=nb['invite'])
    b.cmd('connect', host='127.0.0.1', port=c.port)
    note = a.cmd('create-note', notebook=notebook, title='Start')['note']
    a.cmd('insert', note=note, pos=0, text='shared text')
    ok, ds = wait_until(all_hold(peers, note, lambda d: d['text'] == 'shared text'), 30)
    check('B and C join A\'s notebook across the skew and receive its note', ok, json.dumps(ds))

    # -- 2. causal order, whatever the clocks
    by_name = {p.name: p for p in peers}
    ok_all, details = True, []
    for i, name in enumerate('CBABC'):
        p = by_name[name]
        colour, title = f'#{i + 1}{i + 1}0000', f'title {i + 1} by {name}'
        p.cmd('set', note=note, field='colour', value=colour)
        p.cmd('set', note=note, field='title', value=title)
        ok, ds = wait_until(all_hold(peers, note, lambda d: d['fields'].get('colour') == colour and
                                     d['fields'].get('title') == title and not d['conflicts']), 30)
        details.append(f'{name} set {title!r}: ' + ('everyone holds it' if ok else json.dumps(ds)))
        ok_all = ok_all and ok
    check('a field set later in causal order wins on every peer, with no conflict, '
          'whether its writer\'s clock is behind or ahead (C, B, A, B, C in turn)', ok_all, '\n'.join(details))

    # -- 3. concurrent writes made apart
    for p in peers:
        p.quit()
    for p in peers:
        p.restart()                        # alone: the others are not running
        try:
            p.cmd('insert', note=note, pos=0, text=f'[{p.name} offline]')
            p.cmd('set', note=note, field='title', value=f'{p.name}\'s offline title')
            p.cmd('set', note=note, field='colour', value='#0000' + 2 * p.name.lower())
            if p is b:
                p.cmd('set', note=note, field='colour', value='#b0b0b0')
            connected = [e for e in p.events if e.get('event') == 'peer-connected']
        finally:
            p.quit()
        check(f'{p.name} edits alone', not connected, str(connected))
    for p in peers:
        p.restart()
    b.cmd('connect', host='127.0.0.1', port=c.port)
    inserts = [f'[{n} offline]' for n in 'ABC']

    def converged(d):
        return (all(s in d['text'] for s in inserts) and d['text'].endswith('shared text')
                and 'title' in d['conflicts'])
    ok, ds = wait_until(all_hold(peers, note, converged), 60)
    same = ok and all(d == ds['A'] for d in ds.values())
    check('back together, the three hold the same text with every offline insert, and the same '
          'fields and conflicts', same, json.dumps(ds, indent=1))
    if ok:
        d = ds['A']
        comment(f'after the concurrent writes: text {d["text"]!r}, colour {d["fields"].get("colour")}, '
                f'title conflict {d["conflicts"].get("title")}')
        check('the concurrent colours resolve to B\'s last write (the highest Lamport time), '
              'not to C\'s (the latest clock)', d['fields'].get('colour') == '#b0b0b0',
              json.dumps(d['fields']))
        check('the concurrent titles are one conflict of the three, listed alike on every peer',
              sorted(d['conflicts'].get('title') or []) ==
              sorted(f'{n}\'s offline title' for n in 'ABC'), json.dumps(d['conflicts']))
    c.cmd('resolve', note=note, field='title', value='settled by C')
    ok, ds = wait_until(all_hold(peers, note, lambda d: d['fields'].get('title') == 'settled by C'
                                 and not d['conflicts']), 30)
    check('resolving the title on C (5 h ahead) settles it on every peer', ok, json.dumps(ds))
    final = state(a, note)['text']
    for p in peers:
        p.quit()
    real_end = time.time()

    # -- 4. history, stamped by each peer's own clock
    for p in peers:
        r = tool('history', '--profile', p.profile, note)
        try:
            groups = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        except ValueError:
            groups = []
        lo, hi = real_start + OFFSETS[p.name] - CLOCK_SLACK_S, real_end + OFFSETS[p.name] + CLOCK_SLACK_S
        problems = []
        if r.returncode != 0 or not groups:
            problems.append(f'history failed: {r.returncode} {r.stderr.strip()} {r.stdout[:300]}')
        for g in groups:
            if not (g['from_version'] <= g['version']):
                problems.append(f'a group runs backwards: {g}')
            if not (lo <= g['start'] <= g['end'] <= hi):
                problems.append(f'stamped outside this peer\'s clock: {g}')
        versions = [g['version'] for g in groups]
        starts = [g['start'] for g in groups]
        if versions != sorted(versions) or len(set(versions)) != len(versions):
            problems.append(f'versions out of order: {versions}')
        if starts != sorted(starts):
            problems.append(f'times out of order: {starts}')
        authors = set()
        for g in groups:
            authors.update(g.get('authors') or [])
        comment(f'{p.name}\'s history: {len(groups)} groups, versions {versions[:3]}...{versions[-2:]}, '
                f'stamped {(starts[0] - real_start) / HOUR if starts else 0:+.2f} h from our clock, '
                f'{len(authors)} authors')
        check(f'{p.name}\'s history lists the versions in order, stamped by its own clock', not problems,
              '\n'.join(problems[:10]))
        if groups:
            s = tool('show', '--profile', p.profile, note, '--version', str(groups[-1]['version']))
            check(f'{p.name}: the last version in its history is the text every peer holds',
                  s.returncode == 0 and s.stdout == final, f'{s.stdout[:300]!r} vs {final!r}; {s.stderr}')
        v = tool('verify', '--profile', p.profile)
        check(f'{p.name}\'s profile verifies', v.returncode == 0, v.stdout + v.stderr)


if __name__ == '__main__':
    main()
