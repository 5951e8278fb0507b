"""The one interface the harness sees: a named method with frozen parameters.

A segmenter is anything with a ``name`` and ``__call__(image) -> labels``. Classical
methods, scikit-image baselines and (later) trained FCNs all fit it, so the benchmark
treats them alike. :class:`Segmenter` adapts a plain function and its frozen params
dataclass to that interface and adds parameter sweeps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Segmenter"]


@dataclass(frozen=True)
class Segmenter:
    """A segmentation method bound to its parameters.

    Parameters
    ----------
    name : str
        Method name as shown in reports (e.g. ``"felzenszwalb"``).
    function : callable
        ``function(image, params) -> labels`` with labels int32 (H, W), 0..n-1.
    params : dataclass instance
        Frozen parameters; every knob explicit with a default.
    sweep_param : str, optional
        The parameter a default sweep varies (for ODS/OIS over a method's range).
    sweep_values : tuple, optional
        Default sweep values, ordered from fine (many regions) to coarse (few).

    Examples
    --------
    >>> from classical.baselines import get_baseline
    >>> slic = get_baseline("slic", n_segments=50)
    >>> slic.name, slic.params.n_segments
    ('slic', 50)
    """

    name: str
    function: Callable[[np.ndarray, Any], np.ndarray]
    params: Any
    sweep_param: str | None = None
    sweep_values: tuple = ()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.function(image, self.params)

    def with_params(self, **changes) -> "Segmenter":
        """A copy with some parameters replaced; unknown names raise ``ValueError``."""
        valid = {f.name for f in dataclasses.fields(self.params)}
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise ValueError(
                f"{self.name} has no parameter {', '.join(map(repr, unknown))}; "
                f"valid parameters: {', '.join(sorted(valid))}."
            )
        return dataclasses.replace(self, params=dataclasses.replace(self.params, **changes))

    def sweep(self, image: np.ndarray, values: Sequence | None = None,
              param: str | None = None) -> list[np.ndarray]:
        """Segment `image` once per value of one parameter, fine to coarse.

        The generic sweep runs the method independently per value; methods that can
        reuse work (split-and-merge reads every value off one merge history) override
        this.

        Parameters
        ----------
        image : ndarray, shape (H, W) or (H, W, 3)
        values : sequence, optional
            Defaults to :attr:`sweep_values`.
        param : str, optional
            Defaults to :attr:`sweep_param`.

        Returns
        -------
        list of ndarray of int32, shape (H, W)
        """
        param = param or self.sweep_param
        values = self.sweep_values if values is None else tuple(values)
        if param is None or not values:
            raise ValueError(f"{self.name} has no default sweep; pass param= and values=.")
        return [self.with_params(**{param: v})(image) for v in values]

    def describe(self) -> str:
        """``name(k=v, ...)`` for report tables."""
        items = ", ".join(f"{f.name}={getattr(self.params, f.name)!r}"
                          for f in dataclasses.fields(self.params))
        return f"{self.name}({items})"
