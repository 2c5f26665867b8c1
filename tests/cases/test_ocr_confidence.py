"""OCR proposes only values it is sure of; a doubtful one sends the photograph to a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dalil.cases import model, reading, review
from dalil.demo.generate import generate_collection
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.ocr import Reading
from dalil.ocr.confidence import PROPOSE_AT, with_field_confidence
from dalil.vault import Vault
from tests.conftest import PASSWORD


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    generate_collection(tmp_path / "cards", cards=2, seed=5, photo_size=(400, 300))
    vault = Vault.init(tmp_path / "vault", "amina", PASSWORD)
    IngestSession(vault, IngestOptions([tmp_path / "cards"], "demo stick", "amina")).run()
    return vault


def _reading(field: str, written: str, engine: str, confidence: float, how: str) -> Reading:
    script = "western" if written.isascii() else "arabic-indic"
    value = written.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    return Reading(field, value, written, script, confidence, (1, 2, 30, 12), engine, how)


SURE = _reading("detainee", "4721", "pp-ocrv4+digit-lines-v1", 0.99, "label")  # both read it
DOUBTFUL = _reading("branch", "235", "pp-ocrv4", 0.62, "label")  # the recogniser is unsure


def test_field_confidence_separates_sure_from_doubtful() -> None:
    sure, doubtful = with_field_confidence([SURE, DOUBTFUL])
    assert sure.field_confidence >= PROPOSE_AT > doubtful.field_confidence
    # one recogniser alone, sure of its digits: a label makes it enough, the order rule not
    labelled, ordered = (
        with_field_confidence([_reading("branch", "٢٣٥", "digit-lines-v1", 1.0, how)])[0]
        for how in ("label", "order")
    )
    assert labelled.field_confidence >= PROPOSE_AT > ordered.field_confidence
    # an engine the calibration does not know is not trusted
    unknown = _reading("branch", "235", "some-other-engine", 1.0, "label")
    assert with_field_confidence([unknown])[0].field_confidence < PROPOSE_AT
    two = labelled
    # a card whose numbers are read in two digit systems is doubtful as a whole
    mixed = with_field_confidence([SURE, two])
    assert all(r.field_confidence < PROPOSE_AT for r in mixed)
    # the field's label on the number's own line is worth more than the order of numbers
    by_line, by_order = (
        with_field_confidence([_reading("report", "512", "pp-ocrv4", 0.95, how)])[0]
        for how in ("line", "order")
    )
    assert by_line.field_confidence > by_order.field_confidence
    leading_zero = _reading("detainee", "0721", "pp-ocrv4", 0.99, "label")
    assert with_field_confidence([leading_zero])[0].field_confidence < PROPOSE_AT


def test_a_doubtful_reading_is_not_proposed_and_the_photo_needs_a_human(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    actor = model.Actor("amina")
    made = model.propose(conn, ledger, actor)
    model.accept(conn, ledger, actor, made[:1])
    readings = [r.to_dict() for r in with_field_confidence([SURE, DOUBTFUL])]

    def read_one(job: tuple[str, str, str]) -> tuple[str, list[dict[str, Any]], str]:
        return job[0], readings, "4721 235"

    monkeypatch.setattr(reading, "_read_one", read_one)
    report = reading.read_cases(vault, conn, ledger, actor, made[:1], jobs=1)
    photos = report.photos_read
    assert photos >= 1 and report.withheld == photos and len(report.needs_reading) == photos
    claims = review.queue(conn, "unverified", limit=100)
    assert {(c["field"], c["value"]) for c in claims} == {("detainee", "4721")}
    assert all(c["confidence"] >= PROPOSE_AT for c in claims)  # the field confidence
    queued, total = review.queue_page(conn, "needs-reading", limit=100)
    assert total == photos and {q["item"] for q in queued} == set(report.needs_reading)
    assert all(q["case"] == made[0] and q["why"] == "needs a human reading" for q in queued)
    assert queued[0]["readings"] == [
        {"field": "branch", "written": "235", "confidence": pytest.approx(0.62 * 0.9)}
    ]
    assert review.queue_page(conn, "needs-reading", case=made[0])[1] == photos
    conn.close()


def test_a_confident_card_needs_no_human(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = vault.connect()
    ledger = vault.ledger(conn)
    actor = model.Actor("amina")
    made = model.propose(conn, ledger, actor)
    model.accept(conn, ledger, actor, made[:1])
    readings = [r.to_dict() for r in with_field_confidence([SURE])]
    monkeypatch.setattr(reading, "_read_one", lambda job: (job[0], readings, "4721"))
    report = reading.read_cases(vault, conn, ledger, actor, made[:1], jobs=1)
    assert report.claims_added == 1 and report.needs_reading == []
    assert review.queue_page(conn, "needs-reading")[1] == 0
    conn.close()
