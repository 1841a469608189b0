#!/usr/bin/env bash
# Set up a fresh clone: a virtual environment `.venv` with the exact versions this project is tested with
# (constraints.txt pins torch and torchvision; on these machines torch resolves to the local CPU wheel, so
# no CUDA packages are pulled), the package in editable mode with its `dev` extra, and headless Chromium
# for the docs browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
# (pip's warnings about this machine's optional local index folders are filtered out; its errors are not)
.venv/bin/pip install --quiet -c constraints.txt -e ".[dev]" 2> >(grep -v "^WARNING: Location" >&2)
.venv/bin/python -c "import mini_fastai, torch; print('mini_fastai', mini_fastai.__version__, '| torch', torch.__version__)"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -n "$browser" ] && command -v chromedriver >/dev/null; then
  echo "browser for the docs test: $browser"
elif [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
elif command -v sudo >/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "note: install Debian's chromium and chromium-driver to run the docs browser test" >&2
fi
