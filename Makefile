# The two commands of README.md: `make run` and `make test`.
PY ?= python3
VENV := .venv

.PHONY: run test install lint bench

install:
	bash scripts/install.sh

run: install
	$(VENV)/bin/navigator serve

test:
	bash scripts/test.sh

lint:
	$(VENV)/bin/ruff check .

bench: install
	$(VENV)/bin/python -m benchmarks.overhead --json
	$(VENV)/bin/python -m benchmarks.ranking --json --quick
	$(VENV)/bin/python -m benchmarks.eval_throughput --json
	$(VENV)/bin/python -m benchmarks.bus --json
	$(VENV)/bin/python -m benchmarks.load --json
	$(VENV)/bin/python -m benchmarks.proxies --json --quick
	$(VENV)/bin/python -m benchmarks.latency --json --quick
