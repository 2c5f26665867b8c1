"""Taking in a court bundle from another vault, with its custody history as provenance.

``dalil ingest BUNDLE`` notices a Dalil bundle (a BagIt bag with ``data/custody``). It is
verified first — exactly as its own ``verify_bundle.py`` would, with the bundled key — and
refused if anything is wrong. The key that signed it must be the one this vault trusts for
that origin: the first bundle from a vault pins its key (``origin.trusted``; the report says
to compare the fingerprint with the one that vault published), a later bundle signed by another
key is refused unless ``--trust-key FINGERPRINT`` says otherwise. A bundle already taken in
adds nothing. Its originals (``data/originals``) are then ingested like any other source, and
inside the same acquisition, for every item one ``item.provenance`` event records where the
*other* vault had received it: that vault's origin, key and signed checkpoint, the bundle hash,
every place it was found, and the sequence numbers, times and actors of its custody events
there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ingest.record import Tally
from dalil.ingest.session import IngestOptions, IngestReport, IngestSession, ProgressCallback
from dalil.ledger.log import Ledger
from dalil.vault import Vault


def is_bundle(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "bagit.txt").is_file()
        and (path / "data" / "custody" / "checkpoint.json").is_file()
        and (path / "data" / "originals").is_dir()
    )


def check(bundle: Path) -> tuple[list[str], dict[str, Any], str]:
    """Problems found by the bundle's verifier logic (ours, not the copy inside the bag), the
    bundle's checkpoint, and the fingerprint of the key that signed it."""
    from dalil.export import verify_bundle

    checker = verify_bundle.Checker(bundle)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            payload = checker.check_bag()
            key, fingerprint = checker.public_key(None)
            cp, events = checker.check_custody(key)
            checker.check_items(payload, events)
            checker.check_timestamps(cp)
        except Exception as exc:  # a malformed bundle is refused, never a traceback
            checker.problems.append(f"the bundle is malformed ({exc!r})")
            return checker.problems, {}, ""
    return checker.problems, cp, fingerprint


def _bundle_hash(bundle: Path) -> str:
    """The bundle's hash: SHA-256 of its payload manifest (what bag-info.txt states, and the
    verifier checks, but computed here, not read)."""
    return hashlib.sha256((bundle / "manifest-sha256.txt").read_bytes()).hexdigest()


def trusted_key(conn: Db, origin: str) -> str | None:
    """The key fingerprint this vault trusts for bundles from ``origin``, if any."""
    row = conn.execute(
        "SELECT details FROM (SELECT json_extract(event, '$.details') AS details,"
        " json_extract(event, '$.action') AS action, seq FROM ledger"
        " WHERE event LIKE '%origin.trusted%') AS trusted WHERE action = 'origin.trusted'"
        " AND json_extract(details, '$.origin') = ? ORDER BY seq DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return None if row is None else str(json.loads(row[0])["key_sha256"])


def _imported_in(conn: Db, bundle_hash: str) -> str | None:
    row = conn.execute(
        "SELECT json_extract(event, '$.details.acquisition') FROM ledger"
        " WHERE event LIKE ? AND json_extract(event, '$.action') = 'item.provenance' LIMIT 1",
        (f"%{bundle_hash}%",),
    ).fetchone()
    return None if row is None else str(row[0])


def import_bundle(
    vault: Vault,
    bundle: Path,
    options: IngestOptions,
    progress: ProgressCallback | None = None,
    *,
    trust_key: str | None = None,
) -> IngestReport:
    problems, checkpoint, fingerprint = check(bundle)
    if problems:
        raise UsageError(
            f"{bundle} does not verify ({len(problems)} problem(s); first: {problems[0]});"
            " it was not ingested"
        )
    origin = str(checkpoint.get("origin"))
    bundle_hash = _bundle_hash(bundle)
    wanted = (trust_key or "").lower().replace(":", "").strip() or None
    conn = vault.connect()
    try:
        earlier = _imported_in(conn, bundle_hash)
        pinned = trusted_key(conn, origin)
    finally:
        conn.close()
    if earlier is not None:
        return IngestReport(
            acquisition=earlier,
            resumed=False,
            tally=Tally(),
            checkpoint={},
            seconds=0.0,
            notes=[f"This bundle ({bundle_hash[:16]}…) was taken in already, in {earlier}:"
                   " nothing was added."],
        )  # fmt: skip
    if wanted is not None and wanted != fingerprint:
        raise UsageError(
            f"{bundle} is signed by the key {fingerprint}, not the {wanted} you trust"
            " (--trust-key); it was not ingested"
        )
    if pinned is not None and pinned != fingerprint and wanted is None:
        raise UsageError(
            f"{bundle} claims to come from {origin}, whose key this vault knows as {pinned},"
            f" but it is signed by another key ({fingerprint}). It was not ingested. If that"
            f" vault really changed its key, confirm the new one with it and run again with"
            f" --trust-key {fingerprint}"
        )
    trust = (
        "given with --trust-key"
        if wanted is not None
        else "pinned by an earlier bundle"
        if pinned is not None
        else "first seen: compare it with the fingerprint that vault published"
    )
    notes = [f"Bundle signed by {origin} with the key {fingerprint} ({trust})."]
    note = (options.note + "\n" if options.note else "") + (
        f"court bundle {bundle_hash} from vault {origin}, signed by the key with SHA-256"
        f" {fingerprint} ({trust})"
    )
    session_options = IngestOptions(
        [bundle / "data" / "originals"],
        options.source_label,
        options.actor,
        note,
        options.jobs,
        options.group,
    )

    def provenance(conn: Db, ledger: Ledger, label: str) -> None:
        if pinned != fingerprint:
            ledger.append(
                options.actor,
                "origin.trusted",
                f"origin:{origin}",
                {"origin": origin, "key_sha256": fingerprint, "why": trust},
            )
        _record_provenance(bundle, ledger, options.actor, label, checkpoint, fingerprint, trust)

    report = IngestSession(vault, session_options, progress, before_close=provenance).run()
    report.notes = notes + report.notes
    return report


def _record_provenance(
    bundle: Path,
    ledger: Ledger,
    actor: str,
    label: str,
    checkpoint: dict[str, Any],
    fingerprint: str,
    trust: str,
) -> None:
    events = [
        json.loads(line)
        for line in (bundle / "data" / "custody" / "events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    bundle_hash = _bundle_hash(bundle)
    for meta_path in sorted((bundle / "data" / "metadata").glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        sha = str(meta["sha256"])
        history = [
            {"seq": e["seq"], "time": e["time"], "actor": e["actor"], "action": e["action"]}
            for e in events
            if e.get("subject") == f"sha256:{sha}" or (e.get("details") or {}).get("sha256") == sha
        ]
        ledger.append(
            actor,
            "item.provenance",
            f"sha256:{sha}",
            {
                "sha256": sha,
                "bundle_hash": bundle_hash,
                "from_vault": checkpoint.get("origin"),
                "from_vault_key_sha256": fingerprint,
                "key_trust": trust,
                "from_checkpoint": {k: checkpoint.get(k) for k in ("size", "root", "time")},
                "occurrences": meta.get("occurrences", []),
                "custody": history,
                "acquisition": label,
            },
        )
