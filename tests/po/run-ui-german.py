#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The installed app, started in German, shows German (TAP).

usage: run-ui-german.py BUILDDIR SCREENSHOT.png

`meson install --no-rebuild --destdir TMP` from BUILDDIR, then the staged
tandem runs with LANGUAGE=de (LANG=de_DE.UTF-8 when that locale exists,
else C.UTF-8, where glibc still honours LANGUAGE) and TANDEM_LOCALEDIR at
the staged share/locale, on a fresh profile, under Xvfb and a private
D-Bus session with the accessibility bus. Then:

- a window appears (xdotool), and a screenshot of the screen goes to
  SCREENSHOT.png for a person to look at
- the accessibility tree (AT-SPI over D-Bus, read with gdbus) holds the
  German of strings the first window shows, from both the .ui files and
  the C code, a plural included, and none of their English; the German
  is read from the installed tandem.mo, so rewording a translation does
  not break this test
- the welcome note the first start makes is titled in German in the
  profile (tandem-peer list)
- the app prints no warning or critical

The X window title cannot tell the languages apart: it is "Tandem" in
every language, and the header's title (the note's) is a widget, not the
window name. Hence the accessibility tree.

Output is TAP; a missing tool skips the test.
"""
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60
TOOLS = ('meson', 'xvfb-run', 'dbus-run-session', 'xdotool', 'import', 'gdbus', 'glib-compile-schemas')
# Shown by the first window of a new profile: accessible names (labels,
# accessible labels, text) and descriptions (tooltips).
SHOWN = [
    'Welcome to Tandem',      # the welcome note's title, in the header (C)
    'Personal',               # the notebook drop-down (C)
    'Note title',             # accessible labels (.ui)
    'Note text',
    'New Note',               # tooltips (.ui)
    'Main Menu',
    'Show the Trash',
    'No colour',              # the colour drop-down (C)
]
PLURAL = ('%u word', '%u words')  # the word count under the note (ngettext)
STRING = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")
REF = re.compile(r"\('([^']*)', (?:objectpath )?'([^']*)'\)")


def gdbus(*args):
    proc = subprocess.run(['gdbus', 'call', *args], capture_output=True, text=True, timeout=10)
    return proc.stdout if proc.returncode == 0 else ''


def first_string(out):
    m = STRING.search(out)
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else ''


def accessible_texts():
    """Names and descriptions of every accessible of the apps on the
    accessibility bus."""
    address = first_string(gdbus('--session', '--dest', 'org.a11y.Bus', '--object-path', '/org/a11y/bus',
                                 '--method', 'org.a11y.Bus.GetAddress'))
    if not address:
        return None
    apps = REF.findall(gdbus('--address', address, '--dest', 'org.a11y.atspi.Registry',
                             '--object-path', '/org/a11y/atspi/accessible/root',
                             '--method', 'org.a11y.atspi.Accessible.GetChildren'))
    texts, seen, todo = [], set(), list(apps)
    while todo and len(seen) < 2000:
        ref = todo.pop()
        if ref in seen or not ref[0]:
            continue
        seen.add(ref)
        for prop in ('Name', 'Description'):
            text = first_string(gdbus('--address', address, '--dest', ref[0], '--object-path', ref[1],
                                      '--method', 'org.freedesktop.DBus.Properties.Get',
                                      'org.a11y.atspi.Accessible', prop))
            if text:
                texts.append(text)
        todo += REF.findall(gdbus('--address', address, '--dest', ref[0], '--object-path', ref[1],
                                  '--method', 'org.a11y.atspi.Accessible.GetChildren'))
    return texts


def inner(config_path):
    """Runs under xvfb-run and dbus-run-session: starts the app, looks at
    it, writes what it saw to CONFIG_PATH + '.out'."""
    with open(config_path, encoding='utf-8') as f:
        config = json.load(f)
    seen = {'window': False, 'screenshot': '', 'texts': None, 'stderr': ''}
    env = dict(config['env'])
    # the display and the session bus are the ones made for this run
    for var in ('DISPLAY', 'XAUTHORITY', 'DBUS_SESSION_BUS_ADDRESS'):
        if var in os.environ:
            env[var] = os.environ[var]
    log = open(config['log'], 'w', encoding='utf-8')
    app = subprocess.Popen([config['tandem'], '--profile', config['profile'], '--no-discovery'],
                           env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            proc = subprocess.run(['xdotool', 'search', '--sync', '--onlyvisible', '--name', '^Tandem$'],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            seen['window'] = proc.returncode == 0 and proc.stdout.strip() != ''
        except subprocess.TimeoutExpired:
            pass
        if seen['window']:
            # the tree fills as the window is mapped and laid out
            want = config['welcome']
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                seen['texts'] = accessible_texts()
                if seen['texts'] and want in seen['texts']:
                    break
                time.sleep(1)
            proc = subprocess.run(['import', '-window', 'root', config['screenshot']],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            seen['screenshot'] = proc.stderr
    finally:
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        log.close()
    with open(config['log'], encoding='utf-8', errors='replace') as f:
        seen['stderr'] = f.read()
    with open(config_path + '.out', 'w', encoding='utf-8') as f:
        json.dump(seen, f)
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--inner':
        return inner(sys.argv[2])
    builddir, screenshot = sys.argv[1:3]
    for tool in TOOLS:
        if shutil.which(tool) is None:
            print(f'1..0 # SKIP {tool} is not installed')
            return 0

    results = []

    def check(ok, name, detail=''):
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
        if detail and not ok:
            for line in detail.rstrip().splitlines():
                print(f'# {line}')

    def done():
        print(f'1..{len(results)}')
        return 0 if all(results) else 1

    options = json.loads(subprocess.run(['meson', 'introspect', '--buildoptions', builddir],
                                        check=True, capture_output=True, text=True).stdout)
    opt = {o['name']: o['value'] for o in options}
    prefix = opt['prefix']
    bindir = os.path.join(prefix, opt['bindir'])
    datadir = os.path.join(prefix, opt['datadir'])
    localedir = os.path.join(prefix, opt['localedir'])

    with tempfile.TemporaryDirectory(prefix='tandem-ui-de-') as tmp:
        destdir = os.path.join(tmp, 'dest')

        def staged(path):
            return os.path.join(destdir, path.lstrip('/'))

        proc = subprocess.run(['meson', 'install', '--no-rebuild', '--quiet', '-C', builddir,
                               '--destdir', destdir], capture_output=True, text=True, timeout=TIMEOUT)
        check(proc.returncode == 0, 'meson install --destdir', proc.stdout + proc.stderr)
        if proc.returncode != 0:
            return done()
        mo = staged(os.path.join(localedir, 'de', 'LC_MESSAGES', 'tandem.mo'))
        check(os.path.isfile(mo), f'installed {os.path.join(localedir, "de", "LC_MESSAGES", "tandem.mo")}')
        if not os.path.isfile(mo):
            return done()
        with open(mo, 'rb') as f:
            catalog = gettext.GNUTranslations(f)
        missing = [s for s in SHOWN if catalog.gettext(s) == s]
        check(not missing, 'the German catalog translates what the test looks for',
              'not translated (or no longer in the app): ' + ', '.join(missing))
        german = {s: catalog.gettext(s) for s in SHOWN}
        forms = [catalog.ngettext(*PLURAL, n) for n in (1, 2)]
        plural_de = re.compile('^(?:' + '|'.join(re.escape(f).replace('%u', r'\d+') for f in forms) + ')$')
        plural_en = re.compile(r'^\d+ words?$')

        schemas = staged(os.path.join(datadir, 'glib-2.0', 'schemas'))
        proc = subprocess.run(['glib-compile-schemas', schemas], capture_output=True, text=True,
                              timeout=TIMEOUT)
        check(proc.returncode == 0, 'the installed schemas compile', proc.stderr)

        home = os.path.join(tmp, 'home')
        runtime = os.path.join(tmp, 'runtime')
        os.makedirs(home)
        os.makedirs(runtime, mode=0o700)
        env = dict(os.environ)
        for var in ('DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS', 'GTK_A11Y', 'NO_AT_BRIDGE',
                    'LC_ALL', 'LC_MESSAGES', 'LANG', 'LANGUAGE'):
            env.pop(var, None)
        env.update({
            'HOME': home,
            'XDG_RUNTIME_DIR': runtime,
            'XDG_CONFIG_HOME': os.path.join(home, '.config'),
            'XDG_DATA_HOME': os.path.join(home, '.local', 'share'),
            'XDG_CACHE_HOME': os.path.join(home, '.cache'),
        })
        locales = subprocess.run(['locale', '-a'], capture_output=True, text=True).stdout.split()
        lang = 'de_DE.UTF-8' if any(l.lower() in ('de_de.utf8', 'de_de.utf-8') for l in locales) else 'C.UTF-8'
        app_env = dict(env)
        app_env.update({
            'LANGUAGE': 'de',
            'LANG': lang,
            'TANDEM_LOCALEDIR': staged(localedir),
            'XDG_DATA_DIRS': staged(datadir) + ':/usr/share',
            'GSETTINGS_SCHEMA_DIR': schemas,
            'GSETTINGS_BACKEND': 'memory',
            'GDK_BACKEND': 'x11',
            'GSK_RENDERER': 'cairo',
        })
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        if os.path.exists(screenshot):
            os.unlink(screenshot)
        config = {
            'tandem': staged(os.path.join(bindir, 'tandem')),
            'profile': os.path.join(tmp, 'profile'),
            'screenshot': os.path.abspath(screenshot),
            'log': os.path.join(tmp, 'app.log'),
            'welcome': german['Welcome to Tandem'],
            'env': app_env,
        }
        config_path = os.path.join(tmp, 'config.json')
        with open(config_path, 'w', encoding='utf-8') as f:
            json.dump(config, f)
        proc = subprocess.run(['xvfb-run', '-a', '-s', '-screen 0 1280x800x24',
                               'dbus-run-session', '--', sys.executable, os.path.abspath(__file__),
                               '--inner', config_path],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT * 3)
        try:
            with open(config_path + '.out', encoding='utf-8') as f:
                seen = json.load(f)
        except OSError:
            check(False, 'the app ran under Xvfb', proc.stdout + proc.stderr)
            return done()

        print(f'# LANGUAGE=de LANG={lang}')
        check(seen['window'], 'the German app shows its window', seen['stderr'])
        check(os.path.isfile(screenshot) and os.path.getsize(screenshot) > 0,
              f'a screenshot in {screenshot}', seen['screenshot'])
        texts = seen['texts']
        if texts is None:
            check(False, 'the accessibility tree can be read', proc.stdout + proc.stderr)
        else:
            print(f'# {len(texts)} accessible names and descriptions')
            for en, de in german.items():
                check(de in texts and en not in texts, f'shown in German: "{de}" ({en})',
                      f'"{de}" shown: {de in texts}, "{en}" shown: {en in texts}')
            count = [t for t in texts if plural_de.match(t) or plural_en.match(t)]
            check(bool(count) and all(plural_de.match(t) for t in count),
                  f'the word count is German ("{forms[1]}")', 'word counts shown: ' + repr(count))

        proc = subprocess.run([staged(os.path.join(bindir, 'tandem-peer')), 'list',
                               '--profile', config['profile']],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
        titles = []
        for line in proc.stdout.splitlines():
            try:
                titles.append(json.loads(line).get('title'))
            except ValueError:
                pass
        check(german['Welcome to Tandem'] in titles,
              f'the welcome note is made in German ("{german["Welcome to Tandem"]}")',
              f'titles: {titles!r}\n{proc.stderr}')
        noise = [line for line in seen['stderr'].splitlines() if 'CRITICAL' in line or 'WARNING' in line]
        check(not noise, 'the app prints no warning or critical', '\n'.join(noise))
    return done()


if __name__ == '__main__':
    sys.exit(main())
