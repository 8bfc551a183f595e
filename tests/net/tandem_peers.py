# tandem_peers.py: drive real `tandem-peer run` processes from tests
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real headless peers as child processes, for network tests.

    from tandem_peers import Peer, PeerError

    a = Peer(tandem_peer, '/tmp/x/a', name='Ann')          # waits for "ready"
    b = Peer(tandem_peer, '/tmp/x/b', name='Bob', connect=[a.address])
    nb = a.cmd('create-notebook', name='Team')              # reply dict
    b.cmd('join', invite=nb['invite'])
    note = a.cmd('create-note', notebook=nb['notebook'])['note']
    a.cmd('insert', note=note, pos=0, text='hi')
    a.cmd('wait-synced', timeout=30, peers=1)
    b.wait_event('remote-change', note=note)
    b.cmd('dump', note=note)['text']
    a.kill(); a.restart()                                  # same profile and port
    a.quit()

Peer(program, profile, name=None, port=0, connect=(), discovery=False,
     env=None, popen=subprocess.Popen, extra_args=())
    Starts `program run --profile PROFILE [--name N] [--port P]
    [--connect HOST:PORT]... [--no-discovery]` and waits for its "ready"
    event: .peer (id), .port, .fingerprint, .address ('127.0.0.1:PORT').
    `popen` lets a test start it another way (inside a network namespace).
cmd(command, timeout=30, check=True, **args) -> the reply (a dict). With
    check, a reply with ok false raises PeerError. Events that arrive
    meanwhile are kept in .events (a list, oldest first).
send_raw(line) writes a line as is; read_reply(timeout) reads the next reply.
wait_event(kind, timeout=30, **match) -> the first event of that kind
    whose members equal **match, kept or still to come.
kill() (SIGKILL), stop() (SIGTERM, then wait), quit() ("quit", then wait),
restart() (the same arguments; the port is reused when it was fixed or
    learnt), .stderr_text() (what it printed on stderr).
edit_outcome(command, args, before) -> (fits, want): whether an `insert` or
    `delete` with those arguments fits a note whose text is `before`, and
    the text it should leave.
"""

import json
import os
import queue
import signal
import subprocess
import threading
import time


class PeerError(Exception):
    pass


def edit_outcome(command, args, before):
    """See the module's docstring: what an edit should do to `before`."""
    pos = args['pos']
    if command == 'insert':
        return pos <= len(before), before[:pos] + args['text'] + before[pos:]
    return pos + args['len'] <= len(before), before[:pos] + before[pos + args['len']:]


class Peer:
    def __init__(self, program, profile, name=None, port=0, connect=(), discovery=False,
                 env=None, popen=subprocess.Popen, extra_args=()):
        self.program = program
        self.profile = profile
        self.name = name
        self.port = port
        self.connect = list(connect)
        self.discovery = discovery
        self.env = env
        self.popen = popen
        self.extra_args = list(extra_args)
        self.events = []
        self.proc = None
        self._n = 0
        self._start()

    def _args(self):
        args = [self.program, 'run', '--profile', self.profile]
        if self.name:
            args += ['--name', self.name]
        if self.port:
            args += ['--port', str(self.port)]
        for c in self.connect:
            args += ['--connect', c]
        if not self.discovery:
            args.append('--no-discovery')
        return args + self.extra_args

    def _start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        # the child writes its own file; reading through another file
        # object keeps the two offsets apart
        # (beside the profile, so it goes with the test's temporary folder)
        self._stderr_path = self.profile.rstrip('/') + '.stderr'
        self._stderr = open(self._stderr_path, 'ab')
        self._queue = queue.Queue()
        self.proc = self.popen(self._args(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=self._stderr, env=env, bufsize=0)
        threading.Thread(target=self._read, args=(self.proc, self._queue), daemon=True).start()
        ready = self.wait_event('ready', timeout=30)
        self.peer = ready['peer']
        self.port = ready['port']
        self.fingerprint = ready['fingerprint']
        self.address = f'127.0.0.1:{self.port}'

    @staticmethod
    def _read(proc, q):
        for line in proc.stdout:
            try:
                q.put(json.loads(line))
            except ValueError:
                q.put({'event': 'unparsable', 'line': line.decode(errors='replace')})
        q.put(None)

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError(f'{self.name or self.profile}: timed out')
        try:
            msg = self._queue.get(timeout=left)
        except queue.Empty:
            raise PeerError(f'{self.name or self.profile}: timed out') from None
        if msg is None:
            self._queue.put(None)
            raise PeerError(f'{self.name or self.profile} exited ({self.proc.poll()}): '
                            f'{self.stderr_text()[-2000:]}')
        return msg

    def send_raw(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.proc.stdin.write(line if line.endswith(b'\n') else line + b'\n')
        self.proc.stdin.flush()

    def read_reply(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, _command, timeout=30, check=True, **args):
        # the command is positional-only in spirit: "name" is an argument
        # of some commands
        self._n += 1
        ident = self._n
        name = _command
        self.send_raw(json.dumps(dict(args, cmd=name, id=ident)))
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if 'event' in msg:
                self.events.append(msg)
                continue
            if msg.get('id') != ident:
                continue
            if check and not msg.get('ok'):
                raise PeerError(f'{self.name or self.profile}: {name} {args}: {msg.get("error")}')
            return msg

    def wait_event(self, kind, timeout=30, **match):
        def matches(e):
            return e.get('event') == kind and all(e.get(k) == v for k, v in match.items())
        for i, e in enumerate(self.events):
            if matches(e):
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if 'event' not in msg:
                continue
            if matches(msg):
                return msg
            self.events.append(msg)

    def stderr_text(self):
        with open(self._stderr_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def quit(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.cmd('quit', timeout=10, check=False)
            except (PeerError, BrokenPipeError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.kill()
        self.events = []
        self._start()
