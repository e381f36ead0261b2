"""The tensor channel: a raw-TCP data plane beside gRPC, in the way TensorFlow's "grpc+verbs" and "grpc+mpi"
protocols keep gRPC for control and move tensors another way.

A task's server listens on one extra port (reported by GetStatus). A producer PUSHES each tensor a _Send hands it
to the consumer's channel as soon as it exists: one frame, written from the sending thread with ``sendall``
straight out of the array's memory; the consumer's reader thread reads it with ``readinto`` straight into a fresh
array and drops it into the step's rendezvous, where the _Recv waits. A crossing costs one one-way message
instead of a RecvTensor request and its streamed reply, and no byte is copied by Python on either side.

A frame: a fixed header, the key (UTF-8), the shape (int64 each), then the tensor's bytes (C order, little
endian). Tensors of dtypes without a fixed item size (strings) travel as a serialized TensorProto instead.

>>> import numpy as np
>>> got = []
>>> server = ChannelServer(lambda step, key, value: got.append((step, key, value)))
>>> client = ChannelClient(f"127.0.0.1:{server.port}")
>>> client.push(7, "k", np.arange(3, dtype=np.float32))
>>> from tests.polling import wait_until
>>> wait_until(lambda: got, 5, "a pushed tensor")
>>> got[0][0], got[0][1], got[0][2].tolist()
(7, 'k', [0.0, 1.0, 2.0])
>>> client.close(); server.stop()
"""

import logging
import select
import socket
import struct
import threading
import time

import numpy as np

from engine import tensor_codec
from protos import graph_pb2
from tasklayer.distributed.transport import as_contiguous, dtype_enum, numpy_dtype

log = logging.getLogger(__name__)

HANGUP_POLL_S = 0.2  # how often a ChannelServer with ``on_hangup`` looks for callers gone mid-call

_MAGIC = b"YF"
# Frame kinds: a pushed tensor; a call (key: the method, data: the serialized request) and its reply (data: the
# serialized response, or with flags 1 the error's text).
_PUSH, _CALL, _REPLY = 1, 2, 3
# magic, kind, flags (push: lossy code), key length, ndim, dtype enum (-1: a serialized TensorProto), step id, bytes
_HEADER = struct.Struct("<2sBBIiiQQ")
_PROTO_DTYPE = -1
# Tensors at least this large go over a second connection, so small ones (control tokens, biases) never queue
# behind a large one being written.
BULK_BYTES = 256 << 10
# The reader's buffer: small frames arrive in one system call; larger reads go straight into the array.
_READ_BUFFER = 256 << 10
CONNECT_TIMEOUT = 10.0
# Bounds a header must respect: a malformed or hostile frame is refused before anything is allocated for it.
_MAX_DIMS = 64
_MAX_KEY_BYTES = 1 << 16
_MAX_FRAME_BYTES = 1 << 40


class ChannelError(Exception):
    """A tensor could not be pushed: the peer is unreachable or went away."""


class ChannelTimeout(ChannelError):
    """A call's reply did not come before its timeout (the call may still be running on the peer)."""


class StaleConnectionError(ChannelError):
    """The peer had closed the connection before this frame (it restarted, or stopped): nothing was sent."""


def encode_header(step_id, key, arr, code=0):
    """The frame's bytes before the tensor data, and the data as a memoryview (empty for no data)."""
    key_bytes = key.encode()
    if arr.dtype.kind in "OSU":  # no fixed item size: the tensor travels as its TensorProto
        data = memoryview(tensor_codec.to_proto(arr).SerializeToString())
        head = _HEADER.pack(_MAGIC, _PUSH, code, len(key_bytes), 0, _PROTO_DTYPE, step_id, len(data))
        return head + key_bytes, data
    shape = arr.shape
    head = _HEADER.pack(_MAGIC, _PUSH, code, len(key_bytes), len(shape),
                        dtype_enum(arr.dtype), step_id, arr.nbytes)
    shape_bytes = struct.pack(f"<{len(shape)}q", *shape) if shape else b""
    data = memoryview(arr.reshape(-1).view(np.uint8)) if arr.nbytes else memoryview(b"")
    return head + key_bytes + shape_bytes, data


def _message_frame(kind, key, payload, flags=0):
    """A call or reply frame: ``key`` and ``payload`` (bytes) in one buffer."""
    key_bytes = key.encode()
    return _HEADER.pack(_MAGIC, kind, flags, len(key_bytes), 0, 0, 0, len(payload)) + key_bytes + payload


def read_frame(rfile):
    """``(step_id, key, array, code)`` of the next pushed tensor of a buffered reader; None at a clean end of
    stream. A call or reply comes back as ``(kind, key, payload bytes, flags)`` with kind ``_CALL``/``_REPLY``
    in place of the step id, told apart by ``is_message``."""
    head = rfile.read(_HEADER.size)
    if not head:
        return None
    if len(head) != _HEADER.size:
        raise ChannelError("connection closed inside a frame header")
    magic, kind, code, key_len, ndim, wire_dtype, step_id, nbytes = _HEADER.unpack(head)
    if magic != _MAGIC or kind not in (_PUSH, _CALL, _REPLY):
        raise ChannelError(f"not a yarnflow tensor channel frame (magic {magic!r}, kind {kind})")
    if not (0 <= ndim <= _MAX_DIMS and key_len <= _MAX_KEY_BYTES and nbytes <= _MAX_FRAME_BYTES):
        raise ChannelError(f"malformed frame header (key {key_len} bytes, {ndim} dims, {nbytes} bytes)")
    if kind != _PUSH:
        rest = rfile.read(key_len + nbytes)
        if len(rest) != key_len + nbytes:
            raise ChannelError("connection closed inside a message")
        return _Message((kind, rest[:key_len].decode(), rest[key_len:], code))
    rest = rfile.read(key_len + 8 * ndim)
    if len(rest) != key_len + 8 * ndim:
        raise ChannelError("connection closed inside a frame")
    key = rest[:key_len].decode()
    shape = struct.unpack(f"<{ndim}q", rest[key_len:]) if ndim else ()
    # np.empty, not bytearray: no zero-fill; the bytes land in the array the _Recv gets, with no copy after.
    buf = np.empty(nbytes, dtype=np.uint8)
    if nbytes and rfile.readinto(memoryview(buf)) != nbytes:
        raise ChannelError(f"connection closed inside the {nbytes}-byte tensor {key!r}")
    if wire_dtype == _PROTO_DTYPE:
        return step_id, key, tensor_codec.from_proto(graph_pb2.TensorProto.FromString(buf.tobytes())), code
    return step_id, key, buf.view(numpy_dtype(wire_dtype)).reshape(shape), code


class _Message(tuple):
    """A call or a reply read from a connection: ``(kind, method, payload, flags)``."""


class ChannelServer:
    """Accepts tensor channels from peers; hands each tensor to ``deliver(step_id, key, value, code)`` and
    answers calls with ``handlers[method](request bytes) -> response bytes``, run on the connection's thread.

    One reader thread per connection; a malformed stream closes that connection only. ``on_hangup(method,
    request bytes)``, when given, hears of every call whose caller closed its connection before the answer (the
    caller died, timed out or was interrupted; a caller writes nothing else on a connection while its call is
    out), within about ``HANGUP_POLL_S``: a step that nobody waits for any more can be cancelled.
    """

    def __init__(self, deliver, host="0.0.0.0", port=0, handlers=None, on_hangup=None):
        self._deliver = deliver
        self._handlers = dict(handlers or {})
        self._on_hangup = on_hangup
        self._sock = socket.create_server((host, port), reuse_port=False)
        self.port = self._sock.getsockname()[1]
        self._conns = set()
        self._readers = set()
        self._calls = {}  # connection -> (method, payload) of the call being answered on it
        self._lock = threading.Lock()
        self._stopped = False
        self._stop_event = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name=f"channel-accept:{self.port}", daemon=True)
        self._acceptor.start()
        self._watcher = None
        if on_hangup is not None:
            self._watcher = threading.Thread(target=self._watch_calls, name=f"channel-hangups:{self.port}",
                                             daemon=True)
            self._watcher.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                if self._stopped:
                    return  # the listening socket was closed by stop()
                log.warning("tensor channel accept failed (%s); accepting again", e)  # e.g. out of descriptors
                time.sleep(0.1)
                continue
            reader = threading.Thread(target=self._read, args=(conn,), name=f"channel-read:{self.port}", daemon=True)
            with self._lock:
                if self._stopped:
                    conn.close()
                    return
                self._conns.add(conn)
            try:
                reader.start()
            except RuntimeError as e:  # no thread to be had: refuse this connection, keep serving the others
                log.warning("tensor channel cannot start a reader: %s", e)
                with self._lock:
                    self._conns.discard(conn)
                conn.close()
                continue
            with self._lock:
                self._readers.add(reader)

    def _read(self, conn):
        rfile = conn.makefile("rb", buffering=_READ_BUFFER)
        try:
            while True:
                frame = read_frame(rfile)
                if frame is None:
                    return
                if isinstance(frame, _Message):
                    conn.sendall(self._answer_watched(conn, frame))
                    continue
                try:
                    self._deliver(*frame)
                except Exception:  # noqa: BLE001 - one bad tensor must not stop the connection's reader
                    log.exception("delivering pushed tensor %r failed", frame[1])
        except Exception as e:  # noqa: BLE001 - a bad stream (bad dtype, corrupt proto, ...) ends its connection
            if not self._stopped:
                log.warning("tensor channel connection closed: %s: %s", type(e).__name__, e)
        finally:
            rfile.close()
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self._readers.discard(threading.current_thread())

    def _answer_watched(self, conn, message):
        """``_answer``, with the call known to the hangup watcher while it runs."""
        if self._on_hangup is None:
            return self._answer(message)
        entry = (message[1], message[2])
        with self._lock:
            self._calls[conn] = entry
        try:
            return self._answer(message)
        finally:
            with self._lock:
                if self._calls.get(conn) is entry:
                    del self._calls[conn]

    def _watch_calls(self):
        """Every ``HANGUP_POLL_S``, look for calls in progress whose caller closed its connection."""
        while not self._stop_event.wait(HANGUP_POLL_S):
            with self._lock:
                calls = list(self._calls.items())
            if not calls:
                continue
            poller, by_fd = select.poll(), {}
            for conn, entry in calls:
                fd = conn.fileno()
                if fd >= 0:
                    by_fd[fd] = (conn, entry)
                    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
            for fd, _ in poller.poll(0):
                conn, entry = by_fd[fd]
                if not _closed_by_peer(conn):
                    continue
                with self._lock:
                    if self._calls.get(conn) is not entry:
                        continue  # answered meanwhile
                    del self._calls[conn]  # heard once
                try:
                    self._on_hangup(*entry)
                except Exception:  # noqa: BLE001 - a failing callback must not stop the watcher
                    log.exception("channel hangup callback for %s failed", entry[0])

    def _answer(self, message):
        """The reply frame to a call: the handler's response, or the error that kept it from one."""
        kind, method, payload, _ = message
        handler = self._handlers.get(method)
        if kind != _CALL or handler is None:
            return _message_frame(_REPLY, method, f"no method {method!r} on this channel".encode(), 1)
        try:
            return _message_frame(_REPLY, method, handler(payload))
        except Exception as e:  # noqa: BLE001 - a handler's failure is the caller's error, not the server's
            log.exception("channel call %s failed", method)
            return _message_frame(_REPLY, method, f"{type(e).__name__}: {e}".encode(), 1)

    def stop(self, timeout=2.0):
        """Stop accepting, close every connection and wait (``timeout`` s in all) for the reader threads to end:
        a daemon thread still inside a buffered read when the interpreter exits can abort the process."""
        with self._lock:
            self._stopped = True
            conns = list(self._conns)
            readers = list(self._readers)
        self._stop_event.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() below on every platform
        except OSError:
            pass
        self._sock.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # the reader's next read returns end-of-stream
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in [self._acceptor] + readers + ([self._watcher] if self._watcher else []):
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0.0))


def _closed_by_peer(conn):
    """Whether the peer closed (or reset) ``conn``: readable with nothing to read. Peeks, consumes nothing."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


class _Lane:
    """One connection to a peer and the lock that keeps its frames whole."""

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
            except OSError as e:  # nothing was sent: the caller may try another way
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


class ChannelClient:
    """Pushes tensors to one peer's ``ChannelServer`` at ``host:port`` (thread-safe)."""

    def __init__(self, address, connect_timeout=CONNECT_TIMEOUT):
        host, port = address.rsplit(":", 1)
        self.address = address
        self._small = _Lane(host, int(port), connect_timeout)
        self._bulk = _Lane(host, int(port), connect_timeout)
        self._caller = ChannelCaller(address, connect_timeout)
        self.broken = False

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
        the peer stopped reading, ChannelError if it cannot be reached."""
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
        answering); the channel is marked broken, so the worker finds the peer's channel anew next time."""
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


class CallError(ChannelError):
    """A call reached the peer but failed there (an unknown method, or the handler raised)."""


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

    def _connection(self):
        with self._lock:
            while self._idle:
                sock, rfile, poll = self._idle.pop()
                if not poll.poll(0):  # nothing to read between calls: still open
                    return sock, rfile, poll
                rfile.close()
                sock.close()
        sock = socket.create_connection(self._addr, timeout=self._connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        poll = select.poll()
        poll.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return sock, sock.makefile("rb", buffering=_READ_BUFFER), poll

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
            sock.sendall(_message_frame(_CALL, method, payload))
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
        if not isinstance(reply, _Message) or reply[0] != _REPLY:
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
