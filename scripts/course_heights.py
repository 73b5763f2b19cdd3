"""How tall the courses of a brick family are, image by image: the period of its horizontal
mortar lines, in source pixels.

A model learns one texel density, so a family whose courses run from 6 px to 256 px asks one
generator for a forty-fold range of scales; this shows the spread before a family is curated or split
(issue 11, "families that don't mix").

    .venv/bin/python scripts/course_heights.py data/bricks
    .venv/bin/python scripts/course_heights.py data/bricks --between 10 26 --into data/bricks-courses
        # links the images with clear courses 10-26 px tall into a folder to train on

Per image, as the trainer decodes it (trainer.data.load_rgb, grey as Pillow's "L" weights):
the mean over each row of the vertical gradient's magnitude (mortar lines are rows of
strong vertical change), then the strongest period of that profile between 6 px and the image's
height / 2, with its peak over the median of the power spectrum (under ~50: no clear courses).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.data import UnusableImage, find_image_files, load_rgb  # noqa: E402

SHORTEST_COURSE = 6  # px: below this a "course" is a texel-level pattern, not a row of bricks
# Peak over median that counts as clear courses: drawn walls with noise score ~280-320 and white
# noise ~5; in data/bricks 9 of 62 images score 9-48 and the rest 53 or more.
CLEAR_PEAK = 50.0
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's convert("L")


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
    rows = []  # (period, peak, width, height, path)
    for path in files:
        try:
            grey = load_rgb(path) @ LUMA / 255
        except UnusableImage as exc:
            print(f"warning: skipped {path}: {exc}", file=sys.stderr)
            continue
        rows.append((*course_height(grey), grey.shape[1], grey.shape[0], path))
    if not rows:
        print(f"error: no readable images in {args.folder}", file=sys.stderr)
        return 1
    for period, peak, w, h, path in sorted(rows):
        print(f"{period:6.1f} px  peak/median {peak:8.1f}  {w}x{h}  {path.name}")
    if args.into is not None:
        low, high = args.between
        kept = [path for period, peak, *_, path in rows if low <= period <= high and peak >= CLEAR_PEAK]
        args.into.mkdir(parents=True)
        for path in kept:
            (args.into / path.name).symlink_to(path.resolve())
        print(f"linked {len(kept)} of {len(files)} images into {args.into}")
    periods = np.array([r[0] for r in rows])
    print(f"{len(rows)} images: course height median {np.median(periods):.1f} px, "
          f"10th–90th percentile {np.percentile(periods, 10):.1f}–{np.percentile(periods, 90):.1f} px, "
          f"range {periods.min():.1f}–{periods.max():.1f} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
