#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""po/POTFILES.in lists every file with translatable strings (TAP).

usage: check-potfiles.py SOURCE_ROOT

A file has translatable strings when it is C with _(" or N_(" or
ngettext-style calls, a GtkBuilder .ui with translatable="yes", or one of
the desktop file, AppStream metainfo or GSettings schema sources in data/.
Every such file under src/ and data/ must be listed, and every listed file
must exist, so a string can neither be missed nor point nowhere.
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1]).resolve()
marker = re.compile(r'\b(?:N?_|g_dn?gettext|ngettext|C_|NC_)\s*\(\s*"|translatable="yes"')


def listed():
    entries = []
    for line in (root / 'po' / 'POTFILES.in').read_text().splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            entries.append(line)
    return entries


def needed():
    found = set()
    for path in sorted((root / 'src').rglob('*')):
        if path.suffix in ('.c', '.ui') and marker.search(path.read_text(errors='replace')):
            found.add(str(path.relative_to(root)))
    for pattern in ('*.desktop.in', '*.metainfo.xml.in', '*.gschema.xml'):
        for path in sorted((root / 'data').glob(pattern)):
            found.add(str(path.relative_to(root)))
    return found


entries = listed()
results = []
missing = sorted(needed() - set(entries))
results.append(('every file with translatable strings is in POTFILES.in', not missing,
                [f'missing: {m}' for m in missing]))
absent = [e for e in entries if not (root / e).is_file()]
results.append(('every file POTFILES.in lists exists', not absent, [f'no such file: {a}' for a in absent]))
dupes = sorted({e for e in entries if entries.count(e) > 1})
results.append(('no file is listed twice', not dupes, [f'twice: {d}' for d in dupes]))

print(f'1..{len(results)}')
for i, (name, ok, details) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {name}')
    for d in details:
        print(f'# {d}')
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
