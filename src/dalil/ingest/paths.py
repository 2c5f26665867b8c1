"""Original paths are kept as raw bytes; these helpers give their display form."""

from __future__ import annotations


def display(path: bytes) -> str:
    """Readable text for a raw path; bytes that are not UTF-8 appear as ``\\xNN``."""
    return path.decode("utf-8", "backslashreplace")


def is_utf8(path: bytes) -> bool:
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def describe(path: bytes) -> dict[str, str]:
    """JSON form of a path: ``path`` always, ``path_hex`` when the name is not UTF-8."""
    out = {"path": display(path)}
    if not is_utf8(path):
        out["path_hex"] = path.hex()
    return out
