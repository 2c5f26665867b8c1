"""A real uvicorn server on a loopback port, and raw HTTP/1.1 over a socket, for the tests
whose subject is the wire: bodies read (or not) before an answer, chunked bodies, headers a
client may forge. Sessions are made directly in the vault's working state, as a login would."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dalil.vault import Vault
from dalil.web import auth
from tests.conftest import catalogue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(vault: Vault) -> Iterator[int]:
    """The workspace over ``vault`` on a loopback port (uvicorn, as ``dalil serve`` runs it:
    no proxy headers believed); yields the port."""
    import uvicorn

    from dalil.web.app import create_app

    auth.ROUTE_PERMISSIONS.clear()
    port = free_port()
    config = uvicorn.Config(
        create_app(vault.root),
        host="127.0.0.1",
        port=port,
        log_level="critical",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def session_for(vault: Vault, name: str) -> tuple[str, str]:
    """A session of user ``name`` as a login makes it: (cookie header value, CSRF token)."""
    conn = vault.connect()
    try:
        token = auth.start_session(conn, name, "127.0.0.1", None)
        csrf = conn.execute(
            "SELECT csrf FROM sessions WHERE token_hash = ?",
            (hashlib.sha256(token.encode()).hexdigest(),),
        ).fetchone()[0]
    finally:
        conn.close()
    return f"{auth.COOKIE}={token}", str(csrf)


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(status, headers, body[:length])


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Iterable[bytes] = (),
    *,
    timeout: float = 10.0,
) -> Answer:
    """Send a request (the body's pieces as they come: a client may send less than it
    announced) and read the answer, which must come within ``timeout`` seconds."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        sender = threading.Thread(target=_send_all, args=(sock, body), daemon=True)
        sender.start()
        answer = _read_answer(sock)
        sender.join(timeout=timeout)
        return answer


def _send_all(sock: socket.socket, body: Iterable[bytes]) -> None:
    try:
        for piece in body:
            sock.sendall(piece)
    except OSError:
        pass  # the server answered and closed: it did not want the rest


def chunked(pieces: Iterable[bytes], *, end: bool = True) -> Iterator[bytes]:
    """``pieces`` in HTTP/1.1 chunked transfer encoding, ending the body (unless not ``end``:
    a body that goes on, as far as the server knows)."""
    for piece in pieces:
        if piece:
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    if end:
        yield b"0\r\n\r\n"


BOUNDARY = "dalil-test-boundary"


def multipart_file(name: str, filename: str, data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
            f"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


def multipart_field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


MULTIPART_END = f"--{BOUNDARY}--\r\n".encode()
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def user_exists(vault: Vault, name: str) -> bool:
    conn = catalogue(vault)
    try:
        return conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None
    finally:
        conn.close()
