"""Tierbook helpers: every computation behind the workbook, one module per step of the method.

Step 1 `load` (list and check the clients) → step 2 `tiers` (team placement, ABC, XYZ,
suggested tier) → step 3 `traits` (compare the tiers) → step 4 `criteria` (target /
non-target criteria with evidence) → step 5 `report` (the summary and hand-offs).
`runner` and `cli` execute the notebooks per company with papermill.
"""

__version__ = "0.1.0"
