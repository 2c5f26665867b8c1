"""Cases from clusters, claims, two-person review, search — on a real vault, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dalil.cases import model, review
from dalil.cases.search import IdentifierFilter, SearchQuery, search
from dalil.demo.generate import generate_collection
from dalil.errors import UsageError
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import PASSWORD, add_users, catalogue, copy_vault, run_dalil, sign_and_verify


@pytest.fixture(scope="module")
def demo_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cases")
    generate_collection(base / "cards", cards=6, seed=5, photo_size=(800, 600))
    vault = Vault.init(base / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", "karim")
    IngestSession(vault, IngestOptions([base / "cards"], "demo stick", "amina")).run()
    return vault.root


@pytest.fixture
def vault(demo_vault: Path, tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    copy_vault(demo_vault, root)
    return Vault.open(root)


def _events(vault: Vault) -> list[dict]:
    conn = catalogue(vault, "ledger")
    return [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]


def test_clusters_become_proposed_cases_once(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    clusters = conn.execute("SELECT COUNT(*) FROM clusters WHERE size >= 2").fetchone()[0]
    made = model.propose(conn, ledger, model.Actor("amina"))
    assert len(made) == clusters >= 5
    assert model.propose(conn, ledger, model.Actor("amina")) == []  # not proposed twice
    queue = review.queue(conn, "proposed")
    assert [q["case_id"] for q in queue] == made
    model.accept(conn, ledger, model.Actor("omar"), [made[0]])
    model.set_status(conn, ledger, model.Actor("omar"), [made[1]], "rejected")
    assert model.propose(conn, ledger, model.Actor("amina")) == []  # rejected stays rejected
    with pytest.raises(UsageError):
        model.accept(conn, ledger, model.Actor("omar"), [made[0]])  # already open
    actions = [e["action"] for e in _events(vault)]
    assert actions.count("case.created") == len(made) and actions.count("case.status") == 2
    assert sign_and_verify(vault).ok


def _lone_files(folder: Path, seed: int) -> None:
    """One photograph unlike any other, and files not proposed alone: a list, a text note, a
    JPEG that cannot be decoded and one cut short (decoded in part, flagged truncated)."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(texture).resize((800, 600), Image.Resampling.BICUBIC).save(
        folder / f"lone_{seed}.jpg", quality=90
    )
    (folder / "victims.csv").write_text("name,detainee\nA,4721\n", encoding="utf-8")
    (folder / "note.txt").write_text("handed over by X\n", encoding="utf-8")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    other = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(other).resize((800, 600)).save(folder / "whole.jpg", quality=90)
    data = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])  # a broken transfer


def test_a_lone_photograph_becomes_a_proposed_case_once(vault: Vault, tmp_path: Path) -> None:
    _lone_files(tmp_path / "second", 1)
    IngestSession(vault, IngestOptions([tmp_path / "second"], "second stick", "amina")).run()
    _lone_files(tmp_path / "unmatched", 2)  # ingested without matching: not alone for sure yet
    IngestSession(
        vault, IngestOptions([tmp_path / "unmatched"], "third stick", "amina", group=False)
    ).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina = model.Actor("amina")
    clusters = conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0]
    flags = dict(
        conn.execute(
            "SELECT o.path_text, f.flag FROM item_flags f JOIN occurrences o"
            " ON o.sha256 = f.sha256 JOIN match_checks m ON m.sha256 = f.sha256"
        ).fetchall()
    )
    assert flags.get("second/cut.jpg") == "truncated", flags  # decoded, matched, but damaged
    assert model.propose(conn, ledger, amina, singles=False) and not model.propose(
        conn, ledger, amina, singles=False
    )
    made = model.propose(conn, ledger, amina)
    assert len(made) == 1  # the clusters were proposed already; the photograph alone now
    detail = model.case_detail(conn, made[0])
    assert detail["status"] == "proposed" and detail["cluster"] is None
    assert [i["media_type"] for i in detail["items"]] == ["image/jpeg"]
    lone = detail["items"][0]["sha256"]
    path = conn.execute("SELECT path_text FROM occurrences WHERE sha256 = ?", (lone,)).fetchone()
    assert path[0].endswith("lone_1.jpg")
    assert conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == clusters + 1
    model.set_status(conn, ledger, model.Actor("omar"), made, "rejected")
    assert model.propose(conn, ledger, amina) == []  # a rejected photograph stays rejected
    conn.close()
    matched = run_dalil("clusters", "recompute", "--vault", vault.root, "--as", "amina")
    assert matched.returncode == 0, matched.stderr
    conn = vault.connect()
    later = model.propose(conn, vault.ledger(conn), amina)
    assert len(later) == 1  # the photograph ingested without matching, now matched
    sha = model.case_detail(conn, later[0])["items"][0]["sha256"]
    path = conn.execute("SELECT path_text FROM occurrences WHERE sha256 = ?", (sha,)).fetchone()
    assert path[0].endswith("lone_2.jpg")
    created = [e for e in _events(vault) if e["action"] == "case.created"]
    assert len(created) == clusters + 2
    assert sign_and_verify(vault).ok


def test_two_people_are_needed_to_verify_a_claim(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina, omar, karim = model.Actor("amina"), model.Actor("omar"), model.Actor("karim")
    case = model.new_case(conn, ledger, amina, "person", "Card 7 on the table")
    annotation, new = model.add_annotation(
        conn, ledger, amina, case, "identifier", "detainee", "٤٧٢١"
    )
    assert new
    row = model.annotation_row(conn, annotation)
    assert row["value"] == "4721" and row["state"] == "unverified"
    with pytest.raises(UsageError, match="second person"):
        review.confirm(conn, ledger, amina, annotation)
    assert review.confirm(conn, ledger, omar, annotation)["state"] == "verified"
    with pytest.raises(UsageError, match="already reviewed"):
        review.confirm(conn, ledger, omar, annotation)
    # a disagreement is kept, not overwritten
    out = review.reject(conn, ledger, karim, annotation, "it is a 7, not a 2", correct="4771")
    assert out["state"] == "unverified" and out["correction"]["value"] == "4771"
    conflicts = review.conflicts(conn)
    whys = {c["why"] for c in conflicts}
    assert "different detainee values" in whys and "confirmed and rejected" in whys
    assert model.annotation_row(conn, annotation)["value"] == "4721"
    # machine readings need two people
    with conn:
        pass
    from dalil.catalog import atomic

    with atomic(conn):
        ocr, _ = model.annotate(
            conn,
            ledger,
            amina,
            case,
            "identifier",
            "branch",
            "215",
            source="ocr:test",
            confidence=0.91,
        )
    assert review.confirm(conn, ledger, amina, ocr)["state"] == "unverified"
    assert review.confirm(conn, ledger, omar, ocr)["state"] == "verified"
    with pytest.raises(UsageError, match="not a valid"):
        model.add_annotation(conn, ledger, amina, case, "identifier", "branch", "21a5")
    with pytest.raises(UsageError, match="vocabulary"):
        model.add_annotation(conn, ledger, amina, case, "mark", "mark", "sunburn")
    actions = [e["action"] for e in _events(vault)]
    assert actions.count("annotation.added") == 3 and actions.count("annotation.confirmed") == 3
    assert actions.count("annotation.rejected") == 1
    # the ledger holds digests, not the numbers themselves
    assert not any('"4721"' in json.dumps(e) for e in _events(vault))
    assert sign_and_verify(vault).ok


def test_verify_notices_an_edited_claim(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    case = model.new_case(conn, ledger, model.Actor("amina"), "person", "x")
    annotation, _ = model.add_annotation(
        conn, ledger, model.Actor("amina"), case, "identifier", "detainee", "1234"
    )
    conn.execute("UPDATE annotations SET value = '1235' WHERE id = ?", (annotation,))
    conn.commit()
    report = sign_and_verify(vault)
    assert not report.ok
    assert any("annotation" in p.detail for p in report.problems)


def test_merge_split_link_and_admin_only_identifier_types(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina, omar = model.Actor("amina"), model.Actor("omar")
    made = model.propose(conn, ledger, amina)
    model.accept(conn, ledger, amina, made[:3])
    model.add_annotation(conn, ledger, omar, made[1], "identifier", "detainee", "555")
    into = model.merge(conn, ledger, omar, made[:2])
    detail = model.case_detail(conn, into)
    assert any(a["value"] == "555" for a in detail["annotations"])
    assert model.case_detail(conn, made[1])["status"] == "merged"
    items = [i["sha256"] for i in detail["items"]]
    new = model.split(conn, ledger, omar, into, items[:1])
    assert [i["sha256"] for i in model.case_detail(conn, new)["items"]] == items[:1]
    model.link(conn, ledger, omar, new, [items[0][:10]], "card")
    assert model.case_detail(conn, new)["items"][0]["role"] == "card"
    with pytest.raises(UsageError, match="admin"):
        model.add_identifier_type(conn, ledger, omar, "grave", "Grave number", r"G[0-9]+", "G12")
    model.add_identifier_type(conn, ledger, amina, "grave", "Grave number", r"G[0-9]+", "G12")
    model.add_annotation(conn, ledger, omar, new, "identifier", "grave", "G77")
    assert sign_and_verify(vault).ok


def test_search_text_identifiers_and_filters(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina = model.Actor("amina")
    made = model.propose(conn, ledger, amina)
    model.add_annotation(conn, ledger, amina, made[0], "identifier", "detainee", "47210")
    model.add_annotation(conn, ledger, amina, made[0], "identifier", "branch", "215")
    model.add_annotation(conn, ledger, amina, made[0], "note", "note", "scar above the left eye")
    model.add_annotation(conn, ledger, amina, made[1], "identifier", "detainee", "88001")

    def ids(**kw: object) -> list[str]:
        return [r["case_id"] for r in search(conn, SearchQuery(**kw))["results"]]  # type: ignore[arg-type]

    assert ids(text="scar left") == [made[0]]
    assert ids(text="sca") == [made[0]]  # prefix, as people type
    exact = IdentifierFilter.parse("detainee:47210")
    assert ids(identifiers=(exact,)) == [made[0]]
    assert ids(identifiers=(IdentifierFilter.parse("472*"),)) == [made[0]]
    for slip in ("47219", "4721", "472100", "42710", "٤٧٢١٠"):
        assert ids(identifiers=(IdentifierFilter.parse(f"~{slip}"),)) == [made[0]], slip
    assert ids(identifiers=(IdentifierFilter.parse("~88999"),)) == []
    assert ids(branch="٢١٥") == [made[0]]
    assert ids(status=("proposed",), per_page=2, page=1) == made[:2]
    assert ids(status=("proposed",), per_page=2, page=2) == made[2:4]
    serial = conn.execute(
        "SELECT m.camera_serial FROM case_items ci JOIN metadata m ON m.sha256 = ci.sha256"
        " JOIN cases c ON c.id = ci.case_pk WHERE c.case_id = ? AND m.camera_serial IS NOT NULL",
        (made[0],),
    ).fetchone()[0]
    assert made[0] in ids(camera=serial)
    day = conn.execute(
        "SELECT photographed_on FROM cases WHERE case_id = ?", (made[0],)
    ).fetchone()[0]
    assert made[0] in ids(date_from=day, date_to=day)
    assert made[0] not in ids(date_to="1999-12-31")
    total = search(conn, SearchQuery())["total"]
    assert total == len(made)


def test_cli_flow_propose_accept_set_confirm_search(vault: Vault) -> None:
    root = vault.root

    def dalil(*args: str, who: str | None = "amina") -> dict | list:
        actor = ("--as", who) if who else ()
        out = run_dalil(*args, "--vault", root, *actor, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    made = dalil("cases", "propose")["proposed"]
    dalil("cases", "accept", made[0])
    claims = dalil(
        "cases", "set", made[0], "--id", "detainee=3310", "--sex", "male", "--mark", "scar"
    )["annotations"]
    first = claims[0]["annotation"]
    refused = run_dalil("review", "confirm", str(first), "--vault", root, "--as", "amina")
    assert refused.returncode == 2 and "second person" in refused.stderr
    everything = dalil("review", "queue", "unverified", "--mine", who="omar")["unverified"]
    assert {q["kind"] for q in everything} == {"identifier", "attribute", "mark"}
    queue = dalil("review", "queue", "unverified", "--mine", "--kind", "identifier", who="omar")
    assert [q["id"] for q in queue["unverified"]] == [first] and queue["total"] == 1
    assert queue["unverified"][0]["confirmations"]["text"] == "0 of 1 confirmations"
    assert dalil("review", "confirm", str(first), who="omar")[0]["state"] == "verified"
    found = dalil("search", "--id", "detainee:~3301", who=None)
    assert [r["case_id"] for r in found["results"]] == [made[0]]
    assert found["results"][0]["identifiers"][0]["state"] == "verified"
    shown = dalil("cases", "show", made[0], who=None)
    assert shown["status"] == "open" and shown["sex"] == "male"
    assert run_dalil("verify", "--vault", root).returncode == 0


def test_review_state_and_names_cannot_be_bent(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    case = model.new_case(conn, ledger, model.Actor("amina"), "person", "x")
    claim, _ = model.add_annotation(
        conn, ledger, model.Actor("amina"), case, "identifier", "detainee", "5150"
    )
    with pytest.raises(UsageError, match="second person"):
        review.confirm(conn, ledger, model.Actor(" amina "), claim)  # the same person
    with pytest.raises(UsageError, match="act under that name"):
        review.confirm(conn, ledger, model.Actor("Amina"), claim)  # no second account by case
    assert sign_and_verify(vault).ok
    conn.execute("UPDATE annotations SET state = 'verified' WHERE id = ?", (claim,))
    conn.commit()
    report = sign_and_verify(vault)
    assert not report.ok
    assert any(
        f"annotations (id={claim}) differs: state is 'verified', the ledger says 'unverified'"
        in p.detail
        for p in report.problems
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("search", "--id", "nosuchtype:~4721"), "unknown identifier type 'nosuchtype'"),
        (("search", "--from", "May2013"), "is not a date"),
        (("search", "--to", "2013-13-40"), "is not a date"),
        (("search", "--kind", "animal"), "kinds are: person"),
        (("search", "--flag", "nosuchflag"), "flags are: any, empty"),
        (("items", "--flag", "nosuchflag"), "flags are: any, empty"),
        (("items", "--acquisition", "A9999"), "no acquisition 'A9999'"),
    ],
)
def test_bad_filters_are_errors_not_empty_answers(
    vault: Vault, args: tuple[str, ...], says: str
) -> None:
    done = run_dalil(*args, "--vault", vault.root)
    assert done.returncode == 2, done.stdout
    assert says in done.stderr


def test_arabic_spelling_variants_find_their_case(vault: Vault) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina = model.Actor("amina")
    case = model.new_case(conn, ledger, amina, "person", "أحمد")
    model.add_annotation(conn, ledger, amina, case, "note", "", "وُجد في المستشفى العسكري")
    for typed in ("وجد", "مستشفي", "عسكري", "العسكرى", "احمد", "مستشفى العسكري"):
        found = search(conn, SearchQuery(text=typed))
        assert [r["case_id"] for r in found["results"]] == [case], typed
