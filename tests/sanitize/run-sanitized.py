#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs Tandem under AddressSanitizer and UndefinedBehaviorSanitizer.

    run-sanitized.py SOURCE_DIR BUILD_DIR suites SUITE... [--full-unwind SUITE...]
    run-sanitized.py SOURCE_DIR BUILD_DIR fuzz TARGET SECONDS [SEED]

Both use a sibling build directory, BUILD_DIR-sanitize, configured with
clang, -Db_sanitize=address,undefined and -Dfuzzing=true, and built on
first use (under a lock, so tests running side by side build it once).

`suites` runs those meson test suites there. Every sanitizer report of
every process (the test programs and the tandem-peer processes they
start) goes to a file of its own in a temporary folder; any such file
fails the test, whatever the suites said.

`fuzz` runs tests/fuzz/fuzz-TARGET under libFuzzer for SECONDS, from a
copy of its committed corpus (so the repository stays as it is); a crash,
a leak, a timeout or a sanitizer report fails the test, and the input is
printed (base64) to be committed in tests/fuzz/corpus/TARGET. With a SEED
libFuzzer's runs repeat each other closely (CI's `sanitize` suite), though
not exactly: a build in another folder went elsewhere from the same seed;
without one, each run explores anew (the `slow` suite's fuzz-long-*).

Prints TAP. Skips when clang or libFuzzer is missing.
"""
import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(sys.argv[1]).resolve()
BUILD = Path(sys.argv[2]).resolve()
SANITIZE = BUILD.parent / (BUILD.name + '-sanitize')
HERE = SOURCE / 'tests' / 'sanitize'


def sanitizer_env(report_dir=None, full_unwind=False):
    """The environment of the `sanitize` test setup in meson.build, plus
    a folder for reports when given.

    The suppressions (tests/sanitize/lsan.supp) are for what
    g_test_init (G_TEST_OPTION_ISOLATE_DIRS) keeps, and only match with
    full unwinding, as Debian's GLib has no frame pointers: slow (malloc-
    heavy tests take 5 times longer), so only the suites whose tests need
    them get it. Without it the suppressions must not be loaded either: the
    fast unwinder sees garbage frames inside GLib, which once matched a
    suppression made LeakSanitizer report leaks that were not there (the
    scenario fuzz target: one every few hundred runs with both, none in
    70,000 with either alone)."""
    env = dict(os.environ)
    asan = f'include={HERE / "asan.options"}'
    ubsan = f'include={HERE / "ubsan.options"}'
    lsan = 'print_suppressions=0'
    if full_unwind:
        # so the suppressions match frames inside GLib
        asan += ':fast_unwind_on_malloc=0'
        lsan += f':suppressions={HERE / "lsan.supp"}'
    if report_dir is not None:
        # one log per process; ASan, UBSan and LSan share it
        asan += f':log_path={report_dir}/report'
        ubsan += f':log_path={report_dir}/report'
    env.update({
        'ASAN_OPTIONS': asan,
        'UBSAN_OPTIONS': ubsan,
        'LSAN_OPTIONS': lsan,
        # GLib's slices would hide leaks and overflows from ASan
        'G_SLICE': 'always-malloc',
        # with clang, libproxy's resolver leaks at exit (ENVIRONMENT.md)
        'GIO_USE_PROXY_RESOLVER': 'dummy',
        # the seeded sweep runs whole in the normal build; here it checks
        # the same code for memory errors, at a tenth (ASan forks slowly)
        'TANDEM_CONVERGENCE_RUNS': '200',
        # for tests that measure memory or preload libraries, which the
        # sanitizers make meaningless or impossible: they skip
        'TANDEM_SANITIZED': '1',
    })
    return env


def skip(why):
    print(f'1..0 # SKIP {why}')
    sys.exit(0)


def check_toolchain():
    if shutil.which('clang') is None:
        skip('clang is not installed (apt install clang libclang-rt-dev)')
    probe = subprocess.run(['clang', '-print-file-name=libclang_rt.fuzzer-x86_64.a'],
                           capture_output=True, text=True)
    if not Path(probe.stdout.strip()).is_file():
        skip('libFuzzer is not installed (apt install libclang-rt-dev)')


def build(suites):
    """Configures and builds the sanitized build once; others wait."""
    # inside the build directory, hidden from git as meson hides the
    # directories it makes itself (it does not when the directory exists)
    SANITIZE.mkdir(exist_ok=True)
    (SANITIZE / '.gitignore').write_text('# made by tests/sanitize/run-sanitized.py\n*\n')
    with open(SANITIZE / 'tandem-build.lock', 'w') as lock:
        start = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)
        waited = time.monotonic() - start
        if not (SANITIZE / 'build.ninja').exists():
            env = dict(os.environ, CC='clang')
            run_logged(['meson', 'setup', str(SANITIZE), str(SOURCE),
                        '-Db_sanitize=address,undefined', '-Db_lundef=false',
                        '-Dfuzzing=true'], env)
        # regenerated first when a meson.build changed, so that the
        # introspection below sees the tests as they are now
        run_logged(['ninja', '-C', str(SANITIZE), 'build.ninja'], dict(os.environ))
        # only what the sanitized tests run: the app is left out
        targets = needed_targets(suites)
        start = time.monotonic()
        run_logged(['meson', 'compile', '-C', str(SANITIZE)] + targets, dict(os.environ))
        print(f'# sanitized build: waited {waited:.0f} s, built in {time.monotonic() - start:.0f} s')


def run_logged(cmd, env):
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(f'not ok 1 - {" ".join(cmd)}')
        for line in result.stdout.splitlines()[-40:]:
            print(f'# {line}')
        sys.exit(1)


def needed_targets(suites):
    """The build targets of the fuzz targets and of every test in the
    sanitize build's engine, store, net and fuzz suites."""
    def introspect(what):
        out = subprocess.run(['meson', 'introspect', what, str(SANITIZE)],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)
    targets = {t['id']: t for t in introspect('--targets')}
    wanted = set()
    for test in introspect('--tests'):
        if set(test['suite']) & {f'tandem:{s}' for s in suites + ['fuzz']} or \
           set(test['suite']) & set(suites + ['fuzz']):
            wanted.update(test['depends'])
    names = []
    for target_id in sorted(wanted):
        target = targets.get(target_id)
        if target is None:
            continue
        subdir = Path(target['filename'][0]).parent.relative_to(SANITIZE)
        names.append(f'{subdir}/{target["name"]}' if str(subdir) != '.' else target['name'])
    return names


def reports_in(report_dir):
    found = []
    for path in sorted(Path(report_dir).iterdir()):
        text = path.read_text(errors='replace')
        if text.strip():
            found.append((path.name, text))
    return found


def run_meson_test(suites, full_unwind, reports):
    """Runs the suites in the sanitized build; returns the exit status and
    the tests' results from its log."""
    if not suites:
        return 0, [], ''
    log = SANITIZE / 'meson-logs' / 'testlog.json'
    log.unlink(missing_ok=True)   # not to read an earlier run's
    result = subprocess.run(
        # one at a time: this test already shares the machine with another
        # (meson test runs two), and the net tests have 5 s bounds that
        # ASan's slowdown plus a third busy process can break
        ['meson', 'test', '-C', str(SANITIZE), '--no-rebuild', '--print-errorlogs',
         '--num-processes', '1'] + [a for s in suites for a in ('--suite', s)],
        env=sanitizer_env(reports, full_unwind), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    if not log.exists():
        # meson refused to start (a test program missing, say): no log
        print(f'not ok 1 - meson test in {SANITIZE.name} did not run')
        for line in result.stdout.splitlines()[-20:]:
            print(f'# {line}')
        sys.exit(1)
    tests = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return result.returncode, tests, result.stdout


def run_suites(args):
    """args: suites, then --full-unwind and the suites that need it."""
    fast = args[:args.index('--full-unwind')] if '--full-unwind' in args else args
    full = args[len(fast) + 1:]
    build(fast + full)
    with tempfile.TemporaryDirectory(prefix='tandem-sanitize-') as reports:
        start = time.monotonic()
        status_fast, tests_fast, out_fast = run_meson_test(fast, False, reports)
        status_full, tests_full, out_full = run_meson_test(full, True, reports)
        elapsed = time.monotonic() - start
        tests = tests_fast + tests_full
        found = reports_in(reports)
        status = status_fast or status_full
        output = out_fast + out_full
        suites = fast + full

    print(f'1..{len(tests) + 1}')
    n = 0
    for test in tests:
        n += 1
        ok = test['result'] in ('OK', 'SKIP', 'EXPECTEDFAIL')
        print(f'{"ok" if ok else "not ok"} {n} - {test["name"]} ({test["result"]}, {test["duration"]:.1f} s)')
        if not ok:
            # what failed inside it, with its comments, then how it ended
            lines = (test.get('stdout') or '').splitlines()
            for i, line in enumerate(lines):
                if line.startswith('not ok'):
                    for shown in lines[i:i + 8]:
                        print(f'# {shown}')
            for line in lines[-10:]:
                print(f'# {line}')
    n += 1
    print(f'{"not ok" if found else "ok"} {n} - no sanitizer report from any process')
    for name, text in found:
        print(f'# ---- {name}')
        for line in text.splitlines()[:60]:
            print(f'# {line}')
    print(f'# suites {" ".join(suites)} under ASan/UBSan: {elapsed:.0f} s')
    if status != 0 and all(t['result'] in ('OK', 'SKIP', 'EXPECTEDFAIL') for t in tests):
        for line in output.splitlines()[-20:]:
            print(f'# {line}')
    sys.exit(0 if status == 0 and not found and tests else 1)


def run_fuzz(target, seconds, seed):
    build([])
    program = SANITIZE / 'tests' / 'fuzz' / f'fuzz-{target}'
    corpus = SOURCE / 'tests' / 'fuzz' / 'corpus' / target
    print('1..1')
    with tempfile.TemporaryDirectory(prefix=f'tandem-fuzz-{target}-') as work:
        work_corpus = Path(work) / 'corpus'
        shutil.copytree(corpus, work_corpus)
        artifacts = Path(work) / 'artifacts'
        artifacts.mkdir()
        result = subprocess.run(
            [str(program), f'-max_total_time={seconds}', '-timeout=20', '-rss_limit_mb=2048',
             '-max_len=8192', '-print_final_stats=1', f'-artifact_prefix={artifacts}/']
            + ([f'-seed={seed}'] if seed is not None else []) + [str(work_corpus)],
            env=sanitizer_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors='replace', timeout=seconds + 120)
        output = result.stdout
        crashes = sorted(artifacts.iterdir())
        stats = dict(re.findall(r'^stat::(\w+):\s*(\d+)', output, re.M))
        execs = stats.get('number_of_executed_units', '?')
        ok = result.returncode == 0 and not crashes and 'ERROR: ' not in output \
            and 'runtime error:' not in output
        used_seed = re.search(r'Seed: (\d+)', output)
        print(f'{"ok" if ok else "not ok"} 1 - fuzz-{target}: {execs} runs in {seconds} s '
              f'(seed {used_seed.group(1) if used_seed else "?"}), '
              f'corpus {len(list(corpus.iterdir()))} -> {len(list(work_corpus.iterdir()))} inputs')
        if not ok:
            lines = output.splitlines()
            for line in lines[-80:]:
                print(f'# {line}')
            for crash in crashes:
                print(f'# ---- {crash.name}, base64; commit it as tests/fuzz/corpus/{target}/<name>:')
                print(f'# {base64.b64encode(crash.read_bytes()).decode()}')
        sys.exit(0 if ok else 1)


def main():
    check_toolchain()
    mode = sys.argv[3]
    if mode == 'suites':
        run_suites(sys.argv[4:])
    elif mode == 'fuzz':
        run_fuzz(sys.argv[4], int(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else None)
    else:
        sys.exit(f'unknown mode {mode}')


if __name__ == '__main__':
    main()
