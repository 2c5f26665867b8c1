"""Lists as people send them: CSV in UTF-8 (with or without a byte-order mark) and
Windows-1256, XLSX workbooks; every unusable row reported with its line, none dropped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dalil.errors import UsageError
from dalil.lists import import_list, records
from dalil.vault import Vault
from tests.conftest import catalogue, run_dalil, sign_and_verify

ROWS = [
    ["الرقم", "الاسم", "اسم الأب", "مواليد", "الجنس", "ملاحظة خاصة"],
    ["1", "محمد الحلبي", "أحمد", "١٩٨٥", "ذكر", "من حلب"],
    ["2", "خالد العلي", "عمر", "1990", "m", ""],
    ["", "", "", "", "", ""],
    ["3", "", "", "1970", "", "no name at all"],
    ["2", "سامر درويش", "علي", "1988", "", "the same number twice"],
    ["4", "رنا حداد", "", "غير معروف", "أنثى", ""],
]


def _csv(rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in rows) + "\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.translate(str.maketrans("١٩٨٥", "1985")).encode("cp1256"),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1256"],
)
def test_csv_in_the_encodings_people_send(vault: Vault, tmp_path: Path, encode: object) -> None:
    data = encode(_csv(ROWS))  # type: ignore[operator]
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    report = import_list(vault, path, "snhr", "SNHR, 2016", "tester", id_column="الرقم")
    assert report.records == 3 and [b["line"] for b in report.bad_rows] == [5, 6]
    assert "no name" in report.bad_rows[0]["reason"]
    assert "also on line 3" in report.bad_rows[1]["reason"]
    assert report.empty_rows == 1
    assert report.warnings == [
        {
            "line": 7,
            "id": "4",
            "warnings": ["birth_year 'غير معروف' is not a year: kept as written"],
        }
    ]
    conn = vault.connect()
    found = {r["id"]: r for r in records(conn, "snhr")}
    assert found["1"]["fields"] == {
        "full_name": "محمد الحلبي", "father_name": "أحمد", "birth_year": "1985", "sex": "m",
    }  # fmt: skip
    assert found["1"]["extra"] == {"الرقم": "1", "ملاحظة خاصة": "من حلب"}
    assert found["4"]["fields"]["sex"] == "f"
    # the original file is an item of the vault: its hash is the list's provenance
    sha = conn.execute("SELECT sha256 FROM lists WHERE name = 'snhr'").fetchone()[0]
    assert sha == hashlib.sha256(data).hexdigest()
    assert conn.execute("SELECT 1 FROM items WHERE sha256 = ?", (sha,)).fetchone()
    bad = conn.execute("SELECT line, reason FROM list_bad_rows ORDER BY line").fetchall()
    assert [b[0] for b in bad] == [5, 6]
    conn.close()
    assert sign_and_verify(vault).ok


def test_an_xlsx_workbook_and_a_column_map(vault: Vault, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "summary"
    first.append(["nothing here"])
    sheet = book.create_sheet("victims")
    sheet.append(["Ref", "Nom complet", "Born", "Unit"])
    sheet.append(["W-1", "HALABI, Mohammad Ahmad", "04/05/1985", 215])
    sheet.append(["W-2", "Khaled al-Ali", None, 227])
    sheet.append(["W-3", "Rana Haddad", "31/02/1990", None])
    path = tmp_path / "workbook.xlsx"
    book.save(path)
    with pytest.raises(UsageError, match="no sheet 'missing'"):
        import_list(vault, path, "w", "x", "tester", sheet="missing")
    report = import_list(
        vault, path, "w", "a workbook", "tester", id_column="Ref", sheet="victims",
        mapping={"Born": "birth_date", "Unit": "branch"},
    )  # fmt: skip
    assert report.records == 3 and report.sheet == "victims"
    conn = vault.connect()
    found = {r["id"]: r["fields"] for r in records(conn, "w")}
    assert found["W-1"] == {
        "full_name": "HALABI, Mohammad Ahmad", "birth_date": "1985-05-04", "birth_year": "1985",
        "branch": "215",
    }  # fmt: skip
    assert found["W-3"]["birth_date"] == "31/02/1990"  # no such day: kept, and said
    assert report.warnings[0]["warnings"] == [
        "birth_date '31/02/1990' is not a date: kept as written"
    ]


def test_refusals_say_why(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(_csv([["name", "full name"], ["a", "b"]]))
    with pytest.raises(UsageError, match="both map to full_name"):
        import_list(vault, path, "x", "y", "tester")
    with pytest.raises(UsageError, match="fields are"):
        import_list(vault, path, "x", "y", "tester", mapping={"name": "nonsense"})
    with pytest.raises(UsageError, match="no such column"):
        import_list(vault, path, "x", "y", "tester", id_column="nope", mapping={"name": "-"})
    with pytest.raises(UsageError, match="a list name"):
        import_list(vault, path, "has space", "y", "tester")
    import_list(vault, path, "x", "y", "tester", mapping={"full name": "-"})
    with pytest.raises(UsageError, match="there is a list 'x' already"):
        import_list(vault, path, "x", "y", "tester", mapping={"full name": "-"})


def test_the_command_line(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(_csv(ROWS))
    done = run_dalil(
        "lists", "import", path, "--list", "snhr", "--from", "SNHR", "--id-column", "الرقم",
        "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # finished, but some rows could not be used
    assert json.loads(done.stdout)["records"] == 3
    listed = json.loads(run_dalil("lists", "--vault", vault.root, "--json").stdout)
    assert [x["list"] for x in listed["lists"]] == ["snhr"]
    shown = json.loads(run_dalil("lists", "show", "snhr", "--vault", vault.root, "--json").stdout)
    assert shown["total"] == 3
    missing = run_dalil("lists", "show", "nope", "--vault", vault.root)
    assert missing.returncode == 2 and "no list 'nope'" in missing.stderr
    assert catalogue(vault).execute("SELECT COUNT(*) FROM lists").fetchone()
