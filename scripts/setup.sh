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
  poppler-utils        # tests read the exhibit report PDF (pdftotext, pdftoppm, pdfimages)
  fonts-kacst fonts-kacst-one fonts-hosny-amiri fonts-arabeyes fonts-dejavu-core  # digit-classifier training, tests
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
