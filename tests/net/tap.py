# tap.py: the TAP output of the network test scripts
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks recorded as they happen (each also goes to stderr at once, so a
hung run shows how far it got), printed as TAP at the end.

    from tap import check, comment, report
    check('the peers converge', a == b, f'{a!r} != {b!r}')   # detail if it fails
    comment('converged in 1.2 s')                            # printed after the checks
    report('12 s in all')                                    # prints, then exits 0 or 1
"""

import sys

tests = []
comments = []


def check(name, ok, detail=''):
    tests.append((name, bool(ok), detail))
    print(f'{"ok  " if ok else "FAIL"} {name}', file=sys.stderr, flush=True)
    return bool(ok)


def comment(line):
    comments.append(line)
    print(f'# {line}', file=sys.stderr, flush=True)


def report(footer=None):
    """Prints every check, then the comments and @footer; exits 1 when a
    check failed or none was made."""
    print(f'1..{len(tests)}')
    for n, (name, ok, detail) in enumerate(tests, 1):
        print(f'{"ok" if ok else "not ok"} {n} - {name}')
        if not ok:
            for line in str(detail).splitlines():
                print(f'# {line}')
    for line in comments:
        print(f'# {line}')
    if footer:
        print(f'# {footer}')
    sys.exit(0 if tests and all(t[1] for t in tests) else 1)
