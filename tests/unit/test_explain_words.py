"""`explain` reads like an answer: a sentence per kind of decision, percentages, words for terms and stages, 100 columns."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from sim.analysis import explain

ONSET = dict.fromkeys((*explain.READINESS_TERMS, *explain.ONSET_TERMS, "committee_call"), 0.0)


def _ex(channelled: float = 1.0) -> explain.Explanation:
    """A hand-made town of three enterprises: one struck at its committee's call, one stayed at work, one went back."""
    rows = [
        {**ONSET, "enterprise": "Pit 1", "decision": "onset", "readiness": 0.6, "z_grievance": 1.6, "z_paternalism": -1.6,
         "news": 0.001, "committee_call": 0.9, "channelled": channelled, "refractory": False, "held_by_return_order": False,
         "hazard": 0.9 + 0.001 * channelled, "probability": 0.42, "draw": 0.1, "acted": True},
        {**ONSET, "enterprise": "Pit 2", "decision": "onset", "readiness": 0.1, "z_grievance": 0.2, "z_paternalism": -1.6,
         "news": 0.001, "channelled": channelled, "refractory": False, "held_by_return_order": False,
         "hazard": 0.001 * channelled, "probability": 9.5e-06, "draw": 0.5, "acted": False},
        {"enterprise": "Plant 1", "decision": "return", "return_order": 0.0, "peers_back": 0.0, "fatigue": 0.3,
         "cost_of_striking": 0.05, "call_over": 0.0, "hazard": 0.35, "probability": 0.3, "draw": 0.2, "acted": True},
    ]  # fmt: skip
    committees = pd.DataFrame(
        [
            {"committee": "town: Anzhero-Sudzhensk", "active": True, "stage": 1, "allegiance": 0.25, "age_days": 4,
             "rate_up": 0.01, "rate_down": 0.002, "moved": "up"},
            {"committee": "basin: Kuzbass", "active": False, "stage": 0, "allegiance": 0.0, "age_days": 0},
        ]
    )  # fmt: skip
    return explain.Explanation("baseline", date(1989, 7, 15), "Anzhero-Sudzhensk", 0, 7, pd.DataFrame(rows), committees)


def test_a_sentence_per_kind_of_decision_with_its_main_reason():
    said = explain.sentences(_ex())
    assert (
        said[0]
        == "1 of the 2 enterprises at work struck on 15 July 1989, mainly because of the committee's call to strike (100% of their pushes)."
    )
    assert said[1].startswith("The one enterprise on strike went back to work on 15 July 1989, mainly because of fatigue (86%")
    assert "raised by grievance net of relief (+0.9)" in said[2] and "lowered by paternalism (-1.6)" in said[2]


def test_channelled_is_explained_in_words_when_it_damps():
    assert not any("channel" in s for s in explain.sentences(_ex()))
    said = " ".join(explain.sentences(_ex(channelled=0.4)))
    assert "An established strike committee channels protest into its own calls" in said and "count at 40% of their strength" in said


def test_committees_give_stages_in_words():
    town, basin = explain.committee_lines(_ex())
    assert "political (local control, the officials' removal) stage" in town and "its demands rose today" in town
    assert "allegiance to the republic against the Union 25%" in town and "active for 4 days" in town
    assert basin == "The basin committee (Kuzbass) has not formed (or has dissolved)."


def test_report_is_at_most_100_columns_with_percentages_and_no_raw_names():
    text = explain.report(_ex(channelled=0.4))
    assert max(len(line) for line in text.splitlines()) <= explain.WIDTH == 100
    assert "<0.01%" in text and "9.5e-06" not in text and "42%" in text
    assert not re.search(r"\b(z_\w+|contagion_town|committee_call|held_by_return_order)\b", text)
    assert re.search(r"^Pit 1 +at work +60% +42% +committee call +struck$", text, re.M)
    assert re.search(r"^Plant 1 +striking +30% +fatigue +went back$", text, re.M)


def test_percent_reads_as_a_reader_expects():
    assert [explain.percent(p) for p in (0.0, 9.5e-06, 0.00049, 0.047, 0.42, 1.0)] == ["0%", "<0.01%", "0.049%", "4.7%", "42%", "100%"]
