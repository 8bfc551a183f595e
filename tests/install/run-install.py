#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""run-install.py BUILDDIR APP_ID LINGUAS
   run-install.py --flatpak MANIFEST.json SOURCE_ROOT LINGUAS

`meson install --no-rebuild --destdir TMP` from BUILDDIR, then checks that
every file Tandem installs is where a desktop expects it, and that the
installed app runs from there: `tandem --help`, and the app itself under
Xvfb for 3 s with XDG_DATA_DIRS at the staged share/ and the staged schemas
compiled (GSETTINGS_SCHEMA_DIR), staying alive and printing no warning or
critical.

With --flatpak, the build directory is a new one, set up the way
flatpak-builder sets up the manifest's `tandem` module (--prefix=/app
--libdir=lib and the module's config-opts), and the app id is the
manifest's: what a Flatpak build would install, short of the runtime.

Output is TAP; exit 77 when meson is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 60
BUILD_TIMEOUT = 600


def flatpak_build(meson, manifest_path, source_root, builddir):
    """Sets up and compiles the manifest's tandem module in BUILDDIR; returns
    the app id and the setup and compile output, or None on failure."""
    with open(manifest_path, encoding='utf-8') as f:
        manifest = json.load(f)
    module = next(m for m in manifest['modules'] if isinstance(m, dict) and m.get('name') == 'tandem')
    setup = [meson, 'setup', builddir, source_root, '--prefix=/app', '--libdir=lib']
    setup += module.get('config-opts', [])
    out = ''
    for cmd in (setup, [meson, 'compile', '-C', builddir]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        out += f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        if proc.returncode != 0:
            return None, out
    return manifest.get('id') or manifest.get('app-id'), out


def main():
    meson = shutil.which('meson')
    if meson is None:
        print('1..0 # SKIP meson is not installed')
        return 77

    results = []
    with tempfile.TemporaryDirectory(prefix='tandem-build-') as build_tmp:
        if sys.argv[1] == '--flatpak':
            manifest, source_root, linguas_file = sys.argv[2:5]
            builddir = os.path.join(build_tmp, 'build')
            app_id, out = flatpak_build(meson, manifest, source_root, builddir)
            ok = app_id is not None
            results.append(ok)
            print(f"{'ok' if ok else 'not ok'} 1 - build {os.path.basename(manifest)}'s tandem module")
            if not ok:
                print('\n'.join('# ' + line for line in out.splitlines()[-40:]))
                print('1..1')
                return 1
        else:
            builddir, app_id, linguas_file = sys.argv[1:4]
        return install_and_run(meson, builddir, app_id, linguas_file, results)


def install_and_run(meson, builddir, app_id, linguas_file, results):

    def check(ok, name, detail=''):
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
        if detail and not ok:
            for line in detail.rstrip().splitlines():
                print(f'# {line}')

    def skip(name, why):
        results.append(True)
        print(f'ok {len(results)} - {name} # SKIP {why}')

    options = json.loads(subprocess.run([meson, 'introspect', '--buildoptions', builddir],
                                        check=True, capture_output=True, text=True).stdout)
    opt = {o['name']: o['value'] for o in options}
    prefix = opt['prefix']
    bindir = os.path.join(prefix, opt['bindir'])
    datadir = os.path.join(prefix, opt['datadir'])
    localedir = os.path.join(prefix, opt['localedir'])

    with tempfile.TemporaryDirectory(prefix='tandem-install-') as tmp:
        destdir = os.path.join(tmp, 'dest')

        def staged(path):
            return os.path.join(destdir, path.lstrip('/'))

        proc = subprocess.run([meson, 'install', '--no-rebuild', '--quiet', '-C', builddir,
                               '--destdir', destdir],
                              capture_output=True, text=True, timeout=TIMEOUT)
        check(proc.returncode == 0, 'meson install --destdir', proc.stdout + proc.stderr)
        if proc.returncode != 0:
            print(f'1..{len(results)}')
            return 1

        expected = [
            os.path.join(bindir, 'tandem'),
            os.path.join(bindir, 'tandem-peer'),
            os.path.join(datadir, 'applications', f'{app_id}.desktop'),
            os.path.join(datadir, 'metainfo', f'{app_id}.metainfo.xml'),
            os.path.join(datadir, 'glib-2.0', 'schemas', 'io.github.tandemnotes.Tandem.gschema.xml'),
            os.path.join(datadir, 'icons', 'hicolor', 'scalable', 'apps', f'{app_id}.svg'),
            os.path.join(datadir, 'icons', 'hicolor', 'symbolic', 'apps', f'{app_id}-symbolic.svg'),
            os.path.join(datadir, 'dbus-1', 'services', f'{app_id}.service'),
            os.path.join(datadir, 'gnome-shell', 'search-providers', f'{app_id}.search-provider.ini'),
        ]
        with open(linguas_file, encoding='utf-8') as f:
            linguas = [w for line in f for w in line.split('#', 1)[0].split()]
        expected += [os.path.join(localedir, lang, 'LC_MESSAGES', 'tandem.mo') for lang in linguas]
        for path in expected:
            check(os.path.isfile(staged(path)), f'installed {path}')
        for path in expected[:2]:
            check(os.access(staged(path), os.X_OK), f'{path} is executable')

        service = staged(expected[7])
        if os.path.isfile(service):
            with open(service, encoding='utf-8') as f:
                text = f.read()
            check(f'Name={app_id}\n' in text, 'the D-Bus service is named after the app id', text)
            want = f'Exec={os.path.join(bindir, "tandem")} --gapplication-service\n'
            check(want in text, 'the D-Bus service starts the installed binary', text)
        desktop = staged(expected[2])
        if os.path.isfile(desktop):
            with open(desktop, encoding='utf-8') as f:
                text = f.read()
            check(f'Icon={app_id}\n' in text, 'the desktop file names the installed icon', text)

        validators = [(['desktop-file-validate'], expected[2]),
                      (['appstreamcli', 'validate', '--no-net'], expected[3])]
        for cmd, path in validators:
            if shutil.which(cmd[0]) is None:
                skip(f'{cmd[0]} on the installed {os.path.basename(path)}', f'{cmd[0]} is not installed')
            elif os.path.isfile(staged(path)):
                proc = subprocess.run(cmd + [staged(path)], capture_output=True, text=True,
                                      timeout=TIMEOUT)
                check(proc.returncode == 0, f'{cmd[0]} on the installed {os.path.basename(path)}',
                      proc.stdout + proc.stderr)

        tandem = staged(expected[0])
        env = dict(os.environ)
        for var in ('DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS'):
            env.pop(var, None)
        proc = subprocess.run([tandem, '--help'], env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
        check(proc.returncode == 0 and '--profile' in proc.stdout,
              'the installed tandem --help', proc.stdout + proc.stderr)

        schemas = os.path.dirname(staged(expected[4]))
        compile_schemas = shutil.which('glib-compile-schemas')
        if compile_schemas is None:
            skip('the installed app starts', 'glib-compile-schemas is not installed')
        elif shutil.which('xvfb-run') is None:
            skip('the installed app starts', 'xvfb-run is not installed')
        else:
            os.makedirs(os.path.join(tmp, 'home'))
            proc = subprocess.run([compile_schemas, '--strict', schemas],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            check(proc.returncode == 0, 'the installed schemas compile', proc.stderr)
            env.update({
                'XDG_DATA_DIRS': staged(datadir) + ':/usr/share',
                'GSETTINGS_SCHEMA_DIR': schemas,
                'GSETTINGS_BACKEND': 'memory',
                'GTK_A11Y': 'none',
                'G_DEBUG': 'fatal-criticals',
                'HOME': os.path.join(tmp, 'home'),
                'XDG_CONFIG_HOME': os.path.join(tmp, 'home', '.config'),
                'XDG_DATA_HOME': os.path.join(tmp, 'home', '.local', 'share'),
                'XDG_CACHE_HOME': os.path.join(tmp, 'home', '.cache'),
            })
            # alive after 3 s, then asked to stop
            script = ('"$@" & pid=$!; sleep 3; '
                      'if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid; echo ALIVE; '
                      'else wait $pid; echo "EXITED $?"; fi')
            proc = subprocess.run(['xvfb-run', '-a', '-s', '-screen 0 1280x800x24',
                                   'sh', '-c', script, 'sh', tandem,
                                   '--profile', os.path.join(tmp, 'profile'), '--no-discovery'],
                                  env=env, capture_output=True, text=True, timeout=TIMEOUT)
            out = proc.stdout + proc.stderr
            check('ALIVE' in proc.stdout, 'the installed app is still running after 3 s', out)
            noise = [line for line in proc.stderr.splitlines()
                     if 'CRITICAL' in line or 'WARNING' in line]
            check(not noise, 'the installed app prints no warning or critical', '\n'.join(noise))

    print(f'1..{len(results)}')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
