"""Mean with a Student-t confidence interval, and the seed-paired delta against a reference."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel
from scipy import stats


class Interval(BaseModel):
    """Mean of n values and its two-sided confidence interval (low == high == mean when n == 1)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """t-interval: mean +- t_{(1+c)/2, n-1} * s / sqrt(n); a single value has no spread."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean=mean, low=mean, high=mean, n=1)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n)


def paired_delta(
    arm: dict[int, float], reference: dict[int, float], confidence: float = 0.95
) -> Interval:
    """Interval of arm - reference over the seeds both have (paired by seed)."""
    seeds = sorted(set(arm) & set(reference))
    if not seeds:
        raise ValueError("paired_delta: the arm and the reference share no seed")
    return mean_ci([arm[s] - reference[s] for s in seeds], confidence)
