"""Each step once: the runner's hand-over gives the notebooks exactly what they would have computed."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from helpers import paths
from helpers.workbook import STEPS, STEPS_FILE, Workbook

SAMPLE = paths.SAMPLE_DIR / "b2b_services"


@pytest.fixture(scope="module")
def handed(tmp_path_factory):
    out = tmp_path_factory.mktemp("staging")
    computed = Workbook(SAMPLE, out)
    assert computed.hand_over() == list(STEPS)
    return computed, out


def test_every_step_read_back_equals_the_step_computed(handed):
    computed, out = handed
    received = Workbook(SAMPLE, out)
    assert received.handed_over == STEPS
    pd.testing.assert_frame_equal(received.company.clients, computed.company.clients)
    pd.testing.assert_frame_equal(received.audit.table, computed.audit.table)
    pd.testing.assert_frame_equal(received.tiers.table, computed.tiers.table)
    pd.testing.assert_frame_equal(received.traits.contrasts, computed.traits.contrasts)
    pd.testing.assert_frame_equal(received.criteria.table, computed.criteria.table)
    fresh = Workbook(SAMPLE)  # opened alone, as in JupyterLab: computes everything itself
    assert fresh.handed_over == ()
    pd.testing.assert_frame_equal(fresh.tiers.table, received.tiers.table)
    pd.testing.assert_frame_equal(fresh.criteria.table, received.criteria.table)


def test_a_notebook_reads_only_the_steps_it_uses(handed):
    """At a million clients the steps are a gigabyte: notebook 01 must not hold the criteria it never shows."""
    _, out = handed
    received = Workbook(SAMPLE, out)
    received.audit
    assert "audit" in received.__dict__ and "company" in received.__dict__
    assert not {"tiers", "traits", "criteria"} & set(received.__dict__)
    assert received.criteria.table.equals(Workbook(SAMPLE, out).criteria.table)


def test_a_changed_input_is_never_served_from_the_hand_over(handed, tmp_path):
    _, out = handed
    company = tmp_path / "company"
    shutil.copytree(SAMPLE, company)
    staging = tmp_path / "staging"
    Workbook(company, staging).hand_over()
    assert Workbook(company, staging).handed_over == STEPS
    with (company / "clients.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")  # any byte changed: the fingerprint no longer matches
    assert Workbook(company, staging).handed_over == ()
    assert (staging / STEPS_FILE).is_file()


def test_the_report_reads_the_audit_it_is_handed(handed):
    """The report's client-mix section and clients_audit.csv come from the same ClientAudit object."""
    from helpers.step5_report.report import section_client_mix

    computed, _ = handed
    section = section_client_mix(computed)
    texts = " ".join(str(getattr(block, "text", "")) for block in section.blocks)
    assert computed.audit.manager_hint in texts


def test_a_hand_over_file_not_signed_by_this_run_is_never_unpickled(handed, tmp_path, monkeypatch):
    """A planted or tampered .steps/steps.pkl is ignored: the notebook computes the steps itself."""
    import os

    from helpers.workbook import STEPS_KEY_ENV

    _, out = handed
    planted = tmp_path / "out"
    (planted / STEPS_FILE).parent.mkdir(parents=True)
    signed = (out / STEPS_FILE).read_bytes()
    middle = len(signed) // 2
    (planted / STEPS_FILE).write_bytes(signed[:middle] + bytes([signed[middle] ^ 1]) + signed[middle + 1:])  # one bit
    assert Workbook(SAMPLE, planted).handed_over == ()
    monkeypatch.setenv(STEPS_KEY_ENV, "another run's key")
    assert Workbook(SAMPLE, out).handed_over == ()
    monkeypatch.delenv(STEPS_KEY_ENV)
    assert STEPS_KEY_ENV not in os.environ and Workbook(SAMPLE, out).handed_over == ()
