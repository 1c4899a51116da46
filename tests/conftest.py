"""Shared fixtures: paths of the project and its sample companies, and a clean language per test."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg", force=True)

from helpers.core import i18n  # noqa: E402
from helpers import paths

SAMPLES = sorted(p for p in paths.SAMPLE_DIR.iterdir() if p.is_dir()) if paths.SAMPLE_DIR.is_dir() else []


@pytest.fixture(autouse=True)
def _english_by_default():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def project_root():
    return paths.PROJECT_ROOT
