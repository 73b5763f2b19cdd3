"""Small helpers any test module may import (pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: blender_ganart/, trainer/, tests/, build.py
