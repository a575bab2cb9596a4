#!/usr/bin/env bash
# Python 3.12 from pyproject.toml's ranges (no lock), installed as a user with a CUDA box would: on top of the
# older torch and torchvision already there. pip must keep that torch, and `domaintune --help` and
# `domaintune doctor --json` must run. (PyPI's torch for 3.12 is its CUDA 13 build; it runs on the CPU here.)
set -euo pipefail
cd "$(dirname "$0")/.."

python312() {
    if python3.12 -c "" 2>/dev/null; then command -v python3.12; return; fi
    # pyenv's shim answers only for the selected version; the interpreter itself lies under its root.
    ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1
}

py=$(python312)
[ -n "$py" ] || { echo "python3.12 not found (pyenv install 3.12)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m venv "$work/venv"
bin=$work/venv/bin
"$bin/python" -m pip install -qq --upgrade pip
"$bin/python" -m pip install -qq torch==2.11.0 torchvision==0.26.0
"$bin/python" -m pip install -qq -e .
"$bin/domaintune" --help >/dev/null
"$bin/domaintune" doctor --json >"$work/doctor.json"
"$bin/python" - "$work/doctor.json" <<'PY'
import json
import sys

report = json.load(open(sys.argv[1]))
machine = report["machine"]
assert machine["python"].startswith("3.12."), machine["python"]
assert machine["torch"]["version"].startswith("2.11.0"), f"pip replaced torch 2.11.0 with {machine['torch']['version']}"
print(f"python {machine['python']}: installed from the ranges beside torch {machine['torch']['version']}; "
      f"doctor: tier {report['tier']['name']} ({report['tier']['found']}), {len(report['checks'])} problem(s)")
PY
