#!/usr/bin/env bash
# Installs what the project needs on a fresh machine, reusing a cache outside the clone:
#   - Debian's redis-server (apt) when missing;
#   - a Python virtual environment keyed by a hash of requirements*.txt  -> .venv
#   - the Maven-resolved Kafka and Flink connector jars keyed by a hash of the poms -> .jars
#   - with --browser: Debian's chromium for the browser end-to-end tests (Playwright drives it)
# A second run finds both in the cache and returns in seconds.
# Cache folder: $SP_CACHE_DIR (default ~/.cache/shoppulse). Python: $SP_PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${SP_CACHE_DIR:-$HOME/.cache/shoppulse}"
PY="${SP_PYTHON:-$(command -v python3.11 || command -v python3)}"
mkdir -p "$CACHE"
step() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v java >/dev/null || die "java not found: install a Java 17 JDK"
command -v mvn >/dev/null || die "mvn not found: install Maven"
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || die "$PY is not Python 3.11"

apt_install() {  # apt_install <package>: Debian's package, installed once
  step "installing $1 (apt)"
  [ "$(id -u)" = 0 ] && SUDO="" || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1" >/dev/null \
    || die "could not install $1 with apt-get"
}
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  apt_install redis-server
fi
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
  apt_install chromium
fi

req_hash=$(cat requirements.txt requirements-train.txt requirements-dev.txt constraints.txt | "$PY" -c \
  'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()+sys.version.encode()).hexdigest()[:16])')
venv="$CACHE/venv-$req_hash"
if [ ! -f "$venv/.complete" ]; then
  step "creating Python environment $venv (first time: several minutes, torch is large)"
  rm -rf "$venv" && "$PY" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install --progress-bar off -r requirements-dev.txt -c constraints.txt \
    | grep -E '^(Collecting|Successfully)' | sed 's/^/    /' || true
  "$venv/bin/python" -c 'import pyflink, pemja, torch, onnx, onnxruntime, fastavro, kafka, redis, aiohttp, confluent_kafka, aiosmtpd, mlflow, playwright' \
    || die "Python environment $venv is incomplete (see pip output above)"
  touch "$venv/.complete"
fi
ln -sfn "$venv" .venv

pom_hash=$(cat pom.xml jars/*/pom.xml | sha256sum | cut -c1-16)
jars="$CACHE/jars-$pom_hash"
if [ ! -f "$jars/.complete" ]; then
  step "resolving Kafka and Flink connector jars with Maven into $jars"
  rm -rf "$jars" && mvn -q -B dependency:copy-dependencies -Djars.dir="$jars" || die "mvn could not resolve the jars"
  touch "$jars/.complete"
fi
ln -sfn "$jars" .jars
step "ready: .venv -> $venv, .jars -> $jars"
