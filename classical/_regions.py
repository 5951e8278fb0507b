"""Vectorised label-image utilities: adjacency, connectivity, small-region absorption."""

from __future__ import annotations

import numpy as np

from classical._validate import check_connectivity, check_int, check_labels

__all__ = ["adjacent_pairs", "merge_small_regions", "relabel_connected"]


def _neighbour_slices(connectivity: int):
    # Each undirected neighbour relation once: right, down, and for 8 the two diagonals.
    offsets = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if connectivity == 8 else [])
    for dy, dx in offsets:
        a = (slice(0, -dy or None), slice(max(-dx, 0), -dx if dx > 0 else None))
        b = (slice(dy, None), slice(max(dx, 0), dx if dx < 0 else None))
        yield a, b


def adjacent_pairs(labels: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of adjacent labels and the number of pixel contacts between them.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Labels 0..n-1.
    connectivity : {4, 8}, optional

    Returns
    -------
    pairs : ndarray of int64, shape (P, 2)
        Each adjacent pair once, ``pairs[:, 0] < pairs[:, 1]``, sorted.
    contacts : ndarray of int64, shape (P,)
        Number of neighbouring pixel pairs across each boundary.
    """
    labels = check_labels(labels)
    connectivity = check_connectivity(connectivity)
    n = int(labels.max()) + 1
    chunks = []
    for a, b in _neighbour_slices(connectivity):
        la, lb = labels[a].ravel(), labels[b].ravel()
        differ = la != lb
        la, lb = la[differ], lb[differ]
        chunks.append(np.minimum(la, lb).astype(np.int64) * n + np.maximum(la, lb))
    keys = np.concatenate(chunks) if chunks else np.empty(0, np.int64)
    keys, contacts = np.unique(keys, return_counts=True)
    return np.stack([keys // n, keys % n], axis=1), contacts


def relabel_connected(labels: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Split every label into its connected components; number them 0..n-1.

    Components are numbered in raster order of their first pixel, so two equal
    partitions give equal label images whatever their original label ids.
    """
    from skimage.measure import label

    labels = check_labels(labels)
    connectivity = check_connectivity(connectivity)
    # background=-1 is below every label after shifting, so no value is treated as
    # background and label 0 stays an ordinary region.
    shifted = labels.astype(np.int64) - int(labels.min())
    out = label(shifted, background=-1, connectivity=1 if connectivity == 4 else 2)
    return (out - 1).astype(np.int32)


def merge_small_regions(labels: np.ndarray, min_size: int, *, connectivity: int = 8,
                        features: np.ndarray | None = None) -> np.ndarray:
    """Absorb regions smaller than `min_size` pixels into a neighbouring region.

    Each small region joins the neighbour with the closest mean feature vector when
    `features` is given, else the neighbour it shares the longest boundary with.
    Rounds repeat until no region is small (or nothing can merge, e.g. one region).

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        A partition with connected regions.
    min_size : int
        Minimum region area in pixels; 0 or 1 disables merging.
    connectivity : {4, 8}, optional
    features : ndarray, shape (H, W) or (H, W, C), optional
        Per-pixel features for the similarity choice.

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        Connected regions numbered 0..n-1.
    """
    min_size = check_int(min_size, "min_size", minimum=0)
    labels = relabel_connected(labels, connectivity)
    if features is not None:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim == 2:
            features = features[..., None]
        check_labels(labels, "labels", shape=features.shape, shape_name="features")
    while True:
        n = int(labels.max()) + 1
        sizes = np.bincount(labels.ravel(), minlength=n)
        small = sizes < min_size
        if n == 1 or not small.any():
            return labels
        pairs, contacts = adjacent_pairs(labels, connectivity)
        # Score every (small region -> neighbour) option; lower is better.
        src = np.concatenate([pairs[:, 0], pairs[:, 1]])
        dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
        if features is not None:
            flat = features.reshape(-1, features.shape[-1])
            sums = np.stack([np.bincount(labels.ravel(), flat[:, c], minlength=n)
                             for c in range(flat.shape[1])], axis=1)
            means = sums / sizes[:, None]
            score = np.linalg.norm(means[src] - means[dst], axis=1)
        else:
            score = -np.concatenate([contacts, contacts]).astype(np.float64)
        keep = small[src]
        src, dst, score = src[keep], dst[keep], score[keep]
        # Best neighbour per small region: sort by (src, score) and take the first.
        order = np.lexsort((score, src))
        src, dst = src[order], dst[order]
        first = np.r_[True, src[1:] != src[:-1]]
        target = np.arange(n)
        target[src[first]] = dst[first]
        # Resolve chains (a->b->c) and mutual pairs (a<->b) with a graph's components.
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(n), (np.arange(n), target)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        labels = relabel_connected(comp[labels].astype(np.int32), connectivity)
