"""The words of the method, written once: tier ladders, deal outcomes, evidence, verdicts and routes, yes/no.

Every step imports these names from here (older names such as `company.TIERS` or `tiers.LADDER` are
imports of these, kept for tests and notebooks). The values are a contract: they are the labels users
write in placement.csv, deals.csv and criteria.yml and read in tiers.csv, criteria.csv and
prospects_scored.csv, so they are never translated here (the report translates them on display).
"""

from __future__ import annotations

# ---------------------------------------------------------------- tiers
# The ranking ladder, best first (METHOD.md, step 2): three A and three B sub-tiers, then C.
TIERS = ("A1", "A2", "A3", "B1", "B2", "B3", "C")
# A and B not yet split into sub-tiers: accepted in placement.csv and flagged as "not yet split".
PLAIN_TIERS = ("A", "B")
# D (do not serve) and X (not a client of this kind) are kept apart from the A-C ranking.
SIDE_TIERS = ("D", "X")
# Every tier label placement.csv may use.
ALL_TIER_LABELS = TIERS + PLAIN_TIERS + SIDE_TIERS
# Display order of the team's labels: each plain tier right after its sub-tiers, the side tiers last.
TEAM_ORDER = ("A1", "A2", "A3", "A", "B1", "B2", "B3", "B", "C", "D", "X")
# The same without the side tiers: the tiers the trait comparison describes.
RANKED_ORDER = tuple(tier for tier in TEAM_ORDER if tier not in SIDE_TIERS)

# ---------------------------------------------------------------- deals
# Outcomes of deals.csv (deal_stages in company.yml maps a CRM's stage names onto them).
DEAL_OUTCOMES = ("won_fast", "won", "stalled", "refused", "open")
# Outcomes of closed deals: "open" deals (a CRM stage neither won nor lost) are counted, not judged.
CLOSED_OUTCOMES = DEAL_OUTCOMES[:4]
# The deals the client signed, fast or not.
WON_OUTCOMES = DEAL_OUTCOMES[:2]

# ---------------------------------------------------------------- criteria
# Evidence labels of criteria.csv, strongest first (the value is the sort rank).
EVIDENCE_ORDER = {"supported": 0, "weak": 1, "insufficient": 2, "none": 3}
EVIDENCE_LEVELS = tuple(EVIDENCE_ORDER)
# The verdict on a lead (prospects_scored.csv) and the sales route each verdict sends it to.
VERDICTS = ("target", "not target", "needs review")
ROUTES = {"target": "full sales process", "not target": "standard offer", "decline": "decline",
          "needs review": "standard offer", "ask": "ask first"}

# ---------------------------------------------------------------- yes / no
# The one list of yes/no words, read after strip + lower-casing. Three readers use it:
#   step 1 parsing (yes/no columns of every input), step 1 key clients (dossier and contact checkboxes)
#   and the rule language of criteria.yml (`has_site == yes`). Why each word is here:
#   yes, no, y, n, true, false — English spreadsheets and CRM exports (TRUE/FALSE from Excel);
#   1, 0 — checkbox columns exported as numbers (a 0/1 column with other numbers is not yes/no, see
#          parsing.looks_like_yesno);
#   да, нет, д, н — Russian answers and their one-letter forms typed in hand-kept sheets;
#   есть — "there is" (Russian "есть сайт"), the usual yes of a Russian checklist;
#   истина, ложь — TRUE/FALSE of Russian-locale Excel;
#   ok — the yes of a done-checkbox in the key-client dossier;
#   + x ✓ and - — — marks of a ticked / dashed box (see MARK_WORDS: not every reader takes them).
YES_WORDS = frozenset({"yes", "y", "true", "1", "да", "д", "есть", "истина", "ok", "+", "x", "✓"})
NO_WORDS = frozenset({"no", "n", "false", "0", "нет", "н", "ложь", "-", "—"})
# Marks, not words. A dash is a blank cell in most exports (parsing.MISSING), so the input parser does
# not read it as "no"; "+", "-" and "x" also occur as signs and category values, so a column is not
# taken for yes/no because of them, and the rule language (where they are operators or plain values)
# takes none of the marks. The key-client checkboxes read them all.
DASH_WORDS = frozenset({"-", "—"})
MARK_WORDS = frozenset({"+", "x", "✓"}) | DASH_WORDS
# The words a yes/no column is recognised by (✓ only ever means yes, so it counts).
YESNO_DETECT_WORDS = (YES_WORDS | NO_WORDS) - (MARK_WORDS - {"✓"})
