"""Tests for deep.losses.lovasz_softmax and the Lovász term of SegmentationLoss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import jaccard_score

from deep.losses import lovasz_softmax
from deep.train import SegmentationLoss, TrainConfig

C = 4


def _one_hot(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, C).permute(0, 3, 1, 2).double()


def test_equals_one_minus_iou_on_hard_predictions():
    # the Lovász extension agrees with the set function on indicator vectors: on
    # one-hot predictions the loss of a class is exactly its Jaccard loss 1 - IoU
    rng = np.random.default_rng(0)
    truth = torch.from_numpy(rng.integers(0, C, (2, 9, 11)))
    predicted = torch.from_numpy(rng.integers(0, C, (2, 9, 11)))
    truth[0, :2] = 255  # void pixels are left out
    per_class = lovasz_softmax(_one_hot(predicted), truth, per_class=True)
    keep = (truth != 255).numpy().ravel()
    iou = jaccard_score(truth.numpy().ravel()[keep], predicted.numpy().ravel()[keep],
                        average=None, labels=list(range(C)))
    np.testing.assert_allclose(per_class.numpy(), 1 - iou, rtol=1e-12)
    assert float(lovasz_softmax(_one_hot(predicted), truth)) == pytest.approx(1 - iou.mean())


def _jaccard_loss(errors: set[int], positives: set[int]) -> float:
    return len(errors) / len(positives | errors) if errors else 0.0


def test_soft_errors_match_the_integral_form_of_the_lovasz_extension():
    # f(m) = integral over t of Delta({i : m_i >= t}): an independent formula for the
    # extension (piecewise constant in t between the sorted errors)
    rng = np.random.default_rng(1)
    truth = torch.from_numpy(rng.integers(0, 3, (1, 4, 6)))
    truth[0, 0, 0] = 255
    logits = torch.from_numpy(rng.normal(size=(1, 3, 4, 6)))
    probabilities = logits.softmax(1)
    got = lovasz_softmax(probabilities, truth, per_class=True).numpy()
    labels = truth.numpy().ravel()
    flat = probabilities.numpy().reshape(3, -1)
    keep = labels != 255
    for c in range(3):
        positives = set(np.flatnonzero(labels[keep] == c))
        errors = np.abs((labels[keep] == c) - flat[c, keep])
        total, previous = 0.0, 0.0
        for t in np.sort(np.unique(errors)):
            total += (t - previous) * _jaccard_loss(set(np.flatnonzero(errors >= t)), positives)
            previous = t
        assert got[c] == pytest.approx(total, rel=1e-10)


def test_only_classes_present_in_the_truth_count():
    truth = torch.zeros(1, 2, 3, dtype=torch.int64)
    predicted = torch.tensor([[[0, 0, 1], [0, 0, 0]]])
    per_class = lovasz_softmax(_one_hot(predicted), truth, per_class=True)
    assert per_class[0] == pytest.approx(1 / 6) and torch.isnan(per_class[1:]).all()
    assert float(lovasz_softmax(_one_hot(predicted), truth)) == pytest.approx(1 / 6)


def test_all_void_gives_zero_with_a_graph_and_errors():
    probabilities = torch.rand(1, C, 3, 3, requires_grad=True)
    loss = lovasz_softmax(probabilities, torch.full((1, 3, 3), 255))
    assert float(loss.detach()) == 0.0 and loss.requires_grad
    with pytest.raises(ValueError, match=r"mask labels must be in \[0, 4\) or 255"):
        lovasz_softmax(probabilities, torch.full((1, 3, 3), 7))
    with pytest.raises(ValueError, match="same N, H, W"):
        lovasz_softmax(probabilities, torch.zeros(1, 3, 4, dtype=torch.int64))


def test_segmentation_loss_adds_the_weighted_term_and_it_has_gradients():
    torch.manual_seed(0)
    logits = torch.randn(2, C, 8, 8, requires_grad=True)
    mask = torch.randint(0, C, (2, 8, 8))
    mask[0, 0] = 255
    plain = SegmentationLoss()(logits, mask)
    both = SegmentationLoss(lovasz_weight=0.5, lovasz_stride=1)(logits, mask)
    expected = plain + 0.5 * lovasz_softmax(logits.softmax(1), mask)
    torch.testing.assert_close(both, expected)
    strided = SegmentationLoss(lovasz_weight=0.5)(logits, mask)  # every 2nd pixel
    expected = plain + 0.5 * lovasz_softmax(logits[..., ::2, ::2].softmax(1), mask[..., ::2, ::2])
    torch.testing.assert_close(strided, expected)
    both.backward()
    assert logits.grad.abs().sum() > 0
    # a step along the negative gradient of the Lovász term lowers it
    term = lambda x: lovasz_softmax(x.softmax(1), mask)  # noqa: E731
    start = logits.detach().clone().requires_grad_(True)
    term(start).backward()
    assert float(term(start.detach() - 0.5 * start.grad)) < float(term(start.detach()))
    with pytest.raises(ValueError, match="lovasz_weight must be >= 0"):
        SegmentationLoss(lovasz_weight=-1.0)
    with pytest.raises(ValueError, match="lovasz_stride must be >= 1"):
        SegmentationLoss(lovasz_stride=0)
    with pytest.raises(ValueError, match="lovasz_weight must be >= 0"):
        TrainConfig(lovasz_weight=-0.1)
