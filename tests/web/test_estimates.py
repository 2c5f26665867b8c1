"""Estimates in the browser: an investigator or auditor chooses lists and sees the estimate
with its interval, a histogram drawn as SVG on the server, observed against estimated per
stratum and what the number can and cannot say; the estimate is saved in the ledger by the
person logged in. Liaison officers may not; anonymous visitors are sent to log in. Arabic list
names are shown right to left."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dalil.vault import Vault
from dalil.web import auth
from dalil.web.app import create_app
from dalil.web.charts import ticks
from tests.conftest import catalogue, copy_vault, sign_and_verify
from tests.estimate.linked import Linked, make
from tests.web.conftest import login


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Linked:
    return make(tmp_path_factory.mktemp("estimate-web"))


@pytest.fixture
def vault(linked: Linked, tmp_path: Path) -> Vault:

    copy_vault(linked.vault.root, tmp_path / "vault")
    return Vault.open(tmp_path / "vault")


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    auth.ROUTE_PERMISSIONS.clear()
    with TestClient(create_app(vault.root), base_url="http://testserver") as made:
        yield made


FORM = {
    "list": ["snhr", "vdc", "سجل"],
    "method": "lcmcr",
    "strata": "sex",
    "seed": "3",
    "draws": "400",
    "level": "0.95",
}


def test_an_investigator_estimates_and_sees_the_number_and_charts(
    client: TestClient, vault: Vault
) -> None:
    csrf = login(client, "huda")
    page = client.get("/estimates")
    assert page.status_code == 200
    assert '<bdi lang="ar" dir="rtl">سجل</bdi>' in page.text  # the Arabic list, right to left
    assert 'name="list" value="snhr"' in page.text and "No estimates saved yet." in page.text
    assert 'href="/estimates"' in page.text  # in the navigation
    done = client.post("/estimates", data={**FORM, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    number = int(done.headers["location"].rsplit("/", 1)[1])
    shown = client.get(f"/estimates/{number}")
    assert shown.status_code == 200
    text = shown.text
    assert f"Estimate {number}: about" in text and "95% interval" in text
    assert "observed" in text and "unseen" in text
    assert text.count('<svg class="estimate-chart"') == 2  # the posterior, the strata
    assert 'class="interval"' in text and 'class="bar"' in text and 'class="whisker"' in text
    assert "This is an estimate, not a count." in text and "closed population" in text
    assert "heterogeneity" in text and "linked correctly" in text
    assert '<bdi lang="ar" dir="rtl">سجل</bdi>' in text
    assert "confirmed by two reviewers" in text and "probable but not confirmed" in text
    assert f"dalil estimate rerun {number}" in text
    assert "style=" not in text and "<script>" not in text  # the CSP allows neither inline
    assert "warning" in text.lower() or "Warnings" in text
    listing = client.get("/estimates").text
    assert f'href="/estimates/{number}"' in listing
    with auth.connection(vault) as conn:
        row = conn.execute(
            "SELECT created_by, method, seed, draws FROM estimates WHERE id = ?", (number,)
        ).fetchone()
    assert tuple(row) == ("huda", "lcmcr", 3, 400)
    assert sign_and_verify(vault).ok


def test_loglinear_and_an_auditor(client: TestClient) -> None:
    csrf = login(client, "sami")
    form = {**FORM, "method": "loglinear", "strata": "", "list": ["snhr", "vdc"], "csrf": csrf}
    done = client.post("/estimates", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    text = client.get(done.headers["location"]).text
    assert "loglinear" in text and "Models" in text and "<svg" in text
    assert "two_lists" in text  # the warning, by its name


def test_a_form_with_a_mistake_comes_back(client: TestClient) -> None:
    csrf = login(client, "amina")
    bad = client.post("/estimates", data={**FORM, "list": ["snhr"], "draws": "5",
                                          "csrf": csrf})  # fmt: skip
    assert bad.status_code == 400
    assert "choose two lists or more" in bad.text and "draws: a whole number" in bad.text
    two = client.post("/estimates", data={**FORM, "list": ["snhr", "vdc"], "csrf": csrf})
    assert two.status_code == 400 and "needs at least 3 lists" in two.text
    assert client.get("/estimates/999999").status_code == 404
    assert client.get(f"/estimates/{10**30}").status_code == 400  # not an SQLite overflow
    assert client.get("/estimates/3").status_code == 404  # an event, but not an estimate


def test_who_may_see_estimates(client: TestClient, vault: Vault) -> None:
    anonymous = client.get("/estimates", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    csrf = login(client, "layla")  # a liaison officer
    assert client.get("/estimates").status_code == 403
    assert client.get("/estimates/1").status_code == 403
    refused = client.post("/estimates", data={**FORM, "csrf": csrf}, follow_redirects=False)
    assert refused.status_code == 403
    assert 'href="/estimates"' not in client.get("/").text
    with auth.connection(vault) as conn:
        assert conn.execute("SELECT COUNT(*) FROM estimates").fetchone()[0] == 0


def test_an_interval_with_no_upper_end() -> None:
    from dalil.estimate.saved import plain
    from dalil.estimate.words import interval
    from dalil.web import charts

    assert plain({"interval": (712.5, float("inf"))}) == {"interval": [712.5, None]}
    assert interval(712.5, None) == "712 or more (no upper end)"
    bins = {"edges": [700.0, 750.0, 800.0], "counts": [3, 1]}
    drawn = str(charts.histogram(bins, 730.0, [712.5, None], 0.95, "N"))
    assert "712 or more (no upper end)" in drawn and 'class="interval"' in drawn
    part = {"observed": 10, "estimate": 30.0, "interval": [12.0, None]}
    assert 'class="whisker"' in str(charts.strata({"سجل": part, "b": part}, 0.95))


def test_chart_ticks_are_round() -> None:
    assert ticks(0, 100, 5) == [0, 20, 40, 60, 80, 100]
    assert ticks(712.3, 799.9, 5) == [720, 740, 760, 780]
    assert ticks(5, 5) == [5]
    found = re.findall(r"\d+", " ".join(map(str, ticks(0, 12_345, 4))))
    assert found == ["0", "5000", "10000"]


def _lists_apart(vault: Vault, root: Path) -> None:
    """Two more lists, linked by a run that found no one on both."""
    from dalil.linkage import LinkResult
    from dalil.linkage.review import record
    from dalil.lists import import_list

    for name, first in (("east", 1), ("west", 100)):
        path = root / f"{name}.csv"
        path.write_text(
            "ID,Name\n" + "".join(f"{i},Person {i}\n" for i in range(first, first + 20))
        )
        import_list(vault, path, name, f"the {name} list", "amina", id_column="ID")
    conn = vault.connect()
    try:
        inputs = [
            {"source": name, "records": 20, "sha256": sha}
            for name, sha in conn.execute(
                "SELECT name, sha256 FROM lists WHERE name IN ('east', 'west')"
            )
        ]
        record(conn, vault.ledger(conn), "amina",
               LinkResult("people", inputs, [], [], {"comparisons": []}), 0.8)  # fmt: skip
        vault.ledger(conn).sign_tail()
    finally:
        conn.close()


def test_a_result_with_no_number_comes_back_unsaved(
    client: TestClient, vault: Vault, tmp_path: Path
) -> None:
    _lists_apart(vault, tmp_path)
    csrf = login(client, "huda")
    form = {**FORM, "list": ["east", "west"], "method": "loglinear", "strata": "", "csrf": csrf}
    done = client.post("/estimates", data=form, follow_redirects=False)
    assert done.status_code == 400  # once a NOT NULL failure of the catalogue: a 500
    assert "gave no estimate" in done.text and "there is no number to save" in done.text
    with auth.connection(vault) as conn:
        assert conn.execute("SELECT COUNT(*) FROM estimates").fetchone()[0] == 0


def test_form_numbers_in_other_scripts(client: TestClient, vault: Vault) -> None:
    csrf = login(client, "huda")
    for name, value in (("seed", "²"), ("draws", "4000²")):  # digits that int() refuses: a 500
        bad = client.post("/estimates", data={**FORM, name: value, "csrf": csrf})
        assert bad.status_code == 400, (name, value)
    form = {**FORM, "strata": "", "method": "dga", "seed": "٣", "draws": "٤٠٠", "csrf": csrf}
    done = client.post("/estimates", data=form, follow_redirects=False)  # Arabic-Indic digits
    assert done.status_code == 303
    with auth.connection(vault) as conn:
        row = conn.execute("SELECT seed, draws FROM estimates").fetchone()
    assert tuple(row) == (3, 400)


def test_too_many_strata_for_one_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil.web import estimates

    monkeypatch.setattr(estimates, "MAX_STRATA", 2)
    csrf = login(client, "huda")
    done = client.post("/estimates", data={**FORM, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 400
    assert "sex splits these lists into 3 strata; at most 2" in done.text


def test_an_altered_estimate_is_refused_not_shown(client: TestClient, vault: Vault) -> None:
    import json

    csrf = login(client, "huda")
    form = {**FORM, "method": "dga", "strata": "", "level": "0.99", "csrf": csrf}
    done = client.post("/estimates", data=form, follow_redirects=False)
    number = int(done.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/estimates/{number}").text
    assert "99% interval" in page and "99% credible interval" in page
    ledger = catalogue(vault, "ledger")
    (data,) = ledger.execute("SELECT data FROM payloads WHERE seq = ?", (number,)).fetchone()
    payload = json.loads(data)
    payload["result"]["estimate"] = 12345.0
    ledger.execute("UPDATE payloads SET data = ? WHERE seq = ?", (json.dumps(payload), number))
    ledger.commit()
    ledger.close()
    refused = client.get(f"/estimates/{number}")
    assert refused.status_code == 400 and "is not as the ledger recorded it" in refused.text
    assert "12,345" not in refused.text


def test_a_level_is_shown_as_recorded(client: TestClient, vault: Vault, tmp_path: Path) -> None:
    from dalil.estimate import Table
    from dalil.estimate.saved import compute, record

    table = {"all": Table.from_cells(["A", "B", "C"], [0, 60, 49, 4, 247, 112, 142, 12])}
    results, _ = compute(table, "dga", seed=1, draws=200, level=0.999)
    path = tmp_path / "t.csv"
    path.write_text("made by a script")
    conn = vault.connect()
    try:
        (number,) = record(conn, vault.ledger(conn), "amina", results, table, table_file=path)
        vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    login(client, "huda")
    page = client.get(f"/estimates/{number}").text
    assert "99.9% interval" in page and "100%" not in page
    assert "(99.9%)" in client.get("/estimates").text
