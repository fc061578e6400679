"""Small statistics for timings: percentiles and one summary shape for every part."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation, or None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Iterable[float], quantiles: Iterable[int] = (50, 95, 99)) -> dict:
    """``{"n", "min", "p50", "p95", "p99", "max", "mean"}`` of ``values``, rounded to the millisecond."""
    values = list(values)
    result: dict = {"n": len(values)}
    if not values:
        return result
    result["min"] = round(min(values), 3)
    for q in quantiles:
        result[f"p{q}"] = round(percentile(values, q), 3)
    result["max"] = round(max(values), 3)
    result["mean"] = round(sum(values) / len(values), 3)
    return result
