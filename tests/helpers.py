"""Small helpers any test module may import (pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: blender_ganart/, trainer/, tests/, build.py

NODE_ROW = 20.0  # Blender's NODE_DY at UI scale 1: a node's header and each socket row are at least this tall


def node_box(x: float, y: float, width: float, drawn: tuple[float, float] = (0.0, 0.0), ui_scale: float = 1.0,
             rows: int = 0) -> tuple[float, float, float, float]:
    """A node's box (left, bottom, right, top) in the node editor's coordinates (y up; a node's
    location is its top-left corner).

    Once a window has drawn the node, its real size: node.dimensions, which Blender gives in
    screen units (the node's size times the UI scale). Before any drawing (background mode, where
    node.dimensions is (0, 0)), what is real there: its width (node.width) and the least height it
    can be drawn at, a header and `rows` rows of sockets; buttons and panels only add to that.
    """
    if drawn[0] > 0 and drawn[1] > 0:
        width, height = drawn[0] / ui_scale, drawn[1] / ui_scale
    else:
        height = NODE_ROW * (1 + rows)
    return (x, y - height, x + width, y)


def overlapping(boxes: dict[str, tuple[float, float, float, float]]) -> list[tuple[str, str]]:
    """The pairs of names whose boxes share any area (touching edges do not count)."""
    names = sorted(boxes)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if boxes[a][0] < boxes[b][2] and boxes[b][0] < boxes[a][2]
            and boxes[a][1] < boxes[b][3] and boxes[b][1] < boxes[a][3]]
