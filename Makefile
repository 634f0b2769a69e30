# Two commands: `make demo` and `make test`. Both set everything up from nothing.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := espeak-ng chromium
RUN_DIR ?= runs/demo
# Test data fetched once by `make test` (git-ignored): feedparser's own test feeds ship only in
# its sdist; tests/filters/web/test_feedparser_corpus.py reads them straight out of the tarball.
TEST_DATA := .cache/test-data
FEEDPARSER_SDIST := $(TEST_DATA)/feedparser-6.0.14.tar.gz
FEEDPARSER_SHA256 := 088679b0c4b543ee211a820dd544698c76a402122eae7473c04a43425f283d06

.PHONY: setup demo test test-fast test-data lint bench clean system-deps

setup: system-deps $(STAMP)

# Debian packages: espeak-ng synthesises the demo/test speech, chromium runs the report's browser test.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing. Run: sudo apt-get install$$missing  (then re-run make)"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "$(PY) not found; install Python 3.11 or run make PY=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first, so nothing below pulls the CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	# gcp: tests/pipelines/test_dataflow_graph.py renders the Dataflow job description offline
	# (adds ~63 packages, ~330 MB; changes no pinned version).
	$(BIN)/pip install -q -e '.[dev,gcp]'
	# openai-whisper without triton (CPU never uses it); its real deps are in pyproject.toml.
	$(BIN)/pip install -q --no-deps openai-whisper==20250625 silero-vad==6.2.3
	# resemblyzer (speaker-verification EER in benchmarks/privacy.py) without its deps: it would
	# install webrtcvad over webrtcvad-wheels' module of the same name.
	$(BIN)/pip install -q --no-deps resemblyzer==0.1.4
	# Presidio's analyzer (the baseline of benchmarks/pii.py, never the pipeline) without its
	# deps: it caps preshed below spaCy's resolved 3.0.15; its other deps are in pyproject.toml.
	$(BIN)/pip install -q --no-deps presidio-analyzer==2.2.366
	touch $(STAMP)

demo: setup
	$(BIN)/python -m pipelines.demo --out $(RUN_DIR)

test: setup test-data
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=15

test-fast: setup test-data
	$(BIN)/python -m pytest -q -m "not slow"

# Downloaded once with pip (the pinned sdist), checked before it is kept and on every run after:
# a changed file fails loudly instead of silently testing other feeds.
test-data: $(FEEDPARSER_SDIST)
	@echo "$(FEEDPARSER_SHA256)  $(FEEDPARSER_SDIST)" | sha256sum --check --quiet - \
	  || { echo "$(FEEDPARSER_SDIST): sha256 is not $(FEEDPARSER_SHA256); delete it and re-run make test-data"; exit 1; }

$(FEEDPARSER_SDIST): | $(STAMP)
	rm -rf $(TEST_DATA)/.download && mkdir -p $(TEST_DATA)/.download
	$(BIN)/pip download -q --no-binary :all: --no-deps -d $(TEST_DATA)/.download feedparser==6.0.14
	echo "$(FEEDPARSER_SHA256)  $(TEST_DATA)/.download/feedparser-6.0.14.tar.gz" | sha256sum --check --quiet -
	mv $(TEST_DATA)/.download/feedparser-6.0.14.tar.gz $@ && rm -rf $(TEST_DATA)/.download

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache
