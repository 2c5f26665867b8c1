"""Cases and annotations: create, propose (from clusters and lone photographs), accept,
merge, split, link, annotate.

Every change runs in one transaction with its ledger event. The ledger records *what kind* of
change was made, by whom and when, and a SHA-256 digest of the annotation's content — not the
content itself, so the ledger (and inclusion proofs cut from it) can be shown without showing
names, numbers or notes; ``dalil verify`` recomputes the digests.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dalil.cases import vocabulary as vocab
from dalil.catalog import atomic
from dalil.catalog.db import Db, write_text
from dalil.catalog.queries import resolve_item
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.users import check_actor


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user of the vault. Accounts are never created by acting; an administrator
    adds them (``dalil users add``)."""

    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.strip())  # "amina " is amina

    def check(self, conn: Db) -> str:
        """The actor's role; a usage error if no such user may act now."""
        return check_actor(conn, self.name)


def annotation_digest(row: dict[str, Any]) -> str:
    """SHA-256 of an annotation's content as canonical JSON (what the ledger records). The case
    is not part of it: merging cases moves annotations, and the merge is its own event."""
    content = {
        k: row[k]
        for k in (
            "kind",
            "field",
            "value",
            "source",
            "confidence",
            "item",
            "region",
            "author",
        )
    }
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- lookups


def identifier_types(conn: Db) -> dict[str, vocab.IdentifierType]:
    out = {t.name: t for t in vocab.BUILTIN_IDENTIFIERS}
    for name, label, pattern, example in conn.execute(
        "SELECT name, label, pattern, example FROM identifier_types ORDER BY name"
    ):
        out[name] = vocab.IdentifierType(name, label, pattern, example)
    return out


def add_identifier_type(
    conn: Db,
    ledger: Ledger,
    actor: Actor,
    name: str,
    label: str,
    pattern: str,
    example: str,
) -> None:
    with atomic(conn):
        if actor.check(conn) != "admin":
            raise UsageError(f"only an admin can add identifier types ({actor.name} is not one)")
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,30}", name):
            raise UsageError("an identifier type name is lower-case letters, digits and '-'")
        if name in identifier_types(conn):
            raise UsageError(f"identifier type {name!r} exists already")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"the pattern is not a valid regular expression: {exc}") from exc
        if not compiled.fullmatch(vocab.normalise_identifier(example)):
            raise UsageError(f"the example {example!r} does not match the pattern")
        ledger.append(
            actor.name,
            "identifier-type.added",
            f"identifier-type:{name}",
            {"name": name, "label": label, "pattern": pattern},
            {"name": name, "label": label, "pattern": pattern, "example": example},
        )


def case_pk(conn: Db, ref: str) -> int:
    """The row id of a case given by its id (``P-00042``, case-insensitive)."""
    row = conn.execute("SELECT id FROM cases WHERE case_id = ?", (ref.strip().upper(),)).fetchone()
    if row is None:
        raise UsageError(f"no case {ref!r}")
    return int(row[0])


def case_id_of(conn: Db, pk: int) -> str:
    return str(conn.execute("SELECT case_id FROM cases WHERE id = ?", (pk,)).fetchone()[0])


def _next_case_id(conn: Db, kind: str) -> str:
    letter = vocab.KINDS[kind]
    row = conn.execute(
        "SELECT case_id FROM cases WHERE case_id LIKE ? ORDER BY length(case_id) DESC,"
        " case_id DESC LIMIT 1",
        (f"{letter}-%",),
    ).fetchone()
    number = 1 if row is None else int(str(row[0]).split("-", 1)[1]) + 1
    return f"{letter}-{number:05d}"


# ---------------------------------------------------------------------------- cases


def create_case(
    conn: Db,
    ledger: Ledger,
    actor: Actor,
    kind: str,
    title: str,
    *,
    status: str = "open",
    cluster: str | None = None,
    items: Sequence[tuple[str, str]] = (),
) -> str:
    """A new case; returns its id. Call inside ``atomic``."""
    if kind not in vocab.KINDS:
        raise UsageError(f"a case is one of: {', '.join(vocab.KINDS)}")
    actor.check(conn)
    case_id = _next_case_id(conn, kind)
    title = title.strip() or case_id
    ledger.append(
        actor.name,
        "case.created",
        f"case:{case_id}",
        {"kind": kind, "status": status, "cluster": cluster, "items": [s for s, _ in items]},
        {
            "case": case_id,
            "kind": kind,
            "title": title,
            "status": status,
            "cluster": cluster,
            "items": [[s, r] for s, r in _first_role(items).items()],
        },
    )
    return case_id


def _first_role(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for sha, role in items:
        roles.setdefault(sha, role)
    return roles


def new_case(conn: Db, ledger: Ledger, actor: Actor, kind: str, title: str) -> str:
    with atomic(conn):
        return create_case(conn, ledger, actor, kind, title)


def propose(conn: Db, ledger: Ledger, actor: Actor, *, singles: bool = True) -> list[str]:
    """Proposed person cases: one per near-duplicate cluster none of whose items is in a case
    yet (rejected proposals included, so a rejected proposal is not proposed again), then —
    with ``singles`` — one per photograph alone: a decoded image in no cluster and no case
    (one photograph of one person is the common case). Documents, lists, archives, damaged
    files and images not yet matched against the vault are not proposed; a rejected single
    proposal keeps its photograph, so it is not proposed again either."""
    made: list[str] = []
    with atomic(conn):
        clusters = conn.execute(
            "SELECT c.label, c.id FROM clusters c WHERE c.size >= 2 AND NOT EXISTS ("
            " SELECT 1 FROM cluster_members m JOIN case_items ci ON ci.sha256 = m.sha256"
            " WHERE m.cluster_id = c.id) AND NOT EXISTS ("
            " SELECT 1 FROM cases k WHERE k.cluster = c.label) ORDER BY c.id"
        ).fetchall()
        for label, cid in clusters:
            members = [
                str(r[0])
                for r in conn.execute(
                    "SELECT m.sha256 FROM cluster_members m JOIN items i ON i.sha256 = m.sha256"
                    " WHERE m.cluster_id = ? ORDER BY i.ingested_at, m.sha256",
                    (cid,),
                )
            ]
            made.append(
                create_case(
                    conn,
                    ledger,
                    actor,
                    "person",
                    f"Unidentified person ({label})",
                    status="proposed",
                    cluster=str(label),
                    items=[(sha, "other") for sha in members],
                )
            )
        for sha in _lone_photographs(conn) if singles else []:
            made.append(
                create_case(
                    conn,
                    ledger,
                    actor,
                    "person",
                    f"Unidentified person (photograph {sha[:10]})",
                    status="proposed",
                    items=[(sha, "other")],
                )
            )
    return made


def _lone_photographs(conn: Db) -> list[str]:
    """Images that were decoded and matched against the vault (so an item ingested with
    ``--no-group`` waits for ``clusters recompute``), are in no cluster and in no case, oldest
    first. A damaged file (flagged corrupt or truncated) is left out: it is most often a broken
    copy of a photograph that is whole elsewhere, and fails to match it for being broken."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT i.sha256 FROM items i WHERE i.media_type LIKE 'image/%'"
            " AND EXISTS (SELECT 1 FROM match_checks k WHERE k.sha256 = i.sha256)"
            " AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.sha256 = i.sha256)"
            " AND NOT EXISTS (SELECT 1 FROM case_items ci WHERE ci.sha256 = i.sha256)"
            " AND NOT EXISTS (SELECT 1 FROM item_flags g WHERE g.sha256 = i.sha256"
            " AND g.flag IN ('corrupt', 'truncated')) ORDER BY i.ingested_at, i.sha256"
        )
    ]


def set_status(conn: Db, ledger: Ledger, actor: Actor, refs: list[str], status: str) -> list[str]:
    if status not in vocab.STATUSES or status == "merged":
        raise UsageError(f"status must be one of: {', '.join(vocab.STATUSES[:-1])}")
    done = []
    with atomic(conn):
        actor.check(conn)
        for ref in refs:
            pk = case_pk(conn, ref)
            old = conn.execute("SELECT status FROM cases WHERE id = ?", (pk,)).fetchone()[0]
            if old == "merged":
                raise UsageError(f"{ref} was merged into another case; change that one")
            if old == status:
                continue
            case_id = case_id_of(conn, pk)
            ledger.append(
                actor.name,
                "case.status",
                f"case:{case_id}",
                {"from": old, "to": status},
                {"case": case_id, "to": status},
            )
            done.append(case_id_of(conn, pk))
    return done


def accept(conn: Db, ledger: Ledger, actor: Actor, refs: list[str]) -> list[str]:
    """Turn proposed cases into open ones."""
    for ref in refs:
        row = conn.execute(
            "SELECT status FROM cases WHERE case_id = ?", (ref.strip().upper(),)
        ).fetchone()
        if row is None:
            raise UsageError(f"no case {ref!r}")
        if row[0] != "proposed":
            raise UsageError(f"{ref} is {row[0]}, not proposed")
    return set_status(conn, ledger, actor, refs, "open")


def set_title(conn: Db, ledger: Ledger, actor: Actor, ref: str, title: str) -> None:
    with atomic(conn):
        actor.check(conn)
        pk = case_pk(conn, ref)
        case_id = case_id_of(conn, pk)
        digest = hashlib.sha256(title.encode("utf-8")).hexdigest()
        ledger.append(
            actor.name,
            "case.titled",
            f"case:{case_id}",
            {"digest": digest},
            {"case": case_id, "title": title},
        )


def link(
    conn: Db,
    ledger: Ledger,
    actor: Actor,
    ref: str,
    items: list[str],
    role: str,
    *,
    unlink: bool = False,
) -> list[str]:
    if role not in vocab.ROLES:
        raise UsageError(f"a photo's role is one of: {', '.join(vocab.ROLES)}")
    with atomic(conn):
        actor.check(conn)
        pk = case_pk(conn, ref)
        shas = list(dict.fromkeys(resolve_item(conn, i) for i in items))
        case_id = case_id_of(conn, pk)
        extra = {} if unlink else {"role": role}
        ledger.append(
            actor.name,
            "case.unlinked" if unlink else "case.linked",
            f"case:{case_id}",
            {"items": shas, **extra},
            {"case": case_id, "items": shas, **extra},
        )
    return shas


def merge(conn: Db, ledger: Ledger, actor: Actor, refs: list[str]) -> str:
    """Merge cases into the first: its items and annotations move; the others stay, marked
    ``merged``, so their ids still resolve."""
    if len(refs) < 2:
        raise UsageError("merge needs at least two cases")
    with atomic(conn):
        actor.check(conn)
        pks = [case_pk(conn, r) for r in refs]
        if len(set(pks)) != len(pks):
            raise UsageError("a case is named twice")
        states = {
            pk: conn.execute("SELECT kind, status FROM cases WHERE id = ?", (pk,)).fetchone()
            for pk in pks
        }
        if len({str(k) for k, _ in states.values()}) > 1:
            raise UsageError("only cases of the same kind can be merged")
        closed = [
            case_id_of(conn, pk) for pk, (_, st) in states.items() if st in ("merged", "rejected")
        ]
        if closed:
            raise UsageError(f"{', '.join(closed)} is merged or rejected: reopen it first")
        target = case_id_of(conn, pks[0])
        merged = [case_id_of(conn, pk) for pk in pks[1:]]
        ledger.append(
            actor.name,
            "case.merged",
            f"case:{target}",
            {"into": target, "merged": merged},
            {"into": target, "merged": merged},
        )
    return target


def split(conn: Db, ledger: Ledger, actor: Actor, ref: str, items: list[str]) -> str:
    """Move items out of a case into a new case of the same kind; returns the new case id."""
    with atomic(conn):
        actor.check(conn)
        pk = case_pk(conn, ref)
        shas = [resolve_item(conn, i) for i in items]
        members = {
            str(r[0])
            for r in conn.execute("SELECT sha256 FROM case_items WHERE case_pk = ?", (pk,))
        }
        strangers = [s[:12] for s in shas if s not in members]
        if strangers:
            raise UsageError(f"not in {ref}: {', '.join(strangers)}")
        if not members - set(shas):
            raise UsageError("a split must leave at least one item in the case")
        kind, status = conn.execute("SELECT kind, status FROM cases WHERE id = ?", (pk,)).fetchone()
        roles = dict(
            conn.execute(
                f"SELECT sha256, role FROM case_items WHERE case_pk = ? AND sha256 IN"
                f" ({','.join('?' * len(shas))})",
                (pk, *shas),
            ).fetchall()
        )
        source = case_id_of(conn, pk)
        new = create_case(
            conn,
            ledger,
            actor,
            str(kind),
            f"Split from {source}",
            status="open" if status != "proposed" else "proposed",
            items=[(s, str(roles[s])) for s in shas],
        )
        ledger.append(
            actor.name,
            "case.split",
            f"case:{source}",
            {"moved": shas, "to": new},
            {"case": source, "moved": shas, "to": new},
        )
    return new


# ---------------------------------------------------------------------------- annotations


def _validated(conn: Db, kind: str, field: str, value: str) -> tuple[str, str]:
    if kind == "identifier":
        types = identifier_types(conn)
        if field not in types:
            raise UsageError(f"unknown identifier type {field!r}; known: {', '.join(types)}")
        return field, vocab.validate_identifier(types[field], value)
    if kind == "attribute":
        return field, vocab.validate_attribute(field, value)
    if kind == "mark":
        return "mark", vocab.validate_mark(value)
    if kind == "note":
        return "note", vocab._text(value)
    raise UsageError(f"unknown annotation kind {kind!r}")


def annotate(
    conn: Db,
    ledger: Ledger,
    actor: Actor,
    ref: str | int,
    kind: str,
    field: str,
    value: str,
    *,
    source: str = "person",
    confidence: float | None = None,
    item: str | None = None,
    region: list[int] | None = None,
) -> tuple[int, bool]:
    """Record a claim about a case; returns (annotation id, whether it is new). A claim equal
    to a live one (same kind, field and value) is not repeated. Call inside ``atomic``."""
    actor.check(conn)
    pk = ref if isinstance(ref, int) else case_pk(conn, ref)
    field, clean = _validated(conn, kind, field, value)
    same = conn.execute(
        "SELECT id FROM annotations WHERE case_pk = ? AND kind = ? AND field = ? AND value = ?"
        " AND state IN ('unverified', 'verified')",
        (pk, kind, field, clean),
    ).fetchone()
    if same is not None:
        return int(same[0]), False
    row = {
        "case": case_id_of(conn, pk),
        "kind": kind,
        "field": field,
        "value": clean,
        "source": source,
        "confidence": None if confidence is None else round(float(confidence), 4),
        "item": item,
        "region": None if region is None else [int(v) for v in region],
        "author": actor.name,
    }
    event = ledger.append(
        actor.name,
        "annotation.added",
        f"case:{row['case']}",
        {"kind": kind, "field": field, "source": source, "digest": annotation_digest(row)},
        row,
    )
    found = conn.execute(
        "SELECT id FROM annotations WHERE ledger_seq = ?", (int(event["seq"]),)
    ).fetchone()
    return int(found[0]), True


def add_annotation(
    conn: Db,
    ledger: Ledger,
    actor: Actor,
    ref: str,
    kind: str,
    field: str,
    value: str,
) -> tuple[int, bool]:
    with atomic(conn):
        return annotate(conn, ledger, actor, ref, kind, field, value)


def fuzzy_keys(value: str) -> list[str]:
    """Keys under which an identifier is found by a one-character misreading: the value, the
    value with each character replaced by ``?``, and with each character left out (``-``)."""
    keys = {value}
    for i in range(len(value)):
        keys.add(value[:i] + "?" + value[i + 1 :])
        keys.add("-" + value[:i] + value[i + 1 :])
    return sorted(keys)


def query_keys(value: str) -> list[str]:
    """Keys to look up for identifiers one slip away from ``value``: one character replaced,
    missing or extra, or two neighbours swapped (the commonest misreadings of numbers)."""
    keys = {value} | {value[:i] + "?" + value[i + 1 :] for i in range(len(value))}
    keys.add("-" + value)  # a stored value one character longer
    keys |= {value[:i] + value[i + 1 :] for i in range(len(value))}  # one shorter
    keys |= {value[:i] + value[i + 1] + value[i] + value[i + 2 :] for i in range(len(value) - 1)}
    return sorted(k for k in keys if k not in ("", "-"))


# ---------------------------------------------------------------------------- summary + text


def _current(conn: Db, pk: int, kind: str) -> list[tuple[str, str]]:
    return [
        (str(f), str(v))
        for f, v in conn.execute(
            "SELECT field, value FROM annotations WHERE case_pk = ? AND kind = ?"
            " AND state IN ('unverified', 'verified') ORDER BY state = 'verified', id",
            (pk, kind),
        )
    ]


def refresh(conn: Db, pk: int) -> None:
    """Rewrite a case's summary columns and its full-text row from annotations and items."""
    case_id, title, notes, cluster, status, kind = conn.execute(
        "SELECT case_id, title, notes, cluster, status, kind FROM cases WHERE id = ?", (pk,)
    ).fetchone()
    attributes = dict(_current(conn, pk, "attribute"))  # verified last, so they win
    identifiers = _current(conn, pk, "identifier")
    branch = [v for f, v in identifiers if f == "branch"]
    items = conn.execute(
        "SELECT ci.sha256, m.camera_make, m.camera_model, m.camera_serial, m.captured_at"
        " FROM case_items ci LEFT JOIN metadata m ON m.sha256 = ci.sha256 WHERE ci.case_pk = ?"
        " ORDER BY ci.sha256",
        (pk,),
    ).fetchall()
    captured = sorted(str(r[4])[:10] for r in items if r[4])
    serials = sorted({str(r[3]) for r in items if r[3]})
    flags = sorted(
        {
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT f.flag FROM item_flags f JOIN case_items ci"
                " ON ci.sha256 = f.sha256 WHERE ci.case_pk = ?",
                (pk,),
            )
        }
    )
    conn.execute(
        "UPDATE cases SET sex = ?, age = ?, died_on = ?, place = ?, photographed_on = ?,"
        " branch = ?, cameras = ?, flags = ?, items = ? WHERE id = ?",
        (
            attributes.get("sex"),
            attributes.get("age"),
            attributes.get("died_on"),
            attributes.get("place"),
            attributes.get("photographed_on") or (captured[0] if captured else None),
            branch[-1] if branch else None,
            "".join(f" {s} " for s in serials),
            "".join(f" {f} " for f in flags),
            len(items),
            pk,
        ),
    )
    words = [case_id, title, notes or "", cluster or "", status, kind]
    words += [f"{f} {v}" for f, v in identifiers]
    words += [f"{f} {v}" for f, v in attributes.items()]
    words += [v for _, v in _current(conn, pk, "mark")]
    words += [v for _, v in _current(conn, pk, "note")]
    for _sha, make, model, serial, when in items:
        words += [str(x) for x in (make, model, serial, when) if x]
    ocr = conn.execute(
        "SELECT o.text FROM ocr_runs o JOIN case_items ci ON ci.sha256 = o.sha256"
        " WHERE ci.case_pk = ? ORDER BY o.sha256, o.engine",
        (pk,),
    ).fetchall()
    words += [str(r[0]) for r in ocr if r[0]]
    body = vocab.search_text(" ".join(w for w in words if w))
    write_text(conn, "case_text", pk, case_id, body)


# ---------------------------------------------------------------------------- reading


def annotation_row(conn: Db, annotation_id: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT a.id, c.case_id, a.kind, a.field, a.value, a.source, a.confidence, a.item,"
        " a.region, a.author, a.created_at, a.state, a.ledger_seq FROM annotations a"
        " JOIN cases c ON c.id = a.case_pk WHERE a.id = ?",
        (annotation_id,),
    ).fetchone()
    if row is None:
        raise UsageError(f"no annotation {annotation_id}")
    out = dict(
        zip(
            (
                "id",
                "case",
                "kind",
                "field",
                "value",
                "source",
                "confidence",
                "item",
                "region",
                "author",
                "created_at",
                "state",
                "ledger_seq",
            ),
            row,
            strict=True,
        )
    )
    out["region"] = json.loads(out["region"]) if out["region"] else None
    out["reviews"] = [
        {"reviewer": r[0], "verdict": r[1], "comment": r[2], "at": r[3]}
        for r in conn.execute(
            "SELECT reviewer, verdict, comment, created_at FROM reviews WHERE annotation_id = ?"
            " ORDER BY id",
            (annotation_id,),
        )
    ]
    return out


def case_detail(conn: Db, ref: str) -> dict[str, Any]:
    pk = case_pk(conn, ref)
    cols = [
        "case_id",
        "kind",
        "title",
        "status",
        "cluster",
        "notes",
        "created_by",
        "created_at",
        "updated_at",
        "sex",
        "age",
        "died_on",
        "place",
        "photographed_on",
        "branch",
    ]
    row = conn.execute(f"SELECT {', '.join(cols)} FROM cases WHERE id = ?", (pk,)).fetchone()
    out: dict[str, Any] = dict(zip(cols, row, strict=True))
    out["items"] = [
        {"sha256": r[0], "role": r[1], "linked_by": r[2], "media_type": r[3]}
        for r in conn.execute(
            "SELECT ci.sha256, ci.role, ci.linked_by, i.media_type FROM case_items ci"
            " JOIN items i ON i.sha256 = ci.sha256 WHERE ci.case_pk = ? ORDER BY ci.linked_at,"
            " ci.sha256",
            (pk,),
        )
    ]
    out["annotations"] = [
        annotation_row(conn, int(r[0]))
        for r in conn.execute("SELECT id FROM annotations WHERE case_pk = ? ORDER BY id", (pk,))
    ]
    return out


def list_cases(
    conn: Db, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(
        f"SELECT case_id, kind, title, status, items, branch, photographed_on, updated_at"
        f" FROM cases {where} ORDER BY id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    keys = ("case_id", "kind", "title", "status", "items", "branch", "photographed_on", "updated")
    return [dict(zip(keys, r, strict=True)) for r in rows]
