"""Mean with a Student-t confidence interval, the seed-paired delta against a reference, and how
many seeds an interval would need to leave zero out."""

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


SEEDS_AT_MOST = 100
"""`seeds_to_exclude_zero` looks no further: a gain that needs more seeds is reported as such."""


def seeds_to_exclude_zero(interval: Interval, confidence: float = 0.95,
                          at_most: int = SEEDS_AT_MOST) -> int | None:
    """The fewest seeds whose t-interval would leave 0 out if the mean and the seed-to-seed
    standard deviation stayed as measured in `interval` (an estimate: a new seed moves both);
    None for one value, no spread, a zero mean, or more than `at_most` seeds."""
    n = interval.n
    if n < 2 or interval.mean == 0 or interval.half_width == 0:
        return None
    sd = interval.half_width * math.sqrt(n) / stats.t.ppf((1 + confidence) / 2, n - 1)
    for seeds in range(2, at_most + 1):
        if stats.t.ppf((1 + confidence) / 2, seeds - 1) * sd / math.sqrt(seeds) < abs(interval.mean):
            return seeds
    return None
