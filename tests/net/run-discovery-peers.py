#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whole peers finding each other through Avahi, with no address given (TAP).

usage: run-discovery-peers.py TANDEM_PEER

Two hosts (network namespaces on a veth pair, each with its own system bus
and avahi-daemon: avahi_sandbox.py). A `tandem-peer run` on each, with
discovery and without --connect. Ann creates a notebook; Bob joins it with
the invite. The invite's addresses are of no use here (the hosts have no
route but their link, so it names only loopback), so Bob can only reach Ann
through what her peer publishes. Then:

  - each finds the other and they connect (a "peer-connected" event);
  - a note Ann writes reaches Bob, and Bob's edit reaches Ann;
  - a third peer with a notebook of its own, on Bob's host, is not dialled
    by anybody (its TXT tags name no notebook of theirs);
  - when Ann quits, Bob sees her go ("peer-disconnected") and `peers` no
    longer lists her;
  - a peer whose host has no Avahi daemon says so once ("notice") and
    still works: notes can be made and edited.

Needs root and namespaces; skipped with the reason otherwise.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import avahi_sandbox  # noqa: E402
from tandem_peers import Peer, PeerError  # noqa: E402

program = os.path.abspath(sys.argv[1])
results = []


def check(name, ok, detail=''):
    results.append((name, bool(ok), detail))
    return ok


def main():
    try:
        sandbox = avahi_sandbox.Sandbox(2)
    except avahi_sandbox.Skip as e:
        avahi_sandbox.print_tap_skip(e)
        return 0
    with sandbox as sb, tempfile.TemporaryDirectory(prefix='tandem-disc-') as tmp:
        a_host, b_host = sb.hosts
        peers = []
        try:
            t0 = time.monotonic()
            ann = Peer(program, f'{tmp}/ann', name='Ann', discovery=True, popen=a_host.popen)
            bob = Peer(program, f'{tmp}/bob', name='Bob', discovery=True, popen=b_host.popen)
            peers += [ann, bob]
            nb = ann.cmd('create-notebook', name='Garden')
            bob.cmd('join', invite=nb['invite'])
            connected = True
            try:
                ev = bob.wait_event('peer-connected', timeout=30, peer=ann.peer)
                ann.wait_event('peer-connected', timeout=30, peer=bob.peer)
            except PeerError as e:
                connected = False
                ev = str(e)
            check('the peers find each other through Avahi and connect', connected,
                  f'{time.monotonic() - t0:.1f} s after start; {ev}')
            listed = [p for p in bob.cmd('peers')['peers'] if p['peer'] == ann.peer]
            check("Bob reaches Ann at her address on the link",
                  listed and listed[0]['address'] == a_host.address,
                  f'peers: {listed}')

            note = ann.cmd('create-note', notebook=nb['notebook'], title='Seeds')['note']
            ann.cmd('insert', note=note, pos=0, text='tomatoes, basil')
            ann.cmd('wait-synced', timeout=30, peers=1)
            got = bob.cmd('dump', note=note, check=False)
            check("Ann's note reaches Bob", got.get('text') == 'tomatoes, basil',
                  f'Bob has {got}')
            bob.cmd('insert', note=note, pos=0, text='chard, ')
            bob.cmd('wait-synced', timeout=30, peers=1)
            check("Bob's edit reaches Ann",
                  ann.cmd('dump', note=note)['text'] == 'chard, tomatoes, basil')
            names = [n['name'] for n in bob.cmd('notebooks')['notebooks']]
            check("the notebook's name reaches Bob", 'Garden' in names, f'{names}')

            carol = Peer(program, f'{tmp}/carol', name='Carol', discovery=True, popen=b_host.popen)
            peers.append(carol)
            carol.cmd('create-notebook', name='Private plans')
            time.sleep(4)
            strangers = [p['peer'] for p in ann.cmd('peers')['peers'] + bob.cmd('peers')['peers']
                         if p['peer'] == carol.peer]
            check('a peer sharing no notebook is not connected to', not strangers,
                  f'{strangers}')

            t1 = time.monotonic()
            ann.quit()
            gone = True
            try:
                bob.wait_event('peer-disconnected', timeout=15, peer=ann.peer)
            except PeerError:
                gone = False
            still = [p for p in bob.cmd('peers')['peers'] if p['peer'] == ann.peer]
            check('when Ann leaves, Bob stops seeing her', gone and not still,
                  f'{time.monotonic() - t1:.1f} s; peers: {still}')

            # a host without a daemon
            b_host.stop_avahi()
            dave = Peer(program, f'{tmp}/dave', name='Dave', discovery=True, popen=b_host.popen)
            peers.append(dave)
            notice = None
            try:
                notice = dave.wait_event('notice', timeout=10)
            except PeerError:
                pass
            check('without an Avahi daemon the peer says so', notice is not None,
                  f'{notice}')
            own = dave.cmd('create-note', title='Offline')['note']
            dave.cmd('insert', note=own, pos=0, text='still works')
            check('... and keeps working', dave.cmd('dump', note=own)['text'] == 'still works')
            time.sleep(1)
            more = [e for e in dave.events if e.get('event') == 'notice']
            check('... and says it once', not more, f'{more}')
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
