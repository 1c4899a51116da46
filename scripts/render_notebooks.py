"""Render every notebook source (notebooks/source/*.yml) to notebooks/ (EN) and notebooks/ru/ (RU).

Usage: `python scripts/render_notebooks.py` writes what changed; `--check` exits 1 when a rendered
notebook is stale; `--import` first rebuilds the sources from the English notebooks (after someone
edited notebooks/*.ipynb directly), keeping the Russian text by cell id. See notebooks/README.md.
"""

import sys

from helpers.kit.notebooks import main

if __name__ == "__main__":
    sys.exit(main())
