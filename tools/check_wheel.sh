#!/usr/bin/env bash
# The package as a user installs it: build the wheel, install it into a new virtual environment next to the
# pinned torch (constraints.txt; no editable install, no extras), print what it adds beyond torch and check
# that (no SciPy, pandas, scikit-learn or web server; at most 160 MB), then run README.md's Python example
# (the code block after the `<!-- wheel-example -->` marker) from a folder outside the repository, so that
# nothing from the source tree can stand in for a file the wheel lacks. Needs `.venv` (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location" >&2); }  # as in tools/setup.sh

quiet_pip .venv/bin/pip wheel --quiet --no-deps -w "$tmp/dist" .
python3 -m venv "$tmp/venv"
quiet_pip "$tmp/venv/bin/pip" install --quiet -c constraints.txt "$tmp"/dist/*.whl
"$tmp/venv/bin/python" tools/install_size.py --max-mb 160

mkdir "$tmp/run"
awk '/<!-- wheel-example -->/{f=1; next} f && /^```python/{c=1; next} c && /^```/{exit} c' README.md > "$tmp/run/example.py"
[ -s "$tmp/run/example.py" ] || { echo "no example found after <!-- wheel-example --> in README.md" >&2; exit 1; }
cd "$tmp/run"
../venv/bin/python -c "import mini_fastai, sys; print('mini_fastai from', mini_fastai.__file__); assert mini_fastai.__file__.startswith(sys.prefix)"
MPLBACKEND=Agg ../venv/bin/python example.py
../venv/bin/python -c "import mini_fastai, torchvision; print('import mini_fastai; import torchvision:', torchvision.__version__)"
echo "the wheel installs alone and runs the README example"
