"""Spreadsheets of cases and identifiers: CSV that Excel reads in Arabic, XLSX, and no cell
that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from dalil.vault import Vault
from dalil.web.app import create_app
from tests.web.conftest import ROLE_USERS, login

TITLES = ('=HYPERLINK("http://x.example","click")', "محمد عبد الله")


def test_cases_and_identifiers_as_csv_and_xlsx(web_vault: Vault) -> None:
    from openpyxl import load_workbook

    with TestClient(create_app(web_vault.root)) as client:
        assert client.get("/export/cases.csv", follow_redirects=False).status_code == 303
        csrf = login(client, ROLE_USERS["investigator"])
        for title in TITLES:
            r = client.post("/cases", data={"csrf": csrf, "title": title, "kind": "person"})
            assert r.status_code in (200, 303), r.text
        assert 'href="/export/cases.xlsx"' in client.get("/cases").text
        r = client.get("/export/cases.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert 'filename="cases.csv"' in r.headers["content-disposition"]
        assert r.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (Arabic) with the BOM
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["case", "kind", "title", "status"]
        titles = [row[2] for row in rows[1:]]
        assert "محمد عبد الله" in titles
        assert "'" + TITLES[0] in titles and TITLES[0] not in titles  # never a formula
        book = load_workbook(io.BytesIO(client.get("/export/cases.xlsx").content))
        sheet = book["cases"]
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
        values = [c.value for c in cells]
        assert "محمد عبد الله" in values and "'" + TITLES[0] in values
        assert all(c.data_type != "f" for c in cells)
        assert len(list(sheet.iter_rows(min_row=2))) == len(rows) - 1
        ids = list(
            csv.reader(io.StringIO(client.get("/export/identifiers.csv").text.lstrip("\ufeff")))
        )
        assert ids[0][:4] == ["case", "type", "value", "state"]
        assert ids[1][1:3] == ["detainee", "4721"] and ids[1][3] == "unverified"
        xlsx = load_workbook(io.BytesIO(client.get("/export/identifiers.xlsx").content))
        assert xlsx["identifiers"]["C2"].value == "4721"
        assert client.get("/export/cases.ods").status_code == 404
