"""The baseline's fixed-seed summary is unchanged (refresh with `python tests/regression/summary.py`)."""

import json

import pytest

from tests.regression.summary import OFF, STORED, summary


@pytest.mark.slow
def test_baseline_summary_unchanged():
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    fresh = summary()
    assert fresh.keys() == stored.keys()
    for key in stored:
        assert fresh[key] == stored[key], f"{key} changed: refresh with `python tests/regression/summary.py` if intended"


def test_with_the_1989_1991_mechanisms_off_the_earlier_model_is_reproduced_exactly():
    """Each new mechanism switched off gives the old behaviour: the summary stored before they existed."""
    stored = json.loads(OFF.read_text(encoding="utf-8"))
    fresh = summary(mechanisms_off=True)
    for key in stored:
        assert fresh[key] == stored[key], key
    assert summary() != fresh  # and with them on, the baseline differs
