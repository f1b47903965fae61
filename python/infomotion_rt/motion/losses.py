"""Training loss of the IFA model and the PSNR used to judge it.

loss = MSE(refined, target) + lap_weight * LapL1(pred, target)  (lap_weight = 0.5, ours; docs/method.md)
LapL1 is the L1 distance between Laplacian pyramids (Bojanowski et al. 2018): each level is the image minus
the upsampled blur of its half-size version; levels are weighted equally and the coarsest (low-pass) level
is included, so the loss sees both edges and overall brightness.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels (finest first) plus the low-pass residual; stops early on tiny images."""
    out = []
    cur = x
    for _ in range(levels - 1):
        if min(cur.shape[-2:]) < 6:   # reflect padding needs > 2 pixels; tiny test images stop here
            break
        low = _blur(cur)[..., ::2, ::2]
        up = F.interpolate(low, size=cur.shape[-2:], mode="bilinear", align_corners=False)
        out.append(cur - up)
        cur = low
    out.append(cur)
    return out


def laplacian_l1(pred: torch.Tensor, target: torch.Tensor, levels: int = 5) -> torch.Tensor:
    pa, pb = laplacian_pyramid(pred, levels), laplacian_pyramid(target, levels)
    return sum(F.l1_loss(a, b) for a, b in zip(pa, pb)) / len(pa)


def ifa_loss(out: dict[str, torch.Tensor], target: torch.Tensor, lap_weight: float = 0.5) -> torch.Tensor:
    return F.mse_loss(out["refined"], target) + lap_weight * laplacian_l1(out["pred"], target)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for images in [0, 1] (pred is clamped to [0, 1] first); shape (B,)."""
    mse = ((pred.clamp(0.0, 1.0) - target) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))
