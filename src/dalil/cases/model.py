"""Cases and annotations: create, propose from clusters, accept, merge, split, link, annotate.

Every change runs in one transaction with its ledger event. The ledger records *what kind* of
change was made, by whom and when, and a SHA-256 digest of the annotation's content — not the
content itself, so the ledger (and inclusion proofs cut from it) can be shown without showing
names, numbers or notes; ``dalil verify`` recomputes the digests.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dalil.cases import vocabulary as vocab
from dalil.catalog import atomic
from dalil.catalog.queries import resolve_item
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.timeutil import utc_now


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts. Users live in the vault; a name seen for the first time is registered (the
    very first one as ``admin``)."""

    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.strip())  # "amina " is amina

    def register(self, conn: sqlite3.Connection) -> str:
        name = self.name
        if not name:
            raise UsageError("an actor needs a name (--as NAME)")
        row = conn.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row[0])
        other = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if other is not None:  # one person, one name: no second account by changing case
            raise UsageError(f"the user is called {other[0]!r}; act under that name")
        first = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
        role = "admin" if first else "investigator"
        conn.execute(
            "INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, role, utc_now())
        )
        return role


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


def identifier_types(conn: sqlite3.Connection) -> dict[str, vocab.IdentifierType]:
    out = {t.name: t for t in vocab.BUILTIN_IDENTIFIERS}
    for name, label, pattern, example in conn.execute(
        "SELECT name, label, pattern, example FROM identifier_types ORDER BY name"
    ):
        out[name] = vocab.IdentifierType(name, label, pattern, example)
    return out


def add_identifier_type(
    conn: sqlite3.Connection,
    ledger: Ledger,
    actor: Actor,
    name: str,
    label: str,
    pattern: str,
    example: str,
) -> None:
    with atomic(conn):
        if actor.register(conn) != "admin":
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
        conn.execute(
            "INSERT INTO identifier_types (name, label, pattern, example, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, label, pattern, example, actor.name, utc_now()),
        )
        ledger.append(
            actor.name,
            "identifier-type.added",
            f"identifier-type:{name}",
            {"name": name, "label": label, "pattern": pattern},
        )


def case_pk(conn: sqlite3.Connection, ref: str) -> int:
    """The row id of a case given by its id (``P-00042``, case-insensitive)."""
    row = conn.execute("SELECT id FROM cases WHERE case_id = ?", (ref.strip().upper(),)).fetchone()
    if row is None:
        raise UsageError(f"no case {ref!r}")
    return int(row[0])


def case_id_of(conn: sqlite3.Connection, pk: int) -> str:
    return str(conn.execute("SELECT case_id FROM cases WHERE id = ?", (pk,)).fetchone()[0])


def _next_case_id(conn: sqlite3.Connection, kind: str) -> str:
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
    conn: sqlite3.Connection,
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
    actor.register(conn)
    case_id = _next_case_id(conn, kind)
    now = utc_now()
    cur = conn.execute(
        "INSERT INTO cases (case_id, kind, title, status, cluster, created_by, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (case_id, kind, title.strip() or case_id, status, cluster, actor.name, now, now),
    )
    pk = int(cur.lastrowid or 0)
    ledger.append(
        actor.name,
        "case.created",
        f"case:{case_id}",
        {"kind": kind, "status": status, "cluster": cluster, "items": [s for s, _ in items]},
    )
    for sha, role in items:
        conn.execute(
            "INSERT OR IGNORE INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (pk, sha, role, actor.name, now),
        )
    refresh(conn, pk)
    return case_id


def new_case(conn: sqlite3.Connection, ledger: Ledger, actor: Actor, kind: str, title: str) -> str:
    with atomic(conn):
        return create_case(conn, ledger, actor, kind, title)


def propose(conn: sqlite3.Connection, ledger: Ledger, actor: Actor) -> list[str]:
    """One proposed person case per near-duplicate cluster none of whose items is in a case
    yet (rejected proposals included, so a rejected proposal is not proposed again)."""
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
    return made


def set_status(
    conn: sqlite3.Connection, ledger: Ledger, actor: Actor, refs: list[str], status: str
) -> list[str]:
    if status not in vocab.STATUSES or status == "merged":
        raise UsageError(f"status must be one of: {', '.join(vocab.STATUSES[:-1])}")
    done = []
    with atomic(conn):
        actor.register(conn)
        for ref in refs:
            pk = case_pk(conn, ref)
            old = conn.execute("SELECT status FROM cases WHERE id = ?", (pk,)).fetchone()[0]
            if old == "merged":
                raise UsageError(f"{ref} was merged into another case; change that one")
            if old == status:
                continue
            conn.execute(
                "UPDATE cases SET status = ?, updated_at = ? WHERE id = ?",
                (status, utc_now(), pk),
            )
            ledger.append(
                actor.name,
                "case.status",
                f"case:{case_id_of(conn, pk)}",
                {"from": old, "to": status},
            )
            refresh(conn, pk)
            done.append(case_id_of(conn, pk))
    return done


def accept(conn: sqlite3.Connection, ledger: Ledger, actor: Actor, refs: list[str]) -> list[str]:
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


def set_title(conn: sqlite3.Connection, ledger: Ledger, actor: Actor, ref: str, title: str) -> None:
    with atomic(conn):
        actor.register(conn)
        pk = case_pk(conn, ref)
        conn.execute(
            "UPDATE cases SET title = ?, updated_at = ? WHERE id = ?", (title, utc_now(), pk)
        )
        digest = hashlib.sha256(title.encode("utf-8")).hexdigest()
        ledger.append(actor.name, "case.titled", f"case:{case_id_of(conn, pk)}", {"digest": digest})
        refresh(conn, pk)


def link(
    conn: sqlite3.Connection,
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
        actor.register(conn)
        pk = case_pk(conn, ref)
        shas = [resolve_item(conn, i) for i in items]
        now = utc_now()
        for sha in shas:
            if unlink:
                conn.execute("DELETE FROM case_items WHERE case_pk = ? AND sha256 = ?", (pk, sha))
            else:
                conn.execute(
                    "INSERT INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_pk, sha256) DO UPDATE SET"
                    " role = excluded.role, linked_by = excluded.linked_by,"
                    " linked_at = excluded.linked_at",
                    (pk, sha, role, actor.name, now),
                )
        ledger.append(
            actor.name,
            "case.unlinked" if unlink else "case.linked",
            f"case:{case_id_of(conn, pk)}",
            {"items": shas, **({} if unlink else {"role": role})},
        )
        conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now, pk))
        refresh(conn, pk)
    return shas


def merge(conn: sqlite3.Connection, ledger: Ledger, actor: Actor, refs: list[str]) -> str:
    """Merge cases into the first: its items and annotations move; the others stay, marked
    ``merged``, so their ids still resolve."""
    if len(refs) < 2:
        raise UsageError("merge needs at least two cases")
    with atomic(conn):
        actor.register(conn)
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
        into = pks[0]
        now = utc_now()
        for pk in pks[1:]:
            conn.execute(
                "INSERT OR IGNORE INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
                " SELECT ?, sha256, role, linked_by, linked_at FROM case_items WHERE case_pk = ?",
                (into, pk),
            )
            conn.execute("DELETE FROM case_items WHERE case_pk = ?", (pk,))
            conn.execute("UPDATE annotations SET case_pk = ? WHERE case_pk = ?", (into, pk))
            conn.execute(
                "UPDATE cases SET status = 'merged', updated_at = ?,"
                " notes = notes || ? WHERE id = ?",
                (now, f"\nmerged into {case_id_of(conn, into)}", pk),
            )
        target = case_id_of(conn, into)
        ledger.append(
            actor.name,
            "case.merged",
            f"case:{target}",
            {"into": target, "merged": [case_id_of(conn, pk) for pk in pks[1:]]},
        )
        for pk in pks:
            refresh(conn, pk)
    return target


def split(
    conn: sqlite3.Connection, ledger: Ledger, actor: Actor, ref: str, items: list[str]
) -> str:
    """Move items out of a case into a new case of the same kind; returns the new case id."""
    with atomic(conn):
        actor.register(conn)
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
        conn.execute(
            f"DELETE FROM case_items WHERE case_pk = ? AND sha256 IN ({','.join('?' * len(shas))})",
            (pk, *shas),
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
        ledger.append(actor.name, "case.split", f"case:{source}", {"moved": shas, "to": new})
        refresh(conn, pk)
    return new


# ---------------------------------------------------------------------------- annotations


def _validated(conn: sqlite3.Connection, kind: str, field: str, value: str) -> tuple[str, str]:
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
    conn: sqlite3.Connection,
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
    actor.register(conn)
    pk = ref if isinstance(ref, int) else case_pk(conn, ref)
    field, clean = _validated(conn, kind, field, value)
    same = conn.execute(
        "SELECT id FROM annotations WHERE case_pk = ? AND kind = ? AND field = ? AND value = ?"
        " AND state IN ('unverified', 'verified')",
        (pk, kind, field, clean),
    ).fetchone()
    if same is not None:
        return int(same[0]), False
    now = utc_now()
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
    )
    cur = conn.execute(
        "INSERT INTO annotations (case_pk, kind, field, value, source, confidence, item, region,"
        " author, created_at, ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            pk,
            kind,
            field,
            clean,
            source,
            row["confidence"],
            item,
            None if region is None else json.dumps(row["region"]),
            actor.name,
            now,
            int(event["seq"]),
        ),
    )
    annotation = int(cur.lastrowid or 0)
    if kind == "identifier":
        conn.executemany(
            "INSERT OR IGNORE INTO identifier_keys (key, annotation_id) VALUES (?, ?)",
            [(k, annotation) for k in fuzzy_keys(clean)],
        )
    conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now, pk))
    refresh(conn, pk)
    return annotation, True


def add_annotation(
    conn: sqlite3.Connection,
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


def _current(conn: sqlite3.Connection, pk: int, kind: str) -> list[tuple[str, str]]:
    return [
        (str(f), str(v))
        for f, v in conn.execute(
            "SELECT field, value FROM annotations WHERE case_pk = ? AND kind = ?"
            " AND state IN ('unverified', 'verified') ORDER BY state = 'verified', id",
            (pk, kind),
        )
    ]


def refresh(conn: sqlite3.Connection, pk: int) -> None:
    """Rewrite a case's summary columns and its full-text row from annotations and items."""
    case_id, title, notes, cluster, status, kind = conn.execute(
        "SELECT case_id, title, notes, cluster, status, kind FROM cases WHERE id = ?", (pk,)
    ).fetchone()
    attributes = dict(_current(conn, pk, "attribute"))  # verified last, so they win
    identifiers = _current(conn, pk, "identifier")
    branch = [v for f, v in identifiers if f == "branch"]
    items = conn.execute(
        "SELECT ci.sha256, m.camera_make, m.camera_model, m.camera_serial, m.captured_at"
        " FROM case_items ci LEFT JOIN metadata m ON m.sha256 = ci.sha256 WHERE ci.case_pk = ?",
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
        " WHERE ci.case_pk = ?",
        (pk,),
    ).fetchall()
    words += [str(r[0]) for r in ocr if r[0]]
    body = vocab.ascii_digits(" ".join(w for w in words if w))
    conn.execute("DELETE FROM case_text WHERE rowid = ?", (pk,))
    conn.execute(
        "INSERT INTO case_text (rowid, case_id, body) VALUES (?, ?, ?)", (pk, case_id, body)
    )


# ---------------------------------------------------------------------------- reading


def annotation_row(conn: sqlite3.Connection, annotation_id: int) -> dict[str, Any]:
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


def case_detail(conn: sqlite3.Connection, ref: str) -> dict[str, Any]:
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
    conn: sqlite3.Connection, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(
        f"SELECT case_id, kind, title, status, items, branch, photographed_on, updated_at"
        f" FROM cases {where} ORDER BY id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    keys = ("case_id", "kind", "title", "status", "items", "branch", "photographed_on", "updated")
    return [dict(zip(keys, r, strict=True)) for r in rows]
