"""Bilinear upsampling as a (learnable) transposed convolution, as in the FCN paper.

With kernel ``2f``, stride ``f`` and padding ``f / 2`` a transposed convolution maps
``i`` pixels to ``(i - 1) f - 2 (f / 2) + 2f = f i`` pixels: exactly ``f`` times larger,
with no crop offsets. Initialised with :func:`bilinear_kernel` it equals bilinear
interpolation with ``align_corners=False`` (``F.interpolate(x, scale_factor=f,
mode="bilinear")``) away from a border of ``f / 2`` pixels, where the transposed
convolution sees zeros beyond the image instead of replicated edge pixels.

References
----------
.. [1] J. Long, E. Shelhamer and T. Darrell, "Fully Convolutional Networks for Semantic
       Segmentation", CVPR 2015, section 3.3 (upsampling is backwards strided
       convolution).
"""

from __future__ import annotations

import torch
from torch import nn

from classical._validate import check_int

__all__ = ["Upsample", "bilinear_kernel"]


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """The FCN bilinear filler: a transposed-convolution weight that interpolates.

    Channel ``c`` is upsampled from channel ``c`` only (the kernel is diagonal across
    channels); channels beyond ``min(in_channels, out_channels)`` get zero filters.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the transposed convolution (both >= 1).
    kernel_size : int
        Side of the square kernel (>= 1); ``2 * factor`` for an upsampling ``factor``.

    Returns
    -------
    weight : Tensor, shape (in_channels, out_channels, kernel_size, kernel_size)
        float32, in :class:`torch.nn.ConvTranspose2d` weight layout.

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If an argument is below 1.

    Examples
    --------
    >>> bilinear_kernel(1, 1, 4)[0, 0]
    tensor([[0.0625, 0.1875, 0.1875, 0.0625],
            [0.1875, 0.5625, 0.5625, 0.1875],
            [0.1875, 0.5625, 0.5625, 0.1875],
            [0.0625, 0.1875, 0.1875, 0.0625]])
    """
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    out_channels = check_int(out_channels, "out_channels", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    grid = torch.arange(kernel_size, dtype=torch.float64)
    profile = 1 - (grid - center).abs() / factor
    filt = (profile[:, None] * profile[None, :]).to(torch.float32)
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size)
    channels = torch.arange(min(in_channels, out_channels))
    weight[channels, channels] = filt
    return weight


class Upsample(nn.ConvTranspose2d):
    """Upsample by an even integer `factor` with a bilinear-initialised transposed conv.

    ``ConvTranspose2d(num_channels, num_channels, kernel_size=2 * factor, stride=factor,
    padding=factor // 2, bias=False)`` whose weight starts as :func:`bilinear_kernel`:
    (N, C, H, W) -> (N, C, factor * H, factor * W) for every H and W.

    Parameters
    ----------
    num_channels : int
        Channels in and out (>= 1); one filter per channel at initialisation.
    factor : int
        Upsampling factor, even and >= 2 (an odd factor has no integer padding giving an
        exact ``factor`` times larger output).
    learnable : bool, optional
        Whether the weight is trained (default, as FCN's ``upscore2`` layers). If
        ``False`` the weight is frozen (``requires_grad=False``): fixed bilinear
        interpolation, as FCN's final ``upscore8`` layer.

    Raises
    ------
    TypeError
        If `num_channels` or `factor` is not an integer.
    ValueError
        If `num_channels` < 1 or `factor` is not an even integer >= 2.

    Examples
    --------
    >>> up = Upsample(21, 8)
    >>> up(torch.zeros(1, 21, 5, 7)).shape
    torch.Size([1, 21, 40, 56])
    """

    def __init__(self, num_channels: int, factor: int, learnable: bool = True) -> None:
        num_channels = check_int(num_channels, "num_channels", minimum=1)
        factor = check_int(factor, "factor", minimum=2)
        if factor % 2:
            raise ValueError(
                f"factor must be an even integer >= 2 (kernel 2*factor, stride factor, "
                f"padding factor/2); got {factor}."
            )
        if not isinstance(learnable, bool):
            raise TypeError(f"learnable must be True or False; got {learnable!r}.")
        super().__init__(num_channels, num_channels, kernel_size=2 * factor, stride=factor,
                         padding=factor // 2, bias=False)
        self.factor = factor
        self.learnable = learnable
        self.weight.requires_grad_(learnable)

    def reset_parameters(self) -> None:
        """Fill the weight with :func:`bilinear_kernel` (called by the constructor)."""
        with torch.no_grad():
            self.weight.copy_(bilinear_kernel(self.in_channels, self.out_channels,
                                              self.kernel_size[0]))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, factor={self.factor}, learnable={self.learnable}"
