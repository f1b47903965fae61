"""The ultrasound sector of a cine loop: where the image changes over time.

Echo cine loops hold the image (a fan-shaped sector) on a static background that carries burned-in
annotations: patient name, date, institution, depth scale, settings. Those pixels do not change from
frame to frame, the sector's speckle does. So the sector is found as the convex hull of the largest
connected region whose temporal standard deviation exceeds a few grey levels (ours). A fan of
opening angle below 180 degrees is convex, so the hull restores the dark blood pools and the apex
that a threshold alone leaves out.

Limits (also stated in docs/data-formats.md): anything inside that hull stays (text burned
into the sector, a moving ECG trace or frame counter touching it); a loop that does not change
(a still image repeated) has no sector and ``sector_mask`` returns None.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_STD = 2.0          # grey levels of temporal std that count as "changing" (ours; speckle gives >> 2)
MIN_AREA = 0.02        # the sector covers at least 2% of the frame, else "no sector" (ours)
SAMPLE_FRAMES = 16     # frames, evenly spaced, that decide the mask (same mask whatever frames are read)


def sample_indices(n_frames: int, k: int = SAMPLE_FRAMES) -> list[int]:
    """Up to ``k`` evenly spaced frame indices of a loop of ``n_frames`` (first and last included)."""
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(k, n_frames))})


def sector_mask(frames: np.ndarray, step: int = 1) -> np.ndarray | None:
    """Sector of a loop: ``frames`` (T, H, W) uint8, T >= 2 -> (H, W) bool mask, or None when no
    region of at least ``MIN_AREA`` of the frame changes over time. Deterministic.

    ``step`` > 1 finds the region on every step-th pixel (large frames: 16x less work at 4) and
    scales the hull back; its points are real sector pixels, so the mask can only shrink (by < step
    pixels), never reach outside the sector."""
    if frames.ndim != 3 or len(frames) < 2:
        return None
    std = frames[:, ::step, ::step].astype(np.float32).std(axis=0)
    active = (std > MIN_STD).astype(np.uint8)
    # Opening drops isolated flickering pixels (compression noise) before the largest region is taken.
    active = cv2.morphologyEx(active, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(active, connectivity=8)
    if n <= 1:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] < MIN_AREA * active.size:
        return None
    hull = cv2.convexHull(cv2.findNonZero((labels == biggest).astype(np.uint8))) * step
    mask = np.zeros(frames.shape[1:], np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1), end-exclusive, of the True pixels of a non-empty 2-D mask."""
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def square_resize(frames: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (T, H, W) frames and their (H, W) mask to a centred square with black, resize to
    ``size`` x ``size`` (bicubic, as EchoNet-Dynamic's DICOM-to-AVI conversion; area when shrinking
    by more than 2x, which avoids aliasing) and black out everything outside the resized mask, so the
    outside is exactly 0 after interpolation. Returns ((T, size, size) uint8, (size, size) bool)."""
    t, h, w = frames.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    padded = np.zeros((t, side, side), np.uint8)
    padded[:, top:top + h, left:left + w] = frames * mask[None]
    square_mask = np.zeros((side, side), np.uint8)
    square_mask[top:top + h, left:left + w] = mask
    interp = cv2.INTER_AREA if side > 2 * size else cv2.INTER_CUBIC
    small_mask = cv2.resize(square_mask, (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
    out = np.empty((t, size, size), np.uint8)
    for i, frame in enumerate(padded):
        out[i] = cv2.resize(frame, (size, size), interpolation=interp)
    out[:, ~small_mask] = 0
    return out, small_mask


def black_outside(frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of (T, H, W) frames with every pixel outside the (H, W) mask set to 0."""
    out = frames.copy()
    out[:, ~mask] = 0
    return out
