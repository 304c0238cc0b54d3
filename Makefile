# tfpulse: `make demo` runs the main job on the bundled sample; `make test` runs every test.
# Both set up what they need: a virtualenv in .venv, and (for tests) the system packages
# PostgreSQL, Prometheus/promtool, Chromium, plus the Apache Kafka jars from Maven Central.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TFPULSE := $(VENV)/bin/tfpulse
SAMPLE := examples/sample-ci-stream.jsonl.gz
DEMO_DB ?= tfpulse-demo.db

.PHONY: help demo screenshot test venv deps lint typecheck kb-check unit pytest bench clean

help:
	@echo "make demo    replay the sample CI stream into SQLite, print the top failures, write the weekly report"
	@echo "make test    install everything needed, then lint, type-check, kb lint/test and pytest"
	@echo "make unit    run the tests that need no service (no Kafka, PostgreSQL, Prometheus, Chromium)"
	@echo "make bench   run the benchmarks (see benchmarks/README.md)"
	@echo "make screenshot  regenerate docs/images/weekly-report.png from the demo's report"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,fast]'
	touch $@

venv: $(VENV)/.installed

deps:
	scripts/install-system-deps
	scripts/kafka-broker fetch

demo: venv
	rm -f $(DEMO_DB)
	$(TFPULSE) replay $(SAMPLE) --store sqlite:///$(DEMO_DB) --top 10 --report weekly-report.html
	@echo
	@echo "next: $(TFPULSE) stats --store sqlite:///$(DEMO_DB) --top 10"
	@echo "      $(TFPULSE) report --store sqlite:///$(DEMO_DB) --out weekly.md"
	@echo "      open weekly-report.html (or: export TFPULSE_STORE=sqlite:///$(DEMO_DB))"

screenshot: demo
	$(PY) scripts/report-screenshot weekly-report.html docs/images/weekly-report.png

lint: venv
	$(VENV)/bin/ruff check worker tests examples benchmarks

typecheck: venv
	$(VENV)/bin/mypy

kb-check: venv
	$(TFPULSE) kb lint
	$(TFPULSE) kb test

pytest: venv
	$(PY) -m pytest -p no:cacheprovider -ra

unit: venv
	$(PY) -m pytest -p no:cacheprovider -ra -m "not kafka and not postgres and not prometheus and not chromium"

test: deps venv lint typecheck kb-check pytest

bench: venv deps
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis $(DEMO_DB) weekly-report.html
