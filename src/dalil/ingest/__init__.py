"""Ingest: from a drive, folder or zip to stored, described, fingerprinted items.

Stages, one module each: ``walk`` → ``read`` (hash + store in one pass) → ``identify`` →
``metadata`` → ``decode`` (reduced-size decode, thumbnail, fingerprint) → ``archive`` (zip
members) → ``record`` (batched catalogue + ledger writes). ``session`` assembles them.
"""

from __future__ import annotations
