"""Receiving an upload: the multipart body streamed straight into the vault's staging folder.

python-multipart's streaming parser hands over each part as it arrives; a file part is
written to its file in the upload's folder under ``VAULT/tmp/uploads/`` at once — never to the
system's temporary folder, never whole in memory, so an upload takes its size on disk once.
The body's size is limited while it streams (:class:`dalil.web.guard.BodyGuard`).

A name as sent by a browser is not trusted as a file name: only its last component is kept,
control characters (NUL included) are dropped, and a name longer than :data:`NAME_BYTES`
bytes (long Arabic names pass 255 quickly) is shortened, keeping its extension, with a
hash of the whole name to tell shortened names apart. No file is ever refused for its name.
Every name that changed is listed, with the name as sent, in :data:`ORIGINAL_NAMES` in the
upload's folder, which is ingested with the files — so the acquisition keeps it.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

MAX_FILES = 5000
FIELD_LIMIT = 64 * 1024
"""Bytes of a text field (where the files came from)."""

NAME_BYTES = 200
"""Longest stored file name in bytes (file systems allow 255; duplicates get a prefix)."""

ORIGINAL_NAMES = "dalil-original-names.json"


def stored_name(sent: str, taken: set[str]) -> str:
    """A file name for ``sent`` that is safe on disk and not in ``taken`` (then added)."""
    base = sent.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c) != "Cc").strip()
    base = base.encode("utf-8", "replace").decode("utf-8")  # bytes that were not UTF-8: "?"
    if base in ("", ".", ".."):
        base = "upload"
    if len(base.encode("utf-8")) > NAME_BYTES:
        digest = hashlib.sha256(sent.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        stem, dot, extension = base.rpartition(".")
        if not dot or not stem or len(extension.encode("utf-8")) > 16:
            stem, extension = base, ""
        else:
            extension = "." + extension
        budget = NAME_BYTES - len(extension.encode("utf-8")) - len(digest) - 1
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        base = f"{stem}~{digest}{extension}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{n}-{base}"
    taken.add(candidate)
    return candidate


@dataclass(slots=True)
class Received:
    """What an upload brought: its text fields and its files (stored name, name as sent)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def renamed(self) -> list[tuple[str, str]]:
        return [(stored, sent) for stored, sent in self.files if stored != sent]


class _Parts:
    """The parser's callbacks: file parts named ``files`` go to disk, text fields to memory
    (up to :data:`FIELD_LIMIT`), anything else is dropped."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.received = Received()
        self.taken = {ORIGINAL_NAMES}
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.out: BinaryIO | None = None
        self.field: str | None = None
        self.value = bytearray()
        self.ended = False

    def on_part_begin(self) -> None:
        self.headers, self.field, self.value = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self.field = name
            return
        if name != "files" or not filename:  # an empty file input sends a nameless part
            return
        if len(self.received.files) >= MAX_FILES:
            raise HTTPException(400, f"an upload holds at most {MAX_FILES} files")
        sent = filename.decode("utf-8", "surrogateescape")
        stored = stored_name(sent, self.taken)
        self.out = (self.folder / stored).open("xb")
        self.received.files.append((stored, sent))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.out.write(data[start:end])
        elif self.field is not None:
            self.value += data[start:end]
            if len(self.value) > FIELD_LIMIT:
                raise HTTPException(413, f"the field {self.field!r} is too long")

    def on_part_end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        elif self.field is not None:
            self.received.fields[self.field] = self.value.decode("utf-8", "replace")
            self.field = None

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None


async def receive(request: Request, folder: Path) -> Received:
    """Stream the request's multipart body into ``folder`` (which must exist and be empty)."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise HTTPException(400, "send the files as multipart/form-data")
    parts = _Parts(folder)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_end": parts.on_end,
        },
    )
    try:
        async for chunk in request.stream():
            if chunk:  # parsing writes files: off the event loop
                await run_in_threadpool(parser.write, chunk)
        await run_in_threadpool(parser.finalize)
    except MultipartParseError as exc:
        raise HTTPException(400, "the upload is not well-formed multipart data") from exc
    finally:
        parts.close()
    if not parts.ended:
        raise HTTPException(400, "the upload ended before its last file was complete")
    return parts.received


def record_names(folder: Path, upload: str, received: Received) -> str | None:
    """Write :data:`ORIGINAL_NAMES` if any name changed; the sentence for the acquisition's
    note (None if no name changed)."""
    renamed = received.renamed
    if not renamed:
        return None
    listing = {
        "upload": upload,
        "why": "file names as the browser sent them, for the files stored under another name",
        "renamed": [{"stored": stored, "sent": sent} for stored, sent in renamed],
    }
    (folder / ORIGINAL_NAMES).write_text(json.dumps(listing, indent=1, ensure_ascii=True) + "\n")
    return f"{len(renamed)} file name(s) changed on upload; the names as sent: {ORIGINAL_NAMES}"
