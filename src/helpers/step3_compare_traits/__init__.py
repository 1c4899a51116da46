"""Step 3 · Compare the traits of the tiers (notebook 03): how clients of one tier are alike, how tiers differ.

Takes:   the `Company` of step 1 and the tier table of step 2.
Returns: `TraitComparison` from `compare_traits` (per-tier distributions and A-vs-rest / C-vs-rest
         contrasts with intervals, traits.csv) and `DealSummary` from `summarise_deals` (why deals went
         fast, stalled or were refused).
"""

from helpers.step3_compare_traits.deals import DealSummary, summarise_deals
from helpers.step3_compare_traits.traits import TraitComparison, compare_traits

__all__ = ["DealSummary", "TraitComparison", "compare_traits", "summarise_deals"]
