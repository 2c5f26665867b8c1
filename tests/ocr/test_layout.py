"""Label-value pairing in every layout: synthetic boxes (fast) and printed cards (real OCR)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from dalil.ocr import read_numbers
from dalil.ocr.fields import (
    LabelSet,
    Placed,
    assign_fields,
    default_labels,
    label_in,
    load_labels,
)


def box(
    cx: float, cy: float, field: str | None = None, *, width: float = 200, rtl: bool = False
) -> Placed:
    return Placed(cx=cx, cy=cy, width=width, height=60, slope=0.0, field=field, rtl=rtl)


# ---------------------------------------------------------------- labels data


def test_labels_in_english_and_arabic_with_variants() -> None:
    assert label_in("Detainee No.") == "detainee"
    assert label_in("DETAINEENO:") == "detainee"
    assert label_in("Prisoner No.") == "detainee"
    assert label_in("رقم الموقوف") == "detainee"
    assert label_in("رقم المعتقل") == "detainee"
    assert label_in("Br.") == "branch"
    assert label_in("الفرع") == "branch"
    assert label_in("Forensic report") == "report"
    assert label_in("رقم التقرير") == "report"
    assert label_in("No.") is None  # a word in every field's labels names none
    assert label_in("رقم") is None
    assert label_in("IDENTIFICATION") is None


def test_a_collection_has_its_own_labels(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text("# ours\ndetainee\tMatricule\nbranch\tSection No.\n", encoding="utf-8")
    ours = load_labels(path)
    assert label_in("MATRICULE", ours) == "detainee"
    assert label_in("Section", ours) == "branch"
    assert label_in("Detainee", ours) is None
    assert label_in("Detainee", default_labels()) == "detainee"


def test_a_bad_labels_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text("prisoner\tDetainee\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field"):
        load_labels(path)
    path.write_text("detainee Detainee\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        load_labels(path)
    assert LabelSet.from_rows([("branch", "Branch No."), ("report", "Report No.")]).words == {
        "BRANCH": "branch",
        "REPORT": "report",
    }


# ---------------------------------------------------------------- pairing, synthetic boxes


def fields(numbers: list[Placed]) -> list[str | None]:
    return [n.field for n in numbers]


def test_arabic_labels_right_of_their_values() -> None:
    numbers = [box(400, 100), box(400, 300), box(400, 500)]
    labels = [box(800, 300, "report"), box(800, 100, "branch"), box(800, 500, "detainee")]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["branch", "report", "detainee"]


def test_english_labels_left_of_their_values() -> None:
    numbers = [box(700, 100), box(700, 300), box(700, 500)]
    labels = [box(300, 100, "report"), box(300, 300, "detainee"), box(300, 500, "branch")]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["report", "detainee", "branch"]


def test_labels_above_their_values() -> None:
    numbers = [box(300, 180), box(300, 480), box(300, 780)]
    labels = [box(300, 100, "branch"), box(300, 400, "report"), box(300, 700, "detainee")]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["branch", "report", "detainee"]


def test_table_header_row_over_a_row_of_values() -> None:
    numbers = [box(200, 260), box(600, 260), box(1000, 260)]
    labels = [box(200, 100, "report"), box(600, 100, "detainee"), box(1000, 100, "branch")]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["report", "detainee", "branch"]


def test_no_labels_gives_the_order_top_to_bottom() -> None:
    numbers = [box(300, 500), box(300, 100), box(300, 300)]
    assign_fields(numbers, [])
    assert fields(numbers) == ["report", "detainee", "branch"]


def test_unreadable_right_to_left_labels_give_the_order_right_to_left() -> None:
    numbers = [box(200, 260), box(600, 260), box(1000, 260)]
    labels = [box(x, 100, rtl=True) for x in (200, 600, 1000)]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["report", "branch", "detainee"]


def test_unreadable_labels_and_numbers_side_by_side_give_nothing() -> None:
    numbers = [box(200, 260), box(600, 260), box(1000, 260)]
    labels = [box(x, 100) for x in (200, 600, 1000)]
    assign_fields(numbers, labels)
    assert fields(numbers) == [None, None, None]


def test_an_ambiguous_label_gives_nothing() -> None:
    # a number halfway between two labels naming different fields
    numbers = [box(500, 300)]
    labels = [box(150, 300, "detainee"), box(850, 300, "branch")]
    assign_fields(numbers, labels)
    assert fields(numbers) == [None]


def test_a_label_far_away_is_not_a_number_label() -> None:
    numbers = [box(300, 100), box(300, 900)]
    labels = [box(700, 500, "detainee")]
    assign_fields(numbers, labels)
    assert fields(numbers) == [None, None]


def test_a_sloped_row_is_one_row() -> None:
    slope = 0.15  # a card turned about 8 degrees
    numbers = [
        Placed(cx=x, cy=100 + slope * x, width=200, height=60, slope=slope)
        for x in (1000, 600, 200)
    ]
    labels = [box(600, 0, rtl=True)]
    assign_fields(numbers, labels)
    assert fields(numbers) == ["detainee", "branch", "report"]


# ---------------------------------------------------------------- printed cards, real OCR


def _font(pattern: str) -> str:
    if shutil.which("fc-match") is None:
        pytest.skip("fc-match (fontconfig) is not installed")
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found or not Path(found).is_file():
        pytest.skip(f"no font for {pattern!r}")
    return found


VALUES = {"detainee": "48213", "branch": "217", "report": "6390"}
LATIN = {"detainee": "Detainee No.", "branch": "Branch", "report": "Report No."}
ARABIC = {"detainee": "رقم المعتقل", "branch": "الفرع", "report": "رقم التقرير"}


def _card(layout: str) -> Image.Image:
    latin = ImageFont.truetype(_font("DejaVu Sans:style=Book"), 44)
    arabic_path = _font(":lang=ar")
    arabic = ImageFont.truetype(arabic_path, 48, layout_engine=ImageFont.Layout.RAQM)
    image = Image.new("RGB", (1400, 1000), (246, 244, 236))
    draw = ImageDraw.Draw(image)
    digits = ImageFont.truetype(_font("DejaVu Sans:style=Bold"), 64)
    order = ("branch", "report", "detainee")  # not the usual order: labels must decide
    if layout == "english-left":
        for y, name in zip((250, 500, 750), order, strict=True):
            draw.text((120, y), LATIN[name], font=latin, fill=(20, 20, 30))
            draw.text((640, y - 10), VALUES[name], font=digits, fill=(20, 30, 120))
    elif layout == "arabic-right":
        for y, name in zip((250, 500, 750), ("detainee", "branch", "report"), strict=True):
            draw.text((1280, y), ARABIC[name], font=arabic, fill=(20, 20, 30), anchor="ra")
            draw.text((300, y - 10), VALUES[name], font=digits, fill=(20, 30, 120))
    elif layout == "stacked":
        for y, name in zip((150, 430, 710), order, strict=True):
            draw.text((150, y), LATIN[name], font=latin, fill=(20, 20, 30))
            draw.text((170, y + 75), VALUES[name], font=digits, fill=(20, 30, 120))
    elif layout == "table":
        xs = (100, 500, 900, 1300)
        for y in (300, 420, 600):
            draw.line((xs[0], y, xs[-1], y), fill=(60, 60, 70), width=3)
        for x in xs:
            draw.line((x, 300, x, 600), fill=(60, 60, 70), width=3)
        for x0, name in zip(xs, order, strict=False):
            draw.text((x0 + 200, 360), LATIN[name], font=latin, fill=(20, 20, 30), anchor="mm")
            draw.text((x0 + 200, 510), VALUES[name], font=digits, fill=(20, 30, 120), anchor="mm")
    else:
        for y, name in zip((250, 500, 750), ("detainee", "branch", "report"), strict=True):
            draw.text((500, y), VALUES[name], font=digits, fill=(20, 30, 120))
    return image


@pytest.mark.parametrize("layout", ["english-left", "arabic-right", "stacked", "table", "none"])
def test_a_printed_card_gives_every_field(layout: str) -> None:
    found = {r.field: r.value for r in read_numbers(_card(layout)) if r.field is not None}
    assert found == VALUES
