"""The OCR assist works without a network: in a network namespace, and under an audit hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Cards

SCRIPT = """
import sys
from pathlib import Path

if sys.argv[2] == "audit":
    def refuse(event, args):
        if event in ("socket.connect", "socket.getaddrinfo"):
            raise RuntimeError(f"network use: {event} {args!r}")
    sys.addaudithook(refuse)

from PIL import Image, ImageOps
from dalil.ocr import read_numbers

with Image.open(sys.argv[1]) as im:
    readings = read_numbers(ImageOps.exif_transpose(im))
print(" ".join(r.value for r in readings))
"""


def _run(prefix: list[str], photo: Path, mode: str) -> str:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", SCRIPT, str(photo), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _namespace_prefix() -> list[str] | None:
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode
        except FileNotFoundError:
            return None
        if ok == 0:
            return prefix
    return None


def test_reads_without_network_namespace(cards: Cards) -> None:
    prefix = _namespace_prefix()
    if prefix is None:
        pytest.skip("unshare -n (a private network namespace) is not permitted here")
    card, path, _ = cards.photo("C004")
    assert card.detainee in _run(prefix, path, "plain").split()


def test_reads_under_a_socket_audit_hook(cards: Cards) -> None:
    card, path, _ = cards.photo("C004")
    assert card.detainee in _run([], path, "audit").split()
