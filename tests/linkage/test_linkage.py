"""Linkage on generated lists with a known truth: precision and recall floors, the JSON
contract, people's decisions winning, two reviewers to confirm, a report identifying a case."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from dalil.cases import model
from dalil.demo.people import people, write_lists
from dalil.lists import import_list
from dalil.vault import Vault
from tests.conftest import PASSWORD, add_users, copy_vault, run_dalil, sign_and_verify


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Vault, dict[str, dict[str, int]]]:
    base = tmp_path_factory.mktemp("linkage")
    truth = write_lists(base / "lists", people(300, seed=3), seed=4)
    vault = Vault.init(base / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", "karim", role="reviewer")
    import_list(vault, base / "lists" / "arabic.csv", "arabic", "an Arabic list", "amina",
                id_column="الرقم")  # fmt: skip
    import_list(vault, base / "lists" / "latin.csv", "latin", "a Latin list", "amina",
                id_column="ID")  # fmt: skip
    import_list(vault, base / "lists" / "workbook.xlsx", "workbook", "a workbook", "amina",
                id_column="Ref")  # fmt: skip
    return vault, truth


def _true_pairs(truth: dict[str, dict[str, int]], lists: list[str]) -> set[tuple[str, str]]:
    by_person: dict[int, list[str]] = {}
    for name in lists:
        for rid, pid in truth[name].items():
            by_person.setdefault(pid, []).append(f"{name}:{rid}")
    return {
        tuple(sorted(p))  # type: ignore[misc]
        for records in by_person.values()
        for p in itertools.combinations(records, 2)
    }


def _scores(found: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & true)
    return hits / max(1, len(found)), hits / max(1, len(true))


def test_people_across_three_lists_in_other_layouts_and_scripts(
    linked: tuple[Vault, dict[str, dict[str, int]]],
) -> None:
    vault, truth = linked
    done = run_dalil("link", "people", "--vault", vault.root, "--as", "amina", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"pairs", "clusters", "model"}
    pair = result["pairs"][0]
    assert set(pair) == {"left", "right", "probability", "evidence"}
    assert ":" in pair["left"] and 0.5 <= pair["probability"] <= 1
    found = {tuple(sorted((p["left"], p["right"]))) for p in result["pairs"]}
    precision, recall = _scores(found, _true_pairs(truth, ["arabic", "latin", "workbook"]))
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)
    clustered = {
        tuple(sorted(p))
        for c in result["clusters"]
        for p in itertools.combinations(c["records"], 2)
    }
    c_precision, c_recall = _scores(clustered, _true_pairs(truth, ["arabic", "latin", "workbook"]))
    assert c_precision >= 0.85 and c_recall >= 0.8, (c_precision, c_recall)


def test_dedupe_one_list_and_link_two(linked: tuple[Vault, dict[str, dict[str, int]]]) -> None:
    vault, truth = linked
    done = run_dalil(
        "link", "dedupe", "--list", "arabic", "--vault", vault.root, "--as", "amina", "--json"
    )
    assert done.returncode == 0, done.stderr
    pairs = {tuple(sorted((p["left"], p["right"]))) for p in json.loads(done.stdout)["pairs"]}
    assert all(a.startswith("arabic:") and b.startswith("arabic:") for a, b in pairs)
    _, recall = _scores(pairs, _true_pairs(truth, ["arabic"]))
    assert recall >= 0.7
    done = run_dalil(
        "link", "--list", "arabic", "--list", "latin", "--min-probability", "0.9",
        "--vault", vault.root, "--as", "amina", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert all(p["probability"] >= 0.9 for p in result["pairs"])
    assert all(p["left"].split(":")[0] != p["right"].split(":")[0] for p in result["pairs"])
    bad = run_dalil("link", "--list", "arabic", "--vault", vault.root, "--as", "amina")
    assert bad.returncode == 2 and "two or more lists" in bad.stderr


def test_two_reviewers_confirm_and_a_rejection_keeps_people_apart(
    linked: tuple[Vault, dict[str, dict[str, int]]], tmp_path: Path
) -> None:

    copy_vault(linked[0].root, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault")
    run_dalil("link", "people", "--vault", vault.root, "--as", "amina")
    queue = json.loads(run_dalil("link", "review", "--vault", vault.root, "--json").stdout)
    first, second = queue["candidates"][:2]

    def decide(verb: str, pair: dict, who: str) -> dict:
        out = run_dalil("link", verb, pair["left"], pair["right"], "--vault", vault.root,
                        "--as", who, "--json")  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert decide("confirm", first, "omar")["state"] == "pending"  # one is not enough
    again = run_dalil("link", "confirm", first["left"], first["right"], "--vault", vault.root,
                      "--as", "omar")  # fmt: skip
    assert again.returncode == 2 and "already reviewed" in again.stderr
    assert decide("confirm", first, "karim")["state"] == "confirmed"
    assert decide("reject", second, "omar")["state"] == "rejected"
    done = json.loads(
        run_dalil("link", "people", "--vault", vault.root, "--as", "amina", "--json").stdout
    )
    together = [set(c["records"]) for c in done["clusters"]]
    assert any({first["left"], first["right"]} <= c for c in together)
    assert not any({second["left"], second["right"]} <= c for c in together)
    assert sign_and_verify(vault).ok


def test_a_report_confirmed_to_be_a_case_identifies_it(tmp_path: Path) -> None:
    from dalil.linkage import run as link_run
    from dalil.linkage.records import Source
    from dalil.linkage.review import confirm, record
    from dalil.reports import add_report

    vault = Vault.init(tmp_path / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", "karim", role="reviewer")
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina = model.Actor("amina")
    cases = []
    for number, sex in (("4721", "male"), ("5120", "male"), ("3001", "female")):
        case = model.new_case(conn, ledger, amina, "person", "Unidentified")
        model.add_annotation(conn, ledger, amina, case, "identifier", "detainee", number)
        model.add_annotation(conn, ledger, amina, case, "attribute", "sex", sex)
        cases.append(case)
    person = {"full_name": "محمد أحمد الحلبي", "detainee_number": "4721", "sex": "m"}
    add_report(vault, conn, ledger, "amina", person)
    result = link_run(conn, "people", [Source("reports", "reports"), Source("cases", "cases")],
                      threshold=0.01)  # fmt: skip
    record(conn, ledger, "amina", result, 0.01)
    pair = next(
        p
        for p in result.pairs
        if {p["left"], p["right"]} == {f"cases:{cases[0]}", "reports:R-00001"}
    )
    confirm(conn, ledger, "omar", pair["left"], pair["right"])
    status = conn.execute("SELECT status FROM cases WHERE case_id = ?", (cases[0],)).fetchone()
    assert status[0] == "open"
    confirm(conn, ledger, "karim", pair["left"], pair["right"])
    status = conn.execute("SELECT status FROM cases WHERE case_id = ?", (cases[0],)).fetchone()
    assert status[0] == "identified"
    conn.close()
    assert sign_and_verify(vault).ok


def test_a_run_keeps_its_model_and_the_same_links_come_again(
    linked: tuple[Vault, dict[str, dict[str, int]]], tmp_path: Path
) -> None:

    copy_vault(linked[0].root, tmp_path / "vault")
    root = tmp_path / "vault"
    first = run_dalil("link", "dedupe", "--list", "latin", "--vault", root, "--as", "amina",
                      "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    first_run = json.loads(first.stdout)
    runs = json.loads(run_dalil("link", "runs", "--vault", root, "--json").stdout)
    recorded = next(r for r in runs["runs"] if r["run"] == first_run["run"])
    assert recorded["inputs"][0]["sha256"] and recorded["inputs"][0]["records"] > 0
    again = run_dalil("link", "dedupe", "--list", "latin", "--model", str(first_run["run"]),
                      "--vault", root, "--as", "amina", "--json")  # fmt: skip
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["run"] != first_run["run"]
    assert [(p["left"], p["right"], p["probability"]) for p in second["pairs"]] == [
        (p["left"], p["right"], p["probability"]) for p in first_run["pairs"]
    ]
    # every pair says in words which fields agree and how much that weighed
    evidence = first_run["pairs"][0]["evidence"]
    assert {"agreement", "weight", "left", "right"} <= set(evidence["given"])
    assert evidence["given"]["agreement"] in {
        "the same", "the same, in the family name's column", "sounds the same",
        "nearly the same", "similar", "different", "missing",
    }  # fmt: skip
    missing = run_dalil("link", "dedupe", "--list", "latin", "--model", "999999",
                        "--vault", root, "--as", "amina", "--json")  # fmt: skip
    assert missing.returncode == 2 and "no linkage run" in json.loads(missing.stderr)["error"]


def test_only_reviewers_decide_links(
    linked: tuple[Vault, dict[str, dict[str, int]]], tmp_path: Path
) -> None:

    copy_vault(linked[0].root, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault")
    add_users(vault, "amina", "layla", role="liaison")
    run_dalil("link", "people", "--vault", vault.root, "--as", "layla")
    queue = json.loads(run_dalil("link", "review", "--vault", vault.root, "--json").stdout)
    pair = queue["candidates"][0]
    refused = run_dalil("link", "confirm", pair["left"], pair["right"], "--vault", vault.root,
                        "--as", "layla", "--json")  # fmt: skip
    assert refused.returncode == 2
    assert "may not review links" in json.loads(refused.stderr)["error"]
    nobody = run_dalil("link", "people", "--vault", vault.root, "--as", "ghost")
    assert nobody.returncode == 2


def test_every_level_is_written_for_spark_too() -> None:
    """A custom level written in DuckDB's quoted identifiers without its dialect would reach
    Spark unchanged, where "given_l" is a string, not a column."""
    from dalil.linkage.model import settings

    for comparison in settings("link_only").comparisons:
        for level in comparison.get_comparison("spark").comparison_levels:
            assert '"' not in level.sql_condition, level.sql_condition
