#!/usr/bin/env python3
# run-sync.py: real tandem-peer processes syncing over loopback (TAP)
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sync between real `tandem-peer run` processes on loopback (TAP).

usage: run-sync.py TANDEM_PEER [--seed S] [--only 1,2,...]

Every peer runs with --no-discovery in its own temporary profile folder and
finds the others through invites, --connect and the "connect" command
(tandem_peers.py drives them). The parts:

 1. invite and join: B and C join A's notebook with the invite alone; every
    peer's member list ends up naming the other two (with their names and
    certificate fingerprints) and the joiners learn the notebook's name.
 2. concurrent typing: four peers in a graph with cycles type seeded random
    inserts and deletes into three notes at once and set title, tags,
    pinned and colour; one of them also types alone in a fourth note. After
    wait-synced every peer's dump of every note is the same. Independent
    checks: each edit is checked locally against the text just before it
    (the dump, the edit and a dump go in one write, so nothing comes in
    between); every marker (a code point used once) inserted and not seen
    deleted is there exactly once, every one seen deleted is gone; fields
    hold values somebody set; the lone typist's note is exactly his model.
    (Tags are set to random subsets of a few names; if a lone peer cannot
    set tags keeping one it had without dying, that is a failure, and the
    typists then set only new names, so that the rest still runs.)
 3. chain A-B-C: A and C never connect (their `peers` say so), and edits and
    new notes at either end reach the other through B.
 4. SIGKILL mid-edit: a peer gets a burst of inserts and is killed; after a
    restart with the same profile and port every insert it replied ok to is
    there on both peers (and its inserts are kept in order, no holes). Once
    for the peer that was dialled and once for the one that dialled.
 5. offline edits: peers stop in turn and edit while the others are away;
    after they start again all three hold exactly the expected text.
 6. notes created and trashed (and restored) on any peer show up, trashed
    or not, on all; a private note shows up nowhere else.
 7. a manual field: two peers set the title while apart; afterwards both
    report the same conflict and a "conflict" event; "resolve" on one
    clears it on both.
 8. presence: B's note, cursor and selection show in A's `peers`; edits
    before B's selection, A's own and C's, move it by their length in A's
    view, edits after it do not; a peer killed with SIGKILL, and one
    hung with SIGSTOP (only heartbeats can tell), leave A's `peers` within
    10 s; the hung one comes back after SIGCONT.

Each part waits with wait-synced (on every peer at once, twice). Should
that fail, the part says so in one "not ok" and from then on waits until
the peers' dumps agree instead, so that its other checks still run.

The seed defaults to the time and is printed; timings are TAP comments.
Progress goes to stderr.
"""
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tandem_peers import Peer, PeerError, edit_outcome  # noqa: E402

PROGRAM = sys.argv[1]
SEED = int(time.time())
ONLY = None
args = sys.argv[2:]
while args:
    if args[0] == '--seed' and len(args) > 1:
        SEED = int(args[1])
        args = args[2:]
    elif args[0] == '--only' and len(args) > 1:
        ONLY = {int(x) for x in args[1].split(',')}
        args = args[2:]
    else:
        sys.exit(f'run-sync.py: unexpected argument {args[0]}')

tests = []
timings = []
ALL = []          # every Peer started, to clean up whatever happens


def check(name, ok, detail=''):
    tests.append((name, bool(ok), detail))
    print(f'{"ok  " if ok else "FAIL"} {name}', file=sys.stderr, flush=True)
    return bool(ok)


def note_line(text):
    print(text, file=sys.stderr, flush=True)


# ---- driving peers ----

def call(p, what, wait=30, check_ok=True, **args):
    """One command and its reply, like Peer.cmd, whose own timeout
    parameter would take wait-synced's "timeout" member."""
    p._n += 1
    ident = p._n
    p.send_raw(json.dumps(dict(args, cmd=what, id=ident)))
    deadline = time.monotonic() + wait
    while True:
        msg = p.read_reply(max(0.01, deadline - time.monotonic()))
        if msg.get('id') != ident:
            continue
        if check_ok and not msg.get('ok'):
            raise PeerError(f'{p.name}: {what} {json.dumps(args)[:300]}: {msg.get("error")}')
        return msg


def batch(p, cmds, wait=30):
    """Several commands in one write: the peer handles them one after the
    other in one go, with nothing from the network in between."""
    ids, lines = [], []
    for what, a in cmds:
        p._n += 1
        ids.append(p._n)
        lines.append(json.dumps(dict(a, cmd=what, id=p._n)))
    p.send_raw('\n'.join(lines) + '\n')
    replies = {}
    deadline = time.monotonic() + wait
    while len(replies) < len(ids):
        msg = p.read_reply(max(0.01, deadline - time.monotonic()))
        if msg.get('id') in ids:
            replies[msg['id']] = msg
    return [replies[i] for i in ids]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start(folder, name, **kw):
    p = Peer(PROGRAM, os.path.join(folder, name), name=name, **kw)
    ALL.append(p)
    return p


def alive(p):
    return p.proc is not None and p.proc.poll() is None


def finish(p):
    """Ends a peer of ours, whatever state it is in."""
    if alive(p):
        try:
            os.kill(p.proc.pid, signal.SIGCONT)
        except OSError:
            pass
        p.quit()
    p.kill()


def poll(fn, timeout, interval=0.1):
    """Calls fn() -> (done, value) until done or timeout; -> (done, value, s)."""
    t0 = time.monotonic()
    while True:
        done, value = fn()
        if done or time.monotonic() - t0 >= timeout:
            return done, value, time.monotonic() - t0
        time.sleep(interval)


SYNC = {}        # test title -> the first failed wait-synced, or None


def wait_synced(pairs, timeout):
    """wait-synced on every (peer, how many connected) at once, twice, so
    that what one relayed has been acknowledged by the second round.
    -> (ok, what went wrong)."""
    for _ in range(2):
        sent = []
        for p, n in pairs:
            p._n += 1
            sent.append((p, n, p._n))
            p.send_raw(json.dumps({'cmd': 'wait-synced', 'id': p._n, 'timeout': timeout, 'peers': n}))
        errs = []
        for p, n, ident in sent:
            deadline = time.monotonic() + timeout + 10
            while True:
                msg = p.read_reply(max(0.01, deadline - time.monotonic()))
                if msg.get('id') == ident:
                    break
            if not msg.get('ok'):
                errs.append(f'{p.name} (wanting {n} connected): {msg.get("error")}')
        if errs:
            return False, '\n'.join(errs)
    return True, ''


def settle(title, pairs, notes=(), timeout=10):
    """Waits for the peers to be in sync with wait-synced. When that fails
    (the failure is kept, and is one "not ok" of the test), waits instead
    until every peer's dump of each of notes is the same, so that the
    test's other checks still say something."""
    if SYNC.get(title) is None:
        SYNC[title] = None
        ok, detail = wait_synced(pairs, timeout)
        if ok:
            return True
        SYNC[title] = (f'wait-synced with timeout {timeout} s at {time.strftime("%H:%M:%S")}:\n{detail}\n'
                       f'(from then on this test waits by comparing dumps instead)')
    peers = [p for p, _ in pairs]

    def converged():
        for p, n in pairs:
            if len(peer_ids(p)) < n:
                return False, f'{p.name} has fewer than {n} connected'
        sums = []
        for note in notes:
            dumps = [json.dumps(state(call(p, 'dump', note=note, check_ok=False)), sort_keys=True) for p in peers]
            if len(set(dumps)) != 1:
                return False, f'note {note} differs'
            sums.append(dumps[0])
        return True, sums

    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        done, first, _ = poll(converged, 20 - (time.monotonic() - t0))
        if not done:
            return False
        time.sleep(0.5)
        done, again = converged()
        if done and again == first:
            return True
    return False


def peer_ids(p):
    return {e['peer'] for e in call(p, 'peers')['peers']}


def notebook_of(p, notebook):
    for nb in call(p, 'notebooks')['notebooks']:
        if nb['notebook'] == notebook:
            return nb
    return None


def state(d):
    return {k: d.get(k) for k in ('text', 'fields', 'conflicts', 'version', 'pending')}


def describe_text_diff(a, b):
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return (f'lengths {len(a)} and {len(b)}; first difference at {i}: '
            f'{a[max(0, i - 10):i + 20]!r} vs {b[max(0, i - 10):i + 20]!r}')


def same_dumps(peers, note):
    """-> (all equal, detail) for one note's dumps on every peer."""
    dumps, lines = [], []
    for p in peers:
        r = call(p, 'dump', note=note, check_ok=False)
        if not r.get('ok'):
            lines.append(f'{p.name} cannot dump {note}: {r.get("error")}')
        dumps.append((p.name, state(r)))
    first_name, first = dumps[0]
    for name, d in dumps[1:]:
        for k in ('text', 'fields', 'conflicts', 'version', 'pending'):
            if d[k] != first[k]:
                if k == 'text':
                    lines.append(f'{note} text {first_name} vs {name}: {describe_text_diff(first[k], d[k])}')
                else:
                    lines.append(f'{note} {k} {first_name}: {json.dumps(first[k])} vs {name}: {json.dumps(d[k])}')
    if first['pending']:
        lines.append(f'{note}: {first["pending"]} events still pending (missing parents)')
    return not lines, '\n'.join(lines), first


def error_events(peers):
    out = []
    for p in peers:
        for e in p.events:
            if e.get('event') == 'error':
                out.append(f'{p.name}: {e.get("message")}')
    return out


def check_no_errors(title, peers, extra=()):
    errs = error_events(peers) + list(extra)
    check(f'{title}: no peer reported an error', not errs, '\n'.join(errs))


def stderr_tails(peers):
    out = []
    for p in peers:
        code = p.proc.poll() if p.proc else None
        if code is not None:
            out.append(f'{p.name} (pid {p.proc.pid}) has exited with {code}'
                       + (f' ({signal.Signals(-code).name})' if code < 0 else ''))
        t = p.stderr_text().strip()
        if t:
            out.append(f'--- {p.name} stderr ---\n{t[-1500:]}')
    return '\n'.join(out)


def run_test(n, title, fn, root):
    if ONLY is not None and n not in ONLY:
        return
    folder = os.path.join(root, f't{n}')
    os.mkdir(folder)
    first = len(ALL)
    t0 = time.monotonic()
    note_line(f'--- {n}. {title}')
    try:
        try:
            fn(folder, f'{n}. {title}')
        except Exception:
            check(f'{n}. {title}: ran to the end', False,
                  traceback.format_exc() + stderr_tails(ALL[first:]))
        if f'{n}. {title}' in SYNC:
            failed = SYNC[f'{n}. {title}']
            check(f'{n}. {title}: wait-synced returns once the peers are in sync', failed is None, failed or '')
    finally:
        for p in ALL[first:]:
            finish(p)
    timings.append((f'{n}. {title}', time.monotonic() - t0))


# ---- 1. invite and join ----

def test_join(folder, title):
    a = start(folder, 'Ann')
    b = start(folder, 'Bob')
    c = start(folder, 'Zoë')
    everyone = {p.peer: p for p in (a, b, c)}
    nb = call(a, 'create-notebook', name='Team 📓 Ünïcode')
    notebook = nb['notebook']
    check(f'{title}: create-notebook gives a notebook id and an invite',
          len(notebook) == 32 and nb['invite'].startswith('TANDEM-'), json.dumps(nb))
    t0 = time.monotonic()
    for p in (b, c):
        j = call(p, 'join', invite=nb['invite'])
        check(f'{title}: {p.name} joins the notebook the invite names', j['notebook'] == notebook, json.dumps(j))
    settle(title, [(a, 2), (b, 1), (c, 1)])
    note_line(f'# joined and synced in {time.monotonic() - t0:.2f} s')
    check(f'{title}: B and C connected to A from the invite alone',
          peer_ids(b) == {a.peer} and peer_ids(c) == {a.peer} and peer_ids(a) == {b.peer, c.peer},
          f'A: {peer_ids(a)} B: {peer_ids(b)} C: {peer_ids(c)}')

    def members_converged():
        bad = []
        for p in everyone.values():
            entry = notebook_of(p, notebook)
            got = {m['peer']: (m['name'], m['fingerprint']) for m in (entry or {}).get('members', [])}
            want = {q.peer: (q.name, q.fingerprint) for q in everyone.values() if q is not p}
            if got != want:
                missing = [everyone[k].name if k in everyone else k for k in set(want) - set(got)]
                wrong = [k for k in got if k in want and got[k] != want[k]]
                extra = [k for k in got if k not in want]
                bad.append(f'{p.name} lists {sorted(v[0] for v in got.values())}; '
                           f'missing {missing}, wrong {wrong}, unexpected {extra}')
        return not bad, bad

    done, bad, took = poll(members_converged, 3)
    check(f'{title}: every member list names the other two, with names and fingerprints', done,
          '\n'.join(bad) + f'\n(after {took:.1f} s)')
    names = {p.name: (notebook_of(p, notebook) or {}).get('name') for p in (a, b, c)}
    shared = {p.name: (notebook_of(p, notebook) or {}).get('shared') for p in (a, b, c)}
    check(f'{title}: the notebook name reaches the joiners and it is shared everywhere',
          set(names.values()) == {'Team 📓 Ünïcode'} and set(shared.values()) == {True},
          json.dumps(names, ensure_ascii=False) + json.dumps(shared))
    check_no_errors(title, (a, b, c))


# ---- 2. concurrent typing ----

FILLER = 'abcdefghijklmnopqrstuvwxyz     éßжλ日本😀🎉\n'
TITLES = ['Plan', 'Plän B', 'Ideas 💡', 'Shopping', 'Notes']
TAGS = ['red', 'green', 'blue', 'ünï', '🏷']
COLOURS = ['#e01b24', '#33d17a', '#3584e4', '#f6d32d']
ITERATIONS = 400


def marker(i, k):
    return chr(0x20000 + i * 0x1000 + k)   # one code point, used once


def is_marker(ch):
    return 0x20000 <= ord(ch) < 0x30000


def typist(i, p, rng, notes, solo, log):
    """Types into the shared notes (and alone into solo, if any)."""
    try:
        known = {n: '' for n in notes}
        fresh = itertools.count()
        model = ''
        k = 0
        for _ in range(ITERATIONS):
            r = rng.random()
            if solo is not None and r < 0.2:
                if model and rng.random() < 0.3:
                    pos = rng.randrange(len(model))
                    n = rng.randint(1, min(5, len(model) - pos))
                    call(p, 'delete', note=solo, pos=pos, len=n)
                    model = model[:pos] + model[pos + n:]
                else:
                    pos = rng.randint(0, len(model))
                    text = ''.join(rng.choice(FILLER) for _ in range(rng.randint(1, 6)))
                    call(p, 'insert', note=solo, pos=pos, text=text)
                    model = model[:pos] + text + model[pos:]
                continue
            note = rng.choice(notes)
            if r < 0.3:
                field = rng.choice(['title', 'tags', 'pinned', 'colour'])
                value = {'title': lambda: rng.choice(TITLES),
                         'tags': lambda: (sorted(rng.sample(TAGS, rng.randint(0, 3))) if log['keep_tags'] else
                                          [f'{rng.choice(TAGS)}-{i}-{next(fresh)}' for _ in range(rng.randint(0, 2))]),
                         'pinned': lambda: rng.random() < 0.5,
                         'colour': lambda: rng.choice(COLOURS)}[field]()
                call(p, 'set', note=note, field=field, value=value)
                log['sets'].setdefault((note, field), []).append(value)
                continue
            cur = known[note]
            if cur and rng.random() < (0.3 if len(cur) < 150 else 0.6):
                pos = rng.randrange(len(cur))
                op = ('delete', {'note': note, 'pos': pos, 'len': rng.randint(1, min(6, len(cur) - pos))})
            else:
                pos = rng.randint(0, len(cur))
                if rng.random() < 0.2:
                    text = marker(i, k)
                    k += 1
                else:
                    text = ''.join(rng.choice(FILLER) for _ in range(rng.randint(1, 6)))
                op = ('insert', {'note': note, 'pos': pos, 'text': text})
            pre, rep, post = batch(p, [('dump', {'note': note}), op, ('dump', {'note': note})])
            before, after = pre['text'], post['text']
            a = op[1]
            fits, want = edit_outcome(op[0], a, before)
            if rep.get('ok') != fits:
                log['bad'].append(f'{p.name}: {op[0]} {json.dumps(a, ensure_ascii=False)} on a text of '
                                  f'{len(before)} code points replied {json.dumps(rep, ensure_ascii=False)}')
            elif not fits:
                log['stale'] += 1   # picked from an older view; refused, rightly
            elif after != want:
                log['bad'].append(f'{p.name}: {op[0]} {json.dumps(a, ensure_ascii=False)} made '
                                  f'{describe_text_diff(want, after)} (expected vs got)')
            else:
                log['ops'] += 1
                if op[0] == 'insert' and len(a['text']) == 1 and is_marker(a['text']):
                    log['markers'].setdefault(note, set()).add(a['text'])
                if op[0] == 'delete':
                    for ch in before[a['pos']:a['pos'] + a['len']]:
                        if is_marker(ch):
                            log['deleted'].setdefault(note, set()).add(ch)
            known[note] = after
        log['model'] = model
    except Exception:
        log['bad'].append(f'{p.name} stopped: {traceback.format_exc()}')


def test_typing(folder, title):
    # setting a set field to a value that keeps some of it
    e = start(folder, 'Eve')
    solo_e = call(e, 'create-note', title='Tags')['note']
    try:
        call(e, 'set', note=solo_e, field='tags', value=['red'])
        call(e, 'set', note=solo_e, field='tags', value=['red', 'blue'], wait=10)
        got = call(e, 'dump', note=solo_e)['fields'].get('tags')
    except PeerError as err:
        got = str(err)
    keep_tags = check(f'{title}: tags ["red"] then ["red", "blue"]: the peer lives and has both',
                      got == ['blue', 'red'], str(got)[-1500:])
    if not keep_tags:
        note_line('# the typists only set tags to new values from here on: keeping any crashes the peer')
    finish(e)

    a = start(folder, 'Ann')
    b = start(folder, 'Bob')
    c = start(folder, 'Cat')
    d = start(folder, 'Dan')
    peers = [a, b, c, d]
    nb = call(a, 'create-notebook', name='Typing')
    notebook = nb['notebook']
    for p in (b, c, d):
        call(p, 'join', invite=nb['invite'])
    # cycles: A-B-D-A and A-C-D-A
    call(d, 'connect', host='127.0.0.1', port=c.port)
    call(b, 'connect', host='127.0.0.1', port=d.port)
    expect = {a: {b.peer, c.peer, d.peer}, b: {a.peer, d.peer}, c: {a.peer, d.peer}, d: {a.peer, b.peer, c.peer}}
    done, got, took = poll(lambda: (all(peer_ids(p) == v for p, v in expect.items()),
                                    {p.name: sorted(peer_ids(p)) for p in peers}), 10)
    check(f'{title}: the graph A-B, A-C, A-D, B-D, C-D is up', done, json.dumps(got) + f' after {took:.1f} s')
    counts = [(p, len(v)) for p, v in expect.items()]
    notes = [call(a, 'create-note', notebook=notebook, title=f'Shared {i}')['note'] for i in range(3)]
    solo = call(b, 'create-note', notebook=notebook, title='Solo')['note']
    settle(title, counts, notes + [solo])

    logs = [{'sets': {}, 'markers': {}, 'deleted': {}, 'bad': [], 'stale': 0, 'ops': 0, 'keep_tags': keep_tags}
            for _ in peers]
    threads = [threading.Thread(target=typist,
                                args=(i, p, random.Random(SEED * 100 + i), notes, solo if p is b else None, logs[i]))
               for i, p in enumerate(peers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    typing = time.monotonic() - t0
    t0 = time.monotonic()
    settle(title, counts, notes + [solo], timeout=20)
    note_line(f'# typed {sum(x["ops"] for x in logs)} text edits ({sum(x["stale"] for x in logs)} refused as '
              f'stale) and {sum(len(v) for x in logs for v in x["sets"].values())} field sets in {typing:.1f} s; '
              f'synced in {time.monotonic() - t0:.2f} s')
    bad = [line for x in logs for line in x['bad']]
    check(f'{title}: every edit did locally what it said (checked against the text just before it)',
          not bad and not any(t.is_alive() for t in threads), '\n'.join(bad[:20]))

    labels = {note: f'"Shared {i}"' for i, note in enumerate(notes)}
    labels[solo] = '"Solo"'
    for note in notes + [solo]:
        equal, detail, dump = same_dumps(peers, note)
        check(f'{title}: note {labels[note]} is the same on all four peers (text, fields, conflicts, version)',
              equal, detail)
        if note == solo:
            check(f'{title}: the lone typist\'s note is exactly his text', dump['text'] == logs[1].get('model'),
                  describe_text_diff(logs[1].get('model') or '', dump['text']))
            continue
        problems = []
        text = dump['text']
        inserted = set().union(*(x['markers'].get(note, set()) for x in logs))
        deleted = set().union(*(x['deleted'].get(note, set()) for x in logs))
        for m in sorted(inserted - deleted):
            if text.count(m) != 1:
                problems.append(f'marker U+{ord(m):X} (not deleted) is there {text.count(m)} times')
        for m in sorted(deleted):
            if m in text:
                problems.append(f'marker U+{ord(m):X} was deleted and is back')
        for ch in set(text):
            if ch not in FILLER and ch not in inserted:
                problems.append(f'U+{ord(ch):X} was never typed')
        sets = {}
        for x in logs:
            for (n, field), values in x['sets'].items():
                if n == note:
                    sets.setdefault(field, []).extend(values)
        fields = dump['fields']
        titles = sets.get('title', []) + [f'Shared {notes.index(note)}']
        if fields.get('title') not in titles:
            problems.append(f'title {fields.get("title")!r} was never set')
        for v in dump['conflicts'].get('title', []):
            if v not in titles:
                problems.append(f'conflicting title {v!r} was never set')
        for f in ('pinned', 'colour'):
            if f in sets and fields.get(f) not in sets[f]:
                problems.append(f'{f} {fields.get(f)!r} was never set')
        if 'tags' in fields and not set(fields['tags']) <= {t for v in sets.get('tags', []) for t in v}:
            problems.append(f'tags {fields["tags"]} hold what was never set')
        check(f'{title}: note {labels[note]} holds every marker not deleted, none deleted, and set values '
              f'({len(inserted)} markers, {len(deleted)} deleted)', not problems, '\n'.join(problems[:20]))
    check_no_errors(title, peers)


# ---- 3. chain ----

def test_chain(folder, title):
    a = start(folder, 'Ann')
    b = start(folder, 'Bob')
    nb = call(a, 'create-notebook', name='Chain')
    notebook = nb['notebook']
    call(b, 'join', invite=nb['invite'])
    settle(title, [(b, 1), (a, 1)])
    b_invite = call(b, 'invite', notebook=notebook)['invite']
    c = start(folder, 'Cat', connect=[b.address])
    call(c, 'join', invite=b_invite)
    settle(title, [(c, 1), (b, 2), (a, 1)])

    def topology():
        got = {p.name: peer_ids(p) for p in (a, b, c)}
        ok = got['Ann'] == {b.peer} and got['Cat'] == {b.peer} and got['Bob'] == {a.peer, c.peer}
        return ok, {k: sorted(v) for k, v in got.items()}

    done, got, _ = poll(topology, 3)
    check(f'{title}: A and C are connected to B only', done, json.dumps(got))

    note = call(a, 'create-note', notebook=notebook, title='Relay')['note']
    call(a, 'insert', note=note, pos=0, text='from Ann ✈ ')
    t0 = time.monotonic()

    def c_has(text):
        def f():
            r = call(c, 'dump', note=note, check_ok=False)
            return r.get('ok') and r['text'] == text, r.get('text', r.get('error'))
        return f

    done, got, took = poll(c_has('from Ann ✈ '), 10, 0.05)
    check(f'{title}: a note made and typed at A reaches C', done, f'C has {got!r} after {took:.1f} s')
    call(c, 'insert', note=note, pos=len('from Ann ✈ '), text='and Cat 🐈')
    done, got, took = poll(lambda: ((r := call(a, 'dump', note=note))['text'] == 'from Ann ✈ and Cat 🐈',
                                    r['text']), 10, 0.05)
    check(f'{title}: an edit at C reaches A', done, f'A has {got!r} after {took:.1f} s')
    note_line(f'# round trip A->C->A in {time.monotonic() - t0:.2f} s')

    # both ends at once, fields too, and a note made at C
    # at the two ends of the text, so that the outcome is the same whether
    # or not one edit reached the other end before it made its own (relaying
    # is fast enough that it may have)
    a_len = len(call(a, 'dump', note=note)['text'])
    call(a, 'insert', note=note, pos=a_len, text=' [A]')
    call(c, 'delete', note=note, pos=0, len=5)
    call(c, 'set', note=note, field='tags', value=['chain'])
    call(a, 'set', note=note, field='pinned', value=True)
    note_c = call(c, 'create-note', notebook=notebook, title='From Cat')['note']
    call(c, 'insert', note=note_c, pos=0, text='relayed back')
    settle(title, [(a, 1), (c, 1), (b, 2)], [note, note_c])
    equal, detail, dump = same_dumps((a, b, c), note)
    check(f'{title}: concurrent edits at both ends converge everywhere', equal, detail)
    check(f'{title}: ...to the text and fields both ends meant',
          dump['text'] == 'Ann ✈ and Cat 🐈 [A]' and dump['fields'].get('tags') == ['chain']
          and dump['fields'].get('pinned') is True, json.dumps(dump, ensure_ascii=False))
    equal, detail, dump = same_dumps((a, b, c), note_c)
    check(f'{title}: a note made at C reaches A with its text', equal and dump['text'] == 'relayed back',
          detail + json.dumps(dump, ensure_ascii=False))
    done, got, _ = poll(topology, 0)
    check(f'{title}: and A and C still never connected', done, json.dumps(got))
    check_no_errors(title, (a, b, c))


# ---- 4. SIGKILL mid-edit ----

def blast(p, lines):
    try:
        for i in range(0, len(lines), 20):
            p.send_raw(''.join(lines[i:i + 20]))
    except (BrokenPipeError, OSError):
        pass


def typing_along(p, note, base, stop, log):
    """Inserts markers at random places until told to stop."""
    rng = random.Random(SEED * 10 + base)
    k = 0
    try:
        while not stop.is_set():
            text = call(p, 'dump', note=note)['text']
            m = chr(base + k)
            call(p, 'insert', note=note, pos=rng.randint(0, len(text)), text=m)
            log.append(m)
            k += 1
            time.sleep(0.005)
    except Exception:
        log.append(traceback.format_exc())


def kill_round(base_title, title, victim, other, note, base_victim, base_other, rng):
    other_log, stop = [], threading.Event()
    along = threading.Thread(target=typing_along, args=(other, note, base_other, stop, other_log))
    along.start()
    n = 1500
    lines = []
    for k in range(n):
        # no deletes anywhere: the text holds at least the k inserts before
        lines.append(json.dumps({'cmd': 'insert', 'id': f'blast-{k}', 'note': note,
                                 'pos': rng.randint(0, k), 'text': chr(base_victim + k)}) + '\n')
    replied, refused = set(), []

    def take_reply(timeout):
        msg = victim.read_reply(timeout)
        ident = msg.get('id')
        if isinstance(ident, str) and ident.startswith('blast-'):
            if msg.get('ok'):
                replied.add(int(ident[6:]))
            else:
                refused.append(msg)

    writer = threading.Thread(target=blast, args=(victim, lines))
    writer.start()
    # killed once some of the burst is answered, not after a time: on a fast
    # machine the whole burst can be saved within a second
    kill_after = rng.randint(50, 700)
    try:
        while len(replied) + len(refused) < kill_after:
            take_reply(10)
    except PeerError:
        pass
    victim.kill()
    writer.join(10)
    while True:
        try:
            take_reply(10)
        except PeerError:
            break
    events = list(victim.events)
    time.sleep(0.3)          # the survivor goes on typing alone a little
    t0 = time.monotonic()
    victim.restart()
    # the other peer's replies are its typist's to read until it stops
    back, _, reconnect = poll(lambda: (other.peer in peer_ids(victim), None), 15, 0.05)
    check(f'{title}: {victim.name} is connected again after its restart', back, f'after {reconnect:.1f} s')
    time.sleep(0.3)
    stop.set()
    along.join(10)
    settle(base_title, [(victim, 1), (other, 1)], [note])
    victim.events[:0] = events
    note_line(f'# {victim.name} killed after {len(replied)} of {n} inserts were replied to; '
              f'connected again {reconnect:.2f} s after its restart')
    check(f'{title}: {victim.name} was killed mid-burst', 0 < len(replied) < n and not refused,
          f'{len(replied)} replied ok; refused: {refused[:3]}')
    equal, detail, dump = same_dumps((victim, other), note)
    check(f'{title}: after {victim.name}\'s restart both peers converge', equal, detail)
    text = dump['text']
    missing = sorted(k for k in replied if chr(base_victim + k) not in text)
    present = sorted(k for k in range(n) if chr(base_victim + k) in text)
    holes = [k for k in range(len(present)) if present[k] != k]
    check(f'{title}: every insert {victim.name} replied ok to is there ({len(replied)}; '
          f'{len(present)} there in all)', not missing, f'missing: {missing[:20]}')
    check(f'{title}: {victim.name}\'s inserts were kept in order, without holes', not holes,
          f'present: {present[:5]}...; first hole near {holes[:1]}')
    bad_other = [x for x in other_log if len(x) != 1]
    lost = [m for m in other_log if len(m) == 1 and text.count(m) != 1]
    check(f'{title}: every insert of {other.name} while {victim.name} was down and back is there once '
          f'({len(other_log)})', other_log and not bad_other and not lost,
          f'{bad_other[:1]} lost: {[hex(ord(m)) for m in lost[:10]]}')


def test_kill(folder, title):
    rng = random.Random(SEED * 10 + 4)
    a = start(folder, 'Ann', port=free_port())
    b = start(folder, 'Bob', port=free_port())
    nb = call(a, 'create-notebook', name='Crash')
    call(b, 'join', invite=nb['invite'])
    note = call(a, 'create-note', notebook=nb['notebook'], title='Kill me')['note']
    settle(title, [(a, 1), (b, 1)], [note])
    port_a, port_b = a.port, b.port
    # A was dialled (it made the invite); B dialled, and redials from its profile
    kill_round(title, f'{title} (the dialled peer)', a, b, note, 0x20000, 0x22000, rng)
    kill_round(title, f'{title} (the dialling peer)', b, a, note, 0x24000, 0x26000, rng)
    check(f'{title}: the restarted peers kept their ports', (a.port, b.port) == (port_a, port_b),
          f'{(a.port, b.port)} vs {(port_a, port_b)}')
    check_no_errors(title, (a, b))
    for p in (a, b):
        p.quit()
        v = subprocess.run([PROGRAM, 'verify', '--profile', p.profile], capture_output=True, text=True)
        check(f'{title}: {p.name}\'s profile verifies afterwards', v.returncode == 0, v.stdout + v.stderr)


# ---- 5. offline edits ----

def test_offline(folder, title):
    a = start(folder, 'Ann', port=free_port())
    b = start(folder, 'Bob', port=free_port())
    c = start(folder, 'Cat', port=free_port())
    nb = call(a, 'create-notebook', name='Offline')
    notebook = nb['notebook']
    for p in (b, c):
        call(p, 'join', invite=nb['invite'])
    note = call(a, 'create-note', notebook=notebook, title='Away')['note']
    call(a, 'insert', note=note, pos=0, text='0123456789abcdefghij')
    settle(title, [(a, 2), (b, 1), (c, 1)], [note])

    b.quit()                         # B away: A and C edit
    call(a, 'insert', note=note, pos=7, text='XY')
    call(a, 'set', note=note, field='pinned', value=True)
    settle(title, [(a, 1), (c, 1)], [note])
    call(c, 'insert', note=note, pos=22, text='Z')
    call(c, 'set', note=note, field='tags', value=['c'])
    settle(title, [(a, 1), (c, 1)], [note])
    a.quit()                         # A away too: C alone, and B comes back alone
    call(c, 'insert', note=note, pos=0, text='«')
    b.restart()
    call(b, 'delete', note=note, pos=5, len=5)       # "56789", which holds A's XY
    call(b, 'set', note=note, field='tags', value=['b'])
    call(b, 'set', note=note, field='colour', value='#3584e4')
    note_b = call(b, 'create-note', notebook=notebook, title='Made offline')['note']
    call(b, 'insert', note=note_b, pos=0, text='while away')
    offline = {p.name: call(p, 'dump', note=note)['text'] for p in (b, c)}
    check(f'{title}: B and C edited while apart from the rest',
          offline == {'Bob': '01234abcdefghij', 'Cat': '«0123456XY789abcdefghijZ'}, json.dumps(offline))
    t0 = time.monotonic()
    a.restart()
    settle(title, [(a, 2), (b, 1), (c, 1)], [note, note_b], timeout=20)
    note_line(f'# back together and synced in {time.monotonic() - t0:.2f} s')
    equal, detail, dump = same_dumps((a, b, c), note)
    check(f'{title}: all three converge', equal, detail)
    check(f'{title}: to exactly the text every side meant',
          dump['text'] == '«01234XYabcdefghijZ', repr(dump['text']))
    f = dump['fields']
    check(f'{title}: fields: tags set by both, pinned and colour kept',
          sorted(f.get('tags') or []) == ['b', 'c'] and f.get('pinned') is True and f.get('colour') == '#3584e4',
          json.dumps(f))
    equal, detail, dump = same_dumps((a, b, c), note_b)
    check(f'{title}: the note B made offline reaches everyone', equal and dump['text'] == 'while away',
          detail + json.dumps(dump))
    check_no_errors(title, (a, b, c))


# ---- 6. notes and the trash ----

def test_trash(folder, title):
    a = start(folder, 'Ann')
    b = start(folder, 'Bob')
    c = start(folder, 'Cat')
    nb = call(a, 'create-notebook', name='Bin')
    notebook = nb['notebook']
    for p in (b, c):
        call(p, 'join', invite=nb['invite'])
    counts = [(a, 2), (b, 1), (c, 1)]
    settle(title, counts)
    made = {}
    for p, t in ((a, 'by Ann'), (b, 'by Bob'), (c, 'by Cat'), (c, 'by Cat, twice')):
        made[t] = call(p, 'create-note', notebook=notebook, title=t)['note']
    private = call(a, 'create-note', title='Private to Ann')['note']
    settle(title, counts, list(made.values()))
    call(b, 'trash', note=made['by Cat'])
    call(c, 'trash', note=made['by Ann'])
    call(a, 'trash', note=made['by Cat, twice'])
    settle(title, counts, list(made.values()))
    call(c, 'restore', note=made['by Cat, twice'])
    settle(title, counts, list(made.values()))
    want = {made['by Ann']: ('by Ann', True), made['by Bob']: ('by Bob', False),
            made['by Cat']: ('by Cat', True), made['by Cat, twice']: ('by Cat, twice', False)}
    got = {}
    for p in (a, b, c):
        got[p.name] = {n['note']: (n['title'], n['trashed'])
                       for n in call(p, 'notes', notebook=notebook)['notes']}
    bad = [f'{name}: {json.dumps(sorted(v.values()))}' for name, v in got.items() if v != want]
    check(f'{title}: every note made anywhere is listed everywhere, trashed where it was trashed',
          not bad, '\n'.join(bad) + f'\nwant {json.dumps(sorted(want.values()))}')
    leaked = [p.name for p in (b, c) if any(n['note'] == private for n in call(p, 'notes')['notes'])]
    check(f'{title}: a note in A\'s private notebook reaches nobody', not leaked, str(leaked))
    check_no_errors(title, (a, b, c))


# ---- 7. a manual field ----

def test_conflict(folder, title):
    a = start(folder, 'Ann', port=free_port())
    b = start(folder, 'Bob', port=free_port())
    nb = call(a, 'create-notebook', name='Titles')
    call(b, 'join', invite=nb['invite'])
    note = call(a, 'create-note', notebook=nb['notebook'], title='Original')['note']
    settle(title, [(a, 1), (b, 1)], [note])
    b.quit()
    call(a, 'set', note=note, field='title', value='Ann’s title')
    a.quit()
    b.restart()                      # B dials A's old address, in vain
    call(b, 'set', note=note, field='title', value='Bob’s title')
    a.restart()
    settle(title, [(a, 1), (b, 1)], [note], timeout=20)
    da, db = call(a, 'dump', note=note), call(b, 'dump', note=note)
    values = sorted(da['conflicts'].get('title') or [])
    check(f'{title}: both report the same conflict on the title, with both values',
          da['conflicts'] == db['conflicts'] and values == ['Ann’s title', 'Bob’s title'],
          f'A: {json.dumps(da["conflicts"])} B: {json.dumps(db["conflicts"])}')
    events = {}
    for p in (a, b):
        try:
            e = p.wait_event('conflict', timeout=5, note=note, field='title')
            events[p.name] = sorted(e.get('values') or [])
        except PeerError as err:
            events[p.name] = str(err)
    check(f'{title}: both had a "conflict" event for it, with both values',
          all(v == ['Ann’s title', 'Bob’s title'] for v in events.values()), json.dumps(events))
    call(b, 'resolve', note=note, field='title', value='Agreed')
    settle(title, [(a, 1), (b, 1)], [note])
    da, db = call(a, 'dump', note=note), call(b, 'dump', note=note)
    check(f'{title}: resolving on B clears it on both',
          da['conflicts'] == {} and db['conflicts'] == {} and da['fields'].get('title') == 'Agreed'
          and db['fields'].get('title') == 'Agreed' and da['version'] == db['version'],
          f'A: {json.dumps(da["conflicts"])} {da["fields"]} B: {json.dumps(db["conflicts"])} {db["fields"]}')
    check_no_errors(title, (a, b))


# ---- 8. presence and dead links ----

def test_presence(folder, title):
    a = start(folder, 'Ann')
    b = start(folder, 'Bob')
    c = start(folder, 'Cat')
    nb = call(a, 'create-notebook', name='Cursors')
    call(b, 'join', invite=nb['invite'])
    call(c, 'join', invite=nb['invite'])
    note = call(a, 'create-note', notebook=nb['notebook'], title='Here')['note']
    call(a, 'insert', note=note, pos=0, text='hello wörld, hello 🌍 and more')
    settle(title, [(a, 2), (b, 1), (c, 1)], [note])

    def b_seen_by_a():
        for e in call(a, 'peers')['peers']:
            if e['peer'] == b.peer:
                return e
        return None

    def seen(cursor, anchor, state):
        def f():
            e = b_seen_by_a()
            return (e is not None and e['note'] == note and e['cursor'] == cursor and e['anchor'] == anchor
                    and e['state'] == state), e
        return f

    call(b, 'presence', note=note, pos=12, anchor=12)
    done, got, took = poll(seen(12, 12, 'online'), 5, 0.05)
    check(f'{title}: A sees B\'s note and cursor', done, f'{json.dumps(got)} after {took:.1f} s')
    call(b, 'presence', note=note, pos=14, anchor=6, state='idle')
    done, got, _ = poll(seen(14, 6, 'idle'), 5, 0.05)
    check(f'{title}: A sees B\'s selection and that B is idle', done, json.dumps(got))

    def moves(what, edit, delta):
        """Checks that after edit A's view of B's selection moved by delta."""
        e = b_seen_by_a()
        if e is None or e['cursor'] is None:
            check(f'{title}: {what} moves A\'s view of B\'s selection by {delta}', False, f'A sees {e}')
            return
        cursor, anchor = e['cursor'], e['anchor']
        edit()
        done, got, _ = poll(seen(cursor + delta, anchor + delta, 'idle'), 3, 0.05)
        check(f'{title}: {what} moves A\'s view of B\'s selection by {delta}', done,
              f'was {cursor}/{anchor}, now {got["cursor"]}/{got["anchor"]}' if got else 'B is gone')

    moves('C inserting 4 code points before it (an edit A receives)',
          lambda: call(c, 'insert', note=note, pos=1, text='ab😀c'), 4)
    moves('C deleting 2 before it',
          lambda: call(c, 'delete', note=note, pos=0, len=2), -2)
    moves('A inserting 3 code points before it (A\'s own edit)',
          lambda: call(a, 'insert', note=note, pos=2, text='😀ab'), 3)
    moves('A deleting 1 before it',
          lambda: call(a, 'delete', note=note, pos=0, len=1), -1)
    moves('A inserting at the end, after it,',
          lambda: call(a, 'insert', note=note, pos=len(call(a, 'dump', note=note)['text']), text='zzz'), 0)

    b.kill()
    t0 = time.monotonic()
    done, got, took = poll(lambda: (b_seen_by_a() is None, b_seen_by_a()), 10, 0.05)
    note_line(f'# SIGKILL noticed in {took:.2f} s')
    check(f'{title}: B killed (SIGKILL) leaves A\'s peers within 10 s ({took:.1f} s)', done, json.dumps(got))
    try:
        a.wait_event('peer-disconnected', timeout=max(0.1, 10 - (time.monotonic() - t0)), peer=b.peer)
        ok = True
    except PeerError as err:
        ok = str(err)
    check(f'{title}: ...with a peer-disconnected event', ok is True, str(ok))

    b.restart()
    done, got, took = poll(lambda: (b_seen_by_a() is not None, None), 15, 0.05)
    check(f'{title}: B restarted is back in A\'s peers', done, f'after {took:.1f} s')
    os.kill(b.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        done, got, took = poll(lambda: (b_seen_by_a() is None, b_seen_by_a()), 10, 0.1)
        note_line(f'# SIGSTOP (a hung peer) noticed in {took:.2f} s')
        check(f'{title}: B hung (SIGSTOP, socket open) leaves A\'s peers within 10 s ({took:.1f} s)',
              done, json.dumps(got))
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    done, got, took = poll(lambda: (b_seen_by_a() is not None, None), 15, 0.1)
    check(f'{title}: after SIGCONT B comes back', done, f'after {took:.1f} s')
    b.kill()
    check_no_errors(title, (a, c))


def main():
    print(f'# seed {SEED}', file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix='tandem-sync-') as root:
        try:
            run_test(1, 'invite and join', test_join, root)
            run_test(2, 'concurrent typing', test_typing, root)
            run_test(3, 'chain', test_chain, root)
            run_test(4, 'SIGKILL mid-edit', test_kill, root)
            run_test(5, 'offline edits', test_offline, root)
            run_test(6, 'notes and the trash', test_trash, root)
            run_test(7, 'manual field conflict', test_conflict, root)
            run_test(8, 'presence and dead links', test_presence, root)
        finally:
            for p in ALL:
                finish(p)
    print(f'1..{len(tests)}')
    print(f'# seed {SEED} (run-sync.py TANDEM_PEER --seed {SEED} to repeat the scripts)')
    for n, (name, ok, detail) in enumerate(tests, 1):
        print(f'{"ok" if ok else "not ok"} {n} - {name}')
        if not ok:
            for line in detail.splitlines():
                print(f'# {line}')
    for name, took in timings:
        print(f'# {name}: {took:.1f} s')
    return 1 if any(not ok for _, ok, _ in tests) else 0


if __name__ == '__main__':
    sys.exit(main())
