#!/usr/bin/env python3
# run-hostile.py: malformed and hostile wire messages against a real peer
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed and hostile messages sent to a real tandem-peer (TAP).

usage: run-hostile.py TANDEM_PEER

A victim peer has two shared notebooks and a private one, with a note in
each. Every case of CASES below is sent over a fresh TLS WebSocket:

  member    by a proven member of the first notebook (it holds the key from
            the invite and did hello + auth, so it reached the sync stage)
  stranger  by a client with a valid certificate and no key, after hello
  raw       with nothing sent before it (for hello's own cases)

and for each the victim must answer with an "error" frame that has a
reason (printed as a diagnostic) and close the connection, or, for the
harmless cases (replays), neither complain nor close; in every case no
note may change (the list of notes and a `dump` of every note are compared
with the state before), a stranger may receive nothing but hello, auth,
ping and error frames, and the victim must still be running. At the end a
legitimate member still syncs an edit, from Python and from a real peer.

To add a case, append a Case to CASES: a name, the modes it runs in, what
is expected in each mode, and a function from the context to the frames
to send (dicts go as JSON text frames, str as text frames, bytes as they
are, already framed; a callable gets the client).
"""
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tandem_peers import Peer, PeerError  # noqa: E402
from wire_client import (OP_BINARY, OP_CONT, OP_TEXT, Identity, TandemClient,  # noqa: E402
                         decode_invite, encode_frame, random_peer_id)

if len(sys.argv) < 2:
    print('usage: run-hostile.py TANDEM_PEER', file=sys.stderr)
    sys.exit(2)
program = sys.argv[1]
if shutil.which('openssl') is None:
    print('1..0 # SKIP openssl is needed to make certificates')
    sys.exit(0)   # meson's TAP reader takes any other status as an error

MAX_FRAME = 4 << 20          # TANDEM_TRANSPORT_MAX_FRAME
MAX_RUNS = 4096              # TANDEM_WIRE_MAX_RUNS
MAX_PENDING = 20000          # TANDEM_SESSION_MAX_PENDING
STRANGER_TYPES = {'hello', 'auth', 'ping', 'error'}

ERROR, HARMLESS, NO_CHANGE = 'error', 'harmless', 'no change'
# Refused by the WebSocket layer (libsoup) before it is a Tandem message:
# RFC 6455 says to close with 1007, invalid frame payload data, and libsoup
# does, so no error frame can come first.
WS_INVALID = 'websocket 1007'

tests = []


def check(name, ok, detail='', info=()):
    """Records a test; `detail` is printed when it fails, `info` always."""
    tests.append((name, ok, detail, list(info)))


class Case:
    """A hostile input. `expect` maps a mode to ERROR (an error frame with a
    reason, then the close), HARMLESS (no error, no close) or NO_CHANGE
    (either, as long as no note changes); `pending_ok` lets runs wait for
    their parents (up to the limit) without counting as a change."""

    def __init__(self, name, frames, modes=('member', 'stranger'), expect=None, pending_ok=False,
                 answer=None):
        self.name = name
        self.answer = answer    # a HARMLESS message must get this reply
        self.frames = frames
        self.modes = modes
        self.expect = expect or {m: ERROR for m in modes}
        self.pending_ok = pending_ok


def ins(peer, seq, parents, at, text):
    return {'p': peer, 's': seq, 'ps': parents, 'k': 'ins', 'at': at, 'n': len(text), 't': text}


def events(ctx, runs, note=None, notebook=None):
    return {'type': 'events', 'notebook': notebook or ctx.nb1, 'note': note or ctx.note1, 'runs': runs}


def huge_single_frame(ctx):
    # one frame just over the limit
    body = b'{"type":"ping","pad":"' + b'a' * (MAX_FRAME + 16) + b'"}'
    return [encode_frame(OP_TEXT, body)]


def huge_fragmented(ctx):
    chunk = 'a' * (1 << 20)
    frames = [encode_frame(OP_TEXT, '{"type":"ping","pad":"' + chunk, fin=False)]
    frames += [encode_frame(OP_CONT, chunk, fin=False) for _ in range(4)]
    frames.append(encode_frame(OP_CONT, chunk + '"}'))
    return frames


def unknown_parents_en_masse(ctx):
    # > MAX_PENDING runs whose parents never come, in frames of MAX_RUNS
    p, q = random_peer_id(), random_peer_id()
    n_frames = MAX_PENDING // MAX_RUNS + 1
    return [events(ctx, [{'p': p, 's': i, 'ps': [[q, i]], 'k': 'ins', 'at': 0, 'n': 1, 't': 'x'}
                         for i in range(f * MAX_RUNS, (f + 1) * MAX_RUNS)])
            for f in range(n_frames)]


CASES = [
    # -- not a message at all
    Case('bad JSON', lambda c: ['{"type":"ping"']),
    Case('bad JSON: trailing garbage', lambda c: ['{"type":"ping"}xyz']),
    Case('bad JSON: two values in one frame', lambda c: ['{"type":"ping"} {"type":"ping"}']),
    Case('bad JSON: single quotes', lambda c: ["{'type':'ping'}"]),
    Case('not an object: array', lambda c: ['[1,2,3]']),
    Case('not an object: string', lambda c: ['"hello"']),
    Case('not an object: number', lambda c: ['42']),
    Case('not an object: null', lambda c: ['null']),
    Case('empty frame', lambda c: ['']),
    Case('no type', lambda c: [{'notebook': c.nb1}]),
    Case('type is a number', lambda c: [{'type': 7}]),
    Case('unknown type', lambda c: [{'type': 'gimme', 'notebook': c.nb1}]),
    # -- wrong member types and formats
    Case('have: notes is an array', lambda c: [{'type': 'have', 'notebook': c.nb1, 'notes': []}]),
    Case('events: runs is an object', lambda c: [events(c, {})]),
    Case('events: notebook is a number', lambda c: [dict(events(c, []), notebook=12345)]),
    Case('events: uppercase note id', lambda c: [events(c, [ins(random_peer_id(), 0, [], 0, 'x')],
                                                        note=c.note1.upper())]),
    Case('events: no runs', lambda c: [events(c, [])]),
    Case('events: run is not an object', lambda c: [events(c, ['run'])]),
    Case('events: unknown kind', lambda c: [events(c, [dict(ins(random_peer_id(), 0, c.heads, 0, 'x'),
                                                             k='zap')])]),
    Case('events: seq is a string', lambda c: [events(c, [dict(ins(random_peer_id(), 0, c.heads, 0, 'x'),
                                                                s='0')])]),
    Case('events: text length lies', lambda c: [events(c, [dict(ins(random_peer_id(), 0, c.heads, 0, 'abc'),
                                                                 n=2)])]),
    Case('field value too long', lambda c: [events(c, [{'p': random_peer_id(), 's': 0, 'ps': c.heads,
                                                        'k': 'field', 'f': 'title', 'op': 'set',
                                                        'v': 'x' * 5000, 'l': 99}])]),
    Case('want: bad version vector', lambda c: [{'type': 'want', 'notebook': c.nb1, 'note': c.note1,
                                                 'version': {'NOTAPEER': 1}}]),
    Case('presence: unknown state', lambda c: [{'type': 'presence', 'state': 'evil'}]),
    Case('name longer than the limit', lambda c: [{'type': 'notebook', 'notebook': c.nb1, 'name': 'n' * 300,
                                                   'members': []}]),
    # -- size and depth
    Case('huge frame (> 4 MiB)', huge_single_frame),
    Case('huge message in fragments (> 4 MiB)', huge_fragmented),
    Case('1,000-deep nesting', lambda c: [json.dumps(events(c, []))[:-2] + '[' * 1000 + ']' * 1000 + '}']),
    Case('100,000-deep nesting', lambda c: ['[' * 100000 + ']' * 100000]),
    Case('100,000-deep nesting in a string-less object', lambda c: ['{"type":"ping","x":' + '{"a":' * 100000
                                                                    + '1' + '}' * 100000 + '}']),
    # -- bytes that are not text
    Case('invalid UTF-8 (raw frame)', lambda c: [encode_frame(OP_TEXT, b'{"type":"ping","x":"\xff\xfe\xc0"}')],
         expect={'member': WS_INVALID, 'stranger': WS_INVALID}),
    Case('overlong UTF-8 (raw frame)', lambda c: [encode_frame(OP_TEXT, b'{"type":"ping","x":"\xc0\xaf"}')],
         expect={'member': WS_INVALID, 'stranger': WS_INVALID}),
    Case('NUL byte (raw frame)', lambda c: [encode_frame(OP_TEXT, b'{"type":"ping"}\x00')]),
    Case('NUL byte inside a string (raw frame)', lambda c: [encode_frame(OP_TEXT, b'{"type":"ping","x":"a\x00b"}')]),
    Case('escaped NUL in inserted text', lambda c: [events(c, [dict(ins(random_peer_id(), 0, c.heads, c.length,
                                                                         'a\0b'))])]),
    Case('binary frame', lambda c: [encode_frame(OP_BINARY, b'{"type":"ping"}')]),
    # -- content the engine must refuse
    Case('insert position out of range', lambda c: [events(c, [ins(random_peer_id(), 0, c.heads, 10 ** 6, 'x')])]),
    Case('delete range out of range', lambda c: [events(c, [{'p': random_peer_id(), 's': 0, 'ps': c.heads,
                                                             'k': 'del', 'at': 3, 'n': 1000}])]),
    Case('position beyond 32 bits', lambda c: [events(c, [ins(random_peer_id(), 0, c.heads, 1 << 40, 'x')])]),
    Case('parent in the future of its own run', lambda c: [events(c, [ins(c.stray, 5, [[c.stray, 9]], 0, 'x')])]),
    Case('forged id: a run under the victim\'s own peer id', lambda c: [events(c, [
        ins(c.victim, c.count, c.heads, 0, 'forged')])]),
    Case('forged id: victim\'s known seq with other content', lambda c: [events(c, [
        ins(c.victim, c.count - 1, [[c.victim, c.count - 2]], 0, 'Z')])],
         expect={'member': NO_CHANGE, 'stranger': ERROR}),
    Case('replay of valid events', lambda c: [events(c, c.note1_runs)],
         expect={'member': HARMLESS, 'stranger': ERROR}, answer='have'),
    Case('replay of valid events, twice in one message', lambda c: [events(c, c.note1_runs + c.note1_runs)],
         expect={'member': HARMLESS, 'stranger': ERROR}, answer='have'),
    Case('replay into a new note id', lambda c: [events(c, c.note1_runs, note=os.urandom(16).hex())]),
    Case('bad runs for a new note id', lambda c: [events(c, [ins(random_peer_id(), 0, [], 5, 'x')],
                                                         note=os.urandom(16).hex())]),
    # -- reaching into other notebooks
    Case('events for a note of another notebook', lambda c: [events(c, [ins(random_peer_id(), 0, [], 0, 'x')],
                                                                    note=c.note2)]),
    Case('events naming the other notebook', lambda c: [events(c, [ins(random_peer_id(), 0, [], 0, 'x')],
                                                               notebook=c.nb2, note=c.note2)]),
    Case('events for the private notebook', lambda c: [events(c, [ins(random_peer_id(), 0, [], 0, 'x')],
                                                              notebook=c.private, note=c.note3)]),
    Case('have listing a note of another notebook', lambda c: [{'type': 'have', 'notebook': c.nb1,
                                                                'notes': {c.note2: {}}}]),
    Case('want for a note of another notebook', lambda c: [{'type': 'want', 'notebook': c.nb1, 'note': c.note2,
                                                            'version': {}}]),
    Case('presence in a note of another notebook', lambda c: [{'type': 'presence', 'state': 'online',
                                                               'notebook': c.nb1, 'note': c.note2}]),
    Case('have listing 100,001 new notes', lambda c: [{'type': 'have', 'notebook': c.nb1,
                                                       'notes': {os.urandom(16).hex(): {} for _ in range(100001)}}],
         modes=('member',)),
    Case('have listing 1,000 new notes, the last malformed', lambda c: [{
        'type': 'have', 'notebook': c.nb1,
        'notes': dict([(os.urandom(16).hex(), {}) for _ in range(1000)] + [('NOT-A-NOTE-ID', {})])}],
         modes=('member',)),
    Case('have naming the other notebook', lambda c: [{'type': 'have', 'notebook': c.nb2, 'notes': {},
                                                       'full': True}]),
    # -- the handshake
    Case('a second hello', lambda c: [c.client.hello_message()]),
    Case('too many unknown auths', lambda c: [{'type': 'auth', 'tag': os.urandom(8).hex(),
                                               'proof': os.urandom(32).hex()} for _ in range(80)],
         modes=('stranger',)),
    Case('auth before hello', lambda c: [{'type': 'auth', 'tag': os.urandom(8).hex(),
                                          'proof': os.urandom(32).hex()}], modes=('raw',)),
    Case('events before hello', lambda c: [events(c, c.note1_runs)], modes=('raw',)),
    Case('have before hello', lambda c: [{'type': 'have', 'notebook': c.nb1, 'notes': {}, 'full': True}],
         modes=('raw',)),
    Case('protocol version 2 hello', lambda c: [c.client.hello_message(proto=2)], modes=('raw',)),
    Case('hello without a nonce', lambda c: [{k: v for k, v in c.client.hello_message().items() if k != 'nonce'}],
         modes=('raw',)),
    Case('hello with a short nonce', lambda c: [c.client.hello_message(nonce='abcd')], modes=('raw',)),
    Case('hello claiming the victim\'s peer id', lambda c: [c.client.hello_message(peer=c.victim)],
         modes=('raw',)),
    # last: it leaves runs waiting for parents on the note
    Case('runs with unknown parents en masse (> 20,000)', unknown_parents_en_masse, pending_ok=True,
         modes=('member',)),
]


class Context:
    pass


def snapshot(peer):
    notes = sorted(peer.cmd('notes')['notes'], key=lambda n: n['note'])
    dumps = {}
    for n in notes:
        d = peer.cmd('dump', note=n['note'])
        d.pop('id', None)
        dumps[n['note']] = d
    return {'notes': notes, 'dumps': dumps}


def strip_pending(snap):
    return {'notes': snap['notes'],
            'dumps': {k: {f: v for f, v in d.items() if f != 'pending'} for k, d in snap['dumps'].items()}}


def diff(before, after):
    out = []
    ids_b = {n['note'] for n in before['notes']}
    ids_a = {n['note'] for n in after['notes']}
    for n in sorted(ids_a - ids_b):
        out.append(f'new note {n}: {after["dumps"].get(n)}')
    for n in sorted(ids_b - ids_a):
        out.append(f'note {n} is gone')
    if before['notes'] != after['notes'] and not out:
        out.append(f'notes list: {before["notes"]} -> {after["notes"]}')
    for n in sorted(ids_a & ids_b):
        if before['dumps'][n] != after['dumps'][n]:
            out.append(f'note {n}: {before["dumps"][n]} -> {after["dumps"][n]}')
    return out


def send_all(client, frames):
    for f in frames:
        if callable(f):
            f(client)
            continue
        if isinstance(f, dict):
            ok = client.send_json(f)
        elif isinstance(f, str):
            ok = client.send_text(f)
        else:
            ok = client.send_raw(f)
        if not ok:
            return False
    return True


def run_case(ctx, case, mode):
    """Returns (ok, summary, details)."""
    details = []
    client = TandemClient('127.0.0.1', ctx.peer.port, ctx.member if mode == 'member' else ctx.stranger)
    ctx.client = client
    try:
        if mode == 'member':
            if client.join(ctx.key) is None:
                return False, 'could not become a member', [f'received: {client.received}']
            client.drain(0.3)   # its notebook, have, presence
        elif mode == 'stranger':
            if client.hello() is None:
                return False, 'no hello from the peer', []
        n_before = len(client.messages)
        sent_all = send_all(client, case.frames(ctx))
        expect = case.expect[mode]
        if expect in (ERROR, WS_INVALID):
            # at once: not when the session times out for silence (8 s)
            client.wait_for('error', timeout=5)
        else:
            client.drain(1.5)
        after_msgs = client.messages[n_before:]
        reason = next((m.get('reason') for m in after_msgs if m.get('type') == 'error'), None)
        if reason is not None:
            details.append(f'reason: {reason}')
        closed = client.close_frame is not None or client.eof
        if reason is not None and not closed:
            # it must close right after the error frame
            closed = client.wait_for('__none__', timeout=5) is None and (client.close_frame is not None or client.eof)
        if client.close_frame:
            details.append(f'close frame: {client.close_frame}')
        elif client.eof:
            details.append('the connection ended without a close frame')
        if not sent_all:
            details.append('the peer stopped reading before everything was sent')
        ok = True
        if expect == ERROR:
            if not (isinstance(reason, str) and reason.strip()):
                ok = False
                details.append('no "error" frame with a reason')
            if not closed:
                ok = False
                details.append('the connection stayed open')
            summary = f'error "{reason}" and closed' if ok else 'refused with an error frame and a close'
        elif expect == WS_INVALID:
            if not (client.close_frame and client.close_frame[0] == 1007):
                ok = False
                details.append('no WebSocket close with code 1007')
            summary = 'closed by the WebSocket layer with 1007' if ok else 'closed with 1007'
        elif expect == HARMLESS:
            if reason is not None or closed:
                ok = False
                details.append('a harmless message was refused')
            if case.answer and not any(m.get('type') == case.answer for m in after_msgs):
                ok = False
                details.append(f'no "{case.answer}" in answer: {after_msgs}')
            summary = 'no error, still open' + (f', answered with "{case.answer}"' if case.answer else '')
        else:
            summary = 'error "%s"' % reason if reason else 'taken without an error'
        if mode == 'stranger':
            leaked = [m for m in client.messages if m.get('type') not in STRANGER_TYPES]
            if leaked:
                ok = False
                details.append(f'a stranger received {[m.get("type") for m in leaked]}')
        return ok, summary, details
    finally:
        client.close()
        client.shutdown()


def ensure_alive(ctx, details):
    if ctx.peer.proc.poll() is None:
        return True
    details.append(f'the peer died (exit {ctx.peer.proc.poll()}): {ctx.peer.stderr_text()[-1500:]}')
    ctx.peer.restart()
    return False


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context()
        a = ctx.peer = Peer(program, str(Path(tmp) / 'victim'), name='Victim')
        ctx.victim = a.peer
        nb1 = a.cmd('create-notebook', name='Team')
        nb2 = a.cmd('create-notebook', name='Other')
        ctx.nb1, ctx.nb2 = nb1['notebook'], nb2['notebook']
        ctx.private = next(n['notebook'] for n in a.cmd('notebooks')['notebooks'] if not n['shared'])
        ctx.note1 = a.cmd('create-note', notebook=ctx.nb1, title='Plan')['note']
        a.cmd('insert', note=ctx.note1, pos=0, text='hello world')
        ctx.note2 = a.cmd('create-note', notebook=ctx.nb2, title='Two')['note']
        a.cmd('insert', note=ctx.note2, pos=0, text='the other notebook')
        ctx.note3 = a.cmd('create-note', title='Mine')['note']
        a.cmd('insert', note=ctx.note3, pos=0, text='private')
        _, ctx.key, _ = decode_invite(nb1['invite'])

        # the member's peer id is small, so that when a session of its
        # lingers, the new one is the one kept
        ctx.stray = random_peer_id()
        ctx.member = Identity(tmp, peer_id='0000000000000001', name='member')
        ctx.stranger = Identity(tmp, name='stranger')

        # what a member receives of note 1: the runs to replay
        c = TandemClient('127.0.0.1', a.port, ctx.member)
        opened = c.join(ctx.key)
        c.send_json({'type': 'have', 'notebook': ctx.nb1, 'notes': {}, 'full': True})
        got = c.wait_for('events', timeout=5)
        c.close()
        c.shutdown()
        check('a member opens the notebook and receives the note\'s runs',
              opened is not None and got is not None and got.get('note') == ctx.note1,
              f'received: {c.received}')
        if got is None:
            report()
            return
        ctx.note1_runs = got['runs']
        d1 = a.cmd('dump', note=ctx.note1)
        ctx.count = d1['version'][ctx.victim]
        ctx.heads = [[ctx.victim, ctx.count - 1]]
        ctx.length = len(d1['text'])

        baseline = snapshot(a)
        for case in CASES:
            for mode in case.modes:
                try:
                    ok, summary, details = run_case(ctx, case, mode)
                except Exception as e:  # a refused handshake, a reset
                    ok, summary, details = False, 'the case could not run', [repr(e)]
                ok = ensure_alive(ctx, details) and ok
                after = snapshot(a)
                if case.pending_ok:
                    changes = diff(strip_pending(baseline), strip_pending(after))
                    pending = max(d['pending'] for d in after['dumps'].values())
                    details.append(f'runs waiting for parents afterwards: {pending}')
                    if pending > MAX_PENDING:
                        changes.append(f'{pending} runs wait for parents, more than {MAX_PENDING}')
                else:
                    changes = diff(baseline, after)
                if changes:
                    ok = False
                    details += ['a note changed:'] + changes
                    baseline = after
                elif case.pending_ok:
                    baseline = after
                check(f'{mode}: {case.name}: {summary}, notes unchanged' if ok else f'{mode}: {case.name}',
                      ok, '\n'.join(details), info=details if ok else ())

        # -- it keeps serving: a valid edit from a Python member...
        check('the peer is still running after the corpus', a.proc.poll() is None, a.stderr_text()[-2000:])
        d1 = a.cmd('dump', note=ctx.note1)
        count = d1['version'][ctx.victim]
        c = TandemClient('127.0.0.1', a.port, ctx.member)
        opened = c.join(ctx.key)
        mine = ins(ctx.member.peer_id, 0, [[ctx.victim, count - 1]], len(d1['text']), ' and goodbye')
        c.send_json(events(ctx, [mine]))
        ack = c.wait_for('have', timeout=5)
        while ack is not None and ctx.member.peer_id not in ack.get('notes', {}).get(ctx.note1, {}):
            ack = c.wait_for('have', timeout=5)
        text = a.cmd('dump', note=ctx.note1)['text']
        check('a member\'s valid edit is still taken afterwards',
              opened is not None and c.error_reason() is None and text == d1['text'] + ' and goodbye',
              f'text {text!r}, error {c.error_reason()}, ack {ack}')
        c.close()
        c.shutdown()

        # ... and a real peer joining, syncing both ways
        b = Peer(program, str(Path(tmp) / 'member'), name='Member')
        try:
            b.cmd('join', invite=nb1['invite'])
            b.wait_event('remote-change', timeout=20, note=ctx.note1)
            a.cmd('insert', note=ctx.note1, pos=0, text='A: ')
            a.cmd('wait-synced', timeout=20, peers=1)
            b.cmd('insert', note=ctx.note1, pos=0, text='B: ')
            b.cmd('wait-synced', timeout=20, peers=1)
            ta, tb = a.cmd('dump', note=ctx.note1)['text'], b.cmd('dump', note=ctx.note1)['text']
            check('a real member still joins and syncs an edit both ways',
                  ta == tb and ta.startswith('B: A: ') and ta.endswith(' and goodbye'), f'{ta!r} vs {tb!r}')
        except PeerError as e:
            check('a real member still joins and syncs an edit both ways', False, str(e))
        finally:
            b.quit()
        a.quit()
    report(f'{time.monotonic() - t0:.1f} s')


def report(footer=None):
    print(f'1..{len(tests)}')
    for n, (name, ok, detail, info) in enumerate(tests, 1):
        print(f'{"ok" if ok else "not ok"} {n} - {name}')
        for line in info:
            print(f'# {line}')
        if not ok:
            for line in str(detail).splitlines():
                print(f'# {line}')
    if footer:
        print(f'# {footer}')
    sys.exit(0 if all(t[1] for t in tests) else 1)


if __name__ == '__main__':
    main()
