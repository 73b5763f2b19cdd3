"""Turning a folder's images so their lines all run one way (--orient rows).

Wood grain and planks, brick courses and corrugated metal are photographed running across the
picture in some files and up and down in others (33 of data/wood's 71 run up and down). With 90°
rotations a generator learns both directions at once and draws them crossed; without them it
still sees both (every bundled Wood up to 0.6 drew speckle). Turned so every image's lines run
along the rows, the set shows one direction, which --no-rot90 keeps: a first CPU run on wood
turned so drew level grain within 2000 steps (docs/model_history.md). An artist turns the
texture in the material, where it belongs.
"""

from __future__ import annotations

import numpy as np

from blender_ganart.core.model_maps import channel_slices

from .normals import orient


def lines_run_up_and_down(image: np.ndarray) -> bool:
    """Whether an image's lines run up and down rather than across: its brightness then changes
    more from column to column than from row to row (the mean squared step each way).

    An image without a direction (sand, gravel) gives steps of about equal size either way and
    is turned or not by a hair; nothing is lost either way, as its crops are flipped anyway."""
    grey = image[:, :, :3].astype(np.float32).mean(axis=2)
    across_columns = np.square(np.diff(grey, axis=1)).mean()
    across_rows = np.square(np.diff(grey, axis=0)).mean()
    return bool(across_columns > across_rows)


def turn_lines_to_rows(images: list[np.ndarray], maps: tuple[str, ...]) -> list[bool]:
    """Turns, in place in `images`, each image whose lines run up and down by 90° (its normal
    map's vectors turned with it); returns which were turned."""
    normal = channel_slices(maps).get("normal")
    turned = []
    for index, image in enumerate(images):
        turn = lines_run_up_and_down(image)
        if turn:
            images[index] = np.ascontiguousarray(orient(image, False, False, 1, normal))
        turned.append(turn)
    return turned
