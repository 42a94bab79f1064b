"""A real ``ordersplit serve`` attacked on loopback: header, body and slow-client limits.

Every attack is bounded in count and time. Memory is the server process's resident set
(the solver workers are other processes), sampled during each attack: it must grow by
less than 50 MB.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_auth import API_KEY, AUTH, EXAMPLE_PATH, ROOT, Served, serve

psutil = pytest.importorskip("psutil")

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 3.0
MAX_GROWTH = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve("--workers", "1", "--max-inflight", "8",
               "--header-timeout", str(HEADER_TIMEOUT_S),
               "--body-timeout", str(BODY_TIMEOUT_S)) as s:
        yield s


def _connect(s: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    return sock


def _read_answer(sock: socket.socket, limit: int = 65536) -> bytes:
    """What the server sends until it closes (or ``limit`` bytes)."""
    out = b""
    try:
        while len(out) < limit:
            part = sock.recv(65536)
            if not part:
                break
            out += part
    except (ConnectionResetError, TimeoutError):
        pass
    return out


class PeakRss:
    """The largest resident set of a process while the block runs (sampled every 20 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _warm(s: Served) -> None:
    """One request of every kind first, so that only the attack's growth is measured."""
    body = json.loads(EXAMPLE_PATH.read_text())
    with httpx.Client(base_url=s.url, headers=AUTH, timeout=30) as c:
        for i in range(20):
            assert c.post("/v1/split", json=body, headers={"Idempotency-Key": f"w{i}"}
                          ).status_code == 200


def test_a_megabyte_of_headers_gets_431(server: Served) -> None:
    sock = _connect(server)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        # the server may stop reading early; its answer is still there to read
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000
                     + b"\r\n\r\n")
    answer = _read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error"' in answer


def test_slow_headers_and_bodies_get_408(server: Served) -> None:
    heads = _connect(server)
    heads.sendall(b"POST /v1/split HTTP/1.1\r\nHost: x\r\n")
    body = _connect(server)
    body.sendall(b"POST /v1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    for sock in (heads, body):
        answer = _read_answer(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_an_early_answer_is_read_by_a_client_still_sending(server: Served) -> None:
    """401 to a client uploading 50 MB: it reads the answer, not a connection reset."""
    sock = _connect(server)
    sock.sendall(b"POST /v1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 52428800\r\n\r\n")
    try:
        for _ in range(50):
            sock.sendall(b" " * 1024 * 1024)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]


def test_serve_refuses_to_start_without_keys() -> None:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from ordersplit.cli import main; sys.exit(main())",
         "serve", "--port", "1"], capture_output=True, text=True, env=env, timeout=120,
        check=False)
    assert proc.returncode == 2 and "--no-auth" in proc.stderr


# The abuse tests: each bounded in count and time, memory measured while it runs.


def _chunked_upload(s: Served, total: int, chunk: int = 1024 * 1024) -> tuple[bytes, int]:
    """Send up to ``total`` bytes as a chunked body; stop when the server answers."""
    sock = _connect(s)
    sock.sendall(b"POST /v1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    answer: list[bytes] = []
    reader = threading.Thread(target=lambda: answer.append(_read_answer(sock)), daemon=True)
    reader.start()
    frame = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total and reader.is_alive():
            sock.sendall(frame)
            sent += chunk
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    reader.join(timeout=30)
    sock.close()
    return (answer[0] if answer else b""), sent


def test_abuse_a_400_mb_chunked_body(server: Served) -> None:
    _warm(server)
    with PeakRss(server.process.pid) as rss:
        answer, sent = _chunked_upload(server, 400 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 400 * 1024 * 1024  # the server stopped the upload
    assert rss.growth < MAX_GROWTH, f"grew {rss.growth / 2**20:.1f} MiB"
    print(f"400 MB chunked: {sent / 2**20:.0f} MiB sent before the 413, "
          f"RSS growth {rss.growth / 2**20:.1f} MiB")


def test_abuse_1000_requests_with_maximal_keys(server: Served) -> None:
    body = json.loads(EXAMPLE_PATH.read_text())
    body["options"]["solver"] = "greedy"
    raw = json.dumps(body).encode()
    _warm(server)
    statuses: list[int] = []

    def send(part: range) -> None:
        with httpx.Client(base_url=server.url, headers={**AUTH,
                          "Content-Type": "application/json"}, timeout=60) as c:
            for i in part:
                key = f"{i:04d}".rjust(255, "k")  # 255 bytes, the most allowed
                statuses.append(c.post("/v1/split", content=raw,
                                       headers={"Idempotency-Key": key}).status_code)

    with PeakRss(server.process.pid) as rss:
        threads = [threading.Thread(target=send, args=(range(i, 1000, 4),)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert sorted(set(statuses)) == [200] and len(statuses) == 1000
    assert rss.growth < MAX_GROWTH, f"grew {rss.growth / 2**20:.1f} MiB"
    print(f"1000 maximal keys: RSS growth {rss.growth / 2**20:.1f} MiB")


def test_abuse_100_slow_clients(server: Served) -> None:
    """50 trickle headers, 50 trickle a body, one byte every 0.5 s: all are cut off."""
    _warm(server)
    head = b"POST /v1/split HTTP/1.1\r\nHost: x\r\nX-Slow: "  # then a header value, slowly
    body_head = (b"POST /v1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
                 b"Content-Length: 100000\r\n\r\n")
    sel = selectors.DefaultSelector()
    socks: dict[socket.socket, bytes] = {}
    trickle: dict[socket.socket, bytes] = {}
    with PeakRss(server.process.pid) as rss:
        for i in range(100):
            sock = _connect(server)
            sock.sendall(head if i % 2 else body_head)
            sock.setblocking(False)
            socks[sock] = b""
            trickle[sock] = b"a" if i % 2 else b" "  # header value or JSON white space
            sel.register(sock, selectors.EVENT_READ)
        closed: set[socket.socket] = set()
        deadline = time.monotonic() + 10 * (HEADER_TIMEOUT_S + BODY_TIMEOUT_S)
        next_byte = time.monotonic()
        while len(closed) < len(socks) and time.monotonic() < deadline:
            if time.monotonic() >= next_byte:
                next_byte += 0.5
                for sock in socks.keys() - closed:
                    with contextlib.suppress(OSError):
                        sock.send(trickle[sock])
            for key, _ in sel.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    part = sock.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    part = b""
                socks[sock] += part
                if not part:
                    closed.add(sock)
                    sel.unregister(sock)
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    for sock in socks:
        sock.close()
    assert len(closed) == 100, f"{100 - len(closed)} slow clients still connected"
    first_lines = [answer.split(b"\r\n", 1)[0] for answer in socks.values()]
    answered = sum(line.startswith(b"HTTP/1.1 408 ") for line in first_lines)
    assert answered >= 90, sorted(set(first_lines))  # a few may see only the close
    assert rss.growth < MAX_GROWTH, f"grew {rss.growth / 2**20:.1f} MiB"
    print(f"100 slow clients: all cut off, {answered} got a 408, "
          f"RSS growth {rss.growth / 2**20:.1f} MiB")

