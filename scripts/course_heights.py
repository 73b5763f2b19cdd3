"""How tall the courses of a brick family are, image by image: the period of its horizontal
mortar lines, in source pixels.

A model learns one texel density, so a family whose courses run from 6 px to 128 px asks one
generator for twenty scales at once; this shows the spread before a family is curated or split
(issue 11, "families that don't mix").

    .venv/bin/python scripts/course_heights.py data/bricks
    .venv/bin/python scripts/course_heights.py data/bricks --between 10 26 --into data/bricks-courses
        # links the images with clear courses 10-26 px tall into a folder to train on

Per image: the mean over each row of the vertical gradient's magnitude (mortar lines are rows of
strong vertical change), then the strongest period of that profile between 6 px and the image's
height / 2, with its peak over the median of the power spectrum (under ~50: no clear courses).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.data import find_image_files  # noqa: E402

SHORTEST_COURSE = 6  # px: below this a "course" is a texel-level pattern, not a row of bricks
# Peak over median that counts as clear courses: drawn walls with noise score ~280-320 and white
# noise ~5; in data/bricks 9 of 62 images score 9-47 and the rest 52.8 or more.
CLEAR_PEAK = 50.0


def course_height(grey: np.ndarray) -> tuple[float, float]:
    """(period in px, its spectral peak over the median) of the horizontal lines of a grey image
    (values 0–1). Wrap-around differences, so a tileable image's seam adds no line."""
    h = grey.shape[0]
    profile = np.abs(grey - np.roll(grey, -1, axis=0)).mean(axis=1)
    power = np.abs(np.fft.rfft(profile - profile.mean())) ** 2
    k = np.arange(len(power))
    allowed = (k >= 2) & (k <= h / SHORTEST_COURSE)
    best = k[allowed][np.argmax(power[allowed])]
    return h / best, float(power[best] / np.median(power[allowed]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of texture images, e.g. data/bricks")
    parser.add_argument("--between", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="with --into: the course heights (px) to keep")
    parser.add_argument("--into", type=Path, help="link the images with clear courses (peak/median at least "
                        f"{CLEAR_PEAK:g}) within --between into this new folder")
    args = parser.parse_args(argv)
    if (args.between is None) != (args.into is None):
        parser.error("--between and --into go together")
    if args.into is not None and args.into.exists():
        print(f"error: {args.into} exists; name a new folder", file=sys.stderr)
        return 1
    files = find_image_files(args.folder)
    if not files:
        print(f"error: no images in {args.folder}", file=sys.stderr)
        return 1
    rows, read = [], []
    for path in files:
        try:
            with Image.open(path) as image:
                grey = np.asarray(image.convert("L"), dtype=np.float64) / 255
        except (OSError, Image.DecompressionBombError) as exc:
            print(f"warning: skipped {path}: {exc}", file=sys.stderr)
            continue
        rows.append((*course_height(grey), grey.shape[1], grey.shape[0], path.name))
        read.append(path)
    if not rows:
        print(f"error: no readable images in {args.folder}", file=sys.stderr)
        return 1
    for period, peak, w, h, name in sorted(rows):
        print(f"{period:6.1f} px  peak/median {peak:8.1f}  {w}x{h}  {name}")
    if args.into is not None:
        low, high = args.between
        kept = [(path, name) for path, (period, peak, *_, name) in zip(read, rows)
                if low <= period <= high and peak >= CLEAR_PEAK]
        args.into.mkdir(parents=True)
        for path, name in kept:
            (args.into / name).symlink_to(path.resolve())
        print(f"linked {len(kept)} of {len(files)} images into {args.into}")
    periods = np.array([r[0] for r in rows])
    print(f"{len(rows)} images: course height median {np.median(periods):.1f} px, "
          f"10th–90th percentile {np.percentile(periods, 10):.1f}–{np.percentile(periods, 90):.1f} px, "
          f"range {periods.min():.1f}–{periods.max():.1f} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
