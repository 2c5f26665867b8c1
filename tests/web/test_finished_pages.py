"""What a new user found unfinished: a reveal that could not be undone or said when it ends,
a new account that defaulted to administrator, items known only by their hash, a chart of
giant bars."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dalil.vault import Vault
from dalil.web.app import create_app
from tests.conftest import catalogue
from tests.web.conftest import ROLE_USERS, login


def _image(vault: Vault) -> str:
    conn = catalogue(vault)
    try:
        return str(
            conn.execute(
                "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' ORDER BY sha256"
            ).fetchone()[0]
        )
    finally:
        conn.close()


def test_a_reveal_says_when_it_ends_and_can_be_hidden_again(web_vault: Vault) -> None:
    sha = _image(web_vault)
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        shown = client.post(f"/items/{sha}/reveal", data={"csrf": csrf})
        assert shown.status_code == 200 and 'class="revealed"' in shown.text
        assert "Hide again" in shown.text and re.search(
            r"until \d+ \w+ \d{4}, \d\d:\d\d UTC", shown.text
        )
        assert client.get(f"/items/{sha}/view").status_code == 200
        hidden = client.post(f"/items/{sha}/hide", data={"csrf": csrf})
        assert hidden.status_code == 200 and 'class="revealed"' not in hidden.text
        assert client.get(f"/items/{sha}/view").status_code == 428  # reveal again to see it
        assert 'class="revealed"' not in client.get(f"/items/{sha}?revealed=1").text


def test_a_new_account_has_no_role_until_one_is_chosen(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["admin"])
        form = client.get("/users").text.split("Add a user")[1]
        assert re.search(r'<option value="" selected disabled>', form)
        refused = client.post(
            "/users",
            data={"csrf": csrf, "name": "newcomer", "role": "", "password": "a long password!"},
        )
        assert refused.status_code == 400
        assert "newcomer" not in client.get("/users").text


def test_items_show_their_file_name_to_those_who_may_see_it(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        names = re.findall(r"<b><bdi>([^<]+)</bdi></b>", client.get("/items").text)
        assert names and all("/" not in n for n in names)
        assert any(n.lower().endswith((".jpg", ".jpeg", ".png")) for n in names), names
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])  # does not see where files were found
        assert "<bdi>" not in client.get("/items").text.split('class="grid"')[1]


def test_the_capture_chart_has_a_bar_and_a_value_per_month(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        page = client.get("/").text
        chart = page.split('<svg class="chart"')[1].split("</svg>")[0]
        bars = re.findall(r'<rect x="70" y="\d+" width="(\d+)" height="14">', chart)
        values = re.findall(r'class="value">(\d+)</text>', chart)
        assert bars and len(bars) == len(values)
        assert max(int(b) for b in bars) == 240  # the longest bar fills the width, no more
        assert 'width="400"' in page.split('<svg class="chart"')[1].split(">")[0]


def test_a_position_is_coordinates_and_a_link_to_the_readers_own_map(web_vault: Vault) -> None:
    conn = catalogue(web_vault)
    row = conn.execute(
        "SELECT sha256, gps_lat, gps_lon FROM metadata WHERE gps_lat IS NOT NULL LIMIT 1"
    ).fetchone()
    conn.close()
    assert row, "the demo collection has photographs with a GPS position"
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        page = client.get(f"/items/{row[0]}").text
        assert f'href="geo:{row[1]:.6f},{row[2]:.6f}"' in page
        assert f"{abs(row[1]):.5f}° {'N' if row[1] >= 0 else 'S'}" in page
        assert '<svg class="map"' not in page
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])  # positions are provenance
        assert "geo:" not in client.get(f"/items/{row[0]}").text


def test_clusters_are_shown_by_their_pictures(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        page = client.get("/clusters").text
        sections = page.split('<section class="cluster-row">')[1:]
        assert sections
        for section in sections:
            thumbs = re.findall(r'src="/items/([0-9a-f]{64})/thumb\?look=', section)
            assert 1 <= len(thumbs) <= 4, section


def test_accepting_a_proposal_on_its_page_stays_on_that_page(web_vault: Vault) -> None:
    conn = catalogue(web_vault)
    case_id = conn.execute("SELECT case_id FROM cases WHERE status = 'proposed' LIMIT 1").fetchone()
    conn.close()
    assert case_id, "the test vault has a proposed case"
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        page = client.get(f"/cases/{case_id[0]}").text
        assert 'name="stay"' in page
        r = client.post(
            f"/cases/{case_id[0]}/accept", data={"csrf": csrf, "stay": "1"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_id[0]}"


def test_a_refused_identifier_keeps_what_was_typed_and_says_why(web_vault: Vault) -> None:
    conn = catalogue(web_vault)
    case_id = conn.execute("SELECT case_id FROM cases WHERE status = 'open' LIMIT 1").fetchone()[0]
    conn.close()
    typed = "12ab!?"
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        r = client.post(
            f"/cases/{case_id}/claims",
            data={"csrf": csrf, "kind": "identifier", "field": "detainee", "value": typed},
        )
        assert r.status_code == 400
        assert "Not added:" in r.text and "<nav" in r.text  # the case page, not a bare error
        assert f'value="{typed}" autofocus' in r.text
        assert re.search(r'<option value="detainee" selected>', r.text)


def test_a_cluster_is_split_and_merged_from_its_page(web_vault: Vault) -> None:
    conn = catalogue(web_vault)
    label, _size = conn.execute(
        "SELECT c.label, COUNT(*) FROM clusters c JOIN cluster_members m ON m.cluster_id = c.id"
        " GROUP BY c.id HAVING COUNT(*) >= 2 ORDER BY c.label LIMIT 1"
    ).fetchone()
    members = [
        r[0]
        for r in conn.execute(
            "SELECT m.sha256 FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id"
            " WHERE c.label = ? ORDER BY m.sha256",
            (label,),
        )
    ]
    conn.close()
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])
        assert 'name="item"' not in client.get(f"/clusters/{label}").text
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert 'form="split"' in client.get(f"/clusters/{label}").text
        split = client.post(f"/clusters/{label}/split", data={"csrf": csrf, "item": members[:1]})
        assert split.status_code == 200 and members[0] not in split.text.split("<h2>")[0]
        after = catalogue(web_vault)
        together_sql = (
            "SELECT COUNT(*) FROM cluster_members a JOIN cluster_members b"
            " ON a.cluster_id = b.cluster_id WHERE a.sha256 = ? AND b.sha256 = ?"
        )
        assert after.execute(together_sql, (members[0], members[1])).fetchone()[0] == 0
        merged = client.post(
            f"/clusters/{split.url.path.rsplit('/', 1)[-1]}/merge",
            data={"csrf": csrf, "other": members[0]},
        )
        assert merged.status_code == 200, merged.text
        together = after.execute(together_sql, (members[0], members[1])).fetchone()[0]
        after.close()
        opened = web_vault.connect()
        actions = [e["action"] for e in web_vault.ledger(opened, signing=False).events()][-5:]
        opened.close()
        assert together == 1
        assert any("split" in a for a in actions) and any("merge" in a for a in actions), actions


def test_cases_are_listed_with_a_picture(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        rows = client.get("/cases").text.split('<table class="cases">')[1].split("</table>")[0]
        assert re.search(r'<img class="mini" loading="lazy" src="/items/[0-9a-f]{64}/thumb', rows)


def test_search_results_show_a_picture_of_each_case(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        page = client.get("/search", params={"identifier": "detainee:4721"}).text
        rows = page.split('<table class="cases">')[1].split("</table>")[0]
        assert "<bdi>" in rows and '<img class="mini"' in rows
