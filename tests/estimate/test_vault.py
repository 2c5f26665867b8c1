"""The capture table from a vault's linked lists: people made of confirmed and probable links,
never across a rejected one; two records of one list counted once; strata by the value most of
a person's records give; which links were used, said; no linkage run, a clear error. Saved
estimates: a ledger event with their inputs, reproduced exactly, and `dalil verify` still
passes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dalil.errors import UsageError
from dalil.estimate import Table
from dalil.estimate.saved import compute, record, rerun, runs, show
from dalil.estimate.vault import capture, covering_runs, table_json, tables_from_json
from dalil.linkage.review import reject
from tests.conftest import copy_vault, sign_and_verify
from tests.estimate.linked import Linked, make


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Linked:
    return make(tmp_path_factory.mktemp("estimate-vault"))


def _counts(table: Table) -> Counter[tuple[int, ...]]:
    return Counter(
        {
            tuple(int(v) for v in p): int(c)
            for p, c in zip(table.patterns, table.counts, strict=True)
        }
    )


def test_people_and_their_capture_patterns(linked: Linked) -> None:
    conn = linked.vault.connect(readonly=True)
    found = capture(conn, list(linked.lists))
    assert list(found.tables) == ["all"]
    assert _counts(found.tables["all"]) == linked.patterns
    assert found.people == sum(linked.patterns.values())
    links = found.links
    assert links["run"] == linked.run and links["mode"] == "people"
    assert links["min_probability"] == 0.8
    assert links["confirmed"] == 1 and links["rejected"] == 1
    assert links["kept_apart"] == 1  # the false probable link that would cross the rejection
    assert links["unconfirmed"] == links["probable"] - 2
    assert any("not confirmed by reviewers" in n for n in found.notes)
    assert [i["list"] for i in found.inputs] == list(linked.lists)
    assert all(len(i["sha256"]) == 64 for i in found.inputs)


def test_strata_by_the_value_most_records_give(linked: Linked) -> None:
    conn = linked.vault.connect(readonly=True)
    found = capture(conn, list(linked.lists), strata="sex")
    assert list(found.tables) == ["f", "m", "unknown"]  # unknown last
    assert {name: _counts(t) for name, t in found.tables.items()} == linked.by_sex
    assert found.unknown == sum(linked.by_sex["unknown"].values())
    assert found.disagreed == 1
    assert found.to_json()["strata"] == {"field": "sex", "unknown": found.unknown,
                                         "disagreed": 1}  # fmt: skip
    with pytest.raises(UsageError, match="no stratum field 'colour'"):
        capture(conn, list(linked.lists), strata="colour")


def test_a_higher_threshold_uses_fewer_links(linked: Linked) -> None:
    conn = linked.vault.connect(readonly=True)
    strict = capture(conn, list(linked.lists), min_probability=0.9)
    usual = capture(conn, list(linked.lists))
    # the false 0.85 pair is no longer a candidate; the confirmed 0.82 one joins all the same
    assert strict.links["unconfirmed"] == usual.links["unconfirmed"] - 1
    assert strict.links["kept_apart"] == 0 and strict.links["confirmed"] == 1
    assert _counts(strict.tables["all"]) == linked.patterns
    with pytest.raises(UsageError, match=r"recorded only the pairs of probability 0\.8"):
        capture(conn, list(linked.lists), min_probability=0.5)


def test_no_linkage_run_of_these_lists_says_what_to_run(linked: Linked, tmp_path: Path) -> None:
    from dalil.lists import import_list

    other = tmp_path / "other.csv"
    other.write_text("ID,Name\n1,Person 1\n2,Person 2\n", encoding="utf-8")

    copy_vault(linked.vault.root, tmp_path / "vault")
    from dalil.vault import Vault

    vault = Vault.open(tmp_path / "vault")
    import_list(vault, other, "other", "another list", "amina", id_column="ID")
    conn = vault.connect(readonly=True)
    assert covering_runs(conn, ["snhr", "vdc"]) == [linked.run]
    assert covering_runs(conn, ["snhr", "other"]) == []
    with pytest.raises(UsageError, match=r"run `dalil link --list snhr --list other` first"):
        capture(conn, ["snhr", "other"])
    with pytest.raises(UsageError, match="no list 'nowhere'"):
        capture(conn, ["snhr", "nowhere"])
    with pytest.raises(UsageError, match="at least two lists"):
        capture(conn, ["snhr"])


def test_the_table_round_trips_through_json_in_its_order() -> None:
    tables = {
        "z": Table.of(["A", "B", "C"], [[1, 1, 1], [1, 0, 0]], [3, 9]),
        "a": Table.of(["A", "B", "C"], [[0, 1, 0]], [4]),
    }
    data = table_json(tables)
    assert data["strata"][0] == {"stratum": "z", "patterns": ["100", "111"], "counts": [9, 3]}
    again = tables_from_json(data)
    assert list(again) == ["z", "a"]
    assert all(np.array_equal(again[k].cells(), tables[k].cells()) for k in tables)


def test_a_saved_estimate_is_reproduced_exactly_and_verify_passes(
    linked: Linked, tmp_path: Path
) -> None:

    from dalil.vault import Vault

    copy_vault(linked.vault.root, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault")
    conn = vault.connect()
    found = capture(conn, list(linked.lists), strata="sex")
    results, _ = compute(found.tables, "lcmcr", seed=7, draws=400, level=0.9)
    with pytest.raises(UsageError, match=r"layla \(liaison\) may not save estimates"):
        record(conn, vault.ledger(conn), "layla", results, found.tables, capture=found)
    (number,) = record(conn, vault.ledger(conn), "sami", results, found.tables, capture=found)
    saved = show(conn, number)
    assert saved["created_by"] == "sami" and saved["source"] == "lists"
    assert saved["method"] == "lcmcr" and (saved["seed"], saved["draws"]) == (7, 400)
    assert saved["level"] == 0.9 and saved["strata"] == "sex"
    assert saved["table"] == table_json(found.tables)
    assert saved["capture"]["links"]["unconfirmed"] == found.links["unconfirmed"]
    assert [i["sha256"] for i in saved["capture"]["inputs"]] == [i["sha256"] for i in found.inputs]
    assert saved["result"]["estimate"] == results[0].estimate
    assert (
        sum(saved["histogram"]["counts"])
        + saved["histogram"]["below"]
        + saved["histogram"]["above"]
        == saved["histogram"]["draws"]
    )
    event = vault.ledger(conn).events_about(f"estimate:{results[0].method}")[-1]
    assert event["action"] == "estimate.saved" and event["details"]["observed"] == found.people
    rows, total = runs(conn)
    assert total == 1 and rows[0]["number"] == number and rows[0]["lists"] == list(linked.lists)

    again = rerun(conn, number)
    assert again["identical"], again["differences"]
    assert again["table_now_same"] is True
    assert again["now"]["estimate"] == saved["result"]["estimate"]
    assert again["now"]["strata"]["m"]["interval"] == saved["result"]["strata"]["m"]["interval"]

    # a link reviewed since changes today's table, not the recorded estimate
    reject(conn, vault.ledger(conn), "omar", *linked.later, comment="not the same man")
    later = rerun(conn, number)
    assert later["identical"] and later["table_now_same"] is False
    conn.close()
    assert sign_and_verify(vault).ok
