"""Export folders that say when they are unfinished.

An export (court bundle, public release) writes a marker file first and removes it last. A
folder still holding the marker was left by an interrupted export (kill, power cut, full disk):
running the same export again empties it and starts over, instead of refusing a folder that is
"not empty".
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dalil.timeutil import utc_now

MARKER = ".dalil-export-incomplete"


def reclaim(out: Path) -> bool:
    """Empty ``out`` if an interrupted export left it; True if it did."""
    if not (out / MARKER).is_file():
        return False
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    return True


def begin(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(
        f"An export into this folder started at {utc_now()} and has not finished. Running the"
        " same export again empties the folder and starts over.\n"
    )


def finish(out: Path) -> None:
    (out / MARKER).unlink(missing_ok=True)
