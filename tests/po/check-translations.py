#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every translation in po/LINGUAS is complete and well-formed (TAP).

usage: check-translations.py SOURCE_ROOT BUILD_ROOT PACKAGE APP_ID

The template is the one the build makes now: `meson compile -C BUILD_ROOT
PACKAGE-pot` (it writes po/PACKAGE.pot, which git ignores). For each
language:

- msgfmt --check passes (formats, header, plural forms), statistics shown
- merged with that template (msgmerge into a temporary copy), the catalog
  has no untranslated and no fuzzy message: a new or changed string fails
  this test until it is translated, which is the point
- the Plural-Forms header is the usual one for the language
- a label with one mnemonic keeps exactly one
- French: the spaces before : ; ! ? and inside « » are non-breaking

and the desktop file and AppStream metainfo merged with the .po files as
they are now still pass desktop-file-validate and appstreamcli validate
(the built ones are not rebuilt when only a .po changes, meson #2621).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 120
PLURAL_FORMS = {
    'de': 'nplurals=2; plural=(n != 1);',
    'fr': 'nplurals=2; plural=(n > 1);',
}
MNEMONIC = re.compile(r'_[^\W_]')


def unquote(s):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', 't': '\t'}.get(m.group(1), m.group(1)), s)


def parse_po(path):
    """The messages of a .po file (obsolete ones left out), as dicts with
    msgctxt, msgid, msgid_plural, msgstr (a list) and flags."""
    entries, cur, key = [], None, None

    def flush():
        if cur is not None and 'msgid' in cur:
            entries.append(cur)

    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#~') or not line.strip():
                continue
            if line.startswith('#,'):
                flush()
                cur, key = {'flags': [w.strip() for w in line[2:].split(',')], 'msgstr': []}, None
                continue
            if line.startswith('#'):
                continue
            m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if m:
                kw, text = m.group(1), unquote(m.group(2))
                if kw in ('msgctxt', 'msgid') and (cur is None or 'msgid' in cur):
                    flush()
                    cur = {'flags': [], 'msgstr': []}
                if cur is None:
                    cur = {'flags': [], 'msgstr': []}
                if kw.startswith('msgstr'):
                    cur['msgstr'].append(text)
                    key = ('msgstr', len(cur['msgstr']) - 1)
                else:
                    cur[kw] = text
                    key = kw
            elif line.startswith('"') and key is not None:
                text = unquote(line.strip()[1:-1])
                if isinstance(key, tuple):
                    cur['msgstr'][key[1]] += text
                else:
                    cur[key] += text
    flush()
    return entries


def main():
    source_root, build_root, package, app_id = sys.argv[1:5]
    po_dir = os.path.join(source_root, 'po')
    results = []

    def check(ok, name, detail=''):
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
        if detail and not ok:
            for line in detail.rstrip().splitlines():
                print(f'# {line}')

    def skip(name, why):
        results.append(True)
        print(f'ok {len(results)} - {name} # SKIP {why}')

    for tool in ('meson', 'msgfmt', 'msgmerge', 'msgattrib'):
        if shutil.which(tool) is None:
            print(f'1..0 # SKIP {tool} is not installed')
            return 0

    with open(os.path.join(po_dir, 'LINGUAS'), encoding='utf-8') as f:
        linguas = [w for line in f for w in line.split('#', 1)[0].split()]

    pot = os.path.join(po_dir, f'{package}.pot')
    proc = subprocess.run(['meson', 'compile', '-C', build_root, f'{package}-pot'],
                          capture_output=True, text=True, timeout=TIMEOUT)
    ok = proc.returncode == 0 and os.path.isfile(pot)
    check(ok, f'the build makes the template ({package}-pot)', proc.stdout + proc.stderr)
    if not ok:
        print(f'1..{len(results)}')
        return 1
    check(bool(linguas), 'po/LINGUAS names at least one language')

    with tempfile.TemporaryDirectory(prefix='tandem-po-') as tmp:
        for lang in linguas:
            po = os.path.join(po_dir, f'{lang}.po')
            if not os.path.isfile(po):
                check(False, f'{lang}: po/{lang}.po exists')
                continue
            proc = subprocess.run(['msgfmt', '--check', '--statistics', '-o', os.devnull, po],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            check(proc.returncode == 0, f'{lang}: msgfmt --check', proc.stdout + proc.stderr)
            if proc.returncode == 0:
                print(f'# {lang}: {proc.stderr.strip()}')

            merged = os.path.join(tmp, f'{lang}.po')
            proc = subprocess.run(['msgmerge', '--quiet', '-o', merged, po, pot],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            check(proc.returncode == 0, f'{lang}: msgmerge with the current template', proc.stderr)
            if proc.returncode != 0:
                continue
            for what, opt in (('untranslated', '--untranslated'), ('fuzzy', '--only-fuzzy')):
                proc = subprocess.run(['msgattrib', opt, '--no-obsolete', merged],
                                      capture_output=True, text=True, timeout=TIMEOUT)
                ids = [e['msgid'] for e in parse_po_text(proc.stdout, tmp) if e['msgid']]
                check(proc.returncode == 0 and not proc.stdout.strip(),
                      f'{lang}: no {what} message against the current template',
                      proc.stderr + ''.join(f'{what}: {i!r}\n' for i in ids[:20]))

            entries = parse_po(po)
            header = next((e for e in entries if e['msgid'] == '' and 'msgctxt' not in e), None)
            forms = re.search(r'^Plural-Forms:\s*(.*?)\s*$', header['msgstr'][0], re.M) if header else None
            if lang in PLURAL_FORMS:
                check(forms is not None and forms.group(1) == PLURAL_FORMS[lang],
                      f'{lang}: Plural-Forms is "{PLURAL_FORMS[lang]}"',
                      forms.group(1) if forms else 'no Plural-Forms header')
            else:
                check(forms is not None, f'{lang}: has a Plural-Forms header')

            bad = []
            for e in entries:
                if not e['msgid'] or e['msgid'].count('_') != 1 or not MNEMONIC.search(e['msgid']):
                    continue
                for s in e['msgstr']:
                    if s and (s.count('_') != 1 or not MNEMONIC.search(s)):
                        bad.append(f"{e['msgid']!r} -> {s!r}")
            check(not bad, f'{lang}: every label with a mnemonic keeps exactly one', '\n'.join(bad))

            if lang == 'fr':
                bad = []
                for e in entries:
                    for s in e['msgstr'] if e['msgid'] else []:
                        if re.search(r' [:;!?»]|« ', s):
                            bad.append(f"{e['msgid']!r} -> {s!r}")
                check(not bad, 'fr: non-breaking spaces before : ; ! ? and inside « »', '\n'.join(bad))

        # the data files, merged the way i18n.merge_file merges them
        data = os.path.join(build_root, 'data')
        merges = [('desktop', f'{app_id}.desktop.in', ['desktop-file-validate']),
                  ('xml', f'{app_id}.metainfo.xml.in', ['appstreamcli', 'validate', '--no-net'])]
        for kind, template, validator in merges:
            out = os.path.join(tmp, template[:-3])
            name = f'{template[:-3]} merged with the translations validates'
            if not os.path.isfile(os.path.join(data, template)):
                skip(name, f'no {template} in the build directory')
                continue
            if shutil.which(validator[0]) is None:
                skip(name, f'{validator[0]} is not installed')
                continue
            proc = subprocess.run(['msgfmt', f'--{kind}', '--template', os.path.join(data, template),
                                   '-d', po_dir, '-o', out], capture_output=True, text=True, timeout=TIMEOUT)
            if proc.returncode == 0:
                proc = subprocess.run(validator + [out], capture_output=True, text=True, timeout=TIMEOUT)
            check(proc.returncode == 0, name, proc.stdout + proc.stderr)
            if proc.returncode == 0:
                with open(out, encoding='utf-8') as f:
                    text = f.read()
                missing = [lang for lang in linguas
                           if not re.search(rf'(\[{re.escape(lang)}\]=|xml:lang="{re.escape(lang)}")', text)]
                check(not missing, f'{template[:-3]} carries every language of LINGUAS',
                      'missing: ' + ', '.join(missing))

    print(f'1..{len(results)}')
    return 0 if all(results) else 1


def parse_po_text(text, tmp):
    path = os.path.join(tmp, 'attrib.po')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return parse_po(path)


if __name__ == '__main__':
    sys.exit(main())
