"""A search filter that cannot mean anything as written is an error that names the choices —
inline on the search page, 400 from the API — never "0 cases"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ROLE_USERS, login

BAD_FILTERS = [
    ({"identifier": "prisoner:4721"}, "types are: detainee, branch, report"),
    ({"date_from": "2013-13"}, "'2013-13' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"date_to": "2013-02-30"}, "'2013-02-30' is not a date"),
    ({"flag": "blurry"}, "flags are: any, empty, unknown_type"),
    ({"kind": "animal"}, "kinds are: person, incident, place"),
    ({"status": "lost"}, "known: proposed, open"),
]


@pytest.mark.parametrize(("given", "said"), BAD_FILTERS)
def test_a_bad_filter_is_an_error_with_the_choices(
    app_for: Callable[[], TestClient], given: dict[str, str], said: str
) -> None:
    client = app_for()
    login(client, ROLE_USERS["liaison"])
    page = client.get("/search", params=given)
    assert page.status_code == 200
    error = page.text.split('<p class="error">')[1].split("</p>")[0]
    assert said in error.replace("&#39;", "'"), error
    assert "case(s)" not in page.text  # no result count: there was no search
    api = client.get("/api/search", params=given)
    assert api.status_code == 400, api.text
    assert said in api.json()["error"]
    assert "--from" not in api.json()["error"] and "--to" not in api.json()["error"]


def test_good_filters_still_search(app_for: Callable[[], TestClient]) -> None:
    client = app_for()
    login(client, ROLE_USERS["liaison"])
    page = client.get("/search", params={"kind": "person", "flag": "any", "date_from": "2013"})
    assert page.status_code == 200 and '<p class="error">' not in page.text
    assert "case(s)" in page.text
    api = client.get("/api/search", params={"kind": "person", "identifier": "detainee:4721"})
    assert api.status_code == 200 and api.json()["total"] >= 1


def test_an_unknown_flag_on_the_items_page_is_an_error(app_for: Callable[[], TestClient]) -> None:
    client = app_for()
    login(client, ROLE_USERS["archivist"])
    page = client.get("/items", params={"flag": "blurry"})
    assert page.status_code == 400 and "flags are: any, empty" in page.text
    assert client.get("/items", params={"flag": "any"}).status_code == 200
    assert client.get("/api/items", params={"flag": "blurry"}).status_code == 400
