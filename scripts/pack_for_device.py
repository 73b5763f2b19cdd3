"""Copies texture families as JPEG for a machine that takes few bytes (the GPU machine: 64 MiB,
the repository included), with data/manifest.json so scripts/train_bundled.py can card the result.

Quality 90 without chroma subsampling keeps 8×8-block error to a few levels: a PNG family shrinks
about 4×, so the six colour families (165 MB as PNG) become 44 MB. In a family of map sets
(`<family>-maps`) only the colour images become JPEG: normal maps, with height in their alpha, and
the other data maps are copied byte for byte, since 8×8-block error would bend the normals.

    python scripts/pack_for_device.py bricks wood rock grass bricks-maps --out gpu_data
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.data import find_image_files, load_rgb  # noqa: E402
from trainer.map_sets import group_sets  # noqa: E402

QUALITY = 90


def pack(families: list[str], data: Path, out: Path) -> int:
    """Writes out/<family>/<path>.jpg for every image the trainer would read in each family (the
    same subfolders); returns the bytes written."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "manifest.json", out / "manifest.json")
    total = 0
    for family in families:
        images = find_image_files(data / family, warn=print)
        if not images:
            raise SystemExit(f"error: no images in {data / family} (fetch it: python scripts/fetch_textures.py {family})")
        for group in group_sets(images, warn=print):
            if group.colour is not None:
                target = (out / family / group.colour.relative_to(data / family)).with_suffix(".jpg")
                target.parent.mkdir(parents=True, exist_ok=True)
                # The trainer's own decoding (alpha dropped, 16-bit scaled), so the copy is what it would read.
                Image.fromarray(load_rgb(group.colour)).save(target, "JPEG", quality=QUALITY, subsampling=0)
                total += target.stat().st_size
            for path, _ in group.files.values():
                target = out / family / path.relative_to(data / family)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                total += target.stat().st_size
        print(f"{family}: {len(images)} images")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("families", nargs="+", help="folders of --data, e.g. bricks wood")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    total = pack(args.families, args.data, args.out)
    print(f"{total / 1e6:.1f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
