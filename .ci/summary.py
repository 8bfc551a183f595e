#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints "N passed, N failed[, N skipped]" for the last meson test run.

Reads BUILDDIR/meson-logs/testlog.json, which has one JSON object per test.
Exits 1 when anything failed or nothing ran, so CI sees it.
"""
import json
import sys
from pathlib import Path

log = Path(sys.argv[1] if len(sys.argv) > 1 else 'build') / 'meson-logs' / 'testlog.json'
counts = {'passed': 0, 'failed': 0, 'skipped': 0}
try:
    lines = log.read_text().splitlines()
except OSError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    result = json.loads(line)['result']
    if result in ('OK', 'EXPECTEDFAIL'):
        counts['passed'] += 1
    elif result == 'SKIP':
        counts['skipped'] += 1
    else:  # FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR
        counts['failed'] += 1

summary = f"{counts['passed']} passed, {counts['failed']} failed"
if counts['skipped']:
    summary += f", {counts['skipped']} skipped"
print(summary)
sys.exit(0 if counts['failed'] == 0 and counts['passed'] + counts['skipped'] > 0 else 1)
