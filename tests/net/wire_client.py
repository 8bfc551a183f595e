# wire_client.py: a hand-written Tandem wire client for security tests
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Speak Tandem's wire protocol from Python, to attack a real peer.

Python 3 standard library only (and the `openssl` command, to make a
certificate).

    from wire_client import Identity, TandemClient, decode_invite

    me = Identity(tmpdir)                  # openssl EC P-256, self-signed
    c = TandemClient('127.0.0.1', port, me)  # TLS + WebSocket on /tandem/1
    c.server_fingerprint                   # SHA-256 of the peer's DER cert
    c.hello()                              # sends ours, reads theirs
    nb_id, key, addrs = decode_invite(invite)
    c.auth(key)                            # tag + proof as membership.c
    c.wait_for('notebook')                 # the notebook is open
    c.send_json({'type': 'ping'})
    c.recv_json(timeout=5)                 # dict, or None once closed

Layers, each usable alone:

  Identity        a key and self-signed certificate made by openssl, its
                  fingerprint (hex SHA-256 of the DER) and a random peer id
  WsClient        TLS (with the client certificate) and RFC 6455 framing
                  written by hand: handshake with Sec-WebSocket-Key, masked
                  client frames, reading text/close frames; send_frame()
                  and send_raw() for frames no honest client would send
  TandemClient    hello, auth, and recording everything received
  tag(), proof()  as src/net/tandem-membership.c computes them
  decode_invite(), encode_invite()
                  the invite code of src/net/tandem-invite.c
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import subprocess
import time

WEBSOCKET_PATH = '/tandem/1'
WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
PROTOCOL_VERSION = 1

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WireError(Exception):
    pass


# ---- identity ----------------------------------------------------------

def make_certificate(directory, name='test'):
    """Makes a self-signed EC P-256 certificate with openssl in
    `directory`; returns (certfile, keyfile)."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, f'{name}-cert.pem')
    key = os.path.join(directory, f'{name}-key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=test',
                    '-keyout', key, '-out', cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def der_fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def pem_fingerprint(certfile):
    with open(certfile) as f:
        return der_fingerprint(ssl.PEM_cert_to_DER_cert(f.read()))


_n_identities = 0


class Identity:
    """A certificate, its key, its fingerprint and a peer id."""

    def __init__(self, directory, peer_id=None, name=None):
        global _n_identities
        _n_identities += 1
        self.certfile, self.keyfile = make_certificate(directory, name or f'id{_n_identities}-{os.getpid()}')
        self.fingerprint = pem_fingerprint(self.certfile)
        self.peer_id = peer_id or random_peer_id()


def random_peer_id():
    while True:
        p = os.urandom(8).hex()
        if int(p, 16) != 0:
            return p


def random_hex(n_bytes):
    return os.urandom(n_bytes).hex()


def client_context(identity):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if identity is not None:
        ctx.load_cert_chain(identity.certfile, identity.keyfile)
    return ctx


def server_context(identity):
    """A TLS server context presenting `identity`. It asks for no client
    certificate: Python's ssl cannot take an unknown self-signed one
    without a verify callback, and a relay or an impostor needs none."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(identity.certfile, identity.keyfile)
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---- membership (src/net/tandem-membership.c) --------------------------

def hmac_hex(key, parts):
    """HMAC-SHA256 over the parts, each NUL-terminated, as lowercase hex."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        if isinstance(p, str):
            p = p.encode()
        h.update(p + b'\0')
    return h.hexdigest()


def tag(key, context):
    return hmac_hex(key, ['tandem notebook tag v1', context])[:16]


def proof(key, prover_role, prover_nonce, verifier_nonce, client_fingerprint, server_fingerprint):
    return hmac_hex(key, ['tandem membership proof v1', prover_role, prover_nonce, verifier_nonce,
                          client_fingerprint, server_fingerprint])


# ---- invites (src/net/tandem-invite.c) ---------------------------------

CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'


def decode_invite(code):
    """Returns (notebook_id hex, key bytes, ['host:port', ...])."""
    chars = [c for c in code.upper() if c not in '- \t\r\n']
    if ''.join(chars[:6]) != 'TANDEM':
        raise WireError('not a Tandem invite')
    bits = n_bits = 0
    data = bytearray()
    for c in chars[6:]:
        c = {'I': '1', 'L': '1', 'O': '0'}.get(c, c)
        v = CROCKFORD.index(c)
        bits = (bits << 5) | v
        n_bits += 5
        if n_bits >= 8:
            n_bits -= 8
            data.append((bits >> n_bits) & 0xff)
    if len(data) < 54 or data[0] != 1:
        raise WireError('not a version 1 invite')
    if hashlib.sha256(data[:-4]).digest()[:4] != data[-4:]:
        raise WireError('the invite checksum does not match')
    notebook_id = data[1:17].hex()
    key = bytes(data[17:49])
    n = data[49]
    pos = 50
    addresses = []
    for _ in range(n):
        family = data[pos]
        size = 4 if family == 4 else 16
        raw = bytes(data[pos + 1:pos + 1 + size])
        port = data[pos + 1 + size] << 8 | data[pos + 2 + size]
        host = socket.inet_ntop(socket.AF_INET if family == 4 else socket.AF_INET6, raw)
        addresses.append(f'{host}:{port}' if family == 4 else f'[{host}]:{port}')
        pos += 3 + size
    return notebook_id, key, addresses


def encode_invite(notebook_id, key, addresses=()):
    data = bytearray([1]) + bytes.fromhex(notebook_id) + key + bytes([len(addresses)])
    for a in addresses:
        host, port = a.rsplit(':', 1)
        if host.startswith('['):
            data += bytes([6]) + socket.inet_pton(socket.AF_INET6, host[1:-1])
        else:
            data += bytes([4]) + socket.inet_pton(socket.AF_INET, host)
        data += struct.pack('>H', int(port))
    data += hashlib.sha256(data).digest()[:4]
    out, bits, n_bits = [], 0, 0
    for b in data:
        bits = (bits << 8) | b
        n_bits += 8
        while n_bits >= 5:
            n_bits -= 5
            out.append(CROCKFORD[(bits >> n_bits) & 31])
    if n_bits:
        out.append(CROCKFORD[(bits << (5 - n_bits)) & 31])
    groups = [''.join(out[i:i + 5]) for i in range(0, len(out), 5)]
    return 'TANDEM-' + '-'.join(groups)


# ---- WebSocket over TLS ------------------------------------------------

def encode_frame(opcode, payload, fin=True, mask=True, rsv=0, mask_key=None, length=None):
    """One RFC 6455 frame; `length` lies about the payload length."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 15)])
    m = 0x80 if mask else 0
    if n < 126:
        head.append(m | n)
    elif n < 1 << 16:
        head.append(m | 126)
        head += struct.pack('>H', n)
    else:
        head.append(m | 127)
        head += struct.pack('>Q', n)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        head += key
        payload = mask_bytes(payload, key)
    return bytes(head) + payload


def mask_bytes(payload, key):
    if not payload:
        return b''
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, 'big') ^ int.from_bytes(k, 'big')).to_bytes(n, 'big')


def parse_frames(stream):
    """The frames in a recorded byte stream (after any HTTP head): a list
    of (opcode, payload) with payloads unmasked; a cut-off last frame is
    left out."""
    if stream.startswith((b'GET ', b'HTTP/')) and b'\r\n\r\n' in stream:
        stream = stream.split(b'\r\n\r\n', 1)[1]
    out, i = [], 0
    while i + 2 <= len(stream):
        b0, b1 = stream[i], stream[i + 1]
        n, j = b1 & 0x7f, i + 2
        if n == 126:
            if j + 2 > len(stream):
                break
            n, j = struct.unpack('>H', stream[j:j + 2])[0], j + 2
        elif n == 127:
            if j + 8 > len(stream):
                break
            n, j = struct.unpack('>Q', stream[j:j + 8])[0], j + 8
        key = None
        if b1 & 0x80:
            key, j = stream[j:j + 4], j + 4
        if j + n > len(stream):
            break
        payload = stream[j:j + n]
        out.append((b0 & 15, mask_bytes(payload, key) if key else payload))
        i = j + n
    return out


class WsClient:
    """A WebSocket client over TLS with a client certificate.

    recv() returns one of
      ('text', str)          a whole text message (invalid UTF-8 kept as is
                             with errors='replace'; .last_raw has the bytes)
      ('binary', bytes)
      ('close', code, reason)
      ('eof', None)          the TCP connection ended
      ('timeout', None)
    Pings are answered with pongs, transparently.
    """

    def __init__(self, host, port, identity, path=WEBSOCKET_PATH, timeout=10, source=None,
                 extra_headers=(), handshake=True):
        self.host, self.port, self.path = host, port, path
        self.closed = False
        self.eof = False
        self._buf = b''
        self.last_raw = b''
        raw = socket.create_connection((host, port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            self.sock = client_context(identity).wrap_socket(raw, server_hostname=None)
        except Exception:
            raw.close()
            raise
        self.sock.settimeout(timeout)
        self.server_fingerprint = der_fingerprint(self.sock.getpeercert(binary_form=True))
        self.client_fingerprint = identity.fingerprint if identity else None
        if handshake:
            self.handshake(extra_headers)

    def handshake(self, extra_headers=()):
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f'GET {self.path} HTTP/1.1', f'Host: {self.host}:{self.port}', 'Upgrade: websocket',
                 'Connection: Upgrade', f'Sec-WebSocket-Key: {key}', 'Sec-WebSocket-Version: 13',
                 *extra_headers]
        self.sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())
        while b'\r\n\r\n' not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WireError('the server closed during the WebSocket handshake')
            self._buf += chunk
        head, self._buf = self._buf.split(b'\r\n\r\n', 1)
        status, *headers = head.decode(errors='replace').split('\r\n')
        self.response_status = status
        self.response_headers = {h.split(':', 1)[0].strip().lower(): h.split(':', 1)[1].strip()
                                 for h in headers if ':' in h}
        if ' 101 ' not in status + ' ':
            raise WireError(f'no WebSocket: {status}')
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if self.response_headers.get('sec-websocket-accept') != expected:
            raise WireError('a wrong Sec-WebSocket-Accept')

    # -- sending
    def send_raw(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def send_frame(self, opcode, payload, **kw):
        return self.send_raw(encode_frame(opcode, payload, **kw))

    def send_text(self, text):
        return self.send_frame(OP_TEXT, text)

    def close(self, code=1000, reason=''):
        if not self.closed:
            self.send_frame(OP_CLOSE, struct.pack('>H', code) + reason.encode())
            self.closed = True

    def shutdown(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- receiving
    def _fill(self, n, deadline):
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                raise TimeoutError from None
            except (ConnectionError, ssl.SSLError, OSError):
                chunk = b''
            if not chunk:
                self.eof = True
                raise EOFError
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _frame(self, deadline):
        b0, b1 = self._fill(2, deadline)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('>H', self._fill(2, deadline))[0]
        elif n == 127:
            n = struct.unpack('>Q', self._fill(8, deadline))[0]
        key = self._fill(4, deadline) if b1 & 0x80 else None
        payload = self._fill(n, deadline) if n else b''
        if key:
            payload = mask_bytes(payload, key)
        return bool(b0 & 0x80), b0 & 15, payload

    def recv(self, timeout=10):
        deadline = time.monotonic() + timeout
        parts, first = [], None
        try:
            while True:
                fin, op, payload = self._frame(deadline)
                if op == OP_PING:
                    self.send_frame(OP_PONG, payload)
                    continue
                if op == OP_PONG:
                    continue
                if op == OP_CLOSE:
                    code = struct.unpack('>H', payload[:2])[0] if len(payload) >= 2 else None
                    return ('close', code, payload[2:].decode(errors='replace'))
                if op != OP_CONT:
                    first, parts = op, [payload]
                else:
                    parts.append(payload)
                if fin:
                    data = b''.join(parts)
                    self.last_raw = data
                    if first == OP_TEXT:
                        return ('text', data.decode(errors='replace'))
                    return ('binary', data)
        except TimeoutError:
            return ('timeout', None)
        except EOFError:
            return ('eof', None)

    def wait_eof(self, timeout=10):
        """Reads and drops everything until the TCP connection ends;
        returns whether it did within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            kind = self.recv(max(0.01, deadline - time.monotonic()))[0]
            if kind == 'eof':
                return True
            if kind == 'timeout' or time.monotonic() >= deadline:
                return False


# ---- the Tandem protocol -----------------------------------------------

class TandemClient(WsClient):
    """A WsClient that speaks Tandem: every message received is kept in
    .received (raw texts) and .messages (parsed), closes in .close_frame."""

    def __init__(self, host, port, identity, **kw):
        self.identity = identity
        self.received = []
        self.messages = []
        self.close_frame = None
        self.remote_hello = None
        self.nonce = random_hex(32)
        super().__init__(host, port, identity, **kw)

    def send_json(self, obj):
        return self.send_text(json.dumps(obj, separators=(',', ':')))

    def recv_json(self, timeout=10):
        """The next message as a dict (or {'_raw': text} if it is not JSON),
        or None when the connection closed or nothing came in time; then
        .close_frame / .eof tell which."""
        kind, *rest = self.recv(timeout)
        if kind == 'text':
            self.received.append(rest[0])
            try:
                msg = json.loads(rest[0])
            except ValueError:
                msg = {'_raw': rest[0]}
            self.messages.append(msg)
            return msg
        if kind == 'binary':
            self.received.append(rest[0].decode(errors='replace'))
            msg = {'_binary': rest[0]}
            self.messages.append(msg)
            return msg
        if kind == 'close':
            self.close_frame = (rest[0], rest[1])
        return None

    def wait_for(self, msg_type, timeout=10):
        """Reads until a message of that type; returns it, or None when the
        connection closed or time ran out."""
        for m in self.messages:
            if m.get('type') == msg_type and not m.get('_seen'):
                m['_seen'] = True
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv_json(deadline - time.monotonic())
            if m is None:
                if self.close_frame or self.eof:
                    return None
                continue
            if m.get('type') == msg_type:
                m['_seen'] = True
                return m
        return None

    def drain(self, timeout=1.0):
        """Reads whatever comes within `timeout` (stopping early when the
        connection closes); returns the messages."""
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv_json(deadline - time.monotonic())
            if m is None:
                if self.close_frame or self.eof:
                    break
                continue
            out.append(m)
        return out

    def hello_message(self, proto=PROTOCOL_VERSION, peer=None, name='Tester', colour='#3584e4',
                      nonce=None):
        return {'type': 'hello', 'proto': proto, 'peer': peer or self.identity.peer_id,
                'name': name, 'colour': colour, 'nonce': nonce or self.nonce}

    def hello(self, **kw):
        """Sends our hello and reads theirs (a peer sends its hello first
        thing); returns theirs, or None."""
        self.send_json(self.hello_message(**kw))
        self.remote_hello = self.wait_for('hello', timeout=10)
        return self.remote_hello

    def auth_message(self, key, role='client'):
        remote_nonce = self.remote_hello['nonce']
        return {'type': 'auth', 'tag': tag(key, remote_nonce),
                'proof': proof(key, role, self.nonce, remote_nonce,
                               self.client_fingerprint, self.server_fingerprint)}

    def auth(self, key):
        self.send_json(self.auth_message(key))

    def join(self, key, timeout=10):
        """hello + auth; returns the "notebook" message that says the
        notebook is open, or None."""
        if self.remote_hello is None and self.hello() is None:
            return None
        self.auth(key)
        return self.wait_for('notebook', timeout=timeout)

    def error_reason(self):
        """The reason of the first "error" message received, or None."""
        for m in self.messages:
            if m.get('type') == 'error':
                return m.get('reason')
        return None
