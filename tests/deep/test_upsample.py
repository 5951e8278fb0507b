"""Tests for deep.upsample: the bilinear filler and the exact-size transposed conv."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from deep.upsample import Upsample, bilinear_kernel


def test_bilinear_kernel_values_for_factor_2():
    weight = bilinear_kernel(1, 1, 4)
    profile = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(weight[0, 0], profile[:, None] * profile[None, :])


def test_bilinear_kernel_odd_size_peaks_at_centre():
    weight = bilinear_kernel(1, 1, 3)[0, 0]
    profile = torch.tensor([0.5, 1.0, 0.5])
    torch.testing.assert_close(weight, profile[:, None] * profile[None, :])


@pytest.mark.parametrize(("in_channels", "out_channels"), [(3, 3), (2, 4), (4, 2)])
def test_bilinear_kernel_is_diagonal_across_channels(in_channels, out_channels):
    weight = bilinear_kernel(in_channels, out_channels, 8)
    assert weight.shape == (in_channels, out_channels, 8, 8)
    assert weight.dtype == torch.float32
    for i in range(in_channels):
        for o in range(out_channels):
            if i == o:
                torch.testing.assert_close(weight[i, o], bilinear_kernel(1, 1, 8)[0, 0])
            else:
                assert not weight[i, o].any()


@pytest.mark.parametrize(("args", "error", "match"), [
    ((0, 1, 4), ValueError, "in_channels must be >= 1; got 0"),
    ((1, 1, 0), ValueError, "kernel_size must be >= 1; got 0"),
    ((1, 2.0, 4), TypeError, "out_channels must be an integer"),
])
def test_bilinear_kernel_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        bilinear_kernel(*args)


@pytest.mark.parametrize("factor", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("size", [1, 3, 7])
def test_output_is_exactly_factor_times_larger(factor, size):
    up = Upsample(2, factor)
    kernel, stride, padding = up.kernel_size[0], up.stride[0], up.padding[0]
    assert (kernel, stride, padding) == (2 * factor, factor, factor // 2)
    expected = (size - 1) * stride - 2 * padding + kernel
    assert expected == factor * size
    assert up(torch.zeros(1, 2, size, size + 1)).shape == (1, 2, expected, factor * (size + 1))


@settings(max_examples=25, deadline=None)
@given(factor=st.sampled_from([2, 4, 6, 8]), height=st.integers(1, 9), width=st.integers(1, 9))
def test_output_size_property(factor, height, width):
    out = Upsample(1, factor)(torch.zeros(1, 1, height, width))
    assert out.shape[-2:] == (factor * height, factor * width)


@pytest.mark.parametrize("factor", [2, 8, 16, 32])
def test_bilinear_init_matches_interpolate_in_the_interior(factor):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 5, 6, generator=generator)
    with torch.no_grad():
        ours = Upsample(3, factor)(x)
    reference = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert ours.shape == reference.shape
    # Within factor/2 of the border the transposed conv sees zeros where interpolate
    # replicates the edge pixel; a margin of `factor` pixels is safely inside.
    inner = (..., slice(factor, -factor), slice(factor, -factor))
    torch.testing.assert_close(ours[inner], reference[inner], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(ours[..., 0, 0], reference[..., 0, 0])


def test_learnable_flag_controls_gradients():
    x = torch.randn(1, 2, 3, 3)
    learnable, frozen = Upsample(2, 4), Upsample(2, 4, learnable=False)
    assert learnable.weight.requires_grad and not frozen.weight.requires_grad
    assert learnable.bias is None
    learnable(x).sum().backward()
    assert learnable.weight.grad is not None and learnable.weight.grad.abs().sum() > 0
    y = frozen(x.requires_grad_())
    y.sum().backward()
    assert frozen.weight.grad is None and x.grad is not None
    torch.testing.assert_close(frozen.weight, bilinear_kernel(2, 2, 8))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"num_channels": 2, "factor": 3}, ValueError,
     r"factor must be an even integer >= 2 \(.*\); got 3"),
    ({"num_channels": 2, "factor": 1}, ValueError, "factor must be >= 2; got 1"),
    ({"num_channels": 0, "factor": 2}, ValueError, "num_channels must be >= 1; got 0"),
    ({"num_channels": 2, "factor": 2.0}, TypeError, "factor must be an integer"),
    ({"num_channels": 2, "factor": 2, "learnable": "yes"}, TypeError, "learnable must be"),
])
def test_upsample_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Upsample(**kwargs)
