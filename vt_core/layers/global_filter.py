"""HorNet's global-local filter (Rao et al., NeurIPS 2022, the gnConv variant "GF"), built on GFNet's
global filter (Rao et al., NeurIPS 2021): half the channels through a 3×3 depthwise convolution, the
other half through a learnable filter in the 2-D Fourier domain."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm2d, register_notrace_module, trunc_normal_
from torch import nn


def spectrum_size(feat_size: tuple[int, int]) -> tuple[int, int]:
    """The shape of ``torch.fft.rfft2`` of an H×W map: (H, ⌊W/2⌋ + 1), e.g. 14×14 → 14×8, 7×7 → 7×4."""
    return (feat_size[0], feat_size[1] // 2 + 1)


def resize_filter(weight: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A (C, h, w, 2) filter (real and imaginary parts) resized to (C, *size, 2), bilinearly with
    aligned corners, as HorNet resizes it for another input size."""
    if tuple(weight.shape[1:3]) == tuple(size):
        return weight
    out = F.interpolate(weight.permute(3, 0, 1, 2), size=size, mode="bilinear", align_corners=True)
    return out.permute(1, 2, 3, 0)


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class GlobalFilter(nn.Module):
    """x → irfft2(rfft2(x) ⊙ K) per channel, both transforms orthonormal; K is a learnable complex
    filter of the map's rfft2 spectrum size, stored as (C, h, w, 2) real numbers.

    This is a circular convolution of each channel with its own H×W kernel k whose (unnormalised)
    rfft2 is K: the orthonormal factors 1/√(HW) and √(HW) cancel. A map of another size resizes K
    for that call; ``set_feat_size`` resizes the parameter itself. The transforms run in float32
    (cuFFT has no bfloat16), the result is cast back to the input's dtype.
    """

    def __init__(self, channels: int, *, feat_size: tuple[int, int]) -> None:
        super().__init__()
        h, w = spectrum_size(feat_size)
        self.complex_weight = nn.Parameter(torch.empty(channels, h, w, 2))
        trunc_normal_(self.complex_weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        spectrum = torch.fft.rfft2(x.float(), dim=(2, 3), norm="ortho")  # B, C, H, W/2+1, complex
        weight = resize_filter(self.complex_weight, spectrum_size((H, W)))
        spectrum = spectrum * torch.view_as_complex(weight.contiguous())
        return torch.fft.irfft2(spectrum, s=(H, W), dim=(2, 3), norm="ortho").to(x.dtype)

    def set_feat_size(self, feat_size: tuple[int, int]) -> None:
        with torch.no_grad():
            weight = resize_filter(self.complex_weight.data, spectrum_size(feat_size)).contiguous()
        self.complex_weight = nn.Parameter(weight)


class GlobalLocalFilter(nn.Module):
    """LayerNorm → first half of the channels through a 3×3 depthwise conv (no bias), second half
    through a ``GlobalFilter`` → the two halves interleaved channel by channel (local i at 2i, global
    i at 2i + 1, as the official code stacks them on a new axis) → LayerNorm. (B, C, H, W) in and out;
    both norms are channels-first LayerNorms. In gnConv it takes the place of the 7×7 depthwise conv."""

    def __init__(self, channels: int, *, feat_size: tuple[int, int], eps: float = 1e-6) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"GlobalLocalFilter: {channels} channels do not split in half")
        half = channels // 2
        self.pre_norm = LayerNorm2d(channels, eps=eps)
        self.dw = nn.Conv2d(half, half, kernel_size=3, padding=1, groups=half, bias=False)
        self.global_filter = GlobalFilter(half, feat_size=feat_size)
        self.post_norm = LayerNorm2d(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local, glob = self.pre_norm(x).chunk(2, dim=1)
        x = torch.stack([self.dw(local), self.global_filter(glob)], dim=2)  # B, C/2, 2, H, W
        return self.post_norm(x.flatten(1, 2))

    def set_feat_size(self, feat_size: tuple[int, int]) -> None:
        self.global_filter.set_feat_size(feat_size)
