# hearwatch: the two commands a new operator needs are `make demo` and `make test`.
# Everything runs on this machine's loopback; `make down` stops the local stack.

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
BIN := target/release/hearwatch

.PHONY: demo test build install stack down purge lint fmt unit e2e stack-tests fuzz chaos chaos-quick help bench

help:
	@echo "make demo    install what is missing, start the stack, run the may-2025 scenario, print the report"
	@echo "make test    every test: unit, replay, stack checks and end-to-end through Kafka and ClickHouse"
	@echo "make down    stop the local stack and the demo processor (data kept; 'make purge' removes it)"
	@echo "make lint    rustfmt check and clippy with warnings as errors"
	@echo "make chaos   the full fault run (1M events, kills, broker restart, ClickHouse outage, rebalance)"
	@echo "make fuzz    fuzz the event decoder for FUZZ_SECONDS (nightly toolchain)"

## Installs system packages, Kafka jars and the Python test dependencies, if missing.
install:
	bash deploy/stack.sh install
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

build:
	$(CARGO) build --release --locked

stack: install
	bash deploy/stack.sh up

demo: stack build
	bash deploy/demo.sh

## Unit and integration tests of the Rust crates, in the release profile the binary uses.
unit:
	$(CARGO) test --release --locked --workspace

stack-tests:
	bash tests/stack/test_compose.sh
	bash tests/stack/test_prometheus_rules.sh

e2e: build
	$(PYTHON) -m pytest -q tests/e2e

## The short fault run: kills, a broker restart, a ClickHouse outage and a rebalance.
chaos-quick: build
	$(PYTHON) tests/chaos/chaos.py --quick

## The full fault run on about a million events (about 5 minutes here).
chaos: stack build
	$(PYTHON) tests/chaos/chaos.py

test: stack build unit stack-tests e2e chaos-quick

down:
	bash deploy/demo.sh stop
	bash deploy/stack.sh down

purge:
	bash deploy/demo.sh stop
	bash deploy/stack.sh down --purge

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

## Fuzzes the event decoder (and the engine behind it) for FUZZ_SECONDS; needs the nightly
## toolchain and installs cargo-fuzz from crates.io when missing. Crashes land in
## fuzz/artifacts/decode/.
FUZZ_SECONDS ?= 120
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/corpus/decode
	cd fuzz && $(CARGO) +nightly fuzz run decode corpus/decode seeds -- -max_total_time=$(FUZZ_SECONDS) -max_len=70000

## Benchmarks on the local stack, each figure against a baseline measured in the same run
## (engine, pipeline, latency, timers, memory, recovery; about 15 minutes). Writes
## BENCHMARKS.md and target/bench/summary.json.
bench: stack build
	$(CARGO) build --release --locked -p hearwatch-engine --examples
	$(PYTHON) tests/bench/bench.py
