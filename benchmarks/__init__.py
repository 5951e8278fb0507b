"""Datasets, metrics, the benchmark harness and its reports.

``benchmarks`` may import :mod:`classical` and :mod:`deep`; it imports :mod:`deep`
(and so torch) only when a deep model is actually used.
"""

from benchmarks._version import __version__

__all__ = ["__version__"]
