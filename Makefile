# The README's two commands live here:  make crawl URL=...   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pywb in an environment of its own: its brotlipy would replace the brotli module Scrapy needs
REPLAY_VENV  ?= .venv-replay
REPLAY_STAMP := $(REPLAY_VENV)/.installed

.PHONY: setup crawl replay test lint bench-extraction clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## make crawl URL="https://example.com/a https://example.com/b" [ARGS="--depth 1"]
crawl: $(STAMP)
	@if [ -z "$(URL)$(ARGS)" ]; then echo 'usage: make crawl URL="https://..." [ARGS="--depth 1 -i urls.txt"]' >&2; exit 2; fi
	$(BIN)/scraper crawl $(URL) $(ARGS)

$(REPLAY_STAMP):
	$(PYTHON) -m venv $(REPLAY_VENV)
	$(REPLAY_VENV)/bin/pip install --quiet --upgrade pip
	$(REPLAY_VENV)/bin/pip install --quiet 'pywb>=2.10'
	touch $(REPLAY_STAMP)

## make replay [ARGS="--port 8090 -o archive"]: pywb on the archive, until Ctrl-C
replay: $(STAMP) $(REPLAY_STAMP)
	$(BIN)/scraper replay --pywb-python $(REPLAY_VENV)/bin/python $(ARGS)

## the whole test suite, plus ruff and mypy
test: $(STAMP)
	$(BIN)/ruff check scraper tests bench
	$(BIN)/mypy scraper
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench-extraction: $(STAMP)
	$(BIN)/python bench/extraction.py

bench-crawl: $(STAMP)
	$(BIN)/python bench/crawl.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
