"""Step 4 · Write the target / non-target criteria (notebook 04): signs to tell A from C at the first contact.

Takes:   the `Company` of step 1 (with the team's criteria.yml) and the tier table of step 2 (step 3's
         contrasts say which traits separate the tiers).
Returns: `CriteriaResult` from `find_criteria` (criteria.csv: every candidate with its evidence and
         routing) and, from `score_prospects`, the leads of prospects.csv routed by the criteria
         (prospects_scored.csv).
Modules: `criteria` (what is searched, the evidence, what reaches sales, the backtest), `search` (the
         engine: clients grouped into cells, shuffles and resamples drawn per cell), `prospects`, `plots`.
"""

from helpers.step4_write_criteria.criteria import CriteriaResult, find_criteria
from helpers.step4_write_criteria.prospects import score_prospects

__all__ = ["CriteriaResult", "find_criteria", "score_prospects"]
