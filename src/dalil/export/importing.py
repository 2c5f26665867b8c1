"""Taking in a court bundle from another vault, with its custody history as provenance.

``dalil ingest BUNDLE`` notices a Dalil bundle (a BagIt bag with ``data/custody``). It is
verified first — exactly as its own ``verify_bundle.py`` would, with the bundled key — and
refused if anything is wrong. Its originals (``data/originals``) are then ingested like any
other source (so this vault's ledger records their receipt from the bundle), and for every
item one ``item.provenance`` event records where the *other* vault had received it: that
vault's origin and signed checkpoint, the bundle hash, every place it was found, and the
sequence numbers, times and actors of its custody events there. The bundle's own proofs stay
checkable: the bundle can be kept (or re-ingested) as is.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from dalil.catalog import atomic
from dalil.errors import UsageError
from dalil.ingest.session import IngestOptions, IngestReport, IngestSession, ProgressCallback
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
        payload = checker.check_bag()
        key, fingerprint = checker.public_key(None)
        cp, events = checker.check_custody(key)
        checker.check_items(payload, events)
        checker.check_timestamps(cp)
    return checker.problems, cp, fingerprint


def import_bundle(
    vault: Vault, bundle: Path, options: IngestOptions, progress: ProgressCallback | None = None
) -> IngestReport:
    problems, checkpoint, fingerprint = check(bundle)
    if problems:
        raise UsageError(
            f"{bundle} does not verify ({len(problems)} problem(s); first: {problems[0]});"
            " it was not ingested"
        )
    info = (bundle / "bag-info.txt").read_text(encoding="utf-8", errors="replace")
    bundle_hash = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.splitlines()
            if line.startswith("Dalil-Bundle-Hash:")
        ),
        "",
    )
    originals = bundle / "data" / "originals"
    note = (options.note + "\n" if options.note else "") + (
        f"court bundle {bundle_hash} from vault {checkpoint.get('origin')}, signed by the key"
        f" with SHA-256 {fingerprint} (compare it with that vault's key)"
    )
    session_options = IngestOptions(
        [originals], options.source_label, options.actor, note, options.jobs, options.group
    )
    report = IngestSession(vault, session_options, progress).run()
    events = [
        json.loads(line)
        for line in (bundle / "data" / "custody" / "events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    conn = vault.connect()
    try:
        with vault.writer_lock(), atomic(conn):
            ledger = vault.ledger(conn)
            for meta_path in sorted((bundle / "data" / "metadata").glob("*.json")):
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                sha = str(meta["sha256"])
                history = [
                    {"seq": e["seq"], "time": e["time"], "actor": e["actor"], "action": e["action"]}
                    for e in events
                    if e.get("subject") == f"sha256:{sha}"
                    or (e.get("details") or {}).get("sha256") == sha
                ]
                ledger.append(
                    options.actor,
                    "item.provenance",
                    f"sha256:{sha}",
                    {
                        "sha256": sha,
                        "bundle_hash": bundle_hash,
                        "from_vault": checkpoint.get("origin"),
                        "from_vault_key_sha256": fingerprint,
                        "from_checkpoint": {k: checkpoint.get(k) for k in ("size", "root", "time")},
                        "occurrences": meta.get("occurrences", []),
                        "custody": history,
                        "acquisition": report.acquisition,
                    },
                )
            ledger.checkpoint()
    finally:
        conn.close()
    return report
