"""Regenerate the sample companies in data/sample/ (deterministic); `--check` fails when they are stale."""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from helpers.paths import SAMPLE_DIR
from helpers.samples import make_all_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with a fresh generation, change nothing")
    args = parser.parse_args(argv)
    if not args.check:
        for folder in make_all_samples(SAMPLE_DIR):
            size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            print(f"{folder.relative_to(SAMPLE_DIR.parent.parent)}  {size:.2f} MB")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = []
        for folder in make_all_samples(Path(tmp)):
            committed = SAMPLE_DIR / folder.name
            for fresh in folder.iterdir():
                target = committed / fresh.name
                if not target.is_file() or not filecmp.cmp(fresh, target, shallow=False):
                    stale.append(str(target))
        if stale:
            print("Stale sample files (run `make samples`):\n  " + "\n  ".join(stale))
            return 1
    print("Sample companies are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
