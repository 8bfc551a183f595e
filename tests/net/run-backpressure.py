#!/usr/bin/env python3
# run-backpressure.py: a reader that stops reading stalls nobody (TAP)
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""One slow reader does not stall the others or grow their memory (TAP).

usage: run-backpressure.py TANDEM_PEER [--seed S] [--stall SECONDS]

Four real `tandem-peer run` processes (A, B, C, D) on loopback, all
connected to each other, share a notebook with three large notes (one per
typist) and a small probe note. A, B and C type into their own large note
(single keystrokes at random places, some deletions) the whole time.

 1. before: a few seconds of typing; keystroke-to-remote latency is
    measured with probes (one typist inserts into the probe note, the time
    until another one reports the "remote-change" is the latency; one
    probe at a time, among every ordered pair of typists).
 2. the stall (--stall seconds, 20 by default): D is stopped with SIGSTOP,
    so it reads nothing, and two raw clients (wire_client.py) connect to A:
    one completes TLS and the WebSocket upgrade and then neither reads nor
    writes; the other proves membership, then keeps writing (a Tandem ping
    every second, and a "want" of the three large notes from nothing twice
    a second, each asking A to send a whole note again) and never reads.
    Meanwhile A, B and C keep typing and probing. Checked: every probe
    arrives (its latency is reported, not judged), each typist's edits
    keep reaching the two others during the stall, A, B and C agree on
    every note at its end (D still stopped), A closes the link to D and to
    the member that does not read (with the reasons it gives), the silent
    client's connection is closed, and the resident memory of A, B and C
    (VmRSS, sampled every 0.2 s) grows by less than a bound derived from
    the notebook's size (16 MiB + 16 times the notes' text: see
    RSS_BOUND_TEXT_FACTOR), and A's stops growing once it dropped the
    member that does not read.
 3. after: D gets SIGCONT, catches up, and all four peers hold the same
    notes; D took part again (its own edit made after the stall reaches
    the others).

Latencies and memory are printed as TAP comments.
"""
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tandem_peers import Peer, PeerError  # noqa: E402
from tap import check, comment, report  # noqa: E402
from wire_client import Identity, TandemClient, WsClient, decode_invite  # noqa: E402

if len(sys.argv) < 2:
    print('usage: run-backpressure.py TANDEM_PEER [--seed S] [--stall SECONDS]', file=sys.stderr)
    sys.exit(2)
PROGRAM = sys.argv[1]
SEED = int(time.time())
STALL_S = 20.0
args = sys.argv[2:]
while args:
    if args[0] == '--seed' and len(args) > 1:
        SEED = int(args[1])
        args = args[2:]
    elif args[0] == '--stall' and len(args) > 1:
        STALL_S = float(args[1])
        args = args[2:]
    else:
        sys.exit(f'run-backpressure.py: unexpected argument {args[0]}')

BIG_NOTE_CHARS = 200_000     # each typist's note, before the typing
KEYSTROKE_S = 0.02           # 50 keystrokes a second per typist
PROBE_TIMEOUT_S = 60         # a probe that takes longer is lost
BEFORE_S = 6.0
UNREAD_S = 8                 # TANDEM_WEBSOCKET_UNREAD_MS: a link not read is closed after this
# What a reader that reads nothing can make a peer queue before the peer
# drops it: for UNREAD_S, two "want"s a second of
# every large note, each sending the note's text again (as JSON, about its
# size): 16 times the text; and 16 MiB for everything else.
RSS_BOUND_TEXT_FACTOR = 16
RSS_BOUND_FIXED = 16 << 20
RSS_AFTER_DROP_SLACK = 4 << 20


class TimedPeer(Peer):
    """A Peer whose reader thread notes when each event came (in its
    "_at"; "remote-change" also in .arrivals), so that latency does not
    depend on when the test reads its replies."""

    def __init__(self, *a, **kw):
        self.arrivals = []            # (monotonic time, note, from)
        self.lock = threading.Lock()
        super().__init__(*a, **kw)

    def _read(self, proc, q):
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                q.put({'event': 'unparsable', 'line': line.decode(errors='replace')})
                continue
            if 'event' in msg:
                msg['_at'] = time.monotonic()
            if msg.get('event') == 'remote-change':
                with self.lock:
                    self.arrivals.append((time.monotonic(), msg['note'], msg['from']))
            q.put(msg)
        q.put(None)

    def arrived_since(self, t0, note, author):
        with self.lock:
            return [t for t, n, f in self.arrivals if t >= t0 and n == note and f == author]

    def count_from(self, t0, t1, author):
        with self.lock:
            return sum(1 for t, n, f in self.arrivals if t0 <= t < t1 and f == author)


def vm_rss_kb(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def percentile(values, p):
    if not values:
        return float('nan')
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def random_text(rng, n):
    letters = 'abcdefghijklmnopqrstuvwxyz     '
    return ''.join(rng.choice(letters) for _ in range(n))


class Typist(threading.Thread):
    """Drives one peer: a keystroke into its own note every KEYSTROKE_S,
    and probes into the probe note when asked. Only this thread talks to
    its peer while it runs."""

    def __init__(self, peer, note, length, probe_note, seed):
        super().__init__(daemon=True)
        self.peer, self.note, self.length, self.probe_note = peer, note, length, probe_note
        self.rng = random.Random(seed)
        self.running = True
        self.paused = threading.Event()
        self.idle = threading.Event()      # set while paused, between commands
        self.probe_request = None          # an Event to set with the send time
        self.probe_sent_at = None
        self.keystrokes = 0
        self.error = None

    def run(self):
        try:
            while self.running:
                if self.paused.is_set():
                    self.idle.set()
                    time.sleep(0.05)
                    continue
                self.idle.clear()
                request = self.probe_request
                if request is not None:
                    self.probe_request = None
                    self.probe_sent_at = time.monotonic()
                    self.peer.cmd('insert', note=self.probe_note, pos=0, text='p')
                    request.set()
                if self.length > 1000 and self.rng.random() < 0.1:
                    self.peer.cmd('delete', note=self.note, pos=self.rng.randrange(self.length), len=1)
                    self.length -= 1
                else:
                    self.peer.cmd('insert', note=self.note, pos=self.rng.randrange(self.length + 1),
                                  text=self.rng.choice('abcdefghijklmnopqrstuvwxyz '))
                    self.length += 1
                self.keystrokes += 1
                time.sleep(KEYSTROKE_S)
        except Exception as e:  # reported by the checks
            self.error = repr(e)


def probe(sender, receiver):
    """One probe: returns the latency in seconds, or None if it was lost."""
    done = threading.Event()
    sender.probe_request = done
    if not done.wait(PROBE_TIMEOUT_S):
        return None
    t0 = sender.probe_sent_at
    deadline = t0 + PROBE_TIMEOUT_S
    while time.monotonic() < deadline:
        got = receiver.peer.arrived_since(t0, sender.probe_note, sender.peer.peer)
        if got:
            return got[0] - t0
        time.sleep(0.005)
    return None


def probe_for(typists, seconds, latencies, lost):
    pairs = [(s, r) for s in typists for r in typists if s is not r]
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        s, r = pairs[i % len(pairs)]
        i += 1
        lat = probe(s, r)
        if lat is None:
            lost.append(f'{s.peer.name}->{r.peer.name}')
        else:
            latencies.append(lat)
        time.sleep(0.1)


def dumps(peer, notes):
    out = {}
    for n in notes:
        d = peer.cmd('dump', note=n, timeout=60)
        out[n] = (d['text'], json.dumps(d['fields'], sort_keys=True))
    return out


def wait_agree(peers, notes, timeout):
    """Polls until every peer's dumps of the notes are the same."""
    deadline = time.monotonic() + timeout
    while True:
        ds = [dumps(p, notes) for p in peers]
        if all(d == ds[0] for d in ds[1:]):
            return True, ds[0]
        if time.monotonic() > deadline:
            diff = [n for n in notes if len({d[n][0] for d in ds}) > 1]
            return False, f'notes differing: {diff}; lengths: ' + \
                str([[len(d[n][0]) for n in notes] for d in ds])
        time.sleep(0.5)


class RssSampler(threading.Thread):
    def __init__(self, peers):
        super().__init__(daemon=True)
        self.peers = peers
        self.samples = {p.name: [] for p in peers}   # (time, kB)
        self.running = True

    def run(self):
        while self.running:
            now = time.monotonic()
            for p in self.peers:
                kb = vm_rss_kb(p.proc.pid)
                if kb is not None:
                    self.samples[p.name].append((now, kb))
            time.sleep(0.2)

    def peak(self, name, t0, t1):
        vals = [kb for t, kb in self.samples[name] if t0 <= t <= t1]
        return max(vals) if vals else None

    def last_before(self, name, t):
        vals = [kb for ts, kb in self.samples[name] if ts <= t]
        return vals[-1] if vals else None


class NonReadingMember(threading.Thread):
    """A member's client that writes and never reads after joining:
    a ping every second and a "want" of each big note from nothing twice
    a second."""

    def __init__(self, client, notebook, notes):
        super().__init__(daemon=True)
        self.client, self.notebook, self.notes = client, notebook, notes
        self.running = True
        self.wants = 0
        self.write_failed_at = None

    def run(self):
        last_ping = 0
        while self.running:
            now = time.monotonic()
            ok = True
            if now - last_ping >= 1:
                ok = self.client.send_json({'type': 'ping'})
                last_ping = now
            for n in self.notes:
                ok = ok and self.client.send_json({'type': 'want', 'notebook': self.notebook,
                                                   'note': n, 'version': {}})
                self.wants += 1
            if not ok:
                self.write_failed_at = time.monotonic()
                return
            time.sleep(0.5)


def main():
    if os.environ.get('TANDEM_SANITIZED'):
        # the test bounds memory growth, and ASan keeps freed memory in
        # quarantine: its RSS says nothing about what a peer holds
        print('1..0 # SKIP memory bounds mean nothing under AddressSanitizer')
        sys.exit(0)   # meson's TAP reader takes any other status as an error
    rng = random.Random(SEED)
    comment(f'seed {SEED}, stall {STALL_S:g} s')
    t_start = time.monotonic()
    peers = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(tmp, rng, peers)
        except PeerError as e:
            check('the test ran to its end', False, str(e))
        finally:
            for p in peers:
                if p.proc and p.proc.poll() is None:
                    try:
                        os.kill(p.proc.pid, signal.SIGCONT)
                    except OSError:
                        pass
                    p.quit()
    report(f'{time.monotonic() - t_start:.1f} s in all')


def run(tmp, rng, peers):
    def start(name):
        p = TimedPeer(PROGRAM, os.path.join(tmp, name), name=name)
        peers.append(p)
        return p

    a, b, c, d = (start(n) for n in 'ABCD')
    nb = a.cmd('create-notebook', name='Backpressure')
    notebook, invite = nb['notebook'], nb['invite']
    for p in (b, c, d):
        p.cmd('join', invite=invite)
    for x, y in ((b, c), (b, d), (c, d)):
        x.cmd('connect', host='127.0.0.1', port=y.port)
    # the notes: one big one per typist, written in 10,000-character pieces
    big = {}
    for p in (a, b, c):
        n = p.cmd('create-note', notebook=notebook, title=f'{p.name} types here')['note']
        for i in range(0, BIG_NOTE_CHARS, 10_000):
            p.cmd('insert', note=n, pos=i, text=random_text(rng, 10_000))
        big[p.name] = n
    probe_note = a.cmd('create-note', notebook=notebook, title='probes')['note']
    notes = list(big.values()) + [probe_note]
    ok, why = wait_agree(peers, notes, 120)
    if not check('four peers in a mesh hold the same three large notes before the typing', ok, why):
        return

    rss = RssSampler([a, b, c])
    rss.start()
    typists = [Typist(p, big[p.name], BIG_NOTE_CHARS, probe_note, rng.random()) for p in (a, b, c)]
    for t in typists:
        t.start()

    # -- 1. before
    before_lat, before_lost = [], []
    probe_for(typists, BEFORE_S, before_lat, before_lost)
    t_stall = time.monotonic()
    comment(f'before the stall: {len(before_lat)} probes, latency p50 {percentile(before_lat, 50) * 1000:.0f} ms, '
            f'p99 {percentile(before_lat, 99) * 1000:.0f} ms, max {max(before_lat, default=0) * 1000:.0f} ms'
            f'{", lost " + str(before_lost) if before_lost else ""}')

    # -- 2. the stall
    os.kill(d.proc.pid, signal.SIGSTOP)
    silent = WsClient('127.0.0.1', a.port, Identity(tmp, name='silent'))
    _, key, _ = decode_invite(invite)
    member = TandemClient('127.0.0.1', a.port, Identity(tmp, name='member'))
    joined = member.join(key)
    check('a raw client proves membership to A (the one that will not read)', joined is not None,
          f'received: {member.received[-3:]}')
    writer = NonReadingMember(member, notebook, list(big.values()))
    writer.start()

    stall_lat, stall_lost = [], []
    probe_for(typists, STALL_S, stall_lat, stall_lost)
    t_stall_end = time.monotonic()
    keystrokes_stall = [t.keystrokes for t in typists]
    comment(f'during the stall: {len(stall_lat)} probes, latency p50 {percentile(stall_lat, 50) * 1000:.0f} ms, '
            f'p99 {percentile(stall_lat, 99) * 1000:.0f} ms, max {max(stall_lat, default=0) * 1000:.0f} ms'
            f'{", lost " + str(stall_lost) if stall_lost else ""}')
    check('every probe arrived, before and during the stall',
          not before_lost and not stall_lost and before_lat and stall_lat,
          f'lost before: {before_lost}, during: {stall_lost}')
    errors = [f'{t.peer.name}: {t.error}' for t in typists if t.error]
    check('A, B and C kept typing through the stall (no command failed)', not errors, '\n'.join(errors))
    def flows(t0, t1):
        """remote-change events per typist -> receiver between t0 and t1"""
        return {f'{t.peer.name}->{u.peer.name}': u.peer.count_from(t0, t1, t.peer.peer)
                for t in typists for u in typists if t is not u}
    comment(f'remote-change events during the stall, typist->receiver: {flows(t_stall, t_stall_end)}')
    # while the links to D are still open (their queues for D growing),
    # and in the last third of the stall
    early = flows(t_stall, t_stall + UNREAD_S)
    late = flows(t_stall + STALL_S * 2 / 3, t_stall_end)
    check('edits kept arriving from every typist at every other typist during the stall: '
          'while D still held its links, and to the end',
          all(v > 0 for v in early.values()) and all(v > 0 for v in late.values()),
          f'in the first {UNREAD_S} s: {early}; in the last third: {late}')

    # A, B and C converge with D still stopped
    for t in typists:
        t.paused.set()
    for t in typists:
        t.idle.wait(30)
    ok, why = wait_agree([a, b, c], notes, 60)
    check('A, B and C hold the same notes at the end of the stall, D still stopped', ok, why)
    writer.running = False

    reasons_d = []
    for p in (a, b, c):
        try:
            e = p.wait_event('peer-disconnected', timeout=1, peer=d.peer)
            reasons_d.append(f'{p.name}: {e.get("reason")}')
        except PeerError:
            reasons_d.append(f'{p.name}: still connected')
    check('A, B and C closed their links to the stopped D', all('still connected' not in r for r in reasons_d),
          '\n'.join(reasons_d))
    comment('why they dropped D: ' + '; '.join(reasons_d))
    try:
        e = a.wait_event('peer-disconnected', timeout=1, peer=member.identity.peer_id)
        member_reason, member_dropped_at = e.get('reason'), e['_at']
    except PeerError:
        member_reason = member_dropped_at = None
    check('A closed the link to the member that writes but does not read', member_reason is not None,
          f'it wrote {writer.wants} wants meanwhile')
    comment(f'why A dropped the member that does not read: {member_reason}'
            + (f', {member_dropped_at - t_stall:.1f} s into the stall' if member_dropped_at else ''))
    silent_closed = silent.wait_eof(timeout=10)
    check('the client that neither reads nor writes was closed', silent_closed)
    silent.shutdown()
    member.shutdown()

    bound_kb = (RSS_BOUND_FIXED + RSS_BOUND_TEXT_FACTOR * 3 * BIG_NOTE_CHARS) // 1024
    growth = {}
    for p in (a, b, c):
        base = rss.last_before(p.name, t_stall)
        peak = rss.peak(p.name, t_stall, time.monotonic())
        growth[p.name] = (base, peak, peak - base if base and peak else None)
    rss.running = False
    comment('VmRSS before the stall -> peak during it (kB): ' +
            ', '.join(f'{n} {g[0]} -> {g[1]} (+{g[2]})' for n, g in growth.items()) +
            f'; bound +{bound_kb}')
    check(f'the memory of A, B and C grew by less than {bound_kb} kB during the stall',
          all(g[2] is not None and g[2] < bound_kb for g in growth.values()), str(growth))
    if member_dropped_at is not None:
        # once the member that does not read is gone, A stops growing
        until = rss.peak('A', t_stall, member_dropped_at)
        after = rss.peak('A', member_dropped_at + 1, t_stall_end)
        comment(f'A\'s peak VmRSS until it dropped that member {until} kB, afterwards {after} kB')
        check('A\'s memory stops growing once it has dropped the member that does not read',
              until is not None and after is not None and after < until + RSS_AFTER_DROP_SLACK // 1024,
              f'{until} kB, then {after} kB')

    # -- 3. after: D wakes up
    for t in typists:
        t.paused.clear()
    t_wake = time.monotonic()
    os.kill(d.proc.pid, signal.SIGCONT)
    time.sleep(3)
    for t in typists:
        t.running = False
    for t in typists:
        t.join(timeout=30)
    d_note = d.cmd('create-note', notebook=notebook, title='D is back')['note']
    d.cmd('insert', note=d_note, pos=0, text='made after the stall')
    ok, why = wait_agree(peers, notes + [d_note], 120)
    t_caught_up = time.monotonic() - t_wake
    check('after SIGCONT, D catches up and all four hold the same notes (D\'s new note too)', ok, why)
    comment(f'D caught up {t_caught_up:.1f} s after SIGCONT; keystrokes by the end of the stall '
            f'(A, B, C): {keystrokes_stall}')
    if ok:
        lengths = [len(why[n][0]) for n in big.values()]
        expected = [t.length for t in typists]
        check('each large note is as long as its typist made it (nothing lost)', lengths == expected,
              f'{lengths} vs {expected}')


if __name__ == '__main__':
    main()
