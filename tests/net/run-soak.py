#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The soak test: 16 peers in 4 network namespaces edit under faults (TAP).

usage: run-soak.py TANDEM_PEER [--duration S] [--seed N]

Four hosts (network namespaces on one Linux bridge, each with its own
system bus and avahi-daemon: avahi_sandbox.py) run four `tandem-peer run`
each. One creates a notebook of 20 notes; the other 15 join it with the
invite and find each other through mDNS. Two peers run without discovery
and reach two peers on other hosts only through delaying proxies in this
harness (delay_proxy.py: 200 ms each way).

For S seconds (default 60) every peer edits the 20 notes at random: inserts
of filler text or of a marker (one code point used once in the whole run),
deletes, and sets of the title, tags, pinned and colour. Meanwhile:

  - partitions: a host's port on the bridge goes down, then up again;
  - packet loss: 10% of what leaves each host's link is dropped
    (nftables: `numgen random mod 10 == 0 drop`), in windows;
  - SIGKILL: a random peer is killed mid-edit and restarted on its profile;
  - one peer is offline (nftables drops everything it sends, and every
    connection to it) for half of the run, and keeps editing.

The last tenth of the run ends in a partition with loss. Then editing
stops, everything heals, and the checks are:

  - every peer ends with the same text, fields, conflicts and version of
    every note (time to converge after the heal is printed);
  - every marker whose insert was answered ok is there exactly once on
    every peer, unless a delete answered ok covered it (each delete is sent
    in one write with a dump of the note, so what it deleted is known
    exactly); a covered one is gone; none is there twice, and no code point
    of the marker range appears that nobody inserted. Edits cut short by a
    SIGKILL (sent, no reply) may or may not have happened: their markers
    are allowed either way and counted;
  - every field holds a value that some peer set (or the first title);
  - each edit did, on its own peer, what it said (text before and after);
  - no peer died but those killed, no peer reported an "error" event, every
    profile passes `tandem-peer verify`, and wait-synced agrees at the end;
  - memory: each peer process's VmRSS, sampled every second, grows from
    the end of its warm-up (the first minute of editing, or a third of a
    shorter run; for a restarted one, of its life) to the end by less than RSS_SLACK_MB + RSS_PER_RUN_KB per edit made, beyond
    what its connections explain (see those constants for why);
  - each kind of fault really happened (and the proxies carried traffic).

The seed defaults to the time and is printed; numbers are TAP comments.
Needs root, namespaces, avahi-daemon and nft: skipped with the reason
otherwise. Everything it starts, and its namespaces and files, are gone
when it ends, whichever way it ends.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import avahi_sandbox  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402
from tandem_peers import Peer, PeerError, edit_outcome  # noqa: E402

HOSTS = 4
PEERS_PER_HOST = 4
NOTES = 20
DELAY_S = 0.2
# each peer makes an edit every EDIT_GAP_S on average (exponential gaps):
# 16 peers give about 25 edits a second in all, each applied by 16 peers
EDIT_GAP_S = 0.6
# The bound on a process's VmRSS growth from the end of its warm-up to the
# end. What a peer must hold grows with the notes: every note stays open,
# with its whole history (every run of events, its op log and its text) in
# memory. A run costs far less than RSS_PER_RUN_KB, and a peer holds at
# most every run of the whole test; RSS_SLACK_MB covers the allocator and
# SQLite's page cache settling. A leak of even a few hundred bytes per
# message received (each peer gets every edit of the other 15, and many
# pings) goes well past it over a 10-minute run.
RSS_SLACK_MB = 6
RSS_PER_RUN_KB = 1
# A connection costs a peer some memory while it is open (measured: a
# peer alone 13.8 MB, +0.2 to +0.35 MB per member that connects to it;
# the first connection also loads libsoup's and GnuTLS's own state once,
# about 9 MB, long before the warm-up ends). Partitions and restarts
# change how many a peer holds, and reconnecting makes extra ones for a
# moment (both sides dial; one is closed as a duplicate), and the heap
# keeps the room they took: growth is judged net of the most it held.
RSS_PER_CONNECTION_KB = 512
RSS_SAMPLE_S = 1
CONVERGE_TIMEOUT_S = 120
FIELDS = ['title', 'tags', 'pinned', 'colour']
TITLES = ['Plan', 'Plän B', 'Ideas 💡', 'Shopping', 'Notes']
TAGS = ['red', 'green', 'blue', 'ünï', '🏷']
COLOURS = ['#e01b24', '#33d17a', '#3584e4', '#f6d32d']
FILLER = 'abcdefghijklmnopqrstuvwxyz     éüß'
MARKER_BASE = 0x20000
MARKERS_PER_PEER = 0x2000
GID_BASE = 47000          # peer i runs with group id GID_BASE + i
# set when the run ends early (an exception, SIGTERM): the fault injector
# then leaves things broken, as the sandbox is about to go anyway
aborting = threading.Event()


def marker(i, k):
    return chr(MARKER_BASE + i * MARKERS_PER_PEER + k)


def is_marker(ch):
    return MARKER_BASE <= ord(ch) < MARKER_BASE + HOSTS * PEERS_PER_HOST * MARKERS_PER_PEER


def log(text):
    print(f'[{time.strftime("%H:%M:%S")}] {text}', file=sys.stderr, flush=True)


class Results:
    def __init__(self):
        self.items = []     # (name, ok, [comment lines])

    def check(self, name, ok, *details):
        self.items.append((name, bool(ok), [d for d in details if d]))
        log(f'{"ok  " if ok else "FAIL"} {name}')
        return bool(ok)

    def print_tap(self, comments):
        print(f'1..{len(self.items)}')
        for i, (name, ok, details) in enumerate(self.items, 1):
            print(f'{"ok" if ok else "not ok"} {i} - {name}')
            for d in details:
                for line in str(d).splitlines()[:40]:
                    print(f'# {line}')
        for line in comments:
            print(f'# {line}')
        sys.stdout.flush()


# ---- one peer, its editing and what it was told ----------------------------

class Slot:
    """A peer, the lock that keeps its editor and the fault injector apart,
    and what it did."""

    def __init__(self, index, host, profile):
        self.index = index
        self.host = host
        self.profile = profile
        self.name = f'P{index:02d}'
        self.lock = threading.Lock()
        self.peer = None
        self.killing = False      # the fault injector killed it on purpose
        self.crashes = []
        self.errors = []          # "error" events: input refused from a peer
        self.rss = []             # (pid, monotonic time, kB, sockets)
        self.started_at = {}      # pid -> monotonic time
        self.ops = {'insert': 0, 'delete': 0, 'set': 0}
        self.refused = 0          # picked from a stale view, rightly refused
        self.cut = 0              # sent, no reply: the peer was killed
        self.bad = []

    def popen(self, args, **kw):
        # its own group id, so that nftables can take this one peer offline.
        # (Changing it clears the death signal the sandbox sets, and that is
        # as well: it would come when the thread that started the peer ends,
        # and restarts come from the fault injector's. A peer ends anyway
        # when its stdin closes, as it does when this test dies.)
        return self.host.popen(['setpriv', f'--regid={GID_BASE + self.index}', '--clear-groups', '--',
                                *args], **kw)

    def alive(self):
        return self.peer is not None and self.peer.proc.poll() is None

    def note_start(self):
        self.started_at[self.peer.proc.pid] = time.monotonic()


def send_batch(p, cmds):
    """Writes several commands in one go (the peer runs them one after the
    other with nothing from the network in between) -> their ids."""
    ids, lines = [], []
    for what, a in cmds:
        p._n += 1
        ids.append(p._n)
        lines.append(json.dumps(dict(a, cmd=what, id=p._n)))
    try:
        p.send_raw('\n'.join(lines) + '\n')
    except OSError as e:
        err = PeerError(f'{p.name}: cannot write: {e}')
        err.partial = {}
        raise err from None
    return ids


def collect(slot, ids, timeout=60):
    """The replies to ids; raises PeerError with .partial if the peer goes."""
    p = slot.peer
    replies = {}
    deadline = time.monotonic() + timeout
    try:
        while len(replies) < len(ids):
            msg = p._next(deadline)
            if 'event' in msg:
                if msg['event'] == 'error':
                    slot.errors.append(msg)
                continue
            if msg.get('id') in ids:
                replies[msg['id']] = msg
    except PeerError as e:
        e.partial = replies
        raise
    return [replies[i] for i in ids]


class Ledger:
    """Every marker and field value sent, and what became of it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inserted = {}        # marker -> note: insert answered ok
        self.maybe_inserted = {}  # marker -> note: insert cut short
        self.deleted = set()      # markers a delete answered ok covered
        self.maybe_deleted = set()
        self.values = {}          # (note, field) -> JSON texts set (ok or cut)


def value_key(v):
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def edit_once(slot, rng, notes, known, ledger, next_marker):
    """One random edit, sent with a dump before and after it."""
    p = slot.peer
    note = rng.choice(notes)
    r = rng.random()
    if r < 0.15:
        field = rng.choice(FIELDS)
        value = {'title': lambda: rng.choice(TITLES),
                 'tags': lambda: sorted(rng.sample(TAGS, rng.randint(0, 3))),
                 'pinned': lambda: rng.random() < 0.5,
                 'colour': lambda: rng.choice(COLOURS)}[field]()
        with ledger.lock:
            ledger.values.setdefault((note, field), set()).add(value_key(value))
        ids = send_batch(p, [('set', {'note': note, 'field': field, 'value': value})])
        try:
            rep, = collect(slot, ids)
        except PeerError as e:
            if not e.partial:
                slot.cut += 1
            raise
        if rep.get('ok'):
            slot.ops['set'] += 1
        else:
            slot.bad.append(f'set {field} {value_key(value)} refused: {rep.get("error")}')
        return
    cur = known.get(note, '')
    if cur and rng.random() < (0.3 if len(cur) < 300 else 0.6):
        pos = rng.randrange(len(cur))
        op = ('delete', {'note': note, 'pos': pos, 'len': rng.randint(1, min(8, len(cur) - pos))})
    else:
        pos = rng.randint(0, len(cur))
        m = next_marker() if rng.random() < 0.3 else None
        text = m if m else ''.join(rng.choice(FILLER) for _ in range(rng.randint(1, 8)))
        op = ('insert', {'note': note, 'pos': pos, 'text': text})
        if m:
            with ledger.lock:
                ledger.maybe_inserted[m] = note
    a = op[1]
    ids = send_batch(p, [('dump', {'note': note}), op, ('dump', {'note': note})])
    try:
        pre, rep, post = collect(slot, ids)
    except PeerError as e:
        # killed: the edit may have been committed or not
        if ids[1] not in e.partial:
            slot.cut += 1
            before = e.partial.get(ids[0], {}).get('text')
            if op[0] == 'delete':
                with ledger.lock:
                    span = before[a['pos']:a['pos'] + a['len']] if before is not None else ''
                    # without the dump, any marker of that note might be in it
                    ledger.maybe_deleted.update(ch for ch in (span if before is not None else cur)
                                                if is_marker(ch))
        elif e.partial[ids[1]].get('ok'):
            record_done(slot, op, e.partial[ids[0]]['text'], ledger)
        raise
    before, after = pre['text'], post['text']
    fits, want = edit_outcome(op[0], a, before)
    if rep.get('ok') != fits:
        slot.bad.append(f'{op[0]} {json.dumps(a, ensure_ascii=False)} on a text of {len(before)} '
                        f'code points replied {json.dumps(rep, ensure_ascii=False)}')
    elif not fits:
        slot.refused += 1
    elif after != want:
        slot.bad.append(f'{op[0]} {json.dumps(a, ensure_ascii=False)} made {after!r}, not {want!r}')
    if rep.get('ok'):
        record_done(slot, op, before, ledger)
    elif op[0] == 'insert':
        with ledger.lock:
            ledger.maybe_inserted.pop(a['text'], None)   # refused: not in
    known[note] = after


def record_done(slot, op, before, ledger):
    kind, a = op
    slot.ops[kind] += 1
    with ledger.lock:
        if kind == 'insert' and len(a['text']) == 1 and is_marker(a['text']):
            ledger.inserted[a['text']] = a['note']
            ledger.maybe_inserted.pop(a['text'], None)
        elif kind == 'delete':
            ledger.deleted.update(ch for ch in before[a['pos']:a['pos'] + a['len']] if is_marker(ch))


def exited(proc):
    try:
        proc.wait(5)
        return True
    except subprocess.TimeoutExpired:
        return False


def editor(slot, seed, notes, ledger, stop):
    rng = random.Random(seed * 1000 + slot.index)
    known = {}
    counter = iter(range(MARKERS_PER_PEER))

    def next_marker():
        k = next(counter, None)
        return marker(slot.index, k) if k is not None else None

    while not stop.is_set():
        if stop.wait(rng.expovariate(1 / EDIT_GAP_S)):
            break
        if not slot.lock.acquire(timeout=1):
            continue
        try:
            if not slot.alive():
                continue
            edit_once(slot, rng, notes, known, ledger, next_marker)
        except PeerError as e:
            if slot.killing:
                pass    # the fault injector killed it, and restarts it
            elif exited(slot.peer.proc):
                slot.crashes.append(f'exited ({slot.peer.proc.returncode}) while editing: '
                                    f'{slot.peer.stderr_text()[-800:]}')
            else:
                slot.bad.append(f'no reply: {e}')
        except Exception:  # noqa: BLE001 - a bug here must show, not hang
            slot.bad.append(traceback.format_exc())
            return
        finally:
            slot.peer.events.clear()
            slot.lock.release()


# ---- faults ---------------------------------------------------------------

LOSS_TABLE = '''table inet tandem_soak_loss {
  chain out {
    type filter hook output priority 0;
    oifname "eth0" numgen random mod 10 == 0 drop
  }
}
'''


def offline_table(gid, port):
    # What the peer sends (its own connections and its answers) is dropped;
    # connections to its port never get in.
    return f'''table inet tandem_soak_offline {{
  chain out {{
    type filter hook output priority 0;
    meta skgid {gid} drop
  }}
  chain in {{
    type filter hook input priority 0;
    tcp dport {port} drop
  }}
}}
'''


class Faults:
    def __init__(self, sandbox, slots, rng, duration, counts):
        self.sb = sandbox
        self.slots = slots
        self.rng = rng
        self.duration = duration
        self.counts = counts
        self.unplugged = {}       # host -> monotonic time to plug it back
        self.loss_until = None
        self.offline = None

    def restart(self, slot):
        try:
            slot.peer.restart()
            slot.note_start()
        except PeerError as e:
            slot.crashes.append(f'restart failed: {e}')

    def kill_and_restart(self, slot, stop):
        # mid-edit when it can be: while the editor holds the lock it is
        # waiting for replies (a few ms out of its EDIT_GAP_S)
        deadline = time.monotonic() + 3 * EDIT_GAP_S
        while not slot.lock.locked() and time.monotonic() < deadline:
            time.sleep(0.001)
        slot.killing = True
        slot.peer.kill()
        self.counts['kills'] += 1
        with slot.lock:
            stop.wait(self.rng.uniform(0.5, 3))
            self.restart(slot)
            slot.killing = False

    def set_loss(self, on):
        for h in self.sb.hosts:
            h.nft(LOSS_TABLE if on else 'delete table inet tandem_soak_loss\n')

    def set_offline(self, slot, on):
        gid = GID_BASE + slot.index
        slot.host.nft(offline_table(gid, slot.peer.port) if on else
                      'delete table inet tandem_soak_offline\n')

    def run(self, stop, t0):
        """Injects faults until stop; everything is healed when it returns."""
        d = self.duration
        offline_from, offline_to = t0 + 0.15 * d, t0 + 0.65 * d
        # never killed: the offline one and one per host keeps the
        # notebook's history on every host
        killable = [s for s in self.slots if s is not self.offline and s.index % PEERS_PER_HOST != 0]
        next_fault = t0 + 0.05 * d
        try:
            while not stop.wait(0.2):
                now = time.monotonic()
                if self.counts['offline'] == 0 and now >= offline_from:
                    self.set_offline(self.offline, True)
                    self.counts['offline'] = 1
                    log(f'{self.offline.name} offline')
                if self.counts['offline'] == 1 and now >= offline_to:
                    self.set_offline(self.offline, False)
                    self.counts['offline'] = 2
                    log(f'{self.offline.name} back online')
                for h, until in list(self.unplugged.items()):
                    if now >= until:
                        h.plug()
                        del self.unplugged[h]
                        log(f'host {h.name} plugged back')
                if self.loss_until is not None and now >= self.loss_until:
                    self.set_loss(False)
                    self.loss_until = None
                    log('loss off')
                if now > t0 + 0.9 * d and not self.unplugged:
                    # the end comes in the middle of a partition with loss,
                    # so that the heal is timed from a broken network
                    h = self.rng.choice(self.sb.hosts)
                    h.unplug()
                    self.unplugged[h] = float('inf')
                    self.counts['partitions'] += 1
                    if self.loss_until is None:
                        self.set_loss(True)
                        self.loss_until = float('inf')
                        self.counts['loss_windows'] += 1
                    log(f'host {h.name} unplugged, loss on, until the end')
                if now < next_fault or now > t0 + 0.9 * d:
                    continue
                next_fault = now + self.rng.uniform(0.01, 0.05) * d
                r = self.rng.random()
                if r < 0.45:
                    slot = self.rng.choice(killable)
                    log(f'SIGKILL {slot.name}')
                    self.kill_and_restart(slot, stop)
                elif r < 0.75:
                    free = [h for h in self.sb.hosts if h not in self.unplugged]
                    if len(self.unplugged) < 2 and free:
                        h = self.rng.choice(free)
                        h.unplug()
                        self.unplugged[h] = now + self.rng.uniform(0.04, 0.15) * d
                        self.counts['partitions'] += 1
                        log(f'host {h.name} unplugged')
                elif self.loss_until is None:
                    self.set_loss(True)
                    self.loss_until = now + self.rng.uniform(0.05, 0.2) * d
                    self.counts['loss_windows'] += 1
                    log('loss 10% on')
        finally:
            self.heal()

    def heal(self):
        if aborting.is_set():
            return
        for h in list(self.unplugged):
            h.plug()
        self.unplugged.clear()
        if self.loss_until is not None:
            self.set_loss(False)
            self.loss_until = None
        if self.counts['offline'] == 1:
            self.set_offline(self.offline, False)
            self.counts['offline'] = 2
        for s in self.slots:
            with s.lock:
                if not s.alive():
                    self.restart(s)


def count_sockets(pid):
    n = 0
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            n += os.readlink(f'/proc/{pid}/fd/{fd}').startswith('socket:')
        except OSError:
            pass
    return n


def sample_rss(slots, stop):
    """VmRSS and the number of sockets of every live peer process."""
    while not stop.wait(RSS_SAMPLE_S):
        for s in slots:
            p = s.peer
            if p is None or p.proc.poll() is not None:
                continue
            try:
                with open(f'/proc/{p.proc.pid}/comm') as f:
                    if f.read().strip() != 'tandem-peer':
                        continue     # still on its way through ip and setpriv
                with open(f'/proc/{p.proc.pid}/status') as f:
                    kb = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
                socks = count_sockets(p.proc.pid)
            except (OSError, StopIteration):
                continue
            s.rss.append((p.proc.pid, time.monotonic(), kb, socks))


# ---- the end state --------------------------------------------------------

def dump_all(slots, notes):
    """Every note on every peer -> {slot index: {note: state tuple}}."""
    sent = [(s, send_batch(s.peer, [('dump', {'note': n}) for n in notes])) for s in slots]
    out = {}
    for s, ids in sent:
        replies = collect(s, ids)
        s.peer.events.clear()
        out[s.index] = {n: r for n, r in zip(notes, replies)}
    return out


def state_of(reply):
    if not reply.get('ok'):
        return ('error', reply.get('error'))
    return (reply['text'], value_key(reply['fields']), value_key(reply['conflicts']),
            value_key(reply['version']))


def differences(dumps, notes):
    diffs = []
    for n in notes:
        states = {}
        for i, d in dumps.items():
            states.setdefault(state_of(d[n]), []).append(f'P{i:02d}')
        if len(states) > 1:
            diffs.append((n, states))
    return diffs


def describe_differences(diffs):
    lines = []
    for n, states in diffs[:3]:
        lines.append(f'note {n}: {len(states)} different states')
        for st, who in states.items():
            text = st[0] if isinstance(st[0], str) else str(st)
            lines.append(f'  {",".join(who)}: {len(text)} code points, fields {st[1] if len(st) > 1 else ""}, '
                         f'version {st[3] if len(st) > 3 else ""}')
    return '\n'.join(lines)


def check_markers(res, dumps, notes, ledger):
    present = {}         # marker -> [(peer, note, count)]
    problems = []
    for i, d in dumps.items():
        for n in notes:
            text = d[n].get('text') or ''
            counts = {}
            for ch in text:
                if is_marker(ch):
                    counts[ch] = counts.get(ch, 0) + 1
            for ch, c in counts.items():
                present.setdefault(ch, []).append((i, n, c))
    n_peers = len(dumps)
    committed = {m: n for m, n in ledger.inserted.items()}
    must_live = {m: n for m, n in committed.items()
                 if m not in ledger.deleted and m not in ledger.maybe_deleted}
    for m, n in must_live.items():
        where = present.get(m, [])
        ok = len(where) == n_peers and all(note == n and c == 1 for _, note, c in where)
        if not ok:
            problems.append(f'U+{ord(m):05X} (committed in note {n}, never deleted): '
                            f'on {len(where)} of {n_peers} peers: {where[:4]}')
    for m in ledger.deleted:
        if m in present:
            problems.append(f'U+{ord(m):05X} deleted with an ok reply, still on {present[m][:4]}')
    for m, where in present.items():
        known = committed.get(m) or ledger.maybe_inserted.get(m)
        if known is None:
            problems.append(f'U+{ord(m):05X} is there ({where[:4]}) but nobody inserted it')
        elif any(c > 1 or note != known for _, note, c in where):
            problems.append(f'U+{ord(m):05X} is there twice or in another note: {where[:4]}')
    cut_present = sum(1 for m in ledger.maybe_inserted if m in present)
    res.check('every committed marker is on every peer exactly once, and every deleted one is gone',
              not problems,
              f'{len(committed)} markers committed, {len(must_live)} of them never deleted, '
              f'{len(ledger.deleted)} deleted by an ok delete, {len(ledger.maybe_deleted)} maybe deleted '
              f'(delete cut short), {len(ledger.maybe_inserted)} inserts cut short '
              f'({cut_present} of them made it)',
              '\n'.join(problems[:20]))


def check_fields(res, dumps, notes, ledger, titles):
    problems = []
    for i, d in dumps.items():
        for n in notes:
            fields = d[n].get('fields') or {}
            conflicts = d[n].get('conflicts') or {}
            for f in FIELDS:
                allowed = set(ledger.values.get((n, f), set()))
                if f == 'title':
                    allowed.add(value_key(titles[n]))
                vals = [fields[f]] if f in fields else []
                vals += conflicts.get(f, [])
                for v in vals:
                    if v is None:
                        continue
                    if f == 'tags':
                        # a set: every tag was in some set's value
                        every = {t for a in allowed for t in json.loads(a)}
                        if not set(v) <= every:
                            problems.append(f'P{i:02d} {n} tags {v}: not all set by anybody')
                    elif value_key(v) not in allowed:
                        problems.append(f'P{i:02d} {n} {f} = {value_key(v)}: nobody set it')
    res.check('every field holds a value some peer set', not problems, '\n'.join(problems[:10]))


def rss_report(res, slots, edit_start, warmup_s, n_runs):
    """Judges each peer's last process by its VmRSS from the end of its
    warm-up (the first warmup_s of editing, or of its life if it was
    restarted) to the end, less what the most connections it held meanwhile
    beyond those it had then cost (RSS_PER_CONNECTION_KB each): the heap
    keeps the room they took after they close."""
    bound_kb = RSS_SLACK_MB * 1024 + RSS_PER_RUN_KB * n_runs
    lines, over = [], []
    judged = 0
    for s in slots:
        last_pid = s.rss[-1][0] if s.rss else None
        mine = [(t, kb, n) for pid, t, kb, n in s.rss if pid == last_pid]
        if not mine:
            over.append(f'{s.name}: no samples')
            continue
        began = s.started_at.get(last_pid, mine[0][0])
        after = [m for m in mine if m[0] >= max(began, edit_start) + warmup_s]
        # "at start": a second in, past the exec
        first_kb = next((m[1] for m in mine if m[0] >= began + 1), mine[0][1])
        end_kb, peak = mine[-1][1], max(m[1] for m in mine)
        if len(after) < 2:
            lines.append(f'{s.name} (restarted late): RSS {first_kb} -> {end_kb} kB, too short a life to judge')
            continue
        judged += 1
        (t_a, kb_a, n_a), (t_z, kb_z, n_z) = after[0], after[-1]
        growth = kb_z - kb_a
        most = max(m[2] for m in after)
        explained = RSS_PER_CONNECTION_KB * max(0, most - n_a)
        lines.append(f'{s.name}: RSS {first_kb} kB at start, {kb_a} after warm-up, {kb_z} at the end '
                     f'(peak {peak}): {growth:+d} kB over {t_z - t_a:.0f} s; sockets {n_a} -> {n_z} '
                     f'(at most {most})')
        if growth - explained > bound_kb:
            over.append(f'{s.name} grew {growth} kB, {growth - explained} kB beyond its new connections')
    res.check(f'no peer process grows by more than {bound_kb // 1024} MB after its {warmup_s:.0f} s warm-up '
              f'({RSS_SLACK_MB} MB + {RSS_PER_RUN_KB} kB per edit made, beyond '
              f'{RSS_PER_CONNECTION_KB} kB per connection more than after the warm-up)',
              # at least those never killed: one per host and the offline one
              not over and judged >= HOSTS + 1,
              f'{judged} of {len(slots)} processes lived long enough to judge',
              '\n'.join(over), '\n'.join(lines))


# ---- the test ---------------------------------------------------------------

def main():
    program = os.path.abspath(sys.argv[1])
    duration, seed = 60.0, int(time.time())
    args = sys.argv[2:]
    while args:
        if args[0] == '--duration' and len(args) > 1:
            duration = float(args[1])
        elif args[0] == '--seed' and len(args) > 1:
            seed = int(args[1])
        else:
            sys.exit(f'run-soak.py: unexpected argument {args[0]}')
        args = args[2:]
    for prog in ('nft', 'setpriv'):
        if not shutil.which(prog, path=avahi_sandbox.SBIN_PATH):
            avahi_sandbox.print_tap_skip(f'{prog} is not installed')
            return 0
    try:
        sandbox = avahi_sandbox.Sandbox(HOSTS)
    except avahi_sandbox.Skip as e:
        avahi_sandbox.print_tap_skip(e)
        return 0
    res = Results()
    comments = [f'seed {seed}, duration {duration:.0f} s']
    log(f'soak: seed {seed}, {duration:.0f} s')
    proxies = []
    stop = threading.Event()
    threads = []
    try:
        with sandbox as sb:
            try:
                run(program, sb, duration, seed, res, comments, proxies, stop, threads)
            finally:
                # our threads stop touching the sandbox before it goes
                aborting.set()
                stop.set()
                for t in threads:
                    t.join(5)
                for p in proxies:
                    p.close()
    except avahi_sandbox.Skip as e:
        avahi_sandbox.print_tap_skip(e)
        return 0
    except Exception:  # noqa: BLE001 - reported as a failure, after cleaning up
        res.check('the soak ran to its end', False, traceback.format_exc())
    res.print_tap(comments)
    return 0 if all(ok for _, ok, _ in res.items) else 1


def run(program, sb, duration, seed, res, comments, proxies, stop, threads):
    rng = random.Random(seed)
    env = {'G_DEBUG': 'fatal-criticals'}
    slots = [Slot(i, sb.hosts[i // PEERS_PER_HOST], str(sb.dir / f'peer{i:02d}'))
             for i in range(HOSTS * PEERS_PER_HOST)]
    # The proxied peers: no discovery; each reaches two peers on other
    # hosts through a delaying proxy in its own namespace.
    proxied = {slots[11]: [slots[0], slots[6]], slots[15]: [slots[1], slots[9]]}
    by_host = {}
    for s in slots:
        by_host.setdefault(s.host, []).append(s)
    offline = rng.choice([s for s in slots if s not in proxied and s.index % PEERS_PER_HOST != 0
                          and all(s not in t for t in proxied.values())])

    rss_stop = threading.Event()
    threads.append(threading.Thread(target=sample_rss, args=(slots, rss_stop), daemon=True))
    threads[0].start()
    t_setup = time.monotonic()
    try:
        for s in slots:
            if s in proxied:
                continue
            s.peer = Peer(program, s.profile, name=s.name, discovery=True, env=env, popen=s.popen)
            s.note_start()
        for s, targets in proxied.items():
            connect = []
            for t in targets:
                listener = s.host.socket()
                listener.bind(('127.0.0.1', 0))
                proxy = DelayProxy(listener, (t.host.address, t.peer.port), delay=DELAY_S,
                                   make_socket=s.host.socket)
                proxies.append(proxy)
                connect.append(f'127.0.0.1:{proxy.port}')
            s.peer = Peer(program, s.profile, name=s.name, discovery=False, connect=connect,
                          env=env, popen=s.popen)
            s.note_start()
    except PeerError as e:
        res.check('16 peers start in 4 namespaces', False, str(e))
        return
    res.check('16 peers start in 4 namespaces', True, f'{time.monotonic() - t_setup:.1f} s')

    first = slots[0].peer
    nb = first.cmd('create-notebook', name='Soak')
    notes, titles = [], {}
    for k in range(NOTES):
        title = f'Note {k + 1}'
        n = first.cmd('create-note', notebook=nb['notebook'], title=title)['note']
        notes.append(n)
        titles[n] = title
    for s in slots[1:]:
        s.peer.cmd('join', invite=nb['invite'])

    def everyone_has_the_notes():
        missing = []
        for s in slots:
            got = s.peer.cmd('notes', notebook=nb['notebook'], check=False)
            s.peer.events.clear()
            if len(got.get('notes', [])) < NOTES:
                missing.append(f'{s.name}: {len(got.get("notes", []))}')
        return missing

    deadline = time.monotonic() + 60
    while (missing := everyone_has_the_notes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not res.check('every peer joins and gets the 20 notes (mDNS and the proxies)', not missing,
                     f'{time.monotonic() - t_setup:.1f} s after the first start',
                     f'still missing: {missing}' if missing else ''):
        return

    # ---- edits and faults ----
    ledger = Ledger()
    counts = {'kills': 0, 'partitions': 0, 'loss_windows': 0, 'offline': 0}
    faults = Faults(sb, slots, random.Random(seed + 1), duration, counts)
    faults.offline = offline
    for s in slots:
        threads.append(threading.Thread(target=editor, args=(s, seed, notes, ledger, stop), daemon=True))
    for t in threads[1:]:
        t.start()
    t0 = time.monotonic()
    fault_thread = threading.Thread(target=faults.run, args=(stop, t0), daemon=True)
    fault_thread.start()
    threads.append(fault_thread)
    log(f'editing for {duration:.0f} s; {offline.name} will go offline; '
        f'{", ".join(s.name for s in proxied)} are behind proxies')
    stop.wait(duration)
    stop.set()
    for t in threads[1:-1]:
        t.join(60)
    fault_thread.join(120)     # heals everything on its way out
    t_heal = time.monotonic()
    edit_s = t_heal - t0
    n_ops = sum(sum(s.ops.values()) for s in slots)
    log(f'healed; {n_ops} edits')

    # ---- convergence ----
    dumps, diffs = None, None
    while True:
        try:
            dumps = dump_all(slots, notes)
        except PeerError as e:
            res.check('every peer answers after the heal', False, str(e))
            return
        diffs = differences(dumps, notes)
        if not diffs or time.monotonic() - t_heal > CONVERGE_TIMEOUT_S:
            break
        time.sleep(1)
    converge_s = time.monotonic() - t_heal
    res.check('after the heal every peer has the same text, fields, conflicts and version of every note',
              not diffs, f'converged {converge_s:.1f} s after the heal' if not diffs else
              f'not converged {converge_s:.0f} s after the heal', describe_differences(diffs or []))
    comments.append(f'time to converge after the heal: {converge_s:.1f} s')

    check_markers(res, dumps, notes, ledger)
    check_fields(res, dumps, notes, ledger, titles)
    text_sizes = [len(dumps[0][n].get('text') or '') for n in notes]
    comments.append(f'final notes: {sum(text_sizes)} code points in all, '
                    f'{min(text_sizes)} to {max(text_sizes)} per note')

    # wait-synced on everyone at once
    sent = [(s, send_batch(s.peer, [('wait-synced', {'timeout': 30, 'peers': 1})])) for s in slots]
    not_synced = []
    for s, ids in sent:
        rep, = collect(s, ids, timeout=40)
        if not rep.get('ok'):
            not_synced.append(f'{s.name}: {rep.get("error")}')
    res.check('every peer says it is synced (wait-synced)', not not_synced, '\n'.join(not_synced))

    bad = [f'{s.name}: {b}' for s in slots for b in s.bad]
    refused = sum(s.refused for s in slots)
    res.check('each edit did on its own peer what it asked (dump before and after)', not bad,
              f'{refused} edits picked from a stale view were refused, rightly', '\n'.join(bad[:10]))

    errors = [f'{s.name}: {e}' for s in slots for e in s.errors]
    res.check('no peer refused input from another ("error" events)', not errors, '\n'.join(errors[:10]))

    rss_stop.set()
    threads[0].join(10)
    per_kind = {k: sum(s.ops[k] for s in slots) for k in ('insert', 'delete', 'set')}
    comments.append(f'edits answered ok: {n_ops} in {edit_s:.0f} s ({n_ops / edit_s:.1f}/s): '
                    f'{per_kind["insert"]} inserts, {per_kind["delete"]} deletes, {per_kind["set"]} field sets; '
                    f'{sum(s.cut for s in slots)} cut short by SIGKILL')
    comments.append(f'faults: {counts["kills"]} SIGKILLs, {counts["partitions"]} partitions, '
                    f'{counts["loss_windows"]} windows of 10% loss, {offline.name} offline for '
                    f'{0.5 * duration:.0f} s, {sum(p.connections for p in proxies)} connections through '
                    f'the 200 ms proxies carrying {sum(p.bytes_forwarded for p in proxies)} bytes')
    res.check('every kind of fault happened',
              counts['kills'] >= 1 and counts['partitions'] >= 1 and counts['loss_windows'] >= 1
              and counts['offline'] == 2 and all(p.bytes_forwarded > 0 for p in proxies),
              comments[-1])
    res.check('every peer made edits', all(sum(s.ops.values()) > 0 for s in slots),
              comments[-2])
    rss_report(res, slots, t0, min(60.0, duration / 3), n_ops)

    # every process still alive (only ours were killed), then a clean quit
    crashed = [f'{s.name}: {c}' for s in slots for c in s.crashes]
    for s in slots:
        if not s.alive():
            crashed.append(f'{s.name} exited ({s.peer.proc.poll()}): {s.peer.stderr_text()[-500:]}')
        else:
            s.peer.quit()
            if s.peer.proc.returncode != 0:
                crashed.append(f'{s.name} quit with {s.peer.proc.returncode}: {s.peer.stderr_text()[-500:]}')
    res.check('no peer died but those we killed, and every one quits cleanly', not crashed,
              '\n'.join(crashed))
    unverified = []
    for s in slots:
        r = s.host.run([program, 'verify', '--profile', s.profile], timeout=60)
        if r.returncode != 0:
            unverified.append(f'{s.name}: {(r.stdout + r.stderr).strip()[-500:]}')
    res.check('every profile passes tandem-peer verify', not unverified, '\n'.join(unverified))


if __name__ == '__main__':
    sys.exit(main())
