"""The Arabic-Indic digit classifier alone, on a font it was not trained on."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from dalil.ocr.digits import WEIGHTS_PATH, classifier

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_arabic_digits.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_arabic_digits", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weights_are_shipped_and_small() -> None:
    assert WEIGHTS_PATH.is_file()
    assert WEIGHTS_PATH.stat().st_size < 2_000_000


def test_held_out_font_accuracy() -> None:
    tool = _tool()
    held = [p for p in tool.arabic_fonts() if p.name in tool.HOLDOUT]
    if not held:
        pytest.skip("the held-out font (fonts-kacst-one) is not installed")
    x, y = tool.build(held, 40, np.random.default_rng(7), with_other=False)
    accuracy = float((classifier().predict(x).argmax(axis=1) == y).mean())
    assert accuracy >= 0.9, accuracy
