"""Render every template source (templates/source/*.yml) to Markdown, HTML, company.yml and CSV headers.

Usage: `python scripts/render_templates.py` writes what changed; `--check` exits 1 when a
rendered copy is stale (CI runs it, so paper and source never drift apart).
"""

import sys

from helpers.kit.templates import main

if __name__ == "__main__":
    sys.exit(main())
