#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine with Python 3.11: a virtual environment
# in .venv with PyTorch (CPU wheel, pinned), the bpy module, build.py's helpers (packaging, tomli-w)
# and the project itself (editable) with its dependencies (NumPy, Pillow, tqdm).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (the bpy module needs it)"'

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
# torch is pinned: an unpinned torch pulls several GB of CUDA packages.
$PIP install "torch==2.13.0"
$PIP install -e ".[test,blender,build]"

# [issue 4, tests/test_blender_window.py] The add-on in a real Blender window: Debian's Blender
# 3.4 under Xvfb (software OpenGL from Mesa), with the system's NumPy (python3-numpy, 1.24: Debian's
# Blender does not pull it in, Blender's own builds bundle NumPy; OpenBLAS, or NumPy falls back to the
# reference BLAS, 10x slower). Installed only when missing and
# running as root on a Debian-like system; elsewhere those tests are skipped.
if { ! command -v blender >/dev/null 2>&1 || ! command -v xvfb-run >/dev/null 2>&1 || ! command -v xauth >/dev/null 2>&1 \
     || ! /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; } \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq blender xvfb xauth libgl1-mesa-dri python3-numpy libopenblas0-pthread >/dev/null
fi
