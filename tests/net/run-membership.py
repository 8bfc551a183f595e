#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Removing a member rotates the notebook key (TAP, real processes).

usage: run-membership.py TANDEM_PEER

Ann makes a notebook; Bob and Cat join it. Bob quits. Ann removes Cat:
  - Cat's connection to Ann closes and Cat drops out of Ann's member list;
  - what Ann writes afterwards never reaches Cat, and what Cat writes never
    reaches Ann (Cat still holds the old key, which opens nothing now);
  - Bob, offline while the key changed, comes back with the old key, is
    let in because his certificate is a pinned member, gets the new key
    and the member list without Cat, and syncs; Cat, dialling Bob then,
    is refused by him too;
  - the old invite no longer lets a newcomer in.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tandem_peers import Peer, PeerError  # noqa: E402

program = os.path.abspath(sys.argv[1])
results = []


def check(name, ok, detail=''):
    results.append((name, bool(ok), detail))


def members(peer, notebook):
    for nb in peer.cmd('notebooks')['notebooks']:
        if nb['notebook'] == notebook:
            return sorted(m['name'] for m in nb['members'])
    return None


def main():
    with tempfile.TemporaryDirectory(prefix='tandem-members-') as tmp:
        peers = []
        try:
            ann = Peer(program, f'{tmp}/ann', name='Ann')
            peers.append(ann)
            nb = ann.cmd('create-notebook', name='Plans')
            notebook = nb['notebook']
            bob = Peer(program, f'{tmp}/bob', name='Bob')
            cat = Peer(program, f'{tmp}/cat', name='Cat')
            peers += [bob, cat]
            bob.cmd('join', invite=nb['invite'])
            cat.cmd('join', invite=nb['invite'])
            note = ann.cmd('create-note', notebook=notebook, title='Budget')['note']
            ann.cmd('insert', note=note, pos=0, text='before. ')
            ann.cmd('wait-synced', peers=2)
            for p in (bob, cat):
                p.cmd('wait-synced', peers=1)
            check('everyone has the note before the removal',
                  bob.cmd('dump', note=note)['text'] == 'before. ' and
                  cat.cmd('dump', note=note)['text'] == 'before. ')

            bob.quit()
            cat_id = cat.peer
            ann.cmd('remove-member', notebook=notebook, peer=cat_id)
            gone = True
            try:
                ann.wait_event('peer-disconnected', timeout=10, peer=cat_id)
            except PeerError:
                gone = False
            check("the removed member's connection closes", gone)
            check('the removed member leaves the member list',
                  members(ann, notebook) == ['Bob'], f'{members(ann, notebook)}')

            ann.cmd('insert', note=note, pos=0, text='secret. ')
            cat.cmd('insert', note=note, pos=0, text='sneaky. ')
            time.sleep(5)
            check('what is written after the removal never reaches the removed member',
                  'secret' not in cat.cmd('dump', note=note)['text'],
                  cat.cmd('dump', note=note)['text'])
            check("the removed member's edits never reach the notebook",
                  'sneaky' not in ann.cmd('dump', note=note)['text'],
                  ann.cmd('dump', note=note)['text'])
            open_to_cat = [p for p in ann.cmd('peers')['peers'] if p['peer'] == cat_id]
            check('the removed member cannot connect again', not open_to_cat, f'{open_to_cat}')

            bob.restart()
            bob.cmd('connect', host='127.0.0.1', port=ann.port)
            synced = True
            try:
                # Bob being synced says only that Ann has all Bob has;
                # Ann being synced says Bob has all Ann has
                bob.cmd('wait-synced', peers=1, timeout=30)
                ann.cmd('wait-synced', peers=1, timeout=30)
            except PeerError as e:
                synced = False
                check('...', False, str(e))
            text = bob.cmd('dump', note=note)['text']
            check('a member offline during the change comes back, gets the new key and syncs',
                  synced and text.startswith('secret. '), text)
            check('... and learns who was removed', members(bob, notebook) == ['Ann'],
                  f'{members(bob, notebook)}')
            cat.cmd('connect', host='127.0.0.1', port=bob.port)
            time.sleep(3)
            check('the removed member cannot reach the notebook through him either',
                  'sneaky' not in bob.cmd('dump', note=note)['text'] and
                  'secret' not in cat.cmd('dump', note=note)['text'])

            dan = Peer(program, f'{tmp}/dan', name='Dan')
            peers.append(dan)
            dan.cmd('join', invite=nb['invite'])
            time.sleep(4)
            check('the old invite no longer lets anyone in',
                  not [p for p in ann.cmd('peers')['peers'] if p['peer'] == dan.peer] and
                  not dan.cmd('notes', notebook=notebook)['notes'],
                  f"{dan.cmd('notes', notebook=notebook)}")
        except PeerError as e:
            check('the peers answered', False, str(e))
        finally:
            for p in peers:
                p.kill()

    print(f'1..{len(results)}')
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        if detail:
            print(f'# {detail}')
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
