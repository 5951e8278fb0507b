"""The official BSDS500 benchmark's text formats: one writer, one reader, one comparer.

The MATLAB benchmark (``bench/benchmarks/collect_eval_*.m``) writes every result file
with ``fprintf(fid, '%10g %10g ...\\n', M')``: each value in C's ``%10g`` (6 significant
digits, right-aligned in 10 characters, exponents with at least two digits such as
``1e-05``), values separated by one space, one row per line. MATLAB prints non-finite
values as ``NaN``, ``Inf`` and ``-Inf`` (C would print ``nan``/``inf``).

Both the region benchmark (:mod:`benchmarks.metrics.region`) and the boundary benchmark
(:mod:`benchmarks.metrics.boundary`) write through :func:`write_official_txt`, and the
tests compare against the reference outputs with :func:`read_official_txt` /
:func:`compare_official_txt`.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "fmt10g",
    "round10g",
    "format_official_row",
    "format_official_table",
    "write_official_txt",
    "read_official_txt",
    "last_digit_units",
    "compare_official_txt",
]


def fmt10g(value) -> str:
    """Format one number exactly as MATLAB's ``fprintf('%10g', value)``.

    Parameters
    ----------
    value : int or float
        Any real number (NumPy scalars included).

    Returns
    -------
    text : str
        At least 10 characters: 6 significant digits, trailing zeros dropped, exponent
        form below 1e-4 or at/above 1e6 with a signed two-digit (or longer) exponent
        (``1e-05``, ``1.23457e+08``), and ``NaN`` / ``Inf`` / ``-Inf`` for non-finite
        values as MATLAB spells them.

    Raises
    ------
    TypeError
        If `value` is not a real number.

    Examples
    --------
    >>> fmt10g(1 / 6)
    '  0.166667'
    >>> fmt10g(2)
    '         2'
    >>> fmt10g(1e-5)
    '     1e-05'
    >>> fmt10g(float("nan"))
    '       NaN'
    """
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"value must be a real number; got {value!r} ({type(value).__name__})."
        ) from None
    if math.isnan(x):
        return f"{'NaN':>10}"
    if math.isinf(x):
        return f"{'Inf' if x > 0 else '-Inf':>10}"
    # Python's %-formatting follows C's printf (correctly rounded, 2-digit exponents),
    # which is what MATLAB's fprintf calls on Linux and macOS.
    return "%10g" % x


def round10g(values) -> np.ndarray:
    """Round values as a write-and-read-back through ``%10g`` does (6 significant digits).

    The official benchmark stores every per-image number in a text file with ``%10g``
    and reads it back with ``dlmread`` before aggregating, so its summaries are computed
    from rounded per-image values. Aggregators that want the official numbers to the
    last printed digit apply this to their per-image values first.

    Parameters
    ----------
    values : array_like of real
        Any shape.

    Returns
    -------
    rounded : ndarray of float64
        Same shape; NaN and infinities pass through.

    Examples
    --------
    >>> round10g([1 / 3, 123456789.0, 2.0]).tolist()
    [0.333333, 123457000.0, 2.0]
    """
    array = np.asarray(values, dtype=np.float64)
    flat = [float("%.6g" % x) if math.isfinite(x) else x for x in array.ravel().tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(array.shape)


def format_official_row(values: Iterable) -> str:
    """One line of an official file: ``%10g`` values joined by one space, with newline.

    Parameters
    ----------
    values : iterable of real
        The row's values.

    Returns
    -------
    line : str
    """
    return " ".join(fmt10g(v) for v in values) + "\n"


def format_official_table(rows) -> str:
    """The full text of an official file from a 2-D table (one line per row).

    Parameters
    ----------
    rows : array_like, shape (R, C) or (C,)
        A 1-D input is written as a single row.

    Returns
    -------
    text : str
    """
    table = np.asarray(rows, dtype=np.float64)
    if table.ndim == 1:
        table = table[None, :]
    if table.ndim != 2:
        raise ValueError(f"rows must be 1-D or 2-D; got shape {table.shape}.")
    return "".join(format_official_row(row) for row in table)


def write_official_txt(path, rows) -> Path:
    """Write a table in the official layout, atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its folder must exist.
    rows : array_like, shape (R, C) or (C,)
        Values to write, one line per row.

    Returns
    -------
    path : Path
        The written file.
    """
    path = Path(path)
    text = format_official_table(rows)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _parse_token(token: str) -> float:
    low = token.lower()
    if low == "nan":
        return math.nan
    if low in ("inf", "+inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    return float(token)


def read_official_txt(path) -> np.ndarray:
    """Read an official result file (whitespace-separated numbers) as a 2-D array.

    Parameters
    ----------
    path : str or os.PathLike
        A file such as ``eval_cover.txt`` or ``eval_bdry_thr.txt``.

    Returns
    -------
    table : ndarray of float64, shape (R, C)
        One row per non-empty line; ``NaN``/``Inf`` are understood.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If a token is not a number or the rows have different lengths.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"official result file {str(path)!r} does not exist.")
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            rows.append([_parse_token(t) for t in tokens])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: expected numbers; got {line.strip()!r}.") from None
    if not rows:
        return np.zeros((0, 0))
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of values {sorted(widths)}.")
    return np.asarray(rows, dtype=np.float64)


def last_digit_units(path) -> np.ndarray:
    """The size of one unit in the last printed digit of every value of a file.

    Parameters
    ----------
    path : str or os.PathLike
        An official result file.

    Returns
    -------
    units : ndarray of float64, shape (R, C)
        E.g. ``1e-06`` for ``0.826926``, ``1e-05`` for ``1.36877``, ``1`` for ``2``,
        ``1e-11`` for ``1.5e-05``; NaN for non-finite entries.
    """
    rows = []
    for line in Path(path).read_text().splitlines():
        tokens = line.split()
        if not tokens:
            continue
        row = []
        for t in tokens:
            mant, _, exp = t.lower().partition("e")
            if mant.lstrip("+-") in ("nan", "inf"):
                row.append(math.nan)
                continue
            decimals = len(mant.partition(".")[2])
            row.append(10.0 ** (-decimals + (int(exp) if exp else 0)))
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


def compare_official_txt(expected_path, actual: Sequence | np.ndarray | os.PathLike | str) -> float:
    """Largest deviation from a reference file, in units of its last printed digit.

    A faithful reimplementation prints the same text, so every deviation is at most
    0.5 (half a unit: both sides are rounded to 6 significant digits, and a value
    sitting on a rounding edge may print one digit apart in the last place).

    Parameters
    ----------
    expected_path : str or os.PathLike
        The reference file (e.g. ``bench_sample/test_1/eval_cover.txt``).
    actual : str, os.PathLike or array_like
        Our file, or our unrounded values with the same shape.

    Returns
    -------
    deviation : float
        ``max |actual - expected| / unit``; 0 when equal. NaN entries must match NaN.

    Raises
    ------
    ValueError
        If the shapes differ or NaN appears on one side only.
    """
    expected = read_official_txt(expected_path)
    units = last_digit_units(expected_path)
    if isinstance(actual, (str, os.PathLike)):
        got = read_official_txt(actual)
    else:
        got = np.asarray(actual, dtype=np.float64)
        if got.ndim == 1:
            got = got[None, :]
    if got.shape != expected.shape:
        raise ValueError(
            f"actual values have shape {got.shape} but {expected_path} holds {expected.shape}."
        )
    nan_e, nan_g = np.isnan(expected), np.isnan(got)
    if (nan_e != nan_g).any():
        raise ValueError(f"NaN in one table but not the other when comparing with {expected_path}.")
    ok = ~nan_e & np.isfinite(units)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(got[ok] - expected[ok]) / units[ok]))
