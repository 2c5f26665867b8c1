"""Face embeddings, sealed: personal data, kept beside families' contact details.

An embedding describes a person's face: it is sealed under the contacts key
(:func:`dalil.reports.seal`) in a table of ``contacts.sqlite``, one row per photograph and
model, so a photograph is looked at once per model. Embeddings never enter the ledger, the
catalogue, exports or search indexes, and no command prints them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from dalil import reports
from dalil.catalog.db import Db
from dalil.faces.detect import Face
from dalil.timeutil import utc_now
from dalil.vault import Vault


def _open(vault: Vault) -> Db:
    conn = reports.personal_store(vault)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS face_embeddings (subject TEXT NOT NULL, model TEXT NOT NULL,"
        " nonce BLOB NOT NULL, sealed BLOB NOT NULL, computed_at TEXT NOT NULL,"
        " PRIMARY KEY (subject, model))"
    )
    return conn


def _name(subject: str, model: str) -> str:
    return f"faces|{subject}|{model}"


def _encode(faces: list[Face]) -> bytes:
    rows = [
        {"box": list(f.box), "score": f.score,
         "vector": base64.b64encode(f.vector.astype("<f4").tobytes()).decode("ascii")}
        for f in faces
    ]  # fmt: skip
    return json.dumps({"faces": rows}, separators=(",", ":")).encode("utf-8")


def _decode(data: bytes) -> list[Face]:
    rows: list[dict[str, Any]] = json.loads(data)["faces"]
    return [
        Face(
            (float(r["box"][0]), float(r["box"][1]), float(r["box"][2]), float(r["box"][3])),
            float(r["score"]),
            np.frombuffer(base64.b64decode(r["vector"]), dtype="<f4").astype(np.float32),
        )
        for r in rows
    ]


def load(vault: Vault, subjects: list[str], model: str) -> dict[str, list[Face]]:
    """The sealed faces already computed for ``subjects`` (``report:…`` or ``item:<sha>``)."""
    wanted = set(subjects)
    conn = _open(vault)
    try:
        rows = conn.execute(
            "SELECT subject, nonce, sealed FROM face_embeddings WHERE model = ?", (model,)
        ).fetchall()
    finally:
        conn.close()
    return {
        subject: _decode(
            reports.unseal(vault, _name(subject, model), nonce, sealed, "the stored faces")
        )
        for subject, nonce, sealed in rows
        if subject in wanted
    }


def save(vault: Vault, subject: str, model: str, faces: list[Face]) -> None:
    """Seal and keep the faces found in one photograph (an empty list: none was found)."""
    nonce, sealed = reports.seal(vault, _name(subject, model), _encode(faces))
    conn = _open(vault)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO face_embeddings (subject, model, nonce, sealed, computed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (subject, model, nonce, sealed, utc_now()),
        )
    finally:
        conn.close()
