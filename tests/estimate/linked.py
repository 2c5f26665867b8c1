"""A small vault of three linked lists with a known truth, made in a second or two: the lists
are imported for real, the linkage run is recorded directly (no Splink), and reviewers confirm
one link and reject another."""

from __future__ import annotations

import csv
import itertools
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dalil.linkage import LinkResult
from dalil.linkage.review import confirm, record, reject
from dalil.lists import import_list
from dalil.vault import Vault
from tests.conftest import PASSWORD, add_users

LISTS = ("snhr", "vdc", "سجل")
"""Three lists; the third has an Arabic name."""
SHARES = (0.6, 0.5, 0.4)


@dataclass
class Linked:
    vault: Vault
    lists: tuple[str, ...]
    patterns: Counter[tuple[int, ...]]  # the true capture patterns of the people
    by_sex: dict[str, Counter[tuple[int, ...]]]
    run: int
    confirmed: tuple[str, str]
    rejected: tuple[str, str]
    later: tuple[str, str]  # a probable link no one has reviewed (to reject after saving)


def make(root: Path, people: int = 80, seed: int = 5) -> Linked:
    """The vault: users amina (admin), omar and karim (reviewers), huda (investigator), sami
    (auditor), layla (liaison); lists ``LISTS``; one linkage run (``people`` mode)."""
    rng = random.Random(seed)
    vault = Vault.init(root / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", "karim", role="reviewer")
    add_users(vault, "amina", "huda", role="investigator")
    add_users(vault, "amina", "sami", role="auditor")
    add_users(vault, "amina", "layla", role="liaison")
    rows: dict[str, list[tuple[str, int, str]]] = {name: [] for name in LISTS}
    records: dict[int, list[str]] = {}
    sexes: dict[int, str] = {}
    for pid in range(people):
        on = [n for n, share in zip(LISTS, SHARES, strict=True) if rng.random() < share]
        on = on or [LISTS[0]]
        sexes[pid] = "" if pid % 7 == 0 else ("F" if rng.random() < 0.3 else "M")
        copies = [*on, LISTS[0]] if pid == 1 and LISTS[0] in on else on  # one person twice
        for name in copies:
            rid = f"{name[:1].upper()}{len(rows[name]) + 1}"
            rows[name].append((rid, pid, sexes[pid]))
            records.setdefault(pid, []).append(f"{name}:{rid}")
    # one person's records disagree about their sex: most say one thing
    split = next(p for p in records if len(records[p]) == 3 and sexes[p] == "M")
    rows[LISTS[1]] = [(r, p, "F" if p == split else s) for r, p, s in rows[LISTS[1]]]
    for name in LISTS:
        path = root / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["ID", "Name", "Sex", "Year of birth"])
            for rid, pid, sex in rows[name]:
                out.writerow([rid, f"Person {pid}", sex, 1960 + pid % 30])
        import_list(vault, path, name, f"the {name} list", "amina", id_column="ID")
    pairs: list[dict[str, Any]] = []
    for found in records.values():
        for left, right in itertools.pairwise(found):
            pairs.append({"left": left, "right": right, "probability": 0.95, "evidence": {}})
    # a true link the model is unsure of, which two reviewers confirm
    two = next(p for p in records if len(records[p]) == 2 and p != split)
    pairs = [
        {**q, "probability": 0.82} if {q["left"], q["right"]} == set(records[two]) else q
        for q in pairs
    ]
    # a false link reviewers reject, and a false probable one that would join across it
    a = next(
        p
        for p in records
        if [r.split(":")[0] for r in records[p]] == [LISTS[0], LISTS[2]] and p != two
    )
    b = next(p for p in records if [r.split(":")[0] for r in records[p]] == [LISTS[1]])
    pairs.append({"left": records[a][0], "right": records[b][0], "probability": 0.9,
                  "evidence": {}})  # fmt: skip
    pairs.append({"left": records[a][1], "right": records[b][0], "probability": 0.85,
                  "evidence": {}})  # fmt: skip
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        inputs = [
            {"source": name, "records": len(rows[name]), "sha256": sha}
            for name, sha in conn.execute(
                f"SELECT name, sha256 FROM lists WHERE name IN ({','.join('?' * len(LISTS))})",
                LISTS,
            )
        ]
        result = LinkResult("people", inputs, pairs, [], {"comparisons": []})
        run = record(conn, ledger, "amina", result, 0.8)
        first, second = sorted(records[two])
        for who in ("omar", "karim"):
            confirm(conn, ledger, who, first, second)
        left, right = sorted((records[a][0], records[b][0]))
        reject(conn, ledger, "omar", left, right, comment="two different men")
        ledger.sign_tail()
    finally:
        conn.close()
    later = next(
        (q["left"], q["right"])
        for q in pairs
        if q["probability"] == 0.95 and _pid(q["left"], rows) not in (two, a, split, 1)
    )
    patterns: Counter[tuple[int, ...]] = Counter()
    by_sex: dict[str, Counter[tuple[int, ...]]] = {}
    for pid, found in records.items():
        pattern = tuple(int(any(r.startswith(f"{n}:") for r in found)) for n in LISTS)
        patterns[pattern] += 1
        sex = {"M": "m", "F": "f"}.get(sexes[pid], "unknown")
        by_sex.setdefault(sex, Counter())[pattern] += 1
    return Linked(vault, LISTS, patterns, by_sex, run, (first, second), (left, right), later)


def _pid(record_id: str, rows: dict[str, list[tuple[str, int, str]]]) -> int:
    name, _, rid = record_id.partition(":")
    return next(p for r, p, _ in rows[name] if r == rid)
