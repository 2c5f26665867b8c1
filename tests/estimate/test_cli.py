"""``dalil estimate``: bad tables exit 2 naming the file and line (as JSON with --json), `all`
gives a list, an estimate from linked lists is a ledger event that `rerun` reproduces exactly,
`dalil verify` still passes, and who may save one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dalil.cli.app import app
from dalil.vault import Vault
from tests.conftest import copy_vault, run_dalil
from tests.estimate.linked import Linked, make

DGA_EXAMPLE = """A,B,C,count
1,0,0,60
0,1,0,49
1,1,0,4
0,0,1,247
1,0,1,112
0,1,1,142
1,1,1,12
"""
"""The dga package's example (cells 0,60,49,4,247,112,142,12 in dga's order)."""


def dalil(*args: str | Path) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, standard output, standard error)."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _table(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_TABLES = [
    ("A,B,C,count\n1,0,0,5\n0,1,0,-3\n", "line 3: count '-3' is negative"),
    ("A,B,C,count\n1,0,0,2.5\n", "line 2: count '2.5' is not a whole number"),
    ("A,B,C,count\n1,0,0,many\n", "line 2: count 'many' is not a number"),
    ("A,B,C,count\n1,0,0,4\n0,2,1,5\n", "line 3: list column 'B' holds '2', not 0 or 1"),
    ("A,B,C,count\n1,0,0,4\n0,yes,1,5\n", "line 3: list column 'B' holds 'yes', not 0 or 1"),
    ("A,B,C,count\n1,0,0,4\n0,1,1,5\n1,0,0,6\n", "line 4: pattern 100 appears twice"),
    ("A,B,C,count\n0,0,0,9\n", "line 2: the all-zero pattern"),
    ("A,B,C,count\n1,0,0\n", "line 2: 3 cells, the header has 4"),
    ("A,B,C,n\n1,0,0,3\n", "no 'count' column"),
    ("A,B,count\n1,0,3\n0,1,4\n1,1,2\n", "the lcmcr method needs at least 3 lists"),
]


@pytest.mark.parametrize(("text", "said"), BAD_TABLES)
def test_a_bad_table_exits_2_naming_the_file_and_line(tmp_path: Path, text: str, said: str) -> None:
    path = _table(tmp_path, text)
    code, out, err = dalil("estimate", "--table", path, "--draws", "100")
    assert code == 2 and out == ""
    assert f"{path}" in err and said in " ".join(err.split()), err
    code, out, err = dalil("estimate", "--table", path, "--draws", "100", "--json")
    assert code == 2 and out == ""
    error = json.loads(err)
    assert error["code"] == 2 and error["error"].startswith(str(path)) and said in error["error"]


def test_two_lists_need_a_method_that_can_use_them(tmp_path: Path) -> None:
    path = _table(tmp_path, "A,B,count\n1,0,30\n0,1,40\n1,1,20\n")
    for method in ("dga", "lcmcr"):
        code, _, err = dalil("estimate", "--table", path, "--method", method, "--json")
        assert code == 2 and "needs at least 3 lists" in json.loads(err)["error"]
    code, out, _ = dalil("estimate", "--table", path, "--method", "all", "--json")
    assert code == 0
    (only,) = json.loads(out)  # the methods that need three lists are left out
    assert only["method"] == "loglinear"
    assert "two_lists" in [w["code"] for w in only["warnings"]]


def test_the_json_contract_and_method_all(tmp_path: Path) -> None:
    path = _table(tmp_path, DGA_EXAMPLE)
    code, out, _ = dalil("estimate", "--table", path, "--method", "loglinear", "--json")
    assert code == 0
    one = json.loads(out)
    assert {"method", "observed", "estimate", "interval", "level", "lists", "models",
            "diagnostics", "warnings"} <= set(one)  # fmt: skip
    assert one["method"] == "loglinear" and one["observed"] == 626
    assert one["lists"] == ["A", "B", "C"] and one["level"] == 0.95
    assert one["interval"][0] <= one["estimate"] <= one["interval"][1]
    assert one["saved"] is None  # no vault named: nothing recorded
    code, out, _ = dalil("estimate", "--table", path, "--method", "all", "--draws", "400", "--json")
    assert code == 0
    every = json.loads(out)
    assert isinstance(every, list) and [e["method"] for e in every] == ["lcmcr", "dga",
                                                                        "loglinear"]  # fmt: skip
    assert all(e["observed"] == 626 for e in every)


def test_on_screen_the_number_its_interval_warnings_and_what_it_means(tmp_path: Path) -> None:
    path = _table(tmp_path, DGA_EXAMPLE)
    code, out, _ = dalil("estimate", "--table", path, "--method", "loglinear")
    assert code == 0
    text = " ".join(out.split())
    assert "loglinear: about" in text and "95% interval" in text
    assert "observed 626 on the lists (A, B, C); unseen about" in text
    assert "warning sparse_cells:" in text  # a cell of 4 people
    assert "This is an estimate, not a count." in text and "closed population" in text
    assert "heterogeneity" in text and "linked correctly" in text


def test_neither_lists_nor_table(tmp_path: Path) -> None:
    code, _, err = dalil("estimate", "--vault", tmp_path / "v")
    assert code == 2 and "give the lists" in err
    code, _, err = dalil("estimate", "--table", tmp_path / "missing.csv", "--json")
    assert code == 2 and "cannot read the table" in json.loads(err)["error"]


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Linked:
    return make(tmp_path_factory.mktemp("estimate-cli"))


def _copy(linked: Linked, tmp_path: Path) -> Path:
    copy_vault(linked.vault.root, tmp_path / "vault")
    return tmp_path / "vault"


def test_an_estimate_from_linked_lists_is_saved_and_reproduced(
    linked: Linked, tmp_path: Path
) -> None:
    vault = _copy(linked, tmp_path)
    lists = ["--list", "snhr", "--list", "vdc", "--list", "سجل"]
    code, out, err = dalil("estimate", *lists, "--method", "lcmcr", "--draws", "400",
                           "--seed", "11", "--strata", "sex", "--vault", vault, "--as", "huda",
                           "--json")  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    number = made["saved"]
    assert isinstance(number, int)
    assert made["capture"]["links"]["confirmed"] == 1
    assert made["capture"]["links"]["unconfirmed"] > 0 and made["capture"]["links"]["run"]
    assert set(made["strata"]) == {"f", "m", "unknown"}
    assert made["observed"] == sum(linked.patterns.values())

    code, out, _ = dalil("estimate", "runs", "--vault", vault, "--json")
    listed = json.loads(out)
    assert listed["total"] == 1 and listed["estimates"][0]["number"] == number
    assert listed["estimates"][0]["estimate"] == made["estimate"]

    code, out, _ = dalil("estimate", "show", str(number), "--vault", vault, "--json")
    shown = json.loads(out)
    assert shown["created_by"] == "huda" and shown["seed"] == 11 and shown["draws"] == 400
    assert shown["table"] == made["table"] and shown["code"]
    assert [i["list"] for i in shown["capture"]["inputs"]] == ["snhr", "vdc", "سجل"]

    code, out, _ = dalil("estimate", "rerun", str(number), "--vault", vault)
    assert code == 0 and "Identical to the recorded estimate" in out
    # in another process too: the number does not depend on this one's state
    done = run_dalil("estimate", "rerun", str(number), "--vault", vault, "--json")
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)
    assert again["identical"] and again["now"]["estimate"] == made["estimate"]
    assert again["now"]["interval"] == made["interval"]

    code, out, _ = dalil("estimate", "show", str(number), "--vault", vault)
    assert code == 0 and f"Estimate {number}, saved by huda" in out
    code, _, err = dalil("estimate", "show", "1", "--vault", vault, "--json")
    assert code == 2 and "no saved estimate 1" in json.loads(err)["error"]
    done = run_dalil("verify", "--vault", vault)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_table_saved_in_a_named_vault_records_its_file(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    path = _table(tmp_path, DGA_EXAMPLE, "dga-example.csv")
    code, out, err = dalil("estimate", "--table", path, "--method", "loglinear", "--vault",
                           vault, "--as", "sami", "--json")  # fmt: skip
    assert code == 0, err
    number = json.loads(out)["saved"]
    code, out, _ = dalil("estimate", "show", str(number), "--vault", vault, "--json")
    shown = json.loads(out)
    import hashlib

    assert shown["source"] == "table" and shown["file"]["name"] == "dga-example.csv"
    assert shown["file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert shown["table"]["strata"][0]["counts"] == [60, 49, 4, 247, 112, 142, 12]
    code, out, _ = dalil("estimate", "--table", path, "--method", "loglinear", "--vault",
                         vault, "--no-save", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["saved"] is None
    code, out, _ = dalil("estimate", "runs", "--vault", vault, "--json")
    assert json.loads(out)["total"] == 1


def test_who_may_save_an_estimate(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    base = ["estimate", "--lists", "snhr,vdc", "--method", "loglinear", "--vault", str(vault)]
    code, _, err = dalil(*base, "--as", "layla", "--json")
    assert code == 2 and "may not save estimates" in json.loads(err)["error"]
    code, _, err = dalil(*base, "--as", "nobody", "--json")
    assert code == 2 and "no user 'nobody'" in json.loads(err)["error"]
    code, out, err = dalil(*base, "--as", "sami", "--json")  # an auditor may: it is a record
    assert code == 0, err
    assert json.loads(out)["lists"] == ["snhr", "vdc"]
    assert (
        Vault.open(vault)
        .connect(readonly=True)
        .execute("SELECT COUNT(*) FROM estimates")
        .fetchone()[0]
        == 1
    )


def test_lists_never_linked_together_say_what_to_run(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    other = _table(tmp_path, "ID,Name\n1,Person 1\n2,Person 2\n", "other.csv")
    code, _, err = dalil("lists", "import", other, "--list", "other", "--from", "x",
                         "--id-column", "ID", "--vault", vault, "--as", "amina")  # fmt: skip
    assert code == 0, err
    code, _, err = dalil("estimate", "--list", "snhr", "--list", "other", "--method",
                         "loglinear", "--vault", vault, "--as", "huda")  # fmt: skip
    assert code == 2
    assert "run `dalil link --list snhr --list other` first" in " ".join(err.split())
