"""Normal maps in training: decoding stored maps to OpenGL tangent space, and moving normal
vectors with the image when a crop is flipped or turned.

Conventions (the same as blender_ganart.core.model_maps and derived_maps): image x runs right
(columns), image y runs up (towards row 0), z out of the surface; a normal is stored as
(n·0.5 + 0.5)·255 in 8 bits. DirectX maps store −y; flipping G (255 − g) turns one into the other,
exactly, since (255 − g)/127.5 − 1 = −(g/127.5 − 1).

Moving a patch moves its surface, so its normals move with it (checked against normals computed
analytically from a rotated and flipped height field in tests/test_trainer_map_sets.py):
- mirror left–right (columns reversed): x → −x, so n_x → −n_x;
- mirror top–bottom (rows reversed): y → −y, so n_y → −n_y;
- np.rot90(patch, 1) turns the picture 90° counter-clockwise as shown: a vector (x, y) becomes
  (−y, x), so (n_x, n_y) → (−n_y, n_x); k turns repeat that k times.
"""

from __future__ import annotations

import numpy as np


def encode_unit(vectors: np.ndarray) -> np.ndarray:
    """(H, W, 3) float vectors → unit length → uint8 n·0.5+0.5 (a zero vector → straight up)."""
    n = np.asarray(vectors, dtype=np.float64)
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(length > 1e-6, n / np.maximum(length, 1e-6), np.array([0.0, 0.0, 1.0]))
    return np.round((n * 0.5 + 0.5) * 255).clip(0, 255).astype(np.uint8)


def decode(encoded: np.ndarray) -> np.ndarray:
    """uint8 (…, 3) → float vectors in [−1, 1] (not renormalised)."""
    return np.asarray(encoded, dtype=np.float64)[..., :3] / 127.5 - 1.0


def detect_from_height(rgb: np.ndarray, height: np.ndarray) -> tuple[str, bool, float]:
    """How a game normal map relates to the height stored in its alpha: (y convention "gl" or
    "dx", whether the alpha is depth rather than height, agreement 0–1).

    The normal of a surface h points against its slope: n_x ∝ −∂h/∂x, and with y up n_y ∝ +∂h/∂row
    (OpenGL); DirectX stores the opposite y. So the correlation of R with −∂h/∂x says whether
    the alpha is height (+) or depth (−), and that of G with ∂h/∂row, after the same sign, says
    the convention. Agreement is the smaller of the two |correlations| (under 0.3: the alpha is
    no height of this normal map). Measured on ufoai-textures (scripts/normal_map_report.py's
    note in the README): most of its `_nm` maps are DirectX with height in alpha.
    """
    h = height.astype(np.float64)
    n = decode(rgb)
    d_col = np.roll(h, -1, axis=1) - np.roll(h, 1, axis=1)
    d_row = np.roll(h, -1, axis=0) - np.roll(h, 1, axis=0)
    r, g = _correlation(n[..., 0], -d_col), _correlation(n[..., 1], d_row)
    depth = r < 0
    if depth:
        g = -g
    return ("gl" if g >= 0 else "dx"), bool(depth), float(min(abs(r), abs(g)))


INTEGRABLE = 0.15  # fit_surface residual under which a normal map is taken as one surface's


def fit_surface(vectors: np.ndarray, convention: str) -> tuple[np.ndarray, float]:
    """The periodic height whose slopes best explain these normals, read in `convention` ("gl" or
    "dx"): (height (H, W) in pixel widths with mean 0, residual 0–1).

    Slopes from normals (∂h/∂x = −n_x/n_z, ∂h/∂row = +n_y/n_z in OpenGL) are integrated by least
    squares in the Fourier domain (Frankot–Chellappa), which assumes the image wraps around: right
    for tileable textures. The residual is the fraction of the slopes' energy that no surface has
    (their curl): a map read in its own convention leaves almost none (ufoai's maps: ≤ 0.01 for
    most), read in the other one it leaves about half, since flipping y turns ∂²h/∂x∂y into
    curl. It is 1.0 when the map has no slopes to explain (a flat or a constantly tilted one).
    """
    n = np.asarray(vectors, dtype=np.float64)
    height, width = n.shape[:2]
    nz = np.maximum(n[..., 2], 0.1)  # grazing normals would give unbounded slopes
    # Real FFTs: half the spectrum (and half the memory on a large map); the columns that stand for
    # a conjugate pair count twice in the energies.
    dx = np.fft.rfft2(-n[..., 0] / nz)
    drow = np.fft.rfft2((n[..., 1] if convention == "gl" else -n[..., 1]) / nz)
    del n, nz
    w_row = 2 * np.pi * np.fft.fftfreq(height)[:, None]
    w_col = 2 * np.pi * np.fft.rfftfreq(width)[None, :]
    w2 = w_col**2 + w_row**2
    w2[0, 0] = 1.0
    along = (w_col * dx + w_row * drow) / w2  # the slopes' component along the frequency: the integrable part
    pairs = np.full(w_col.shape, 2.0)
    pairs[0, 0] = 1.0
    if width % 2 == 0:
        pairs[0, -1] = 1.0
    total = (np.abs(dx) ** 2 + np.abs(drow) ** 2) * pairs
    curl = (np.abs(dx - w_col * along) ** 2 + np.abs(drow - w_row * along) ** 2) * pairs
    total[0, 0] = curl[0, 0] = 0.0  # a constant slope is no periodic surface's
    energy = total.sum()
    residual = float(curl.sum() / energy) if energy > 1e-9 * height * width else 1.0
    along *= -1j
    along[0, 0] = 0.0
    return np.fft.irfft2(along, s=(height, width)), residual


def height_as_uint8(height: np.ndarray) -> np.ndarray:
    """(H, W) height of any scale → (H, W, 1) uint8 spanning 0–255 between its 0.5th and 99.5th
    percentiles, the range a height map's file would use."""
    low, high = np.percentile(height, [0.5, 99.5])
    scaled = (height - low) / max(high - low, 1e-12)
    return np.round(scaled.clip(0.0, 1.0) * 255).astype(np.uint8)[:, :, None]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else 0.0


def orient(patch: np.ndarray, hflip: bool, vflip: bool, turns: int, normal: slice | None) -> np.ndarray:
    """A (H, W, C) uint8 patch mirrored and turned (np.rot90 `turns` times, after the flips),
    with the normal channels' vectors moved with it. Colour-only patches (normal None) are only
    rearranged, exactly as before maps existed."""
    if hflip:
        patch = patch[:, ::-1]
    if vflip:
        patch = patch[::-1]
    if turns:
        patch = np.rot90(patch, turns)
    if normal is None or not (hflip or vflip or turns % 4):
        return patch
    patch = np.array(patch)  # a writable copy
    x, y = normal.start, normal.start + 1
    if hflip:
        patch[..., x] = 255 - patch[..., x]
    if vflip:
        patch[..., y] = 255 - patch[..., y]
    for _ in range(turns % 4):  # (n_x, n_y) → (−n_y, n_x)
        patch[..., [x, y]] = np.stack([255 - patch[..., y], patch[..., x]], axis=-1)
    return patch


def unit_normals_torch(batch, normal: slice | None):
    """A generator's (N, C, H, W) batch in [−1, 1] with its normal channels made what the add-on
    makes of them (blender_ganart.core.model_maps.unit_normals): z below 0 taken as 0, then unit
    length. The discriminator then judges the normals an artist gets, and cannot tell real from
    fake by length alone (a tanh output is rarely a unit vector; the real maps always are)."""
    import torch

    if normal is None:
        return batch
    n = batch[:, normal]
    n = torch.cat([n[:, :2], n[:, 2:3].clamp(min=0.0)], dim=1)
    n = n * torch.rsqrt((n * n).sum(dim=1, keepdim=True) + 1e-8)
    return torch.cat([batch[:, : normal.start], n, batch[:, normal.stop :]], dim=1)
