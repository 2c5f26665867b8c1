"""What new users and attackers send to `dalil estimate`: tables in the encodings and shapes
people use, counts written every way (and some that are not counts), settings out of range,
tables too large for a method, a result with no number, a saved record altered behind the
ledger's back, and output read by a program (standard JSON, nothing folded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import pytest
from typer.testing import CliRunner

from dalil import signing
from dalil.cli.app import app
from dalil.errors import IntegrityError, UsageError
from dalil.estimate import MAX_DRAWS, Table, TableError, estimate, read_table
from dalil.estimate.saved import compute, record, show
from dalil.estimate.words import meaning, percent
from dalil.vault import Vault
from tests.conftest import catalogue, copy_vault, run_dalil
from tests.estimate.linked import Linked, make

THREE = "A,B,C,count\n1,0,0,30\n0,1,0,40\n1,1,0,20\n0,0,1,10\n1,0,1,5\n0,1,1,4\n1,1,1,2\n"
"""A small table every method estimates from."""
APART = "A,B,count\n1,0,30\n0,1,40\n"
"""Two lists no one is on together: no model bounds the number on neither."""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"not standard JSON: {name}")


def strict(text: str) -> Any:
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def dalil(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _file(tmp_path: Path, data: str | bytes, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _refused(*args: str | Path) -> str:
    """The error of a command that must exit 2, as JSON on standard error."""
    code, out, err = dalil(*args, "--json")
    assert code == 2 and out == "", (code, out, err)
    error = strict(err)
    assert error["code"] == 2
    return str(error["error"])


def _counts(table: Table) -> dict[str, int]:
    return {
        "".join(map(str, p.tolist())): int(c)
        for p, c in zip(table.patterns, table.counts, strict=True)
    }


# --- tables as people send them ---------------------------------------------------------


def test_tables_in_the_encodings_and_shapes_people_send(tmp_path: Path) -> None:
    arabic = "قائمة,ب,count\n1,0,30\n0,1,40\n1,1,20\n"
    for data in (
        arabic.encode("utf-16"),  # Excel's "Unicode text", with its byte-order mark
        arabic.encode("cp1256"),  # the Arabic Windows code page
        b"\xef\xbb\xbf" + arabic.encode("utf-8"),  # "CSV UTF-8" from Excel
        arabic.replace(",", ";").encode("utf-8"),  # a semicolon between cells
    ):
        (table,) = read_table(_file(tmp_path, data)).values()
        assert table.lists == ("قائمة", "ب")
        assert _counts(table) == {"10": 30, "01": 40, "11": 20}
    written = "A,B,count,,\n1,0,1e3,,\n0,1,40.0\n1,1,-0,,\n"  # counts as spreadsheets write them
    (table,) = read_table(_file(tmp_path, written)).values()
    assert _counts(table) == {"10": 1000, "01": 40, "11": 0}


def test_a_table_from_an_xlsx_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["A", "B", "C", "count"], [1, 0, 0, 60], [0, 1, 0, 49.0], [1, 1, 1, 12]):
        sheet.append(row)
    book.save(tmp_path / "table.xlsx")
    (table,) = read_table(tmp_path / "table.xlsx").values()
    assert _counts(table) == {"100": 60, "010": 49, "111": 12}


BAD = [
    ("", [], "the file has no heading row"),
    ("A,B,C,count\n", [], "the table has no rows"),
    ("A,B,C,count\n1,0,0,1" + "0" * 30 + "\n", [], "line 2: count '1000"),
    ("A,B,C,count\n1,0,0,1e300\n", [], "is more than 1,000,000,000 people"),
    ("A,B,C,count\n1,0,0,600000000\n0,1,0,600000000\n", [], "add up to more than"),
    ("A,B,C,count\n1,0,0,NaN\n", [], "line 2: count 'NaN' is not a whole number"),
    ("A,B,C,count\n1,0,0,inf\n", [], "line 2: count 'inf' is not a whole number"),
    ("A,count,B,count\n1,3,0,3\n", [], "two columns are called 'count'"),
    ("A,,B,count\n1,3,0,3\n", [], "column 2 has no name"),
    (THREE, ["--strata", "count"], "the 'count' column cannot also be the stratum column"),
    (THREE, ["--strata", "A"], "(--strata A: that column is a stratum, not a list)"),
    ("A,B,C,s,count\n1,0,0,x,3\n0,1,0,,4\n", ["--strata", "s"], "line 3: the stratum column"),
    ("A,B,C,count\n1,0,0,0\n0,1,0,0\n", [], "no one is on any list"),
    (
        "A,B,C,s,count\n1,0,0,x,30\n0,1,0,x,40\n1,1,0,x,20\n1,0,0,y,0\n",
        ["--strata", "s"],
        "stratum 'y': no one is on any list",
    ),
]


@pytest.mark.parametrize(("text", "extra", "said"), BAD)
def test_a_bad_table_is_refused_naming_the_file(
    tmp_path: Path, text: str, extra: list[str], said: str
) -> None:
    path = _file(tmp_path, text)
    for method in ("lcmcr", "loglinear"):  # lcmcr once estimated 0 from a table of nobody
        error = _refused("estimate", "--table", path, "--method", method, "--draws", "100",
                         *extra)  # fmt: skip
        assert error.startswith(str(path)) and said in error, error


def test_a_file_that_cannot_be_decoded(tmp_path: Path) -> None:
    path = _file(tmp_path, b"\xff\xfeA\x00,\x00\x00")  # UTF-16 cut in the middle of a letter
    assert "cannot read the table" in _refused("estimate", "--table", path)


def test_counts_of_any_size_are_refused_not_crashed_on() -> None:
    with pytest.raises(TableError, match="add up to more than"):
        Table.of(["a", "b"], [[1, 0], [0, 1]], [10**30, 1])
    with pytest.raises(TableError, match="add up to more than"):
        Table.from_cells(["a", "b"], [0, 10**30, 2, 3])
    with pytest.raises(TableError, match="not a whole number"):
        Table.of(["a", "b"], [[1, 0], [0, 1]], [float("nan"), 1])
    with pytest.raises(TableError, match="at most 20"):
        Table.from_cells([f"l{i}" for i in range(21)], [0] * 2**21)


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--seed", "-1", "--seed"),
        ("--seed", str(2**32), "--seed"),
        ("--draws", "0", "--draws"),
        ("--draws", str(10**9), "--draws"),  # would not end, and not fit in memory
        ("--level", "1.5", "--level"),
        ("--method", "nosuch", "unknown method 'nosuch' (one of lcmcr, dga, loglinear, or all)"),
    ],
)
def test_settings_out_of_range_are_refused(
    tmp_path: Path, option: str, value: str, said: str
) -> None:
    path = _file(tmp_path, THREE)
    assert said in _refused("estimate", "--table", path, option, value)


def test_the_library_refuses_them_too() -> None:
    table = Table.from_cells(["A", "B", "C"], range(8))
    for settings, said in (
        ({"draws": MAX_DRAWS + 1}, "draws must be from 100 to 200,000"),
        ({"draws": 10**9}, "draws must be from"),
        ({"seed": -1}, "the seed is a whole number"),
    ):
        with pytest.raises(UsageError, match=said):
            estimate(table, "dga", **settings)


def test_a_table_with_too_many_lists_for_a_method() -> None:
    eleven = Table.of([f"l{i}" for i in range(11)], [[1] + [0] * 10, [0, 1] + [0] * 9], [3, 4])
    with pytest.raises(TableError, match="the loglinear method estimates from at most 10 lists"):
        estimate(eleven, "loglinear", draws=100)
    six = Table.from_cells([f"l{i}" for i in range(6)], [0] + [5] * 63)
    with pytest.raises(TableError, match="the dga method estimates from at most 5 lists"):
        estimate(six, "dga", draws=100)
    results, notes = compute({"all": six}, "all", seed=1, draws=100, level=0.95)
    assert [r.method for r in results] == ["lcmcr", "loglinear"]
    assert notes == ["dga left out: it takes at most 5 lists, the table has 6"]


# --- a result with no number ---------------------------------------------------------------


def test_an_unbounded_loglinear_estimate_is_shown_in_standard_json(tmp_path: Path) -> None:
    path = _file(tmp_path, APART)
    code, out, err = dalil("estimate", "--table", path, "--method", "loglinear", "--json")
    assert code == 0, err
    result = strict(out)
    assert result["estimate"] is None and result["interval"] == [70.0, None]
    codes = [w["code"] for w in result["warnings"]]
    assert "unbounded" in codes and "no_overlap" in codes
    code, out, err = dalil("estimate", "--table", path, "--method", "all", "--json")
    assert code == 0 and strict(out)[0]["estimate"] is None
    code, out, err = dalil("estimate", "--table", path, "--method", "loglinear")
    assert code == 0 and err == "", err  # once a traceback
    text = " ".join(out.split())
    assert "loglinear: no estimate" in text and "There is no estimate here." in text
    assert "This is an estimate" not in text and "about no end" not in text


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Linked:
    return make(tmp_path_factory.mktemp("estimate-hardening"))


def _copy(linked: Linked, tmp_path: Path) -> Path:
    copy_vault(linked.vault.root, tmp_path / "vault")
    return tmp_path / "vault"


def test_an_estimate_with_no_number_is_not_saved(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    path = _file(tmp_path, APART)
    code, out, err = dalil("estimate", "--table", path, "--method", "loglinear", "--vault",
                           vault, "--as", "huda")  # fmt: skip
    assert code == 0, err  # once a NOT NULL failure of the catalogue, and a traceback
    assert "note: loglinear not saved: it gave no estimate" in out
    code, out, err = dalil("estimate", "--table", path, "--method", "loglinear", "--vault",
                           vault, "--as", "huda", "--json")  # fmt: skip
    assert code == 0 and strict(out)["saved"] is None
    opened = Vault.open(vault)
    conn = opened.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM estimates").fetchone()[0] == 0
        (table,) = read_table(path).values()
        result = estimate(table, "loglinear", draws=100)
        with pytest.raises(UsageError, match="there is no number to save"):
            record(conn, opened.ledger(conn), "huda", [result], {"all": table}, table_file=path)
    finally:
        conn.close()


_X = (("1,0,0", 30), ("0,1,0", 40), ("1,1,0", 20), ("0,0,1", 10), ("1,0,1", 5))
STRATA = "A,B,C,s,count\n" + "".join(f"{p},x,{c}\n" for p, c in _X) + "1,0,0,y,5\n0,1,0,y,6\n"
"""Two strata; in 'y' no one is on two lists, so no log-linear model bounds it."""


def test_strata_the_loglinear_models_cannot_add_up(tmp_path: Path) -> None:
    path = _file(tmp_path, STRATA)
    error = _refused("estimate", "--table", path, "--strata", "s", "--method", "loglinear")
    assert "cannot estimate stratum 'y'" in error and "merge strata" in error
    code, out, err = dalil("estimate", "--table", path, "--strata", "s", "--method", "all",
                           "--draws", "200")  # fmt: skip
    assert code == 0, err  # the others are not lost with it
    assert "note: loglinear left out: the loglinear method cannot estimate stratum 'y'" in out
    code, out, _ = dalil("estimate", "--table", path, "--strata", "s", "--method", "all",
                         "--draws", "200", "--json")  # fmt: skip
    results = strict(out)
    assert [r["method"] for r in results] == ["lcmcr", "dga"]
    assert all("no_overlap" in [w["code"] for w in r["strata"]["y"]["warnings"]] for r in results)


# --- what is said, and how it is printed ---------------------------------------------------


def test_a_level_is_never_rounded_into_a_claim() -> None:
    assert [percent(v) for v in (0.5, 0.95, 0.975, 0.995, 0.999)] == [
        "50%", "95%", "97.5%", "99.5%", "99.9%",
    ]  # fmt: skip
    result = {"method": "loglinear", "observed": 10, "estimate": 12.0, "interval": [10.0, 20.0],
              "level": 0.999, "lists": ["A", "B"]}  # fmt: skip
    said = meaning(result)[0]
    assert "The 99.9% confidence interval is 10 to 20" in said and "100%" not in said
    said = meaning({**result, "method": "lcmcr"})[0]
    assert "99.9% credible interval" in said


def test_nothing_is_folded_when_read_by_a_program(tmp_path: Path) -> None:
    name = "a stratum with a long name that would be folded at eighty columns " * 2
    rows = "".join(f"{p},{name.strip()},{c}\n" for p, c in (("1,0,0", 30), ("0,1,0", 40),
                                                         ("1,1,0", 20), ("0,0,1", 10)))  # fmt: skip
    path = _file(tmp_path, f"A,B,C,s,count\n{rows}1,0,0,b,30\n0,1,0,b,40\n1,1,0,b,20\n")
    done = run_dalil("estimate", "--table", path, "--strata", "s", "--method", "dga", "--draws",
                     "200")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any(name.strip() in line for line in done.stdout.splitlines())
    assert any(len(line) > 200 for line in done.stdout.splitlines())  # a paragraph, one line


# --- the vault -----------------------------------------------------------------------------


def test_a_person_proves_who_they_are_before_the_work(
    linked: Linked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = _copy(linked, tmp_path)

    def never(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("estimated before the person proved who they are")

    signing.forget()  # keys proved earlier in this process
    monkeypatch.delenv("DALIL_PASSWORD")
    monkeypatch.setattr("dalil.estimate.saved.compute", never)
    error = _refused("estimate", "--lists", "snhr,vdc,سجل", "--vault", vault, "--as", "huda")
    assert "huda has not proved who they are" in error
    monkeypatch.setenv("DALIL_PASSWORD", "not the password at all")
    assert "wrong password" in _refused("estimate", "--lists", "snhr,vdc,سجل", "--vault", vault,
                                        "--as", "huda")  # fmt: skip


def test_a_number_too_large_for_the_catalogue(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    for command in ("show", "rerun"):
        error = _refused("estimate", command, str(10**20), "--vault", vault)  # once a traceback
        assert "Invalid value for 'N'" in error
        assert "no saved estimate 1" in _refused("estimate", command, "1", "--vault", vault)


def test_an_altered_saved_estimate_is_refused_not_shown(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    code, out, err = dalil("estimate", "--lists", "snhr,vdc,سجل", "--method", "dga", "--draws",
                           "200", "--vault", vault, "--as", "huda", "--json")  # fmt: skip
    assert code == 0, err
    made = strict(out)
    number = made["saved"]
    ledger = catalogue(vault, "ledger")
    (data,) = ledger.execute("SELECT data FROM payloads WHERE seq = ?", (number,)).fetchone()
    payload = json.loads(data)
    assert payload["result"]["estimate"] == made["estimate"]
    payload["result"]["estimate"] = 9.0  # a smaller number for a report
    ledger.execute("UPDATE payloads SET data = ? WHERE seq = ?", (json.dumps(payload), number))
    ledger.commit()
    ledger.close()
    for command in ("show", "rerun"):
        code, out, err = dalil("estimate", command, str(number), "--vault", vault, "--json")
        assert code == 1 and out == "", (code, out)
        assert "is not as the ledger recorded it" in strict(err)["error"]
    conn = Vault.open(vault).connect(readonly=True)
    try:
        with pytest.raises(IntegrityError):
            show(conn, number)
    finally:
        conn.close()
    done = run_dalil("verify", "--vault", vault)
    assert done.returncode != 0 and "ledger_payload_altered" in done.stdout + done.stderr


def test_a_run_over_another_version_of_a_list_is_not_used(linked: Linked, tmp_path: Path) -> None:
    """A linkage run that compared a list's records as another file held them (its SHA-256
    differs from the list's now) says nothing about today's records."""
    from dalil.estimate.vault import capture, covering_runs
    from dalil.linkage import LinkResult
    from dalil.linkage.review import record as record_run

    vault = Vault.open(_copy(linked, tmp_path))
    conn = vault.connect()
    try:
        inputs = [
            {"source": name, "records": 1, "sha256": "0" * 64 if name == "vdc" else sha}
            for name, sha in conn.execute("SELECT name, sha256 FROM lists")
        ]
        result = LinkResult("people", inputs, [], [], {"comparisons": []})
        stale = record_run(conn, vault.ledger(conn), "amina", result, 0.8)
        vault.ledger(conn).sign_tail()
        assert stale not in covering_runs(conn, ["snhr", "vdc"])
        assert covering_runs(conn, ["snhr", "vdc"]) == [linked.run]  # the older, matching run
        with pytest.raises(UsageError, match=f"linkage run {stale} did not compare"):
            capture(conn, ["snhr", "vdc"], run=stale)
    finally:
        conn.close()


def test_an_altered_catalogue_row_and_a_disabled_account(linked: Linked, tmp_path: Path) -> None:
    vault = _copy(linked, tmp_path)
    code, out, err = dalil("estimate", "--lists", "snhr,vdc", "--method", "loglinear",
                           "--vault", vault, "--as", "huda", "--json")  # fmt: skip
    assert code == 0, err
    number = strict(out)["saved"]
    db = catalogue(vault)
    db.execute("UPDATE estimates SET estimate = 1 WHERE id = ?", (number,))
    db.commit()
    db.close()
    done = run_dalil("verify", "--vault", vault)
    assert done.returncode != 0
    assert f"estimates (id={number}) differs: estimate is 1.0" in done.stdout + done.stderr
    code, _, err = dalil("users", "disable", "sami", "--vault", vault, "--as", "amina")
    assert code == 0, err
    error = _refused("estimate", "--lists", "snhr,vdc", "--method", "loglinear", "--vault", vault,
                     "--as", "sami")  # fmt: skip
    assert "the account 'sami' is disabled" in error
