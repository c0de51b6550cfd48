#!/usr/bin/env bash
# Every test tier. Integration tests start their own Kafka and Redis on separate ports
# (tests/integration/conftest.py), so a running demo stack is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "==> JS tag tests (node --test)"
node --test tests/js/
echo "==> Python tests (unit, Flink at parallelism 2, integration against real Kafka/Redis)"
# The session-cluster submission (marker "cluster") hangs with the full job at the moment; it
# runs with `make test-cluster` until that is fixed.
"$PY" -m pytest tests -m "not cluster" "$@"
