"""RFC 3161 timestamp tokens: each a genuine timestamp of a checkpoint still in the log."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from dalil.catalog.db import Db
from dalil.verify import report as r


def check_timestamps(conn: Db, report: r.VerifyReport, leaves: list[bytes] | None = None) -> None:
    """Every stored RFC 3161 token must be a genuine timestamp of its checkpoint (checked
    against the CA certificates stored with it, if any) and the very token that its
    ``checkpoint.timestamped`` event recorded; every recorded token must still be stored.
    With the ledger's ``leaves``, the timestamped checkpoint must still be a head of the log
    (a token is a witness from outside: it outlives a deleted tail)."""
    from dalil.ledger.merkle import root
    from dalil.ledger.timestamp import (
        EVENT_ACTION,
        TimestampError,
        stored_timestamps,
        verify_token,
    )

    recorded: dict[int, dict[str, Any]] = {}
    pattern = f'%"action":"{EVENT_ACTION}"%'  # events are canonical JSON
    for (text,) in conn.execute("SELECT event FROM ledger WHERE event LIKE ?", (pattern,)):
        with contextlib.suppress(ValueError):  # an unreadable event is reported already
            event = json.loads(text)
            if isinstance(event, dict) and event.get("action") == EVENT_ACTION:
                details = event.get("details")
                recorded[int(event.get("seq", -1))] = details if isinstance(details, dict) else {}
    for stamp in stored_timestamps(conn):
        label = f"timestamp token {stamp.id} from {stamp.tsa_url}"
        details = recorded.pop(stamp.ledger_seq, None)
        cp = stamp.checkpoint
        if cp is None:
            report.add(
                r.TIMESTAMP_INVALID, None, f"{label}: its checkpoint {stamp.checkpoint_id} is gone"
            )
            continue
        if leaves is not None and (
            cp.size > len(leaves) or root(leaves[: cp.size]).hex() != cp.root
        ):
            report.add(
                r.TIMESTAMP_INVALID,
                None,
                f"{label} stamps a ledger of {cp.size} events at {cp.time} that is no longer"
                f" the start of this ledger ({len(leaves)} events): its history was cut or"
                " rewritten",
            )
            continue
        try:
            check = verify_token(stamp.token, cp, stamp.trusted_certs())
        except TimestampError as exc:
            report.add(r.TIMESTAMP_INVALID, None, f"{label}: {exc}")
            continue
        token_sha256 = hashlib.sha256(stamp.token).hexdigest()
        if not check.ok:
            detail = f"{label} (checkpoint of size {cp.size} at {cp.time}): {check.reason}"
        elif details is None or (details.get("token_sha256"), details.get("root")) != (
            token_sha256,
            cp.root,
        ):
            detail = f"{label} is not the token that ledger event {stamp.ledger_seq} recorded"
        elif (check.gen_time, check.tsa_name) != (stamp.gen_time, stamp.tsa_name):
            detail = f"{label}: the stored time or TSA name differs from the token's"
        else:
            continue
        report.add(r.TIMESTAMP_INVALID, None, detail)
    for seq in sorted(recorded):
        report.add(
            r.TIMESTAMP_INVALID, None, f"the timestamp token recorded by ledger event {seq} is gone"
        )
