"""The tensor channel's server: a raw-TCP data plane beside gRPC, in the way TensorFlow's "grpc+verbs" and
"grpc+mpi" protocols keep gRPC for control and move tensors another way.

A task's server listens on one extra port (reported by GetStatus). Each tensor a peer pushes is read straight
into a fresh array by the connection's reader thread and handed to ``deliver`` (the step's rendezvous, where the
_Recv waits); calls (RunGraph, RunStep) are answered on the connection they came on.

>>> import numpy as np
>>> from tasklayer.distributed.channel_client import ChannelClient
>>> got = []
>>> server = ChannelServer(lambda step, key, value, code: got.append((step, key, value)))
>>> client = ChannelClient(f"127.0.0.1:{server.port}")
>>> client.push(7, "k", np.arange(3, dtype=np.float32))
>>> from tests.polling import wait_until
>>> _ = wait_until(lambda: got, 5, "a pushed tensor")
>>> got[0][0], got[0][1], got[0][2].tolist()
(7, 'k', [0.0, 1.0, 2.0])
>>> client.close(); server.stop()
"""

import logging
import select
import socket
import threading
import time

from tasklayer.distributed.channel_codec import CALL, REPLY, REPLY_FAILED, Message, message_frame, read_frame

log = logging.getLogger(__name__)

HANGUP_POLL_S = 0.2  # how often a ChannelServer with ``on_hangup`` looks for callers gone mid-call
# The reader's buffer: small frames arrive in one system call; larger reads go straight into the array.
READ_BUFFER = 256 << 10


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

    def calls_in_progress(self):
        """How many calls are being answered now (tests wait for the server to forget them)."""
        with self._lock:
            return len(self._calls)

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
        rfile = conn.makefile("rb", buffering=READ_BUFFER)
        try:
            while True:
                frame = read_frame(rfile)
                if frame is None:
                    return
                if isinstance(frame, Message):
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
        if kind != CALL or handler is None:
            return message_frame(REPLY, method, f"no method {method!r} on this channel".encode(), REPLY_FAILED)
        try:
            return message_frame(REPLY, method, handler(payload))
        except Exception as e:  # noqa: BLE001 - a handler's failure is the caller's error, not the server's
            log.exception("channel call %s failed", method)
            return message_frame(REPLY, method, f"{type(e).__name__}: {e}".encode(), REPLY_FAILED)

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
