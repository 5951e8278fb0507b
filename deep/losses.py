"""Loss terms beyond cross-entropy: the Lovász-softmax surrogate of the Jaccard index.

Cross-entropy scores every pixel alike, so a class of few, thin pixels (CamVid's poles
and signs) can stay at a low IoU while the loss is already small. The Lovász-softmax
loss is the convex (Lovász) extension of the per-class Jaccard loss ``1 - IoU``
evaluated on the softmax errors: on one-hot predictions it *equals* ``1 - IoU``,
so it optimises the score that mIoU reports. It is usually added to cross-entropy
(:class:`deep.train.SegmentationLoss` with ``lovasz_weight``).

References
----------
.. [1] M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A
   tractable surrogate for the optimization of the intersection-over-union measure
   in neural networks", CVPR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from classical._validate import IGNORE_INDEX, check_int

__all__ = ["lovasz_softmax"]


def lovasz_softmax(probabilities: torch.Tensor, mask: torch.Tensor, *,
                   ignore_index: int = IGNORE_INDEX, per_class: bool = False) -> torch.Tensor:
    """Lovász-softmax loss over all non-void pixels of a batch [1]_.

    For each class ``c`` present in `mask`, the pixels' errors ``|1[y = c] - p_c|`` are
    sorted in decreasing order and weighted by the increments of the Jaccard loss
    along that order; the result is averaged over the present classes (the "present"
    variant of [1]_, computed over the whole batch as one image set, like mIoU).

    Parameters
    ----------
    probabilities : Tensor of float, shape (N, C, H, W)
        Softmax probabilities (not logits).
    mask : Tensor of int64, shape (N, H, W)
        Class labels in ``[0, C)`` or `ignore_index`.
    ignore_index : int, optional
        Void label, left out (default 255).
    per_class : bool, optional
        Return the ``(C,)`` per-class losses (NaN for absent classes) instead of their
        mean.

    Returns
    -------
    loss : Tensor
        A scalar (zero with a gradient graph when every pixel is void), or ``(C,)``.

    Raises
    ------
    ValueError
        If the shapes disagree or a label is neither a class nor `ignore_index`.

    References
    ----------
    .. [1] M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss",
       CVPR 2018.

    Examples
    --------
    >>> mask = torch.tensor([[[0, 0, 1, 1]]])
    >>> hard = F.one_hot(torch.tensor([[[0, 1, 1, 1]]]), 2).permute(0, 3, 1, 2).float()
    >>> lovasz_softmax(hard, mask, per_class=True)   # 1 - IoU: 1 - 1/2, 1 - 2/3
    tensor([0.5000, 0.3333])
    """
    ignore_index = check_int(ignore_index, "ignore_index")
    if probabilities.ndim != 4 or mask.shape != (probabilities.shape[0],
                                                   *probabilities.shape[2:]):
        raise ValueError(f"probabilities must be (N, C, H, W) and mask (N, H, W) with the "
                         f"same N, H, W; got {tuple(probabilities.shape)} and "
                         f"{tuple(mask.shape)}.")
    num_classes = probabilities.shape[1]
    labels = mask.reshape(-1)
    flat = probabilities.permute(1, 0, 2, 3).reshape(num_classes, -1)
    valid = labels != ignore_index
    labels, flat = labels[valid], flat[:, valid]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"mask labels must be in [0, {num_classes}) or {ignore_index}; got "
                         f"values in [{int(labels.min())}, {int(labels.max())}].")
    if not labels.numel():
        zero = probabilities.sum() * 0.0
        if per_class:
            return torch.full((num_classes,), float("nan"), device=probabilities.device)
        return zero
    truth = F.one_hot(labels, num_classes).T.to(flat.dtype)          # (C, P)
    errors = (truth - flat).abs()
    errors, order = errors.sort(dim=1, descending=True)
    truth = truth.gather(1, order)
    # Jaccard loss of the first k pixels in error order, and its increments (the
    # gradient of the Lovász extension); no gradient flows through the ordering.
    positives = truth.sum(1, keepdim=True)
    intersection = positives - truth.cumsum(1)
    union = positives + (1.0 - truth).cumsum(1)
    jaccard = 1.0 - intersection / union
    jaccard = torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], dim=1)
    losses = (errors * jaccard).sum(1)
    present = positives[:, 0] > 0
    if per_class:
        return torch.where(present, losses, torch.full_like(losses, float("nan")))
    return losses[present].mean()
