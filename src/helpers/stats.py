"""Small-sample statistics shared by steps 3 and 4: intervals, effect sizes, multiplicity.

Tiers of 5-60 clients are small, so every estimate here comes with an interval.
"""

from __future__ import annotations

import math

from scipy import stats as _st


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a share `successes / n` (NaNs when n == 0).

    Matches statsmodels' ``proportion_confint(method="wilson")``.

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = _st.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))
