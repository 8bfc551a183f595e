# net_bench.py: the network part of the Tandem benchmark (see bench.py)
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real `tandem-peer run` processes syncing over TLS WebSockets on loopback.

typing_latency(exe, n_peers, workdir)
    n peers in a full mesh (every peer dials every other one: peer 0, the one
    with the lowest id (see start_mesh), makes a shared notebook and a note,
    the others join with its invite and then `connect` to each other;
    --no-discovery). Each peer types one character
    every 1/rate s (an `insert` at position 0 of the shared note, the peers'
    phases spread evenly) for warmup + seconds. Latency of one keystroke at
    one other peer = the `remote-change` event of that note from that author
    read from the receiver's stdout, minus the moment the `insert` line was
    written to the typist's stdin, both by time.monotonic_ns in this process.
    One reader thread per peer reads and timestamps every line as it comes
    (buffered, not a byte at a time), so no pipe waits on the driver.
    The driver's own cost is measured the same way: the round trip of `info`
    (write the command, read the reply) on idle peers and, interleaved with the
    typing, on loaded ones.  Keystrokes of the warm-up are not counted.
    Afterwards every peer must show the same text with every keystroke
    (settle()). Also kept: the typist's `insert` until its reply (the edit
    saved and sent), the peers' CPU per keystroke, their CPU when idle, and
    the CPU that other processes on the machine used meanwhile.
fill_history(exe, trace, cache_dir)
    A profile whose shared notebook holds one note made of the whole trace,
    typed through `run` (one `insert`/`delete` command per patch, sent in
    pipelined batches, typed in /dev/shm where there is one): minutes, so it
    is kept in cache_dir, keyed by the peer binary's and the trace's SHA-256,
    and reused by later runs.
catch_up(exe, filled, meta, workdir, end)
    A copy of that profile (peer A) and a fresh peer B that was never there.
    B runs `join` with A's invite; the time is from writing that `join` to
    B's last `remote-change` of the note (each one comes after B saved the
    batch), checked afterwards by a dump of B (full text, A's version); A's
    `wait-synced` (B acknowledged everything) is reported too. The invite's
    loopback address leads to a byte-counting TCP relay in front of A (A
    listens on another port), so the bytes are the TCP payload both ways:
    TLS handshake, HTTP upgrade, the sync protocol, compressed by
    permessage-deflate and framed by TLS, exactly what crossed.
ws_echo_floor(exe)
    Runs bench-ws-echo (ws-echo.c) and returns its JSON.
fsync_probe(folder)
    4 KB write + fdatasync on the profiles' file system, the wait at the end
    of every commit (Tandem's store runs SQLite with synchronous=FULL).
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "net"))
from tandem_peers import Peer, PeerError  # noqa: E402

CACHE_FORMAT = 2


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest rank; None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, -(-len(s) * p // 100))
    return s[min(len(s), int(k)) - 1]


class TimedPeer(Peer):
    """A Peer whose reader thread stamps every line with time.monotonic_ns()
    the moment it is read (as "_t"), reading in blocks."""

    @staticmethod
    def _read(proc, q):
        for line in io.BufferedReader(proc.stdout, 1 << 16):
            t = time.monotonic_ns()
            try:
                msg = json.loads(line)
            except ValueError:
                msg = {"event": "unparsable", "line": line.decode(errors="replace")}
            msg["_t"] = t
            q.put(msg)
        q.put(None)

    def write_line(self, line):
        """Writes one command line; returns the monotonic_ns just before."""
        t = time.monotonic_ns()
        self.proc.stdin.write(line)
        return t

    def drain_until(self, ident, timeout=60):
        """Reads until the reply with id @ident; returns (that reply, the
        other replies by id). Events go to .events."""
        replies = {}
        while True:
            r = self.read_reply(timeout)
            if r.get("id") == ident:
                return r, replies
            replies[r.get("id")] = r


def cpu_seconds(peers):
    """User + system CPU time of the peers' processes so far."""
    total = 0
    for p in peers:
        try:
            with open(f"/proc/{p.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time the whole machine spent busy so far (all cores)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def fsync_probe(folder, count=200):
    """4 KB write + fdatasync, as a commit ends, on the profiles' file
    system: µs per call."""
    path = Path(folder) / "fsync-probe"
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            t = time.monotonic_ns()
            os.fdatasync(fd)
            out.append((time.monotonic_ns() - t) / 1000)
    finally:
        os.close(fd)
        path.unlink()
    return out


def quit_all(peers):
    for p in peers:
        try:
            p.quit()
        except Exception:   # a peer that is gone already is fine here
            p.kill()


def rtt_info(peers, count):
    """Round trips of `info` on idle peers, in µs."""
    out = []
    for k in range(count):
        p = peers[k % len(peers)]
        ident = f"rtt{k}"
        t = p.write_line(json.dumps({"cmd": "info", "id": ident}).encode() + b"\n")
        r, _ = p.drain_until(ident, timeout=10)
        out.append((r["_t"] - t) / 1000)
    return out


def start_mesh(exe, n, workdir, topology="mesh"):
    """n peers sharing one note; returns (peers, note id), the inviter first.

    The inviter is the peer with the lowest id: a joiner dials both addresses
    of the invite (the LAN one and 127.0.0.1), one of the two connections is
    closed as a duplicate, and a joiner whose id is lower than the inviter's
    then re-dials the closed one with no delay, for ever (a busy loop in
    dial(), src/peer/tandem-peer.c). idle_cpu() shows it when it happens."""
    peers = []
    try:
        for i in range(n):
            peers.append(TimedPeer(str(exe), str(workdir / f"p{i}")))
        peers.sort(key=lambda p: p.peer)
        for i, p in enumerate(peers):
            p.name = f"P{i}"
        hub = peers[0]
        nb = hub.cmd("create-notebook", name="Bench")
        note = hub.cmd("create-note", notebook=nb["notebook"], title="typing")["note"]
        for p in peers[1:]:
            p.cmd("join", invite=nb["invite"])
        if topology == "mesh":
            for i in range(1, n):
                for j in range(1, i):
                    peers[i].cmd("connect", host="127.0.0.1", port=peers[j].port)
        # mesh: everyone sees everyone; star: the others see peer 0 only
        need = [n - 1 if topology == "mesh" or i == 0 else 1 for i in range(n)]
        deadline = time.monotonic() + 60
        for i, p in enumerate(peers):
            while True:
                listed = p.cmd("peers")["peers"]
                if len({x["peer"] for x in listed}) == len(listed) == need[i]:
                    break
                if time.monotonic() > deadline:
                    raise PeerError(f"P{i}: {len(listed)} of {need[i]} peers connected")
                time.sleep(0.05)
        for i, p in enumerate(peers):
            p.cmd("wait-synced", timeout=60, peers=need[i])
        for i, p in enumerate(peers):
            while note not in {x["note"] for x in p.cmd("notes")["notes"]}:
                if time.monotonic() > deadline:
                    raise PeerError(f"P{i} never got the note")
                time.sleep(0.05)
        return peers, note
    except BaseException:
        quit_all(peers)
        raise


def idle_cpu(peers, seconds=1.0):
    """Cores the peers keep busy while nothing happens (should be ~0)."""
    c0 = cpu_seconds(peers)
    time.sleep(seconds)
    c1 = cpu_seconds(peers)
    return None if c0 is None or c1 is None else (c1 - c0) / seconds


def settle(peers, note, length, timeout=60):
    """Dumps every peer until all have the same version and text of @length
    code points; returns (dumps, the replies read meanwhile per peer, ok?).

    This checks the outcome itself rather than `wait-synced` (which, before
    commit 6655df3, never answered on a peer that had received edits)."""
    replies = [{} for _ in peers]
    deadline = time.monotonic() + timeout
    for rnd in range(1 << 30):
        dumps = []
        for i, p in enumerate(peers):
            ident = f"settle{rnd}"
            p.send_raw(json.dumps({"cmd": "dump", "note": note, "id": ident}))
            d, r = p.drain_until(ident, timeout=timeout)
            replies[i].update(r)
            dumps.append(d)
        ok = (all(d["version"] == dumps[0]["version"] for d in dumps)
              and len({d["text"] for d in dumps}) == 1 and len(dumps[0]["text"]) == length)
        if ok or time.monotonic() > deadline:
            return dumps, replies, ok
        time.sleep(0.05)


def typing_latency(exe, n, workdir, seconds=10.0, rate=20.0, warmup=1.0, topology="mesh"):
    """See the module's docstring. Returns a dict of results (latencies in µs)."""
    peers, note = start_mesh(exe, n, workdir, topology)
    time.sleep(1)   # the first "check" exchanges of a new mesh are over
    idle = idle_cpu(peers)
    old_switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)   # reader threads wake at once
    try:
        idle_rtt = rtt_info(peers, 50 * n)
        for p in peers:
            p.cmd("wait-synced", timeout=30)
            p.events.clear()

        interval = 1.0 / rate
        per_peer = int(round((seconds + warmup) * rate))
        n_warm = int(round(warmup * rate))
        # (when, peer, k, line): one insert per peer every interval, phases spread
        schedule = []
        for i in range(n):
            for k in range(per_peer):
                line = json.dumps({"cmd": "insert", "note": note, "pos": 0,
                                   "text": chr(ord("a") + i % 26), "id": f"k{i}-{k}"})
                schedule.append((k * interval + i * interval / n, i, k, line.encode() + b"\n"))
        # an `info` probe every ~97 ms to some peer: the driver's cost under load
        probe_every = 0.097
        for m in range(int((seconds + warmup) / probe_every)):
            i = m % n
            line = json.dumps({"cmd": "info", "id": f"probe{m}"})
            schedule.append((m * probe_every + 0.013, i, -1 - m, line.encode() + b"\n"))
        schedule.sort(key=lambda s: s[0])

        sent = [[None] * per_peer for _ in range(n)]
        cpu0, wall0 = cpu_seconds(peers), time.monotonic()
        busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
        probes = {}
        late = []
        t0 = time.monotonic() + 0.05
        for when, i, k, line in schedule:
            delay = t0 + when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                late.append(-delay)
            t = peers[i].write_line(line)
            if k >= 0:
                sent[i][k] = t
            else:
                probes[f"probe{-1 - k}"] = (i, t)

        cpu1, wall1 = cpu_seconds(peers), time.monotonic()
        busy1, own1 = machine_busy_seconds(), own_cpu_seconds()
        # everything typed has reached everybody when all show the same
        # version with every keystroke
        dumps, replies, converged = settle(peers, note, n * per_peer)
        cpu2 = cpu_seconds(peers)   # with the backlog an overloaded mesh works off
        failed = [r for rs in replies for r in rs.values() if not r.get("ok")]
        if failed:
            raise PeerError(f"a command failed while typing: {failed[0]}")
        loaded_rtt = [(replies[i][ident]["_t"] - t) / 1000 for ident, (i, t) in probes.items()]
        # the typist's side alone: `insert` until its reply, which comes
        # after the edit is saved and sent
        commit = [(replies[i][f"k{i}-{k}"]["_t"] - sent[i][k]) / 1000
                  for i in range(n) for k in range(n_warm, per_peer)]

        # match each keystroke with its remote-change at every other peer
        ids = [p.peer for p in peers]
        latencies, coalesced, missing = [], 0, 0
        for r, p in enumerate(peers):
            for i in range(n):
                if i == r:
                    continue
                got = [e["_t"] for e in p.events
                       if e.get("event") == "remote-change" and e.get("note") == note
                       and e.get("from") == ids[i]]
                if len(got) == per_peer:
                    pairs = zip(sent[i], got)
                else:
                    # a batch held several keystrokes: each one counts until
                    # the first remote-change from its author after it was typed
                    coalesced += per_peer - len(got)
                    pairs, j = [], 0
                    for s in sent[i]:
                        while j < len(got) and got[j] < s:
                            j += 1
                        if j == len(got):
                            missing += 1
                            continue
                        pairs.append((s, got[j]))
                for k, (s, g) in enumerate(pairs):
                    if k >= n_warm:
                        latencies.append((g - s) / 1000)
        return {
            "peers": n, "topology": topology, "seconds": seconds, "rate": rate,
            "keystrokes": n * (per_peer - n_warm), "samples": latencies,
            "coalesced": coalesced, "missing": missing, "converged": converged,
            "final_length": len(dumps[0]["text"]),
            "idle_cpu_cores": idle,
            "idle_rtt": idle_rtt, "loaded_rtt": loaded_rtt, "insert_reply": commit,
            "late_ms_max": max(late) * 1000 if late else 0.0,
            # the peers' CPU: per keystroke until all is applied everywhere
            # (a few dumps included), and cores busy while typing
            "cpu_ms_per_keystroke": ((cpu2 - cpu0) * 1000 / (n * per_peer)
                                     if cpu0 is not None and cpu2 is not None else None),
            "cpu_cores": ((cpu1 - cpu0) / (wall1 - wall0)
                          if cpu0 is not None and cpu1 is not None else None),
            "driver_cores": (own1 - own0) / (wall1 - wall0),
            # whatever else ran on the machine meanwhile (other users' jobs)
            "other_cores": ((busy1 - busy0 - (cpu1 - cpu0) - (own1 - own0)) / (wall1 - wall0)
                            if None not in (busy0, busy1, cpu0, cpu1) else None),
        }
    finally:
        sys.setswitchinterval(old_switch)
        quit_all(peers)


# ---- catch-up ----

def load_patches(trace):
    with gzip.open(trace, "rt", encoding="utf-8") as f:
        data = json.load(f)
    return [p for txn in data["txns"] for p in txn["patches"]], data["endContent"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fill_history(exe, trace, cache_dir, batch=2000):
    """Returns the meta dict of a filled profile in cache_dir/profile (made or
    reused); meta has notebook, note, version, events, fill_s, reused."""
    key = {"format": CACHE_FORMAT, "peer": sha256_file(exe), "trace": sha256_file(trace)}
    meta_file = cache_dir / "meta.json"
    profile = cache_dir / "profile"
    try:
        meta = json.loads(meta_file.read_text())
        if meta.get("key") == key and profile.is_dir():
            return dict(meta, reused=True)
    except (OSError, ValueError):
        pass
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    patches, end = load_patches(trace)
    log(f"typing {len(patches):,} patches of {trace.name} into a profile through `run` "
        "(kept for later runs of the same tandem-peer)")
    # typed where fsync costs nothing when there is such a place (the profile
    # comes out the same), then copied next to the cache's key
    scratch = Path(tempfile.mkdtemp(prefix="tandem-bench-fill-",
                                    dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        a = TimedPeer(str(exe), str(scratch / "profile"), name="A")
        try:
            nb = a.cmd("create-notebook", name="Bench")["notebook"]
            note = a.cmd("create-note", notebook=nb, title=trace.name)["note"]
            lines = []
            for k, (pos, dl, ins) in enumerate(patches):
                if dl:
                    lines.append(json.dumps({"cmd": "delete", "note": note, "pos": pos, "len": dl,
                                             "id": f"d{k}"}))
                if ins:
                    lines.append(json.dumps({"cmd": "insert", "note": note, "pos": pos,
                                             "text": ins, "id": f"i{k}"}))
            start = time.monotonic()
            for s in range(0, len(lines), batch):
                chunk = lines[s:s + batch]
                a.send_raw("\n".join(chunk) + "\n")
                for _ in chunk:
                    r = a.read_reply(timeout=120)
                    if not r.get("ok"):
                        raise PeerError(f"filling the note: {r}")
                if s // batch % 20 == 19:
                    log(f"  {s + len(chunk):,} of {len(lines):,} commands, "
                        f"{time.monotonic() - start:.0f} s")
            fill_s = time.monotonic() - start
            dump = a.cmd("dump", note=note, timeout=60)
            if dump["text"] != end:
                raise PeerError("the filled note's text is not the trace's endContent")
        finally:
            quit_all([a])
        shutil.copytree(scratch / "profile", profile)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    meta = {"key": key, "notebook": nb, "note": note, "version": dump["version"],
            "events": sum(dump["version"].values()), "commands": len(lines), "fill_s": fill_s}
    meta_file.write_text(json.dumps(meta))
    return dict(meta, reused=False)


class CountingRelay:
    """127.0.0.1:port -> 127.0.0.1:target, counting the TCP payload each way."""

    def __init__(self, port):
        self.target = None
        self.up = 0       # client -> server
        self.down = 0     # server -> client
        self.connections = 0
        self._lock = threading.Lock()
        self._socks = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._socks += [client, server]
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()

    def _pump(self, src, dst, way):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                with self._lock:
                    setattr(self, way, getattr(self, way) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self._listener.close()
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass


def catch_up(exe, filled, meta, workdir, end):
    """One catch-up of a fresh peer; returns a dict (times in ms)."""
    a_dir, b_dir = workdir / "a", workdir / "b"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    shutil.copytree(filled, a_dir)
    # A's invite names its port; then A moves to another port and a relay
    # takes the invite's, so B's only way to A is through the relay.
    a = TimedPeer(str(exe), str(a_dir), name="A")
    invite = a.cmd("invite", notebook=meta["notebook"])["invite"]
    invite_port = a.port
    quit_all([a])
    relay = CountingRelay(invite_port)
    peers = []
    try:
        a = TimedPeer(str(exe), str(a_dir), name="A")
        peers.append(a)
        relay.target = a.port
        b = TimedPeer(str(exe), str(b_dir), name="B")
        peers.append(b)
        a.send_raw(json.dumps({"cmd": "wait-synced", "peers": 1, "timeout": 120, "id": "synced"}))
        t0 = b.write_line(json.dumps({"cmd": "join", "invite": invite, "id": "join"}).encode()
                          + b"\n")
        synced, _ = a.drain_until("synced", timeout=150)
        if not synced.get("ok"):
            raise PeerError(f"A: {synced.get('error')}")
        time.sleep(0.1)   # the relay has passed on B's last frames
        up, down = relay.up, relay.down
        dump = b.cmd("dump", note=meta["note"], timeout=60)
        changes = [e["_t"] for e in b.events
                   if e.get("event") == "remote-change" and e.get("note") == meta["note"]]
        connected = [e["_t"] for e in b.events if e.get("event") == "peer-connected"]
        return {
            "ms": (changes[-1] - t0) / 1e6 if changes else None,
            "synced_ms": (synced["_t"] - t0) / 1e6,
            "connected_ms": (connected[0] - t0) / 1e6 if connected else None,
            "first_change_ms": (changes[0] - t0) / 1e6 if changes else None,
            "batches": len(changes),
            "bytes_down": down, "bytes_up": up, "bytes": up + down,
            "connections": relay.connections,
            "matches_end": dump["text"] == end and dump["version"] == meta["version"],
        }
    finally:
        quit_all(peers)
        relay.close()
        shutil.rmtree(workdir, ignore_errors=True)


def ws_echo_floor(exe, count=2000):
    r = subprocess.run([str(exe), "--count", str(count)], capture_output=True, text=True,
                       timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"bench-ws-echo: exit {r.returncode}: "
                           f"{(r.stderr.strip() or 'no output').splitlines()[-1][:200]}")
    return json.loads(lines[-1])
