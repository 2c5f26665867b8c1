"""Dalil: an evidence vault that proves its photographs were never altered.

The library is interface-free: the CLI (``dalil.cli``) and later the web app are thin layers
over these modules.
"""

from __future__ import annotations

__version__ = "0.1.0"
