"""The baseline's fixed-seed summary is unchanged (refresh with `python tests/regression/summary.py`)."""

import json

from tests.regression.summary import STORED, summary


def test_baseline_summary_unchanged():
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    fresh = summary()
    assert fresh.keys() == stored.keys()
    for key in stored:
        assert fresh[key] == stored[key], f"{key} changed: refresh with `python tests/regression/summary.py` if intended"
