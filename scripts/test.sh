#!/usr/bin/env bash
# Every test tier. Integration tests start their own Kafka and Redis on separate ports
# (tests/integration/conftest.py), so a running demo stack is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "==> JS tag tests (node --test)"
node --test tests/js/
echo "==> Python tests (unit, Flink at parallelism 2, integration against real Kafka/Redis)"
"$PY" -m pytest tests "$@"
