"""Regenerate the sample companies in data/sample/ (deterministic); `--check` fails when they are stale."""

from __future__ import annotations

import argparse
import sys

from helpers.paths import PROJECT_ROOT, SAMPLE_DIR
from helpers.kit.samples import find_stale_samples, make_all_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with a fresh generation, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = find_stale_samples(SAMPLE_DIR)
        if stale:
            print("Stale sample files (run `make samples`):\n  " + "\n  ".join(str(p) for p in stale))
            return 1
        print("Sample companies are up to date.")
        return 0
    for folder in make_all_samples(SAMPLE_DIR):
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"{folder.relative_to(PROJECT_ROOT)}  {size:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
