#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""make-main-window.py BUILDDIR OUT.png

Makes data/screenshots/main-window.png, the metainfo's screenshot: Ann's
profile with a shared notebook of three notes is filled by the headless
peer, Bob joins it, then the app opens Ann's profile while Bob is
connected with his selection in the pinned note. Run it on a display of
its own:

    xvfb-run -a -s "-screen 0 1280x800x24" env GTK_A11Y=none GSETTINGS_BACKEND=memory \\
        data/screenshots/make-main-window.py build data/screenshots/main-window.png

It clicks at fixed places of the window (the notebook menu, its second
entry, the first note), so check the picture after a change to the UI.
Needs xdotool and ImageMagick (import, convert).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

PORT = 47311


class Peer:
    """A tandem-peer run process, one JSON command per line."""

    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, 'run', *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.last = 0
        self.read_until(lambda m: m.get('event') == 'ready')

    def read_until(self, pred):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit('tandem-peer exited')
            message = json.loads(line)
            if pred(message):
                return message

    def cmd(self, **kw):
        self.last += 1
        kw['id'] = self.last
        self.proc.stdin.write(json.dumps(kw) + '\n')
        self.proc.stdin.flush()
        reply = self.read_until(lambda m: m.get('id') == self.last)
        if not reply.get('ok'):
            raise SystemExit(f'{kw}: {reply}')
        return reply

    def quit(self):
        self.proc.stdin.write('{"cmd": "quit"}\n')
        self.proc.stdin.flush()
        self.proc.wait(10)


ROUTE = ('Day 1: leave **at 7:00** from the station, lunch in Holmfirth.\n\n'
         'Day 2: the ridge walk. Ann brings the map; Bob checks the weather the evening before.\n\n'
         '## Stops\n\n1. Holmfirth café\n2. Digley reservoir\n3. The *old mill* campsite\n')


def fill(peer_exe, ann_dir, bob_dir):
    ann = Peer(peer_exe, '--profile', ann_dir, '--name', 'Ann', '--no-discovery')
    notebook = ann.cmd(cmd='create-notebook', name='Team Trip')

    def note(title, text, **fields):
        note_id = ann.cmd(cmd='create-note', notebook=notebook['notebook'], title=title)['note']
        ann.cmd(cmd='insert', note=note_id, pos=0, text=text)
        for field, value in fields.items():
            ann.cmd(cmd='set', note=note_id, field=field, value=value)
        return note_id

    note('Packing list', 'Things to bring.\n\n- [x] Tent and poles\n- [ ] Sleeping bags\n'
         '- [ ] Headlamps\n- [ ] First-aid kit\n', tags=['gear'])
    note('Budget', 'Shared costs, split three ways.\n\n| item | cost |\n|---|---:|\n'
         '| Campsite | 60 |\n| Fuel | 45 |\n', tags=['money'])
    route = note('Route to the lakes', ROUTE, tags=['plan', 'walk'], pinned=True)
    ann.cmd(cmd='create-note', title='Ideas')
    bob = Peer(peer_exe, '--profile', bob_dir, '--name', 'Bob', '--no-discovery')
    bob.cmd(cmd='join', invite=notebook['invite'])
    bob.cmd(cmd='wait-synced', timeout=30, peers=1)
    ann.cmd(cmd='wait-synced', timeout=30, peers=1)
    bob.quit()
    ann.quit()
    return route


def xdotool(*args):
    return subprocess.run(['xdotool', *args], check=True, capture_output=True, text=True).stdout


def main():
    builddir, out = sys.argv[1:3]
    peer_exe = os.path.join(builddir, 'src', 'peer', 'tandem-peer')
    app_exe = os.path.join(builddir, 'src', 'app', 'tandem')
    with tempfile.TemporaryDirectory(prefix='tandem-shot-') as tmp:
        ann_dir, bob_dir = os.path.join(tmp, 'ann'), os.path.join(tmp, 'bob')
        route = fill(peer_exe, ann_dir, bob_dir)
        app = subprocess.Popen([app_exe, '--profile', ann_dir, '--no-discovery', '--port', str(PORT)])
        bob = None
        try:
            time.sleep(2)
            bob = Peer(peer_exe, '--profile', bob_dir, '--name', 'Bob', '--no-discovery',
                       '--connect', f'127.0.0.1:{PORT}')
            bob.cmd(cmd='wait-synced', timeout=30, peers=1)
            start = ROUTE.index('Ann brings the map')
            bob.cmd(cmd='presence', state='online', note=route,
                    pos=start + len('Ann brings the map'), anchor=start)
            window = xdotool('search', '--onlyvisible', '--name', 'Tandem').split()[0]
            for x, y in ((226, 28), (266, 115), (150, 125)):   # notebook menu, Team Trip, the note
                xdotool('mousemove', str(x), str(y), 'click', '1')
                time.sleep(1)
            xdotool('mousemove', '1270', '790')
            time.sleep(2)
            geometry = dict(line.split('=', 1) for line in
                            xdotool('getwindowgeometry', '--shell', window).split())
            shot = os.path.join(tmp, 'root.png')
            subprocess.run(['import', '-window', 'root', shot], check=True)
            subprocess.run(['convert', shot, '-crop',
                            f"{geometry['WIDTH']}x{geometry['HEIGHT']}+{geometry['X']}+{geometry['Y']}",
                            '+repage', '-strip', out], check=True)
        finally:
            if bob is not None:
                bob.quit()
            app.terminate()
            app.wait(10)
    print(out)


if __name__ == '__main__':
    main()
