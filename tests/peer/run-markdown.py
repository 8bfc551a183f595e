#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Markdown export and import through the real tandem-peer (TAP).

usage: run-markdown.py TANDEM_PEER

A note is typed into one profile with a title, tags and a flag; exported;
the files imported into a second profile; exported again: the two exports
must be the same notes. Files with CRLF line ends, invalid UTF-8 and a NUL
are imported or refused as they should be.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

peer = sys.argv[1]
tests = []


def check(name, ok, detail=''):
    tests.append((name, ok, detail))


def run(*args, stdin=None):
    return subprocess.run([peer, *args], input=stdin, capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    a, b = tmp / 'a', tmp / 'b'
    commands = [
        {'do': 'ins', 'pos': 0, 'text': 'Shopping\n- milk\n- caf\u00e9 \U0001F600\n'},
        {'do': 'set', 'field': 'title', 'value': 'Plan: "week" / 2'},
    ]
    p = run('edit', '--profile', str(a), stdin=''.join(json.dumps(c) + '\n' for c in commands))
    check('typing into a profile', p.returncode == 0 and '"error"' not in p.stdout, p.stdout + p.stderr)

    out1 = tmp / 'out1'
    p = run('export', '--profile', str(a), str(out1))
    files = sorted(out1.glob('*.md')) if out1.exists() else []
    check('export writes one file per note', p.returncode == 0 and len(files) == 1, p.stderr)
    text = files[0].read_text() if files else ''
    check('the title names the file, made safe', bool(files) and files[0].name == 'Plan: "week" _ 2.md',
          str(files))
    check('fields are front matter', text.startswith('---\ntitle: "Plan: \\"week\\" / 2"\n'), text)
    check('the text follows the front matter', text.endswith('---\nShopping\n- milk\n- caf\u00e9 \U0001F600\n'), text)

    p = run('import', '--profile', str(b), *map(str, files))
    check('import makes a note per file', p.returncode == 0 and len(p.stdout.split('\n')) == 2, p.stderr)
    out2 = tmp / 'out2'
    run('export', '--profile', str(b), str(out2))
    again = sorted(out2.glob('*.md')) if out2.exists() else []

    def strip_id(t):
        return '\n'.join(l for l in t.split('\n') if not l.startswith('tandem-id:'))
    check('export, import, export gives the same note',
          len(again) == 1 and strip_id(again[0].read_text()) == strip_id(text),
          again[0].read_text() if again else '')

    crlf = tmp / 'crlf.md'
    crlf.write_bytes(b'---\r\ntitle: Windows\r\ntags: ["x", "y"]\r\n---\r\nline one\r\nline two\r\n')
    p = run('import', '--profile', str(b), str(crlf))
    check('CRLF files import', p.returncode == 0, p.stderr)
    v = run('verify', '--profile', str(b))
    notes = json.loads(v.stdout)['notes'] if v.stdout else []
    check('CRLF becomes LF', any(n.get('text') == 'line one\nline two\n' for n in notes), v.stdout)

    # a doubled conversion leaves CR CR LF; one import must take it all,
    # or the note's export imports as a different text (found by fuzz-markdown)
    crcrlf = tmp / 'crcrlf.md'
    crcrlf.write_bytes(b'one\r\r\ntwo\rthree\r\n')
    c = tmp / 'c'
    p = run('import', '--profile', str(c), str(crcrlf))
    v = run('verify', '--profile', str(c))
    notes = json.loads(v.stdout)['notes'] if p.returncode == 0 and v.stdout else []
    check('CR CR LF becomes LF, a lone CR stays',
          [n.get('text') for n in notes] == ['one\ntwo\rthree\n'], v.stdout + p.stderr)

    bad = tmp / 'bad.md'
    bad.write_bytes(b'caf\xe9 latin-1\n')
    before = run('verify', '--profile', str(b)).stdout
    p = run('import', '--profile', str(b), str(bad))
    check('invalid UTF-8 is refused with where', p.returncode == 1 and 'not UTF-8 at byte 3' in p.stderr, p.stderr)
    nul = tmp / 'nul.md'
    nul.write_bytes(b'a\x00b\n')
    p = run('import', '--profile', str(b), str(nul))
    check('a NUL is refused', p.returncode == 1 and 'NUL' in p.stderr, p.stderr)
    check('refused files add no note', run('verify', '--profile', str(b)).stdout == before)

print(f'1..{len(tests)}')
for n, (name, ok, detail) in enumerate(tests, 1):
    print(f'{"ok" if ok else "not ok"} {n} {name}')
    if not ok:
        for line in detail.splitlines():
            print(f'# {line}')
