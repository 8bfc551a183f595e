# avahi_sandbox.py: private mDNS "hosts" in network namespaces, for tests
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private mDNS/DNS-SD hosts in Linux network namespaces, for tests.

Each host is a network namespace with one link (``eth0``, 10.201.0.N/24),
its own D-Bus *system* bus (a socket in the sandbox's temporary folder) and
its own avahi-daemon bound to that bus and that link. Two hosts share a
veth pair; three or more are joined by a Linux bridge in a namespace of its
own. Nothing touches the real system bus, the real /run or any interface of
the root namespace, so mDNS never leaves the machine.

    import avahi_sandbox

    try:
        with avahi_sandbox.Sandbox(2) as sb:        # hosts 'a' and 'b'
            a, b = sb.hosts                          # also sb['a']
            a.address                                # '10.201.0.1'
            p = a.popen(['prog', 'arg'], stdout=subprocess.PIPE, text=True)
            b.run(['avahi-browse', '-rtp', '_tandem._tcp'], timeout=10)
            a.link_down(); a.link_up()               # pull the cable
            a.stop_avahi(); a.start_avahi()          # restart its daemon
    except avahi_sandbox.Skip as e:
        avahi_sandbox.print_tap_skip(e)              # `1..0 # SKIP why`

Sandbox(n_hosts=2, ipv6=False)
    Makes hosts 'a', 'b', ... (at most 26). With ipv6=True the daemons also
    speak mDNS over IPv6 (link-local addresses, DAD switched off so they are
    usable at once). Raises Skip when the machine cannot do this (not root,
    no `ip netns`, no dbus-daemon or avahi-daemon) and SandboxError when
    setting up fails for another reason. Leaving the `with` block, by any
    exception or by SIGTERM/SIGINT/SIGHUP (meson's timeout), kills every
    process the sandbox started and deletes its namespaces and folder.
    sb.hosts, sb[name], sb.dir (a temporary folder, deleted at the end).

Host
    name ('a'), address ('10.201.0.1'), netns, ifname ('eth0'),
    host_name (avahi's, 'tandem-a'; '.local' is appended on the wire),
    bus_address ('unix:path=...'), dir (a folder of its own for the test).
    popen(args, env=None, **kw) -> subprocess.Popen running args inside the
        namespace with DBUS_SYSTEM_BUS_ADDRESS set (env adds to os.environ).
        Clients must run inside: interface indexes are per namespace.
        The process is killed at cleanup if still running, and gets SIGTERM
        if the test process dies.
    run(args, timeout=None, **kw) -> subprocess.CompletedProcess (text).
    link_down() / link_up(), stop_avahi() / start_avahi(ipv4=True, ipv6=None).
    unplug() / plug(): the switch's port to this host goes down / up (three
        or more hosts): the host is cut off from the others, while its own
        processes still reach each other, also at its address.
    nft(script): loads an nftables script inside the namespace (`nft -f -`),
        e.g. a table that drops packets; needs `nft`.
    socket(family, type) -> a socket.socket made inside the namespace, for
        harness code (a proxy) that must listen or dial there.

Needs root, iproute2, dbus-daemon and avahi-daemon. Namespaces and the
folder are named tdmt-<pid>-<random>-..., so parallel runs never collide;
the daemons die with the test process even when it is SIGKILLed, and what
such a run leaves (namespaces holding no process, its folder) is deleted by
the next run.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / 'avahi'
PREFIX = 'tdmt'
SUBNET = '10.201.0'
IFNAME = 'eth0'
AVAHI_POLICY_PATHS = ['/usr/share/dbus-1/system.d/avahi-dbus.conf',
                      '/etc/dbus-1/system.d/avahi-dbus.conf']
SBIN_PATH = os.environ.get('PATH', '/usr/bin:/bin') + ':/usr/sbin:/sbin:/usr/local/sbin'


class Skip(Exception):
    """This machine cannot run the sandbox; the message says why."""


class SandboxError(Exception):
    """Setting up the sandbox failed on a machine that should manage it."""


class _Terminated(BaseException):
    """A signal asked us to stop; unwinds through the `with` block."""


def print_tap_skip(reason):
    """Prints a TAP plan that skips the whole file.

    meson's TAP reader counts any exit status but 0 as an error, so after
    this the caller exits 0 (as tests/peer/ does), not 77.
    """
    print(f'1..0 # SKIP {reason}', flush=True)


def _which(prog):
    return shutil.which(prog, path=SBIN_PATH)


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_CLONE_NEWNET = 0x40000000
# setns() moves only the calling thread; one at a time keeps it simple
_setns_lock = threading.Lock()


def _die_with_parent():
    # Runs in the child between fork and exec. `ip netns exec` and `sh -c
    # exec` keep the process, so the daemon itself gets the signal if the
    # test is SIGKILLed and cleanup never runs.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _ip(*args, check=True):
    p = subprocess.run([_which('ip'), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SandboxError(f'ip {" ".join(args)}: {p.stderr.strip()}')
    return p


def _arg(a):
    """A command-line argument: str and bytes as they are, paths, numbers."""
    return a if isinstance(a, (str, bytes)) else os.fspath(a) if hasattr(a, '__fspath__') else str(a)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _netns_pids(ns):
    p = _ip('netns', 'pids', ns, check=False)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def _stop_process(proc, timeout=5.0):
    """SIGTERM, then SIGKILL if it lingers; always reaps."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _sweep_stale(base):
    """Deletes what earlier runs left when they were killed outright.

    Only ours (tdmt-PID-XXXX-*), only when PID is gone, and a namespace
    only when no process is left in it: anything still running there is
    somebody's business, not ours to kill. (Our daemons die with the test
    process that started them, see _die_with_parent.)
    """
    stale = re.compile(rf'{PREFIX}-(\d+)-[0-9a-f]{{4}}-.+')
    p = _ip('netns', 'list', check=False)
    for line in p.stdout.splitlines():
        ns = line.split()[0] if line.split() else ''
        m = stale.fullmatch(ns)
        if m and not _pid_alive(int(m.group(1))) and not _netns_pids(ns):
            _ip('netns', 'del', ns, check=False)
            print(f'# avahi_sandbox: deleted stale namespace {ns}', file=sys.stderr)
    for d in Path(base).glob(f'{PREFIX}-*'):
        m = stale.fullmatch(d.name)
        if m and d.is_dir() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
            print(f'# avahi_sandbox: deleted stale folder {d}', file=sys.stderr)


def _wait_for(predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Host:
    """One sandbox host; see the module's documentation."""

    def __init__(self, sandbox, index, name):
        self._sb = sandbox
        self.name = name
        self.address = f'{SUBNET}.{index + 1}'
        self.netns = f'{sandbox._tag}-{name}'
        self.ifname = IFNAME
        self.host_name = f'tandem-{name}'
        self.dir = sandbox.dir / name
        self.dir.mkdir()
        self.bus_socket = self.dir / 'bus.sock'
        self.bus_address = f'unix:path={self.bus_socket}'
        self._bus = None
        self._avahi = None

    def __repr__(self):
        return f'<Host {self.name} {self.address} in {self.netns}>'

    # ---- running things inside -------------------------------------------

    def popen(self, args, env=None, **kwargs):
        full_env = dict(os.environ)
        full_env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus_address
        full_env.update(env or {})
        proc = subprocess.Popen([_which('ip'), 'netns', 'exec', self.netns, *map(_arg, args)],
                                env=full_env, preexec_fn=_die_with_parent, **kwargs)
        self._sb._procs.append(proc)
        return proc

    def run(self, args, timeout=None, env=None, **kwargs):
        kwargs.setdefault('stdout', subprocess.PIPE)
        kwargs.setdefault('stderr', subprocess.PIPE)
        kwargs.setdefault('text', True)
        proc = self.popen(args, env=env, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    # ---- faults ------------------------------------------------------------

    def link_down(self):
        _ip('-n', self.netns, 'link', 'set', self.ifname, 'down')

    def link_up(self):
        _ip('-n', self.netns, 'link', 'set', self.ifname, 'up')

    def _switch_port(self):
        if self._sb.switch is None:
            raise SandboxError('unplug() needs a switch: a sandbox of three or more hosts')
        return ['-n', self._sb.switch, 'link', 'set', f'port-{self.name}']

    def unplug(self):
        # The host's own eth0 keeps its address (only its carrier goes), so
        # its processes still reach each other, unlike with link_down().
        _ip(*self._switch_port(), 'down')

    def plug(self):
        _ip(*self._switch_port(), 'up')

    def nft(self, script):
        p = subprocess.run([_which('ip'), 'netns', 'exec', self.netns, _which('nft') or 'nft', '-f', '-'],
                           input=script, capture_output=True, text=True)
        if p.returncode != 0:
            raise SandboxError(f'nft in host {self.name}: {p.stderr.strip()}')

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        # A socket belongs to the namespace it was made in, whichever
        # thread uses it later.
        with _setns_lock:
            own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
            try:
                ns = os.open(f'/run/netns/{self.netns}', os.O_RDONLY)
                try:
                    if _libc.setns(ns, _CLONE_NEWNET) != 0:
                        raise SandboxError(f'setns into {self.netns}: {os.strerror(ctypes.get_errno())}')
                    try:
                        return socket.socket(family, type)
                    finally:
                        if _libc.setns(own, _CLONE_NEWNET) != 0:
                            # this thread would go on in the wrong namespace
                            os.abort()
                finally:
                    os.close(ns)
            finally:
                os.close(own)

    # ---- the daemons -------------------------------------------------------

    def _start_bus(self):
        conf = self.dir / 'bus.conf'
        text = (TEMPLATES / 'system-bus.conf.in').read_text()
        conf.write_text(text.replace('@SOCKET@', str(self.bus_socket))
                            .replace('@AVAHI_POLICY@', self._sb._avahi_policy))
        log = open(self.dir / 'bus.log', 'w')
        # In the namespace only for tidiness: a path socket works from anywhere.
        self._bus = subprocess.Popen(
            [_which('ip'), 'netns', 'exec', self.netns, _which('dbus-daemon'),
             f'--config-file={conf}', '--nofork', '--nopidfile'],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        log.close()
        _wait_for(lambda: self.bus_socket.is_socket() or self._bus.poll() is not None, 5)
        if not self.bus_socket.is_socket():
            raise SandboxError(f'dbus-daemon of host {self.name} did not start:\n'
                               + (self.dir / 'bus.log').read_text())

    def start_avahi(self, ipv4=True, ipv6=None):
        """Starts (or restarts) the host's avahi-daemon and waits until it runs."""
        self.stop_avahi()
        if ipv6 is None:
            ipv6 = self._sb.ipv6
        conf = self.dir / 'avahi.conf'
        text = (TEMPLATES / 'avahi-daemon.conf.in').read_text()
        conf.write_text(text.replace('@HOST_NAME@', self.host_name)
                            .replace('@IFACE@', self.ifname)
                            .replace('@USE_IPV4@', 'yes' if ipv4 else 'no')
                            .replace('@USE_IPV6@', 'yes' if ipv6 else 'no'))
        log_path = self.dir / 'avahi.log'
        with open(log_path, 'a') as log:
            log.write(f'---- start {time.strftime("%H:%M:%S")}\n')
            log.flush()
            # `ip netns exec` gives the daemon a mount namespace of its own;
            # a tmpfs over /run there holds its pid file and socket, so it
            # never sees the real daemon's (or another host's).
            self._avahi = subprocess.Popen(
                [_which('ip'), 'netns', 'exec', self.netns, 'sh', '-c',
                 'mount -t tmpfs -o size=1m,mode=0755 tdmt-run /run && exec "$0" '
                 '--no-drop-root --no-chroot --no-rlimits --no-proc-title -f "$1"',
                 _which('avahi-daemon'), str(conf)],
                env={**os.environ, 'DBUS_SYSTEM_BUS_ADDRESS': self.bus_address},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        started = _wait_for(
            lambda: self._avahi.poll() is not None
            or 'Server startup complete' in log_path.read_text().rsplit('---- start', 1)[-1], 10)
        if not started or self._avahi.poll() is not None:
            raise SandboxError(f'avahi-daemon of host {self.name} did not start:\n'
                               + log_path.read_text())

    def stop_avahi(self):
        """Stops the avahi-daemon (SIGTERM: it says goodbye on the link first)."""
        _stop_process(self._avahi)
        self._avahi = None

    @property
    def avahi_log(self):
        p = self.dir / 'avahi.log'
        return p.read_text() if p.exists() else ''

    def _stop(self):
        self.stop_avahi()
        _stop_process(self._bus)
        self._bus = None


class Sandbox:
    """N hosts on one link; see the module's documentation."""

    def __init__(self, n_hosts=2, ipv6=False):
        if not 2 <= n_hosts <= 26:
            raise ValueError('a sandbox has 2 to 26 hosts')
        self.n_hosts = n_hosts
        self.ipv6 = ipv6
        self.hosts = []
        self.dir = None
        self.switch = None              # the bridge's namespace, 3+ hosts
        self._procs = []
        self._namespaces = []
        self._old_handlers = {}
        self._tag = f'{PREFIX}-{os.getpid()}-{secrets.token_hex(2)}'

    def __getitem__(self, name):
        return next(h for h in self.hosts if h.name == name)

    # ---- setting up ----------------------------------------------------------

    def _check_machine(self):
        if os.geteuid() != 0:
            raise Skip('network namespaces need root')
        for prog in ('ip', 'dbus-daemon', 'avahi-daemon'):
            if not _which(prog):
                raise Skip(f'{prog} is not installed')
        policy = next((p for p in AVAHI_POLICY_PATHS if os.path.exists(p)), None)
        if policy is None:
            raise Skip('avahi-daemon\'s D-Bus policy (avahi-dbus.conf) is not installed')
        self._avahi_policy = policy

    def _add_netns(self, ns):
        p = _ip('netns', 'add', ns, check=False)
        if p.returncode != 0:
            # the first one tells whether this machine can do it at all
            if not self._namespaces:
                raise Skip(f'`ip netns add` does not work here: {p.stderr.strip()}')
            raise SandboxError(f'ip netns add {ns}: {p.stderr.strip()}')
        self._namespaces.append(ns)
        _ip('-n', ns, 'link', 'set', 'lo', 'up')
        # Link-local IPv6 addresses are usable at once, not after DAD's ~2 s.
        for conf in ('all', 'default'):
            subprocess.run([_which('ip'), 'netns', 'exec', ns, 'sh', '-c',
                            f'echo 0 > /proc/sys/net/ipv6/conf/{conf}/accept_dad'],
                           capture_output=True)

    def _probe_mount(self, ns):
        p = subprocess.run([_which('ip'), 'netns', 'exec', ns, 'sh', '-c',
                            'mount -t tmpfs -o size=16k tdmt-probe /run'],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise Skip(f'cannot mount a private /run inside a namespace: {p.stderr.strip()}')

    def _build_link(self):
        if self.n_hosts == 2:
            a, b = self.hosts
            # made directly inside the two namespaces, never in the root one
            _ip('link', 'add', IFNAME, 'netns', a.netns, 'type', 'veth',
                'peer', 'name', IFNAME, 'netns', b.netns)
        else:
            sw = f'{self._tag}-sw'
            self._add_netns(sw)
            self.switch = sw
            # no multicast snooping: nobody sends IGMP/MLD queries here, and
            # mDNS must reach every port
            _ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
            _ip('-n', sw, 'link', 'set', 'br0', 'up')
            for h in self.hosts:
                port = f'port-{h.name}'
                _ip('link', 'add', IFNAME, 'netns', h.netns, 'type', 'veth',
                    'peer', 'name', port, 'netns', sw)
                _ip('-n', sw, 'link', 'set', port, 'master', 'br0', 'up')
        for h in self.hosts:
            _ip('-n', h.netns, 'addr', 'add', f'{h.address}/24', 'dev', IFNAME)
            _ip('-n', h.netns, 'link', 'set', IFNAME, 'multicast', 'on', 'up')

    def start(self):
        self._check_machine()
        # Unix socket paths are limited to 108 bytes; keep ours short.
        base = os.environ.get('TMPDIR', '/tmp')
        if len(base) > 60:
            base = '/tmp'
        _sweep_stale(base)
        self.dir = Path(tempfile.mkdtemp(prefix=f'{self._tag}-', dir=base))
        names = [chr(ord('a') + i) for i in range(self.n_hosts)]
        self.hosts = [Host(self, i, n) for i, n in enumerate(names)]
        for h in self.hosts:
            self._add_netns(h.netns)
        self._probe_mount(self.hosts[0].netns)
        self._build_link()
        for h in self.hosts:
            h._start_bus()
            h.start_avahi()
        return self

    # ---- tearing down --------------------------------------------------------

    def cleanup(self):
        """Kills what the sandbox started, deletes its namespaces and folder.

        Safe to call more than once; every step runs even if one fails.
        """
        for proc in reversed(self._procs):
            try:
                _stop_process(proc, timeout=3)
            except Exception as e:  # noqa: BLE001 - keep cleaning
                print(f'# avahi_sandbox: {e}', file=sys.stderr)
        self._procs.clear()
        for h in self.hosts:
            try:
                h._stop()
            except Exception as e:  # noqa: BLE001
                print(f'# avahi_sandbox: {e}', file=sys.stderr)
        for ns in reversed(self._namespaces):
            # whatever still runs in our namespace was started through it
            for pid in _netns_pids(ns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _ip('netns', 'del', ns, check=False)
        self._namespaces.clear()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _on_signal(self, signum, frame):
        raise _Terminated(signum)

    def __enter__(self):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[s] = signal.signal(s, self._on_signal)
        try:
            return self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            self.cleanup()
        finally:
            for s, h in self._old_handlers.items():
                signal.signal(s, h)
            self._old_handlers.clear()
        if exc_type is _Terminated:
            # the usual exit status of a process killed by that signal
            sys.exit(128 + exc.args[0])
        return False
