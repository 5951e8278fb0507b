"""Predicates compiled for Numba kernels: one translation, one evaluator.

Region growing and split-and-merge decide merges inside Numba kernels, where a
:class:`~classical.predicates.Predicate` object cannot be called. Both translate the
predicate tree once, here, into a small postfix *program* and evaluate it with
:func:`evaluate` against rows of a statistics *table*:

Program
    ``program`` int64 (K, 4): one instruction a row, ``(opcode, i0, i1, i2)``, in
    postfix order; ``numbers`` float64 (K + P,): the rows' limits (a thresholded
    leaf's threshold, ``weighted``'s weight), then a pool of per-channel constants.
    Thresholded leaves read channels ``i0 .. i1 - 1`` of the sums; SRM's bound scales
    start at ``numbers[i2]``; ``&`` and ``|`` keep their operand count in ``i0``, size
    tests their size. A ``boundary`` leaf reads no table column: it compares the mean
    edge strength of the pair's border, which the caller passes to :func:`evaluate`
    (``border_sum / border_count``; see :class:`~classical.predicates.BorderStats`).
Table
    float64, a row per region, columns laid out by :class:`StatsLayout`: count
    (column :data:`COUNT`) | sums (from column :data:`SUM`: colour channels, then
    texture channels) | sums of squares | histogram | minima (colour) | maxima
    (colour). Two rows merge by adding the columns before the minima and taking the
    minimum / maximum of the rest (:func:`merge_row`).

:func:`evaluate` answers ``mergeable(R_a, B)`` for region row ``a`` of a table and
``B`` either region row ``b`` of a table with the same layout or, in *pixel* mode,
row ``b`` of an (N, D) matrix of pixel values (colour then texture channels; a pixel
is a region of one, so its mean is ``x / 1 = x``, its sum of squares ``x * x``, its
extrema ``x``). Its arithmetic mirrors the Python predicates operation for operation,
so decisions agree with ``predicate.mergeable`` up to the rounding of sums
accumulated in another order.

It also returns two orderings of a pair (see :mod:`classical.split_merge`):

- the *height*: a thresholded leaf's distance over its threshold (1 at the
  threshold), ``&`` the largest of its parts, ``|`` the smallest, ``weighted`` the
  mixed height; size tests and ``~`` give 0 when they hold and infinity when they
  fail;
- the *priority*: the same, except that size tests and ``~`` give none (an ``&`` or
  ``|`` takes the largest / smallest priority among the parts that have one, and 0
  when none has).

Numba's on-disk cache does not notice changes to this file in the kernels that
inline it (numba/numba#1833): after editing it, delete ``classical/__pycache__/*.nb*``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from classical.predicates import (
    SRM,
    And,
    Boundary,
    MaxSize,
    MaxStd,
    MeanDistance,
    MinSize,
    Not,
    Or,
    Predicate,
    Range,
    TextureDistance,
    Weighted,
    _SRM_G,
)

__all__ = [
    "AND", "BOUNDARY", "CHI2", "COUNT", "MAX_SIZE", "MEAN", "MIN_SIZE", "NOT", "OR", "RANGE",
    "SRM_BOUND", "STD", "SUM", "WEIGHTED", "StatsLayout", "check_supported", "clear_row",
    "compile_predicate", "evaluate", "mean_distance", "merge_row", "ratio", "uses_border",
]

# Opcodes; the thresholded leaves come first (``op <= CHI2``).
(MEAN, RANGE, STD, SRM_BOUND, CHI2, BOUNDARY, MIN_SIZE, MAX_SIZE, AND, OR, NOT,
 WEIGHTED) = range(12)

#: Columns of a table row that do not depend on the layout: the pixel count, and the
#: first sum (constants, so the kernels' hottest loops index with literals).
COUNT, SUM = 0, 1

_inline = njit(cache=True, nogil=True, inline="always")


class StatsLayout:
    """Column offsets of a statistics table (see the module docstring).

    Parameters
    ----------
    n_colour, n_texture, n_bins : int
        Colour channels, texture channels (their sums follow the colour sums) and
        histogram bins. Minima and maxima are kept for the colour channels only.

    Attributes
    ----------
    sum, sq, hist, lo, hi : int
        First column of the sums (always :data:`SUM`), sums of squares, histogram,
        minima and maxima.
    offsets : tuple of int
        ``(sq, hist, n_bins, lo, hi)``, the form the kernels take.
    width : int
        Number of columns.
    """

    def __init__(self, n_colour: int, n_texture: int = 0, n_bins: int = 0):
        n_sums = n_colour + n_texture
        self.n_colour, self.n_texture, self.n_bins = n_colour, n_texture, n_bins
        self.sum = SUM
        self.sq = SUM + n_sums
        self.hist = SUM + 2 * n_sums
        self.lo = self.hist + n_bins
        self.hi = self.lo + n_colour
        self.width = self.hi + n_colour
        self.offsets = (self.sq, self.hist, n_bins, self.lo, self.hi)


# --------------------------------------------------------------------------------------
# Predicate -> program
# --------------------------------------------------------------------------------------

_THRESHOLDED = (MeanDistance, Range, MaxStd, SRM, TextureDistance, Boundary)


def check_supported(predicate: Predicate, method: str, *, histograms: bool = True,
                    borders: bool = True, _root: Predicate | None = None) -> None:
    """Raise if `method`'s kernel cannot evaluate `predicate`.

    Parameters
    ----------
    predicate : Predicate
    method : str
        The function named in the message, e.g. ``"split_and_merge"``.
    histograms : bool, optional
        Whether the kernel has histogram columns for ``texture_chi2``; region growing,
        which compares a region with one pixel, has none.
    borders : bool, optional
        Whether the kernel tracks the borders between regions for ``boundary``.

    Raises
    ------
    ValueError
        Naming the part that has no compiled form and what is supported.
    """
    root = predicate if _root is None else _root
    if isinstance(predicate, (And, Or)):
        parts = predicate.operands
    elif isinstance(predicate, Not):
        parts = (predicate.operand,)
    elif isinstance(predicate, Weighted):
        parts = (predicate.colour, predicate.texture)
    else:
        reason = None
        if isinstance(predicate, TextureDistance) and predicate.metric == "chi2" \
                and not histograms:
            reason = "a single pixel's LBP code is no histogram to compare"
        elif isinstance(predicate, Boundary) and not borders:
            reason = "it keeps no borders between a region and the pixels it grows by"
        elif not isinstance(predicate, _THRESHOLDED + (MinSize, MaxSize)):
            reason = f"{type(predicate).__name__} is not a predicate of classical.predicates"
        if reason is not None:
            chi2 = ", texture_chi2" if histograms else ""
            boundary = ", boundary" if borders else ""
            raise ValueError(
                f"{method} cannot compile predicate {root!r}: {predicate!r} has no compiled "
                f"form ({reason}). Supported: range, std, mean, srm, texture_l2{chi2}"
                f"{boundary}, min_size and max_size, combined with &, |, ~ and "
                "weighted(...)."
            )
        return
    for part in parts:
        check_supported(part, method, histograms=histograms, borders=borders, _root=root)


def compile_predicate(predicate: Predicate, n_colour: int, n_texture: int,
                      image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The predicate as ``(program, numbers)`` for :func:`evaluate`.

    Parameters
    ----------
    predicate : Predicate
        A tree that :func:`check_supported` accepts.
    n_colour, n_texture : int
        Colour and texture channels of the table's sums.
    image_size : int
        Pixels in the image (SRM's confidence depends on it).

    Returns
    -------
    program : ndarray of int64, shape (K, 4)
    numbers : ndarray of float64, shape (K + P,)

    Raises
    ------
    ValueError
        For a part without a compiled form (run :func:`check_supported` first for a
        message naming the method).
    """
    program, limits, pool = [], [], []

    def emit(op, i0=0, i1=0, i2=0, value=0.0):
        program.append((op, i0, i1, i2))
        limits.append(float(value))

    def walk(p):
        if isinstance(p, (And, Or)):
            for operand in p.operands:
                walk(operand)
            emit(AND if isinstance(p, And) else OR, len(p.operands))
        elif isinstance(p, Not):
            walk(p.operand)
            emit(NOT)
        elif isinstance(p, Weighted):
            walk(p.colour)
            walk(p.texture)
            emit(WEIGHTED, value=p.weight)
        elif isinstance(p, Boundary):
            emit(BOUNDARY, value=p.threshold)
        elif isinstance(p, TextureDistance):
            if p.metric == "chi2":
                emit(CHI2, value=p.threshold)
            else:
                emit(MEAN, n_colour, n_colour + n_texture, 0, p.threshold)
        elif isinstance(p, MeanDistance):
            emit(MEAN, 0, n_colour, 0, p.threshold)
        elif isinstance(p, Range):
            emit(RANGE, 0, n_colour, 0, p.threshold)
        elif isinstance(p, MaxStd):
            emit(STD, 0, n_colour, 0, p.threshold)
        elif isinstance(p, SRM):
            # b_c(R)^2 = scale_c / |R|, computed exactly as SRM._bound_sq does.
            g = _SRM_G[p.space] if p.g is None else (p.g,)
            log_term = math.log(12.0 * float(image_size) ** 2)
            scale = np.square(np.asarray(g, dtype=np.float64)) * (log_term / (2.0 * p.q))
            emit(SRM_BOUND, 0, n_colour, len(pool), 1.0)
            pool.extend(np.broadcast_to(scale, (n_colour,)).tolist())
        elif isinstance(p, MinSize):
            emit(MIN_SIZE, p.size)
        elif isinstance(p, MaxSize):
            emit(MAX_SIZE, p.size)
        else:
            check_supported(p, "compile_predicate")

    walk(predicate)
    program = np.asarray(program, dtype=np.int64).reshape(-1, 4)
    program[program[:, 0] == SRM_BOUND, 3] += program.shape[0]  # pool offsets in `numbers`
    return program, np.asarray(limits + pool, dtype=np.float64)


# --------------------------------------------------------------------------------------
# Evaluation (inlined into the callers' kernels)
# --------------------------------------------------------------------------------------


def uses_border(program: np.ndarray) -> bool:
    """Whether a compiled program has a ``boundary`` leaf (its callers track borders)."""
    return bool(np.any(program[:, 0] == BOUNDARY))


@_inline
def ratio(value, limit):
    """``max(value, 0) / limit``, with ``0 / 0 = 0`` and ``x / 0 = inf``."""
    value = max(value, 0.0)
    if limit == 0.0:
        return np.inf if value > 0.0 else 0.0
    return value / limit


@_inline
def mean_distance(data, a, other, b, pixel, c0, c1):
    """Euclidean distance between the means of channels c0..c1-1 of region row `a` and
    of region row / pixel `b` (the common MeanDistance test, shared with the callers'
    fast paths)."""
    na = data[a, COUNT]
    nb = 1.0 if pixel else other[b, COUNT]
    d = 0.0
    for c in range(c0, c1):
        mean_b = other[b, c] if pixel else other[b, SUM + c] / nb
        diff = data[a, SUM + c] / na - mean_b
        d += diff * diff
    return math.sqrt(d)


@_inline
def evaluate(program, numbers, stack, data, a, other, b, pixel, layout, border_sum=0.0,
             border_count=0.0):
    """``(mergeable, height, priority)`` of region row `a` of `data` and `b`.

    `b` is a row of `other`: a table with `data`'s `layout`, or with `pixel` an (N, D)
    matrix of pixel values (the program must then hold no CHI2 or BOUNDARY). `stack` is
    scratch space of shape (K + 1, 4), rows (ok, height, priority, has priority).
    `border_sum` and `border_count` are the pair's border statistics, which only
    BOUNDARY leaves read.
    """
    o_sq, o_hist, n_hist, o_lo, o_hi = layout
    top = 0
    na = data[a, COUNT]
    nb = 1.0 if pixel else other[b, COUNT]
    for k in range(program.shape[0]):
        op = program[k, 0]
        if op <= BOUNDARY:
            c0 = program[k, 1]
            c1 = program[k, 2]
            limit = numbers[k]
            d = 0.0
            if op == MEAN:
                d = mean_distance(data, a, other, b, pixel, c0, c1)
            elif op == RANGE:
                for c in range(c0, c1):
                    low = other[b, c] if pixel else other[b, o_lo + c]
                    high = other[b, c] if pixel else other[b, o_hi + c]
                    span = max(data[a, o_hi + c], high) - min(data[a, o_lo + c], low)
                    d = max(d, span)
            elif op == STD:
                m = na + nb
                for c in range(c0, c1):
                    if pixel:
                        x = other[b, c]
                        sum_b, sumsq_b, low, high = x, x * x, x, x
                    else:
                        sum_b = other[b, SUM + c]
                        sumsq_b = other[b, o_sq + c]
                        low = other[b, o_lo + c]
                        high = other[b, o_hi + c]
                    mean = (data[a, SUM + c] + sum_b) / m
                    var = (data[a, o_sq + c] + sumsq_b) / m - mean * mean
                    var = max(var, 0.0)
                    spread = max(max(data[a, o_hi + c], high) - min(data[a, o_lo + c], low),
                                 0.0)
                    var = min(var, 0.25 * spread * spread)
                    d = max(d, math.sqrt(var))
            elif op == SRM_BOUND:
                offset = program[k, 3]
                for c in range(c0, c1):
                    scale = numbers[offset + c - c0]
                    mean_b = other[b, c] if pixel else other[b, SUM + c] / nb
                    bound = math.sqrt(scale / na + scale / nb)
                    d = max(d, abs(data[a, SUM + c] / na - mean_b) / bound)
            elif op == BOUNDARY:  # mean edge strength along the pair's border
                d = border_sum / max(border_count, 1.0)
            else:  # CHI2 on the normalised histograms (tables only)
                total_a = 0.0
                total_b = 0.0
                for c in range(n_hist):
                    total_a += data[a, o_hist + c]
                    total_b += other[b, o_hist + c]
                if total_a <= 0.0:
                    total_a = 1.0
                if total_b <= 0.0:
                    total_b = 1.0
                for c in range(n_hist):
                    x = data[a, o_hist + c] / total_a
                    y = other[b, o_hist + c] / total_b
                    if x + y > 0.0:
                        d += (x - y) * (x - y) / (x + y)
                d *= 0.5
            h = ratio(d, limit)
            stack[top, 0] = 1.0 if d <= limit else 0.0
            stack[top, 1] = h
            stack[top, 2] = h
            stack[top, 3] = 1.0
            top += 1
        elif op == MIN_SIZE or op == MAX_SIZE:
            size = program[k, 1]
            ok = (na + nb >= size) if op == MIN_SIZE else (na + nb <= size)
            stack[top, 0] = 1.0 if ok else 0.0
            stack[top, 1] = 0.0 if ok else np.inf
            stack[top, 2] = 0.0
            stack[top, 3] = 0.0
            top += 1
        elif op == AND or op == OR:
            start = top - program[k, 1]
            is_and = op == AND
            ok = is_and
            h = stack[start, 1]
            has = False
            p = 0.0
            for j in range(start, top):
                if is_and:
                    ok = ok and stack[j, 0] > 0.0
                    h = max(h, stack[j, 1])
                else:
                    ok = ok or stack[j, 0] > 0.0
                    h = min(h, stack[j, 1])
                if stack[j, 3] > 0.0:
                    if not has:
                        p = stack[j, 2]
                    elif is_and:
                        p = max(p, stack[j, 2])
                    else:
                        p = min(p, stack[j, 2])
                    has = True
            top = start
            stack[top, 0] = 1.0 if ok else 0.0
            stack[top, 1] = h
            stack[top, 2] = p
            stack[top, 3] = 1.0 if has else 0.0
            top += 1
        elif op == NOT:
            ok = not stack[top - 1, 0] > 0.0
            stack[top - 1, 0] = 1.0 if ok else 0.0
            stack[top - 1, 1] = 0.0 if ok else np.inf
            stack[top - 1, 2] = 0.0
            stack[top - 1, 3] = 0.0
        else:  # WEIGHTED of two thresholded leaves: mix their heights
            w = numbers[k]
            colour = 0.0 if w == 1.0 else (1.0 - w) * stack[top - 2, 1]
            texture = 0.0 if w == 0.0 else w * stack[top - 1, 1]
            mix = colour + texture
            top -= 2
            stack[top, 0] = 1.0 if mix <= 1.0 else 0.0
            stack[top, 1] = mix
            stack[top, 2] = mix
            stack[top, 3] = 1.0
            top += 1
    return stack[0, 0] > 0.0, stack[0, 1], stack[0, 2]


@_inline
def clear_row(data, r, layout):
    """Row `r` as an empty region: zero count and sums, extrema at +-infinity."""
    o_lo = layout[3]
    o_hi = layout[4]
    for c in range(o_lo):
        data[r, c] = 0.0
    for c in range(o_lo, o_hi):
        data[r, c] = np.inf
    for c in range(o_hi, data.shape[1]):
        data[r, c] = -np.inf


@_inline
def merge_row(data, a, source, b, layout):
    """Add region row `b` of `source` to row `a` of `data` (same layout)."""
    o_lo = layout[3]
    o_hi = layout[4]
    for c in range(o_lo):
        data[a, c] += source[b, c]
    for c in range(o_lo, o_hi):
        data[a, c] = min(data[a, c], source[b, c])
    for c in range(o_hi, data.shape[1]):
        data[a, c] = max(data[a, c], source[b, c])
