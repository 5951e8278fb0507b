"""Datasets, metrics, the benchmark harness and its reports.

``benchmarks`` may import :mod:`classical` and :mod:`deep`; it imports :mod:`deep`
(and so torch) only when a deep model is actually used.

The harness in two calls (the ``segbench run`` and ``segbench report`` commands wrap
them)::

    import benchmarks
    run_dir = benchmarks.run("benchmarks/configs/demo.toml", "runs/demo")
    html, markdown = benchmarks.report(run_dir)      # re-render (run writes it too)

A config can also be built in Python (:class:`benchmarks.config.RunConfig`).
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks._version import __version__

__all__ = ["__version__", "report", "run"]


def run(config=None, out_dir=None, *, resume: bool = False, progress: bool = True,
        dask: str | None = None, dask_local: int | None = None) -> Path:
    """Run a benchmark: every method on every image of the configured splits, scored and
    stored, then the report; return the run folder.

    Parameters
    ----------
    config : RunConfig or path-like, optional
        A :class:`benchmarks.config.RunConfig`, or a config file (TOML, YAML, or a run
        folder's ``config.json``; see ``benchmarks/configs/demo.toml`` for the schema).
        Default: the demo (the embedded synthetic dataset, every classical method and
        baseline, a small FCN trained for two minutes); with `resume`, the config
        stored in `out_dir`.
    out_dir : path-like, optional
        Run folder; default the config's ``out``, else ``runs/<timestamp>``.
    resume : bool, optional
        Continue an interrupted run in `out_dir`: finished units are skipped.
    progress : bool, optional
        Show a progress bar.
    dask : str, optional
        Address of a dask.distributed scheduler to run the units on.
    dask_local : int, optional
        Run the units on a local dask cluster of this many worker processes.

    Returns
    -------
    run_dir : Path
        Holds ``results.sqlite``, ``config.json``, ``report.html`` and ``report.md``.

    Raises
    ------
    FileNotFoundError
        For a missing config file, dataset folder or checkpoint.
    ValueError
        For a config with unknown keys or values (the message names them), an existing
        run folder without `resume`, or both `dask` and `dask_local`.
    TypeError
        If `config` is neither a RunConfig nor a path.
    """
    from benchmarks.config import RunConfig, load_config
    from benchmarks.runner import run as _run

    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    elif config is not None and not isinstance(config, RunConfig):
        raise TypeError("config must be a RunConfig or the path of a config file; got "
                        f"{type(config).__name__}.")
    return _run(config, out_dir, resume=resume, progress=progress, dask=dask,
                dask_local=dask_local)


def report(run_dir, *, n_resamples: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """Render a run folder's ``report.html`` and ``report.md`` from its results store.

    Parameters
    ----------
    run_dir : path-like
        A run folder written by :func:`run` (finished or not: an interrupted run's
        report shows the units stored so far).
    n_resamples : int, optional
        Bootstrap resamples per interval and paired comparison; 0 leaves them out.
    seed : int, optional
        Seed of the bootstrap (the report is reproducible given it).

    Returns
    -------
    html, markdown : Path

    Raises
    ------
    FileNotFoundError
        If `run_dir` holds no ``results.sqlite``.
    ValueError
        If the store holds no finished units, or `n_resamples` or `seed` is negative.
    """
    from benchmarks.reporting import write_report

    return write_report(run_dir, n_resamples=n_resamples, seed=seed)
