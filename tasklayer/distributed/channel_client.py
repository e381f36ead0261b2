"""The tensor channel's client side: the connections ("lanes") to one peer's ``ChannelServer``.

A producer pushes each tensor the moment it exists: one frame, written from the sending thread with ``sendall``
straight out of the array's memory, on a lane of its own for large tensors so that small ones (control tokens,
biases) never queue behind a large one being written. Calls (RunGraph, RunStep) take a connection each from a
pool, reused; a call's request is never resent once written (a step is not idempotent).
"""

import select
import socket
import threading

from tasklayer.distributed.channel_codec import (CALL, REPLY, CallError, ChannelError, ChannelTimeout, Message,
                                                 StaleConnectionError, encode_header, message_frame, read_frame)
from tasklayer.distributed.channel_server import READ_BUFFER
from tasklayer.distributed.tensor_stream import as_contiguous

# Tensors at least this large go over a second connection, so small ones never queue behind a large one.
BULK_BYTES = 256 << 10
CONNECT_TIMEOUT = 10.0


class Lane:
    """One connection to a peer for pushed tensors, and the lock that keeps its frames whole."""

    def __init__(self, host, port, timeout):
        self._addr = (host, port)
        self._timeout = timeout
        self._sock = None
        self._poll = None
        self.lock = threading.Lock()

    def send(self, head, data, timeout=None):
        """Write one frame (under ``lock``) within ``timeout`` s (None: no limit); connects on first use.
        StaleConnectionError when the peer closed the connection since the last frame: the peer never writes on
        it, so readable means closed. ``socket.timeout`` when the peer stopped reading (a hung process)."""
        if self._sock is None:
            try:
                sock = socket.create_connection(self._addr, timeout=self._timeout)
            except OSError as e:  # nothing was sent
                raise StaleConnectionError(f"cannot reach {self._addr[0]}:{self._addr[1]}: {e}") from None
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._poll = select.poll()
            self._poll.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        elif self._poll.poll(0):
            raise StaleConnectionError(f"{self._addr[0]}:{self._addr[1]} closed the tensor channel")
        sock = self._sock
        if timeout is not None:  # sendall's timeout bounds the whole frame, not each system call
            sock.settimeout(max(timeout, 1e-3))
        try:
            if len(data) <= 65536:  # one system call for a small frame
                sock.sendall(head + data.tobytes() if len(data) else head)
            else:
                sock.sendall(head)
                sock.sendall(data)
        finally:
            if timeout is not None and self._sock is sock:
                sock.settimeout(None)

    def interrupt(self):
        """Wake a ``send`` blocked on this connection from another thread (it fails); the next send reconnects."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        """Close the connection (the next send reconnects)."""
        sock, self._sock, self._poll = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


class ChannelCaller:
    """Calls methods of one peer's ``ChannelServer``: one connection per concurrent caller, reused.

    A call whose connection breaks after the request was written raises ChannelError: the request may have run
    (a step is not idempotent), so it is never resent. ``StaleConnectionError`` means nothing was sent.
    """

    def __init__(self, address, connect_timeout=CONNECT_TIMEOUT):
        host, port = address.rsplit(":", 1)
        self.address = address
        self._addr = (host, int(port))
        self._connect_timeout = connect_timeout
        self._idle = []
        self._busy = set()  # sockets of calls in progress (``interrupt`` wakes them)
        self._lock = threading.Lock()

    def _connect(self, timeout=None):
        sock = socket.create_connection(self._addr, timeout=timeout or self._connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        poll = select.poll()
        poll.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return sock, sock.makefile("rb", buffering=READ_BUFFER), poll

    def _connection(self):
        with self._lock:
            while self._idle:
                sock, rfile, poll = self._idle.pop()
                if not poll.poll(0):  # nothing to read between calls: still open
                    return sock, rfile, poll
                rfile.close()
                sock.close()
        return self._connect()

    def connect(self, timeout=None):
        """Open one connection now and keep it for the next call; StaleConnectionError if the peer's channel
        cannot be reached from here."""
        try:
            conn = self._connect(timeout)
        except OSError as e:
            raise StaleConnectionError(f"cannot reach {self.address}: {e}") from None
        with self._lock:
            self._idle.append(conn)

    def call(self, method, payload, timeout=None):
        """The response bytes of ``method(payload)``; ChannelError if the peer is unreachable or went away,
        CallError if it answered with an error."""
        try:
            conn = self._connection()
        except OSError as e:
            raise StaleConnectionError(f"cannot reach {self.address}: {e}") from None
        sock, rfile, _ = conn
        with self._lock:
            self._busy.add(sock)
        try:
            sock.settimeout(timeout)
            sock.sendall(message_frame(CALL, method, payload))
            reply = read_frame(rfile)
        except socket.timeout:
            rfile.close()
            sock.close()
            raise ChannelTimeout(f"call {method} to {self.address}: no reply within {timeout} s") from None
        except (OSError, ChannelError) as e:
            rfile.close()
            sock.close()
            raise ChannelError(f"call {method} to {self.address} failed: {e}") from None
        finally:
            with self._lock:
                self._busy.discard(sock)
        if not isinstance(reply, Message) or reply[0] != REPLY:
            rfile.close()
            sock.close()
            raise ChannelError(f"call {method} to {self.address}: the connection closed before the reply")
        with self._lock:
            self._idle.append(conn)
        if reply[3]:
            raise CallError(reply[2].decode(errors="replace"))
        return reply[2]

    def interrupt(self):
        """Fail the calls in progress now (their connections are shut down), from any thread."""
        with self._lock:
            busy = list(self._busy)
        for sock in busy:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for sock, rfile, _ in idle:
            rfile.close()
            sock.close()


class ChannelClient:
    """Pushes tensors to, and calls methods of, one peer's ``ChannelServer`` at ``host:port`` (thread-safe)."""

    def __init__(self, address, connect_timeout=CONNECT_TIMEOUT):
        host, port = address.rsplit(":", 1)
        self.address = address
        self._small = Lane(host, int(port), connect_timeout)
        self._bulk = Lane(host, int(port), connect_timeout)
        self._caller = ChannelCaller(address, connect_timeout)
        self.broken = False

    def connect(self, timeout=None):
        """Check now that the peer's channel can be reached (one connection, kept for the first call)."""
        self._caller.connect(timeout)

    def call(self, method, payload, timeout=None):
        """Call ``method`` of the peer's channel (see ``ChannelCaller.call``)."""
        try:
            return self._caller.call(method, payload, timeout)
        except CallError:
            raise
        except ChannelError:
            self.broken = True
            raise

    def push(self, step_id, key, value, code=0, timeout=None):
        """Send ``value`` under ``(step_id, key)`` within ``timeout`` s (None: no limit); ChannelTimeout when
        the peer stopped reading, ChannelError if it cannot be reached (StaleConnectionError: nothing sent)."""
        arr = as_contiguous(value)
        head, data = encode_header(step_id, key, arr, code)
        lane = self._bulk if len(data) >= BULK_BYTES else self._small
        with lane.lock:
            try:
                lane.send(head, data, timeout)
            except StaleConnectionError:
                lane.close()
                self.broken = True
                raise
            except socket.timeout:
                lane.close()  # a half-written frame must never be followed by another on this connection
                self.broken = True
                raise ChannelTimeout(f"pushing {key!r} ({len(data)} bytes) to {self.address}: the peer took "
                                     f"none of it for {timeout:g} s") from None
            except OSError as e:
                lane.close()  # a half-written frame must never be followed by another on this connection
                self.broken = True
                raise ChannelError(f"pushing {key!r} to {self.address} failed: {e}") from None

    def interrupt(self):
        """Fail every push and call in progress on this channel now, from any thread (the peer stopped
        answering); the channel is marked broken, so its owner finds the peer's channel anew next time."""
        self.broken = True
        for lane in (self._small, self._bulk):
            lane.interrupt()
        self._caller.interrupt()

    def close(self):
        """Close every connection."""
        for lane in (self._small, self._bulk):
            with lane.lock:
                lane.close()
        self._caller.close()
