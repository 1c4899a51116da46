"""Tierbook helpers: every computation behind the workbook, laid out by the steps of the method.

    step1_list_clients     company folder → checked tables, client audit          (notebook 01)
    step2_place_in_tiers   → team and data tiers, ABC-XYZ, disagreements         (notebook 02, board 02a)
    step3_compare_traits   → traits per tier, contrasts, deal reasons             (notebook 03)
    step4_write_criteria   → criteria with evidence, leads routed                 (notebook 04, editor 04a)
    step5_report           → report.html, checklist, profile, criteria.xlsx       (notebook 05)
    step6_compare          → re-audit of two runs                                 (notebook 06)
    workbook               the one-way chain: each step computed once and handed on
    run/                   the `tierbook` command, papermill runner, batches, run history
    workshop/              the board, consensus and criteria editor widgets
    core/                  errors, i18n, exports, formatting, rule language, statistics (imports no step)
    kit/                   template rendering and sample generation (build tools)
"""

__version__ = "0.1.0"
