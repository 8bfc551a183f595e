# delay_proxy.py: a TCP proxy that delays every byte, for network tests
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP proxy that delivers every byte a fixed time after it arrived.

The kernels these tests run on have no netem, so latency is made here:
each chunk read from one side is written to the other `delay` seconds
later, in order, both ways. The bytes themselves are untouched (TLS goes
through end to end).

    from delay_proxy import DelayProxy

    listener = host.socket()                  # or socket.socket()
    listener.bind(('127.0.0.1', 0))
    proxy = DelayProxy(listener, ('10.201.0.2', 4433), delay=0.2,
                       make_socket=other_host.socket)
    peer.cmd('connect', host='127.0.0.1', port=proxy.port)
    proxy.connections, proxy.bytes_forwarded  # what went through
    proxy.close()                             # and every connection

DelayProxy(listener, target, delay=0.2, make_socket=socket.socket)
    Listens on `listener` (bound, not yet listening) and dials `target`
    (host, port) once per accepted connection, with a socket from
    make_socket() (so that a proxy can listen in one network namespace and
    dial from another). When either side closes, the other is closed once
    what was in flight towards it has been delivered. Runs in a thread of
    its own with its own asyncio loop.
"""

import asyncio
import socket
import threading

CONNECT_TIMEOUT_S = 10
CHUNK = 65536


class DelayProxy:
    def __init__(self, listener, target, delay=0.2, make_socket=socket.socket):
        self.target = target
        self.delay = delay
        self.port = listener.getsockname()[1]
        self.connections = 0
        self.bytes_forwarded = 0
        self._listener = listener
        self._make_socket = make_socket
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f'delay-proxy-{self.port}')
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    # ---- the loop's thread ---------------------------------------------------

    def _run(self):
        asyncio.set_event_loop(self._loop)
        try:
            self._listener.setblocking(False)
            self._listener.listen(16)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, sock=self._listener))
        except Exception as e:  # noqa: BLE001 - handed to the constructor
            self._error = e
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        # close(): drop every connection still open
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _serve(self, client_reader, client_writer):
        upstream = self._make_socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            await asyncio.wait_for(self._loop.sock_connect(upstream, self.target), CONNECT_TIMEOUT_S)
            up_reader, up_writer = await asyncio.open_connection(sock=upstream)
        except (OSError, asyncio.TimeoutError):
            upstream.close()
            client_writer.close()
            return
        self.connections += 1
        pipes = [asyncio.ensure_future(self._pipe(client_reader, up_writer)),
                 asyncio.ensure_future(self._pipe(up_reader, client_writer))]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass    # close(): ends quietly (asyncio's server would log a cancelled task)
        finally:
            for p in pipes:
                p.cancel()
            for w in (client_writer, up_writer):
                w.close()

    async def _pipe(self, reader, writer):
        """Copies reader to writer, each chunk `delay` after it was read;
        returns once the reader's end has been delivered, or on an error."""
        queue = asyncio.Queue()

        async def read():
            try:
                while True:
                    data = await reader.read(CHUNK)
                    queue.put_nowait((self._loop.time() + self.delay, data or None))
                    if not data:
                        return
            except OSError:
                queue.put_nowait((self._loop.time() + self.delay, None))

        async def deliver():
            while True:
                due, data = await queue.get()
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    return
                writer.write(data)
                await writer.drain()
                self.bytes_forwarded += len(data)

        reading = asyncio.ensure_future(read())
        try:
            await deliver()
        except OSError:
            pass
        finally:
            reading.cancel()

    # ---- the caller's thread -------------------------------------------------

    def close(self):
        if self._loop.is_closed() or not self._thread.is_alive():
            return

        def stop():
            self._server.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)
