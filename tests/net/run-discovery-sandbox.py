#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""TandemDiscovery between hosts with their own Avahi daemons (TAP).

usage: run-discovery-sandbox.py TANDEM_DISCOVERY_PROBE
       (TANDEM_PROBE_WRAPPER in the environment, e.g. "valgrind ...", runs
       every probe under it)

Each host is a network namespace with a private system bus and
avahi-daemon (avahi_sandbox.py); tandem-discovery-probe runs TandemDiscovery
inside them. Needs root; skipped otherwise.

Two hosts on a veth pair: a publishes, b finds it with a's address, port
and TXT; a's TXT changes in place; a browser that drops its
TandemDiscovery from inside a signal handler goes quietly; a is stopped with SIGTERM and b reports
it lost within 15 s.

Three hosts on a bridge, IPv4 and IPv6: a dual-stack peer is reported once,
by its IPv4 address; of two peers with the same name (on two hosts, or on
one) one is renamed; a peer on the same host is found and the browser's own
service is not; TXT entries
that are not UTF-8 and services on port 0 are dropped; a publisher whose
daemon restarts (now IPv6 only) says so once and is found again, by its
link-local address with its scope; a browser whose own daemon restarts
reports everything lost and finds it again; a link going down and up does
the same; and with a bus but no daemon, start() fails cleanly.

Timings are printed as TAP comments; only the 15 s for a lost peer is a
limit (and generous ones elsewhere, so that a stuck test ends).
"""
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import avahi_sandbox  # noqa: E402

probe = sys.argv[1]
# e.g. TANDEM_PROBE_WRAPPER='valgrind --error-exitcode=9 --leak-check=full'
wrapper = shlex.split(os.environ.get('TANDEM_PROBE_WRAPPER', ''))
tests = []


def check(name, ok, detail=''):
    tests.append((name, bool(ok), detail))
    return ok


def note(text):
    print(f'# {text}', flush=True)


class Reader:
    """The lines of a stream as they come, read by a thread; all of them so
    far in .lines."""

    def __init__(self, stream):
        self.lines = []
        self._queue = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.append(line.rstrip('\n'))
            self._queue.put(line.rstrip('\n'))
        self._queue.put(None)

    def expect(self, predicate, timeout):
        """Returns the words of the first new line that predicate accepts,
        or None after timeout seconds or at the end of the stream."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                self._queue.put(None)
                return None
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            if words and predicate(words):
                return words

    def drain(self, seconds):
        """Reads whatever comes for a while; returns those lines' words."""
        got = []
        self.expect(lambda w: got.append(w) and False, seconds)
        return got


class Probe:
    """tandem-discovery-probe running on a host."""

    def __init__(self, host, *args):
        self.host = host
        self.proc = host.popen([*wrapper, probe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, encoding='utf-8', errors='replace')
        self.out = Reader(self.proc.stdout)
        self.err = Reader(self.proc.stderr)
        started = self.out.expect(lambda w: w[0] == 'started', 10)
        self.name = started[1] if started else None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log(self):
        time.sleep(0.1)  # let the readers catch up
        return '\n'.join(['stdout:', *self.out.lines, 'stderr:', *self.err.lines])


def found(name=None, entry=None):
    def predicate(w):
        return (w[0] == 'found' and len(w) >= 4 and (name is None or w[1] == name)
                and (entry is None or entry in w[4:]))
    return predicate


def lost(name):
    return lambda w: w[0] == 'lost' and w[1:2] == [name]


def two_hosts():
    with avahi_sandbox.Sandbox(2) as sb:
        a, b = sb.hosts
        pub = Probe(a, 'publish', 'Alice notes', '7890', 'v=1', 'peer=0f3a9c')
        check('the publisher starts', pub.name == 'Alice notes', pub.log())
        t0 = time.monotonic()
        browse = Probe(b, 'browse', 'peer=0f3a9c', '60')
        w = browse.out.expect(found(entry='peer=0f3a9c'), 30)
        elapsed = time.monotonic() - t0
        check("b finds a's service with a's address, port and TXT",
              w == ['found', 'Alice notes', a.address, '7890', 'v=1', 'peer=0f3a9c'],
              f'{w}\n{browse.log()}\n{a.avahi_log}')
        note(f'from starting to browse to found: {elapsed:.2f} s')

        t0 = time.monotonic()
        pub.proc.send_signal(signal.SIGUSR1)
        w = browse.out.expect(lambda w: w[0] == 'changed', 20)
        elapsed = time.monotonic() - t0
        check('a TXT change reaches b as a change, in place',
              w == ['changed', 'Alice notes', a.address, '7890', 'v=1', 'peer=0f3a9c', 'rev=1'],
              f'{w}\n{browse.log()}')
        note(f'TXT change seen after {elapsed:.2f} s')

        once = Probe(b, 'once', 'peer=0f3a9c', '30')
        status = once.proc.wait(40)
        check('a discovery dropped from its own service-found handler goes quietly',
              status == 0 and found('Alice notes')(shlex.split(once.out.lines[-1])), once.log())

        t0 = time.monotonic()
        status = pub.stop(signal.SIGTERM)
        w = browse.out.expect(lost('Alice notes'), 15)
        elapsed = time.monotonic() - t0
        check('the publisher exits 0 on SIGTERM', status == 0, pub.log())
        check('b reports a lost within 15 s of its SIGTERM', w is not None, browse.log())
        note(f'lost after {elapsed:.2f} s')
        try:
            status = browse.proc.wait(5)
        except subprocess.TimeoutExpired:
            status = None
        check('the browser exits 0 after the loss', status == 0, browse.log())
        check('nothing logged a warning',
              not any('WARNING' in l or 'CRITICAL' in l for l in pub.err.lines + browse.err.lines),
              pub.log() + browse.log())


class View:
    """What a watch probe has reported so far: name -> [host, port, *txt]."""

    def __init__(self, watch):
        self.reader = watch.out
        self.services = {}

    def wait(self, predicate, timeout):
        """Follows the reports until predicate(services) holds; whether it did."""
        def feed(w):
            if w[0] == 'found':
                self.services[w[1]] = w[2:]
            elif w[0] == 'lost':
                self.services.pop(w[1], None)
            return predicate(self.services)
        return predicate(self.services) or self.reader.expect(feed, timeout) is not None


def three_hosts():
    with avahi_sandbox.Sandbox(3, ipv6=True) as sb:
        a, b, c = sb.hosts
        A = [a.address, '7001', 'peer=aaaa']
        B = [b.address, '7004', 'peer=bbbb']
        C = [c.address, '7002', 'peer=cccc']
        watch = Probe(b, 'watch', '120')
        view = View(watch)

        # a dual-stack peer, once, by IPv4
        t0 = time.monotonic()
        pa = Probe(a, 'publish', 'Shared name', '7001', 'peer=aaaa')
        w = watch.out.expect(found('Shared name'), 30)
        note(f'dual-stack peer found after {time.monotonic() - t0:.2f} s')
        check('a dual-stack peer is reported by its IPv4 address',
              w == ['found', 'Shared name', *A], f'{w}\n{watch.log()}')
        if w:
            view.services['Shared name'] = w[2:]

        # The same name from another host: one of the two is renamed (mDNS
        # conflict resolution decides which) and each name must end up
        # leading to its own peer, not to a mix of the two.
        pc = Probe(c, 'publish', 'Shared name', '7002', 'peer=cccc')
        names = {'Shared name', 'Shared name #2'}
        settled = view.wait(lambda s: sorted([s.get('Shared name'), s.get('Shared name #2')],
                                             key=str) == sorted([A, C], key=str), 30)
        check('of two peers with one name, one is renamed, and each name leads to its peer',
              settled, f'{view.services}\n{watch.log()}\n{pa.log()}\n{pc.log()}')
        name_a = next((n for n in names if view.services.get(n) == A), 'Shared name')
        name_c = next((n for n in names - {name_a}), 'Shared name #2')
        note(f'a is {name_a!r}, c is {name_c!r}')

        # a peer on the browser's own host is found; the browser's own service is not
        pb = Probe(b, 'publish', 'Bob here', '7004', 'peer=bbbb')
        check('a peer on the same host is found',
              view.wait(lambda s: s.get('Bob here') == B, 30), watch.log())

        # two peers with one name on one host: the second is renamed at once
        twins = [Probe(a, 'publish', 'Twin', '7005', 'peer=t1'), Probe(a, 'publish', 'Twin', '7006', 'peer=t2')]
        check('of two peers with one name on one host, the second is renamed',
              [t.name for t in twins] == ['Twin', 'Twin #2']
              and view.wait(lambda s: s.get('Twin') == [a.address, '7005', 'peer=t1']
                            and s.get('Twin #2') == [a.address, '7006', 'peer=t2'], 30),
              f'{view.services}\n{watch.log()}')
        for t in twins:
            t.stop()

        # what the network says is checked
        # (Avahi itself refuses empty entries, so they cannot be tried here)
        bad = [b'peer=mmmm', b'bad=\xff\xfe', b'name=Zo\xc3\xab']
        hostile = [a.popen(['avahi-publish', '-s', 'Mallory', '_tandem._tcp', '7003', *bad],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                   a.popen(['avahi-publish', '-s', 'Zero', '_tandem._tcp', '0', 'peer=zzzz'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        view.wait(lambda s: 'Mallory' in s, 30)
        check('TXT entries that are not UTF-8 are dropped, the others kept',
              view.services.get('Mallory') == [a.address, '7003', 'peer=mmmm', 'name=Zoë'],
              f'{view.services}\n{watch.log()}')
        n_lines = len(watch.out.lines)
        view.wait(lambda s: False, 3)
        check('a service on port 0 is not reported, and nothing twice',
              not [l for l in watch.out.lines[n_lines:] if l.startswith('found')]
              and 'Zero' not in view.services, watch.log())
        check("the browser's own service is not reported",
              not any(shlex.split(l)[1:2] == [watch.name]
                      for l in watch.out.lines if l.startswith('found')), watch.log())
        for p in hostile:
            p.terminate()
            p.wait()
        check('a withdrawn service is lost', view.wait(lambda s: 'Mallory' not in s, 15), watch.log())

        # the publisher's daemon restarts, now IPv6 only
        t0 = time.monotonic()
        c.stop_avahi()
        check('a peer whose daemon stops is lost', view.wait(lambda s: name_c not in s, 15), watch.log())
        c.start_avahi(ipv4=False)
        view.wait(lambda s: s.get(name_c, [''])[0].startswith('fe80:'), 30)
        note(f'peer back {time.monotonic() - t0:.2f} s after its daemon was restarted')
        got = view.services.get(name_c)
        check('it publishes again when the daemon is back, found by link-local IPv6 with scope',
              got is not None and got[0].startswith('fe80:') and got[0].endswith('%' + b.ifname)
              and got[1:] == C[1:], f'{got}\n{watch.log()}\n{pc.log()}')
        gone = [l for l in pc.err.lines if 'Avahi daemon went away' in l]
        check('the publisher said once that the daemon went away', len(gone) == 1, pc.log())

        # the browser's own daemon restarts
        t0 = time.monotonic()
        b.stop_avahi()
        check("when the browser's daemon goes, all it found is lost",
              view.wait(lambda s: not s, 10), f'{view.services}\n{watch.log()}')
        b.start_avahi()
        check('and found again when the daemon is back',
              view.wait(lambda s: s.get(name_a) == A and s.get('Bob here') == B and name_c in s, 30),
              f'{view.services}\n{watch.log()}')
        note(f"all found again {time.monotonic() - t0:.2f} s after the browser's daemon was restarted")
        gone = [l for l in watch.err.lines if 'Avahi daemon went away' in l]
        check('the browser said once that the daemon went away', len(gone) == 1, watch.log())

        # the browser's link goes down and up
        t0 = time.monotonic()
        b.link_down()
        check('a link going down loses what was found on it',
              view.wait(lambda s: name_a not in s, 15), watch.log())
        note(f'link down: lost after {time.monotonic() - t0:.2f} s')
        t0 = time.monotonic()
        b.link_up()
        check('and it is found again when the link is back',
              view.wait(lambda s: s.get(name_a) == A, 30), f'{view.services}\n{watch.log()}')
        note(f'link up: found again after {time.monotonic() - t0:.2f} s')

        # a bus, but no daemon
        c.stop_avahi()
        nodaemon = c.run([*wrapper, probe, 'publish', 'Nobody', '7005'], timeout=60)
        check('with a bus but no daemon, start() fails cleanly',
              nodaemon.returncode == 3 and 'not reachable' in nodaemon.stderr
              and 'CRITICAL' not in nodaemon.stderr, nodaemon.stdout + nodaemon.stderr)

        for p in (pa, pb, pc, watch):
            check(f'{p.host.name}: probe {p.name} exits 0 on SIGTERM', p.stop() == 0, p.log())
        check('nothing logged a warning',
              not any('WARNING' in l or 'CRITICAL' in l
                      for p in (pa, pb, pc, watch) for l in p.err.lines),
              '\n'.join(p.log() for p in (pa, pb, pc, watch)))


try:
    two_hosts()
    three_hosts()
except avahi_sandbox.Skip as e:
    avahi_sandbox.print_tap_skip(e)
    sys.exit(0)
except avahi_sandbox.SandboxError as e:
    check('the sandbox works', False, str(e))

print(f'1..{len(tests)}')
for n, (name, ok, detail) in enumerate(tests, 1):
    print(f'{"ok" if ok else "not ok"} {n} {name}')
    if not ok:
        for line in detail.splitlines():
            print(f'# {line}')
