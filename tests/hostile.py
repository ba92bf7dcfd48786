"""Clients no well-behaved sender would be: huge chunked bodies, lying lengths, slow bytes.

Shared by tests/controller/test_http_limits.py and tests/executor/test_http_limits.py,
which aim them at the real services and read the server's memory from /proc.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: its resident memory now, and at its peak."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def chunks(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """`total` bytes in pieces: requests sends a generator chunked, with no Content-Length."""
    block = b"x" * piece
    for _ in range(total // piece):
        yield block


def declared_only(port: int, path: str, length: int,
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send headers declaring `length` bytes and none of them; (status, body) of the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in {"Content-Type": "application/json", **(headers or {}),
                            "Content-Length": str(length)}.items():
            conn.putheader(name, value)
        conn.endheaders()  # no body follows
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@dataclass
class Dribbled:
    sent: int
    """Bytes of the slow part that went out before the server answered or hung up."""
    answer: bytes
    """All the server sent back (b"" when it closed without a word)."""


def dribble(port: int, head: bytes, slow: bytes, interval: float = 0.5, *,
            past_answer: bool = False) -> Dribbled:
    """Send `head` at once, then `slow` one byte per `interval`, until the server ends it.

    Stops at the server's answer, or with `past_answer` only once it hangs up.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        sent = 0
        for byte in slow:
            if select.select([sock], [], [], 0)[0]:
                data = _recv(sock)
                answer += data
                if not data or not past_answer:
                    break
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            time.sleep(interval)
        return Dribbled(sent, answer + read_to_end(sock))


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def read_to_end(sock: socket.socket) -> bytes:
    received = b""
    while data := _recv(sock):
        received += data
    return received
