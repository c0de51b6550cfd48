# The project's commands. Each one installs what is missing first (scripts/setup.sh, cached).
#   make demo   set up, start Kafka + Redis, run the job on the embedded mini-cluster with demo events,
#               then the live demo (job, collector, storefront, delivery, simulator) with its URL and a
#               live summary: until Ctrl-C in a terminal, else for SP_DEMO_DURATION seconds (90)
#   make live-demo  the live demo alone
#   make test   set up, then every test tier (unit, Flink, integration against real servers, JS)
#   make lint   ruff + mypy
#   make stack-up / stack-down   the local Kafka broker and Redis alone
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup demo live-demo live-demo-run test unit lint stack-up stack-down
setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) -m services.stack up
	@$(PY) -m pipelines.demo
	@$(MAKE) --no-print-directory live-demo-run

live-demo: setup
	@$(PY) -m services.stack up
	@$(MAKE) --no-print-directory live-demo-run

live-demo-run:
	@if [ -t 0 ]; then $(PY) -m services.demo; else $(PY) -m services.demo --duration "$${SP_DEMO_DURATION:-90}"; fi

test:
	@bash scripts/setup.sh --browser
	@bash scripts/test.sh

unit: setup
	@$(PY) -m pytest tests/unit -q

lint: setup
	@$(PY) -m ruff check . && $(PY) -m mypy pipelines udfs services models bench

stack-up: setup
	@$(PY) -m services.stack up

stack-down:
	@$(PY) -m services.stack down
