"""A small demo collection shared by the OCR tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from dalil.demo.generate import Card, DemoManifest, generate_collection

# seed 2 with 8 cards has every digit system x style: C004 western printed, C005 Arabic-Indic
# printed, C003 Arabic-Indic handwritten (blank card), C006 western handwritten (form)
SEED, CARDS = 2, 8


class Cards:
    def __init__(self, root: Path, manifest: DemoManifest) -> None:
        self.root = root
        self.manifest = manifest

    def photo(self, card_id: str) -> tuple[Card, Path, Image.Image]:
        """The first camera photo of a card, upright."""
        for f in self.manifest.files:
            if f.kind == "photo" and f.card is not None and f.card.card_id == card_id:
                assert f.path is not None
                path = self.root / f.path
                with Image.open(path) as im:
                    return f.card, path, ImageOps.exif_transpose(im)
        raise LookupError(card_id)


@pytest.fixture(scope="session")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Cards:
    root = tmp_path_factory.mktemp("ocr") / "demo"
    manifest = generate_collection(root, cards=CARDS, seed=SEED, photo_size=(1600, 1200))
    return Cards(root, manifest)
