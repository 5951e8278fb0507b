"""Process-wide runtime settings: thread counts and device, set once by the CLI."""

from __future__ import annotations

import os
import sys

__all__ = ["set_threads", "check_device"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def set_threads(n: int) -> None:
    """Limit every compute library in this process (and its child workers) to `n` threads.

    Fair timings need the same thread budget for every method: BLAS/OpenMP pools through
    threadpoolctl, OpenCV, Numba and torch (when loaded), and environment variables so
    that worker processes started later inherit the limit.

    Raises
    ------
    ValueError
        If `n` is not a positive integer.
    """
    from classical._validate import check_int

    n = check_int(n, "threads", minimum=1)
    for var in _THREAD_ENV:
        os.environ[var] = str(n)
    import cv2
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    cv2.setNumThreads(n)
    if "numba" in sys.modules:
        import numba

        # Numba re-reads the environment before every compilation and refuses a
        # NUMBA_NUM_THREADS that differs from its launched pool: read it now (before
        # the pool starts), or, if the pool already runs, keep the variable at its size.
        try:
            numba.config.reload_config()
        except RuntimeError:
            os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def check_device(device: str) -> str:
    """Return `device` if it is usable here ("cpu", or "cuda" with a GPU present).

    Raises
    ------
    ValueError
        For an unknown device name, or "cuda" where torch sees no GPU.
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}.")
    if device == "cuda":
        try:
            import torch
        except ImportError as exc:
            raise ValueError("device 'cuda' needs PyTorch: pip install 'segbench[deep]'.") from exc
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch sees no GPU; use --device cpu.")
    return device
