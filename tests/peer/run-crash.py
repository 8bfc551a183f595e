#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Crash safety of the store, with real processes, and TAP output.

usage: run-crash.py TANDEM_PEER [--kills N] [--seed S]

One profile folder is edited by `tandem-peer edit --profile DIR --brief`,
which replies to each edit only after committing it. A seeded random script
of edits (checked against a Python model of the text) is written to the
child as fast as it takes them; after a random delay the child gets SIGKILL.
Then the profile is checked:

  - Python's own sqlite3 opens DIR/tandem.db read-only and
    `PRAGMA integrity_check` says ok;
  - `tandem-peer verify --profile DIR` says the integrity is ok and that the
    stored text equals a fresh replay of the stored event log;
  - the stored text and event count are those of the model after M commands
    of the script, for an M no smaller than the commands replied to before
    the kill (the child may have committed more than it replied to).

The next child carries on from command M. Each kill is one TAP test.
N is 50 by default; the environment variable TANDEM_CRASH_KILLS overrides
it (even --kills), so CI can ask for more without editing meson.build. The
seed defaults to the time and is printed, so the script of a failed run can
be replayed with --seed (the kill timings are seeded too, but how far the
child gets in that time is not). TANDEM_CRASH_KEEP=1 keeps the profile of a
failed run and prints where it is.
"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

# What inserts are made of: ASCII, some JSON escapes, and some non-ASCII
# (é as one code point, an emoji outside the BMP, e + combining acute).
ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '
SPECIAL = ['é', '😀', 'e\u0301', '\n', '"', '\\', '\t', 'ß', '中']
TARGET_LENGTH = 300      # the text wanders around this length
PROBE = b'{"do":"text"}\n'  # sent first in each run: the reopened state
START_DEFAULT = 0.05     # start-up time guessed before one is measured
VERIFY_TIMEOUT = 60
SHOW = 400               # characters of a long text shown in a diagnostic


def usage(message):
    print(f'{message}\nusage: run-crash.py TANDEM_PEER [--kills N] [--seed S]', file=sys.stderr)
    sys.exit(2)


class Script:
    """The script of edits, generated on demand, and the model text and
    event count after each of its prefixes. Entries before `base` are
    dropped once the store is known to hold more."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.base = 0
        self.texts = ['']     # texts[i - base]: the text after i commands
        self.events = [0]     # events[i - base]: events after i commands
        self.lines = []       # lines[i - base]: command i, a JSON line
        self.tag = 0

    def __len__(self):
        """Commands generated so far."""
        return self.base + len(self.lines)

    def text(self, i):
        return self.texts[i - self.base]

    def event_count(self, i):
        return self.events[i - self.base]

    def line(self, i):
        while len(self) <= i:
            self._extend()
        return self.lines[i - self.base]

    def trim(self, i):
        """Forgets everything before command i."""
        drop = i - self.base
        del self.texts[:drop], self.events[:drop], self.lines[:drop]
        self.base = i

    def _insert_text(self):
        r = self.rng
        want = r.randint(1, 20)
        out = []
        # Unique-ish: start with a letter and a counter, so that the same
        # text rarely comes back after a delete.
        self.tag += 1
        out += list(f'{ASCII[self.tag % 52]}{self.tag}')[:want]
        while len(out) < want:
            if r.random() < 0.15:
                piece = r.choice(SPECIAL)
                if len(out) + len(piece) > want:
                    piece = 'é'
                out += list(piece)
            else:
                out.append(r.choice(ASCII))
        return ''.join(out)

    def _extend(self):
        r = self.rng
        text = self.texts[-1]
        n = len(text)
        p_insert = 0.65 if n < TARGET_LENGTH else 0.25
        if n == 0 or r.random() < p_insert:
            pos = r.randint(0, n)
            ins = self._insert_text()
            cmd = {'do': 'ins', 'pos': pos, 'text': ins}
            new, count = text[:pos] + ins + text[pos:], len(ins)
        else:
            pos = r.randint(0, n - 1)
            count = r.randint(1, min(10, n - pos))
            cmd = {'do': 'del', 'pos': pos, 'len': count}
            new = text[:pos] + text[pos + count:]
        self.lines.append(json.dumps(cmd, ensure_ascii=False).encode('utf-8') + b'\n')
        self.texts.append(new)
        self.events.append(self.events[-1] + count)


class Run:
    """One child `tandem-peer run`, its writer and reader threads."""

    def __init__(self, peer, profile, script, start, log_path):
        self.script = script
        self.start = start
        self.written = 0         # script commands handed to write()
        self.replied = 0         # script commands replied to
        self.last_saved = None   # the last "saved" reported
        self.probe = None        # the reply to the probe
        self.probe_time = None   # seconds from spawn to that reply
        self.problems = []       # what the replies got wrong
        self.stop = False
        self.log = open(log_path, 'wb')
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen([peer, 'edit', '--profile', profile, '--brief'],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, bufsize=0)
        self.threads = [threading.Thread(target=self._write, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for t in self.threads:
            t.start()

    def _write(self):
        out = self.proc.stdin
        try:
            out.write(PROBE)
            i = self.start
            while not self.stop:
                line = self.script.line(i)
                self.written += 1
                out.write(line)
                i += 1
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            pass  # the child is gone

    def _check(self, reply, i, what):
        """A brief reply must report the model's state after i commands."""
        if not isinstance(reply, dict) or 'error' in reply or 'saved' not in reply or 'length' not in reply:
            return f'{what}: unexpected reply {reply!r}'
        want_events, want_text = self.script.event_count(i), self.script.text(i)
        if reply['saved'] != want_events or reply['length'] != len(want_text):
            return (f'{what}: replied saved={reply["saved"]} length={reply["length"]}, '
                    f'the model has {want_events} events and length {len(want_text)} after {i} commands')
        if 'text' in reply and reply['text'] != want_text:
            return f'{what}: the text differs from the model after {i} commands'
        return None

    def _read(self):
        probe_seen = False
        # Buffered: the raw pipe would be read a byte at a time.
        replies = open(self.proc.stdout.fileno(), 'rb', closefd=False)
        for raw in replies:
            if not raw.endswith(b'\n'):
                break  # cut short by the kill: not a reply
            try:
                reply = json.loads(raw)
            except ValueError:
                self.problems.append(f'not JSON: {raw[:200]!r}')
                continue
            if not probe_seen:
                probe_seen = True
                self.probe, self.probe_time = reply, time.monotonic() - self.spawned
                problem = self._check(reply, self.start, 'the reply to {"do":"text"} at start-up')
            else:
                self.replied += 1
                i = self.start + self.replied
                problem = self._check(reply, i, f'the reply to command {i - 1}')
                if isinstance(reply, dict) and isinstance(reply.get('saved'), int):
                    self.last_saved = reply['saved']
            if problem and len(self.problems) < 5:
                self.problems.append(problem)

    def kill(self):
        """SIGKILL; returns the exit status if the child had already ended."""
        early = self.proc.poll()
        self.killed_at = time.monotonic()
        if early is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.stop = True
        for t in self.threads:
            t.join(timeout=10)
        self.log.close()
        return early


def diag(text):
    """Prints text as TAP comments, a line each."""
    for line in str(text).splitlines()[:25]:
        print(f'# {line[:SHOW]}')


def short(text):
    text = repr(text)
    return text if len(text) <= SHOW else text[:SHOW // 2] + ' ... ' + text[-SHOW // 2:]


def sqlite_check(db):
    """PRAGMA integrity_check through Python's own SQLite, read-only."""
    try:
        con = sqlite3.connect(f'file:{db}?mode=ro', uri=True, timeout=10)
        try:
            rows = con.execute('PRAGMA integrity_check').fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        return f'sqlite3 cannot check {db}: {e}'
    if rows != [('ok',)]:
        return f'PRAGMA integrity_check on {db}: ' + '; '.join(str(r[0]) for r in rows[:10])
    return None


def verify(peer, profile):
    """Runs verify; returns (report or None, exit status, raw output)."""
    try:
        p = subprocess.run([peer, 'verify', '--profile', profile], capture_output=True,
                           timeout=VERIFY_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, None, f'verify took more than {VERIFY_TIMEOUT} s'
    out = p.stdout.decode('utf-8', 'replace')
    err = p.stderr.decode('utf-8', 'replace')
    lines = [l for l in out.splitlines() if l.strip()]
    report = None
    if lines:
        try:
            report = json.loads(lines[-1])
        except ValueError:
            pass
    return report, p.returncode, (out + err).strip()


def main():
    args = sys.argv[1:]
    if not args:
        usage('no TANDEM_PEER given')
    peer = args.pop(0)
    kills, seed = 50, None
    while args:
        a = args.pop(0)
        try:
            if a == '--kills':
                kills = int(args.pop(0))
            elif a == '--seed':
                seed = int(args.pop(0))
            else:
                usage(f'unexpected argument {a}')
        except (IndexError, ValueError):
            usage(f'{a} needs a number')
    if os.environ.get('TANDEM_CRASH_KILLS'):
        kills = int(os.environ['TANDEM_CRASH_KILLS'])
    if seed is None:
        seed = int(time.time() * 1000) % 2**32
    replay = f'run-crash.py TANDEM_PEER --seed {seed} --kills {kills}'

    script = Script(seed)
    timing = random.Random(seed ^ 0x5eed)
    root = tempfile.mkdtemp(prefix='tandem-crash-')
    profile = os.path.join(root, 'profile')
    os.mkdir(profile, 0o700)
    db = os.path.join(profile, 'tandem.db')

    print(f'1..{kills}')
    print(f'# seed {seed}; replay the script with: {replay}')
    began = time.monotonic()
    pos = 0                 # commands the store holds
    note_id = None
    start_times = []
    failed = False
    stats = {'startup': 0, 'ahead': 0, 'ahead_max': 0, 'replied': 0, 'editing': 0.0, 'sqlite': 0}

    try:
        for k in range(1, kills + 1):
            # Kill during start-up now and then, mostly while editing.
            start_guess = sorted(start_times)[len(start_times) // 2] if start_times else START_DEFAULT
            r = timing.random()
            if r < 0.08:
                delay = 0.0
            elif r < 0.2:
                delay = timing.uniform(0, start_guess)
            else:
                delay = start_guess + timing.uniform(0.005, 0.2)

            run = Run(peer, profile, script, pos, os.path.join(root, f'run-{k}.log'))
            time.sleep(delay)
            early = run.kill()
            if run.probe_time is not None:
                start_times.append(run.probe_time)
                stats['editing'] += max(0.0, run.killed_at - run.spawned - run.probe_time)
            with open(os.path.join(root, f'run-{k}.log'), 'rb') as f:
                child_err = f.read().decode('utf-8', 'replace').strip()

            problems = list(run.problems)
            if early is not None:
                problems.append(f'the child ended by itself (status {early}) before the kill')
            for word in ('CRITICAL', 'WARNING'):
                if word in child_err:
                    problems.append(f'the child logged a {word}')

            replied = pos + run.replied   # commands known committed
            # Python's sqlite3 on the file as the kill left it.
            if os.path.exists(db):
                problem = sqlite_check(db)
                stats['sqlite'] += 1
                if problem:
                    problems.append(problem)
            elif replied > 0 or run.probe is not None:
                problems.append(f'{db} does not exist after the child replied')

            report, status, output = verify(peer, profile)
            stored_text, stored_events = None, None
            if report is None or not isinstance(report, dict):
                problems.append(f'verify gave no JSON report (status {status})')
            else:
                if report.get('integrity') != 'ok':
                    problems.append(f'verify: integrity is {report.get("integrity")!r}')
                notes = report.get('notes')
                if not isinstance(notes, list) or len(notes) > 1:
                    problems.append(f'verify: expected at most one note, got {short(notes)}')
                elif not notes:
                    if pos > 0 or replied > 0:
                        problems.append('verify: the note is gone')
                    else:
                        stored_text, stored_events = '', 0   # killed before it was made
                else:
                    n = notes[0]
                    stored_text, stored_events = n.get('text'), n.get('events')
                    if note_id is not None and n.get('id') != note_id:
                        problems.append(f'verify: the note is now {n.get("id")!r}, it was {note_id!r}')
                    note_id = n.get('id')
                    if 'error' in n:
                        problems.append(f'verify: the note cannot be loaded: {n["error"]}')
                    elif n.get('replay_matches') is not True:
                        problems.append('verify: the stored text differs from a replay of the stored log')
                    if not isinstance(stored_text, str) or n.get('length') != len(stored_text):
                        problems.append(f'verify: length {n.get("length")} for a text of '
                                        f'{len(stored_text) if isinstance(stored_text, str) else "?"} code points')
                    if not isinstance(stored_events, int):
                        problems.append(f'verify: events is {stored_events!r}')
                        stored_events = None
                if status != 0 and not problems:
                    problems.append(f'verify exited with status {status} on a good profile')

            # Which prefix of the script does the store hold?
            found = None
            if stored_text is not None and stored_events is not None:
                last = len(script)
                for m in range(replied, last + 1):
                    if script.text(m) == stored_text and script.event_count(m) == stored_events:
                        found = m
                        break
                if found is None:
                    text_only = [m for m in range(replied, last + 1) if script.text(m) == stored_text]
                    older = [m for m in range(script.base, replied) if script.text(m) == stored_text]
                    if text_only:
                        problems.append(f'the stored text is the model\'s after {text_only[0]} commands, '
                                        f'but {stored_events} events are stored where the model has '
                                        f'{script.event_count(text_only[0])}')
                    elif older:
                        problems.append(f'an edit replied to was lost: the store holds {older[-1]} commands, '
                                        f'{replied} had been replied to')
                    else:
                        problems.append(f'the stored text ({len(stored_text)} code points, {stored_events} '
                                        f'events) is not the model\'s after any of commands '
                                        f'{replied}..{last}; stored {short(stored_text)}, '
                                        f'after {replied}: {short(script.text(replied))}')
                if run.last_saved is not None and stored_events < run.last_saved:
                    problems.append(f'{stored_events} events stored, fewer than the {run.last_saved} '
                                    f'reported saved')

            desc = (f'kill after {run.replied} replies, stored {found if found is not None else "?"} '
                    f'commands, {stored_events if stored_events is not None else "?"} events '
                    f'({delay * 1000:.0f} ms)')
            if problems:
                failed = True
                print(f'not ok {k} {desc}')
                print(f'# FAILED at kill {k} of {kills}, seed {seed} (replay: {replay})')
                print(f'# run started at command {pos}, {run.written} commands written, '
                      f'{run.replied} replied, last saved {run.last_saved}, probe {run.probe!r}')
                for p in problems:
                    diag(p)
                for label, text in (('child stderr', child_err), ('verify', output)):
                    for line in text.splitlines()[:20]:
                        diag(f'{label}: {short(line)[1:-1]}')
            else:
                print(f'ok {k} {desc}')
            sys.stdout.flush()

            if found is None:
                print(f'Bail out! the store cannot be matched to the script (seed {seed}, kill {k})')
                return 1
            if run.probe is None:
                stats['startup'] += 1
            if found > replied:
                stats['ahead'] += 1
                stats['ahead_max'] = max(stats['ahead_max'], found - replied)
            stats['replied'] += run.replied
            pos = found
            script.trim(pos)

        elapsed = time.monotonic() - began
        print(f'# {pos} commands committed ({script.event_count(pos)} events, final text '
              f'{len(script.text(pos))} code points) over {kills} kills in {elapsed:.1f} s; '
              f'{stats["replied"]} replies; {stats["startup"]} kills during start-up; '
              f'{stats["ahead"]} kills found commits not yet replied to (at most {stats["ahead_max"]})')
        if start_times:
            median = sorted(start_times)[len(start_times) // 2]
            print(f'# start-up to the first reply: median {median * 1000:.0f} ms, '
                  f'longest {max(start_times) * 1000:.0f} ms; about '
                  f'{stats["replied"] / max(stats["editing"], 1e-3):.0f} commits/s while editing')
        print(f'# PRAGMA integrity_check ok through Python\'s sqlite3 {stats["sqlite"]} times')
        if kills > 0 and stats['sqlite'] == 0:
            print('# the database was never there to check')
            failed = True
        if kills >= 10 and pos == 0:
            print('# no command was ever committed: no kill landed while editing')
            failed = True
        if failed:
            print(f'# FAILED with seed {seed} (replay: {replay})')
        return 1 if failed else 0
    finally:
        if failed and os.environ.get('TANDEM_CRASH_KEEP'):
            print(f'# the profile and the child logs are kept in {root}')
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
