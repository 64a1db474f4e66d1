# The README's two commands live here:  make crawl URL=...   and   make test
# The venv's interpreter: the system's /usr/bin/python3 when it is 3.11 or newer and can make a venv,
# else the first python3 on PATH; `make setup PYTHON=...` chooses.  A distribution's CPython is built
# with profile-guided and link-time optimisation, pyenv's by default without: on Debian 12 the suite
# runs about 12% faster on the former (bench/README.md).
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' \
                   2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pywb in an environment of its own: its brotlipy would replace the brotli module Scrapy needs
REPLAY_VENV  ?= .venv-replay
REPLAY_STAMP := $(REPLAY_VENV)/.installed

# The independent WARC validator the tests run, when the workplace has it beside the checkout;
# its setup.sh installs into WARC_CHECK_VENV and leaves a stamp there (the tests look in the same place).
WARC_CHECK       ?= $(CURDIR)/../shared/tools/warc-check
WARC_CHECK_VENV  ?= /tmp/warc-check-venv
WARC_CHECK_STAMP := $(WARC_CHECK_VENV)/.warc-check-stamp

# warcprox, a recording proxy whose WARCs the tests read (tests/foreign_warcs.py): in a venv of its
# own, as its cryptography<46 would downgrade the one Scrapy uses. The tests look in the same place.
WARCPROX_VERSION ?= 2.13.1
WARCPROX_VENV    ?= /tmp/warcprox-venv
WARCPROX_STAMP   := $(WARCPROX_VENV)/.warcprox-$(WARCPROX_VERSION)

.PHONY: setup crawl replay test warc-check warcprox lint bench-extraction train-extraction bench-workers bench-reading bench-browser clean

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

## make replay [ARGS="--port 8090 --archive archive"]: pywb on the archive, until Ctrl-C
# Ctrl-C is how a server is stopped: `scraper replay` then exits 130, which here counts as success
# (no "make: *** Error 130"). The shell traps SIGINT only to outlive it and read that status;
# scraper gets the default handler back, so it still sees the Ctrl-C. Any other status fails.
replay: $(STAMP) $(REPLAY_STAMP)
	@echo '$(BIN)/scraper replay --pywb-python $(REPLAY_VENV)/bin/python $(ARGS)'
	@trap : INT; $(BIN)/scraper replay --pywb-python $(REPLAY_VENV)/bin/python $(ARGS) || [ $$? -eq 130 ]

## set up ../shared/tools/warc-check once, if it is there (its own setup.sh is idempotent too)
warc-check:
	@if [ ! -f '$(WARC_CHECK)/setup.sh' ]; then \
	    echo "make: no $(WARC_CHECK): the tests that need that validator will be skipped" >&2; \
	elif [ ! -f '$(WARC_CHECK_STAMP)' ]; then \
	    WARC_CHECK_VENV='$(WARC_CHECK_VENV)' bash '$(WARC_CHECK)/setup.sh' || \
	    echo "make: $(WARC_CHECK)/setup.sh failed: the tests that need it will be skipped" >&2; \
	fi

## warcprox for the foreign-WARC tests, once (they fail under CI without it, and are skipped elsewhere)
$(WARCPROX_STAMP):
	$(PYTHON) -m venv $(WARCPROX_VENV)
	$(WARCPROX_VENV)/bin/pip install --quiet 'warcprox==$(WARCPROX_VERSION)'
	touch $(WARCPROX_STAMP)

warcprox: $(WARCPROX_STAMP)

## the whole test suite, plus ruff, mypy and the import contracts (pyproject.toml, docs/architecture.md)
test: $(STAMP) warc-check warcprox
	$(BIN)/ruff check scraper tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy scraper
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench-extraction: $(STAMP)
	$(BIN)/python bench/extraction.py --corpus all --page-types

## the extraction models, from the development splits under CORPUS, into scraper/extract/models/ (fixed seeds)
CORPUS ?= ../shared/corpus
train-extraction: $(STAMP)
	$(BIN)/python -m scraper.extract.train $(CORPUS)

bench-crawl: $(STAMP)
	$(BIN)/python bench/crawl.py

## verify, index, reextract and export against FastWARC, warcio, cdxj-indexer and trafilatura (issue 19; the
## 1 GB archive is crawled once, ~150,000 pages, and kept under /tmp/scraper-bench-reading; QUICK=1: 64 MB)
bench-reading: $(STAMP)
	$(BIN)/python -c 'import fastwarc' 2>/dev/null || $(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/reading.py $(if $(QUICK),--quick)

## --browser: pages rendered in Chromium a second and their memory; what auto costs on the static site (issue 20)
bench-browser: $(STAMP)
	$(BIN)/python bench/browser.py

## workers on one crawl through a temporary PostgreSQL server (Debian's postgresql), and the lease rate
bench-workers: $(STAMP)
	$(BIN)/python bench/workers.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
