"""A small threaded TCP proxy that tests put between a process and a real server.

    with TcpProxy("127.0.0.1", 5672) as proxy:
        url = proxy.url_for(amqp_url)       # same URL, the proxy's port
        proxy.cut()                         # drop live connections, hold new ones
        proxy.restore()                     # accept and forward again
        proxy.pause_reads()                 # stop reading from clients (a blocked broker)

While cut, new connections are accepted by the kernel but not served: they are closed at once
(`refuse=True`, a refused connection) or held unanswered until restore (the default, like a
network partition: the client's connect or handshake times out). The shared servers are never
touched.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

# Bytes read from a socket at a time.
CHUNK = 64 * 1024
# Seconds a pump thread waits in select before looking at its flags again.
TICK_SECONDS = 0.05


class TcpProxy:
    """Forwards 127.0.0.1:<port> to target_host:target_port, one pair of threads per client."""

    def __init__(
        self, target_host: str, target_port: int, *, refuse: bool = False, record: bool = False
    ) -> None:
        self.target = (target_host, target_port)
        self.refuse = refuse
        # With `record`, every byte the server sent (for tests that look for what it gave out).
        self.record = record
        self.from_server = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(TICK_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._held: list[socket.socket] = []
        self._cut = threading.Event()
        self._reads_paused = threading.Event()
        self._closed = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    @classmethod
    def for_url(cls, url: str, default_port: int, **kwargs: bool) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port, **kwargs)

    def url_for(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's (credentials and path kept)."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def cut(self) -> None:
        """Close every live connection; from now on new ones are held (or refused)."""
        self._cut.set()
        with self._lock:
            live, self._live = self._live, set()
        for sock in live:
            _close(sock)

    def restore(self) -> None:
        """Forward again; connections held during the cut are closed so clients retry."""
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            _close(sock)
        self._cut.clear()

    def pause_reads(self) -> None:
        """Stop reading what clients send (their sends back up, like a blocked broker)."""
        self._reads_paused.set()

    def resume_reads(self) -> None:
        self._reads_paused.clear()

    def unread_bytes(self) -> int:
        """Bytes clients sent that the proxy has not read yet (Linux: /proc/net/tcp rx_queue)."""
        total = 0
        with open("/proc/net/tcp", encoding="ascii") as table:
            next(table)
            for line in table:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                    total += int(fields[4].split(":")[1], 16)
        return total

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self.restore()
        self._thread.join(timeout=5)
        _close(self._listener)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                if self.refuse:
                    _close(client)
                else:
                    with self._lock:
                        self._held.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            self.connections += 1
            with self._lock:
                self._live.update((client, upstream))
            if self._cut.is_set():  # cut while this one was being connected
                self.cut()
                continue
            for source, sink, from_client in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, from_client), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while not self._closed.is_set():
                if from_client and self._reads_paused.is_set():
                    self._reads_paused_wait()
                    continue
                readable, _, _ = select.select([source], [], [], TICK_SECONDS)
                if from_client and self._reads_paused.is_set():
                    continue  # paused while waiting: leave the bytes unread
                if not readable:
                    if source.fileno() < 0:
                        return
                    continue
                data = source.recv(CHUNK)
                if not data:
                    return
                if self.record and not from_client:
                    with self._lock:
                        self.from_server += data
                sink.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._live.discard(source)
                self._live.discard(sink)
            _close(source)
            _close(sink)

    def _reads_paused_wait(self) -> None:
        self._closed.wait(TICK_SECONDS)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
