"""Step 6 · Re-audit (notebook 06): what changed since the last run, and whether last time's criteria worked.

Takes:   two published runs (folders, or a company and two dates of its run history).
Returns: `Comparison` from `compare_runs` (migrations.csv: tier, ABC/XYZ and revenue then and now;
         concentration change; criteria that appeared, vanished or moved; the old checklist scored on
         what happened since); `write_comparison` writes compare.html and migrations.csv.
"""

from helpers.step6_compare.compare import Comparison, compare_runs, write_comparison

__all__ = ["Comparison", "compare_runs", "write_comparison"]
