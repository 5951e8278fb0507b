"""One registry of every classical segmenter: segbench's own methods and the baselines.

The harness, ``segbench segment`` and ``segbench run`` look methods up here, so a
method added once is available everywhere under the same name.
"""

from __future__ import annotations

import difflib
from typing import Callable

from classical.baselines import BASELINES, get_baseline
from classical.segmenter import Segmenter

__all__ = ["METHODS", "OWN_METHODS", "get_segmenter"]


def _region_growing(**params) -> Segmenter:
    from classical.region_growing import region_growing_segmenter

    return region_growing_segmenter(**params)


def _split_merge(**params) -> Segmenter:
    from classical.split_merge import split_merge_segmenter

    return split_merge_segmenter(**params)


def _kmeans(**params) -> Segmenter:
    from classical.kmeans import kmeans_segmenter

    return kmeans_segmenter(**params)


#: segbench's predicate-driven methods, name -> factory(**params) -> Segmenter.
OWN_METHODS: dict[str, Callable[..., Segmenter]] = {
    "region_growing": _region_growing,
    "split_merge": _split_merge,
    "kmeans": _kmeans,
}

#: Every classical method: segbench's own first, then the scikit-image/OpenCV baselines.
METHODS: dict[str, Callable[..., Segmenter]] = {
    **OWN_METHODS,
    **{name: (lambda name=name, **params: get_baseline(name, **params)) for name in BASELINES},
}


def get_segmenter(name: str, **params) -> Segmenter:
    """The classical method `name` as a :class:`Segmenter`, with parameter overrides.

    Raises
    ------
    ValueError
        For an unknown method (the message lists the valid names) or parameter.

    Examples
    --------
    >>> get_segmenter("split_merge").name
    'split_merge'
    """
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}.{hint}")
    return METHODS[name](**params)
