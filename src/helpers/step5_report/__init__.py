"""Step 5 · Hand the criteria over (notebook 05): the report, the sales checklist and the marketing profile.

Takes:   the results of steps 1-4, as the runner hands them over (`helpers.workbook.Workbook`); it
         renders them and never recomputes a step, so the report and the notebooks cannot disagree.
Returns: the report's sections from `build_report`; `publish_report` writes report.html, checklist.html
         and profile.html; `handoff` writes criteria.xlsx.
"""

from helpers.step5_report.report import build_report, publish_report

__all__ = ["build_report", "publish_report"]
