"""Step 2 · Place the clients in tiers (notebook 02): the team's placement beside the data's mirror.

Takes:   the `Company` of step 1.
Returns: `TierResult` from `build_tiers`: one row per client with team_tier, suggested_tier, ABC, XYZ,
         demand pattern, score and its parts, disagreement (tiers.csv), the ABC-XYZ matrices and flags.

The paper placement sheet (`tierbook worksheet`) is in `worksheets`; the plots in `plots`.
"""

from helpers.step2_place_in_tiers.tiers import TierResult, build_tiers

__all__ = ["TierResult", "build_tiers"]
