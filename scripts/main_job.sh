#!/usr/bin/env bash
# README command number one, for a fresh machine with Python 3.11: set everything up, then run
# the demo headless with the bpy module (scene textured by the bundled models, saved as .blend,
# rendered with Cycles on the CPU, add-on zip built). Results go to out/main_job/; extra
# arguments go to scripts/demo_scene.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo_scene.py "$@"
