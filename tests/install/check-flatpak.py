#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""check-flatpak.py MANIFEST.json...

The offline checks a Flatpak manifest can have here (no runtime can be
installed on these machines):
- `flatpak-builder --show-manifest` parses it and prints nothing on stderr
  (an unknown key is only a warning there: here it fails);
- the GNOME runtime and SDK, `tandem` as the command and exactly the
  finish-args Tandem needs;
- every module source exists: a local path relative to the manifest, or an
  https URL with a sha256 (archives, files) or a pinned commit or tag (git).
Output is TAP; exit 77 when flatpak-builder is missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys

FINISH_ARGS = {
    '--share=network',
    '--share=ipc',
    '--socket=wayland',
    '--socket=fallback-x11',
    '--device=dri',
    '--system-talk-name=org.freedesktop.Avahi',
}
SHA256 = re.compile(r'^[0-9a-f]{64}$')


def main():
    manifests = sys.argv[1:]
    builder = shutil.which('flatpak-builder')
    if builder is None:
        print('1..0 # SKIP flatpak-builder is not installed')
        return 77

    results = []

    def check(ok, name, detail=''):
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
        if detail and not ok:
            for line in str(detail).rstrip().splitlines():
                print(f'# {line}')

    for path in manifests:
        base = os.path.basename(path)
        here = os.path.dirname(os.path.abspath(path))
        proc = subprocess.run([builder, '--show-manifest', path],
                              capture_output=True, text=True, timeout=60)
        check(proc.returncode == 0 and not proc.stderr.strip(),
              f'{base}: flatpak-builder --show-manifest, no warning',
              proc.stderr or f'exit status {proc.returncode}')
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)

        app_id = manifest.get('id') or manifest.get('app-id')
        check(base == f'{app_id}.json', f'{base}: named after its id {app_id}')
        check(manifest.get('runtime') == 'org.gnome.Platform'
              and manifest.get('sdk') == 'org.gnome.Sdk'
              and str(manifest.get('runtime-version', '')).isdigit(),
              f'{base}: a stable GNOME runtime and its SDK',
              {k: manifest.get(k) for k in ('runtime', 'runtime-version', 'sdk')})
        check(manifest.get('command') == 'tandem', f'{base}: the command is tandem')
        args = manifest.get('finish-args', [])
        check(set(args) == FINISH_ARGS and len(args) == len(FINISH_ARGS),
              f'{base}: exactly the finish-args Tandem needs',
              f'extra: {sorted(set(args) - FINISH_ARGS)}, missing: {sorted(FINISH_ARGS - set(args))}')

        modules = []

        def collect(module_list, where):
            for module in module_list:
                if isinstance(module, str):     # a module kept in its own file
                    file = os.path.join(where, module)
                    check(os.path.isfile(file), f'{base}: module file {module} exists')
                    if os.path.isfile(file):
                        with open(file, encoding='utf-8') as f:
                            collect([json.load(f)], os.path.dirname(file))
                    continue
                modules.append((module, where))
                collect(module.get('modules', []), where)

        collect(manifest.get('modules', []), here)
        names = [m.get('name') for m, _ in modules]
        check(names and names[-1] == 'tandem', f'{base}: tandem is the last module', names)

        for module, where in modules:
            name = module.get('name')
            sources = module.get('sources', [])
            check(bool(sources), f'{base}: module {name} has sources')
            for source in sources:
                if isinstance(source, str):     # sources kept in their own file
                    ok = os.path.isfile(os.path.join(where, source))
                    check(ok, f'{base}: {name}: source file {source} exists')
                    continue
                kind = source.get('type')
                if 'path' in source:
                    target = os.path.normpath(os.path.join(where, source['path']))
                    exists = os.path.isdir(target) if kind == 'dir' else os.path.isfile(target)
                    check(exists, f'{base}: {name}: {kind} {source["path"]} exists', target)
                elif 'url' in source:
                    url = source['url']
                    check(url.startswith('https://'), f'{base}: {name}: {url} is https')
                    if kind == 'git':
                        check(bool(source.get('commit') or source.get('tag')),
                              f'{base}: {name}: git source pinned to a commit or tag')
                    else:
                        check(bool(SHA256.match(source.get('sha256', ''))),
                              f'{base}: {name}: {url} has a sha256')
                else:
                    check(False, f'{base}: {name}: {kind} source has a path or a url', source)

        tandem = next((m for m, _ in modules if m.get('name') == 'tandem'), {})
        check(tandem.get('buildsystem') == 'meson', f'{base}: tandem is built with meson')
        development = '-Ddevelopment=true' in tandem.get('config-opts', [])
        check(development == app_id.endswith('.Devel'),
              f'{base}: -Ddevelopment=true exactly when the id ends in .Devel',
              tandem.get('config-opts'))

    print(f'1..{len(results)}')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
