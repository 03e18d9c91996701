"""Issue 30: `report.md` of `python run.py thesis` opens with the answer per republic and date in plain words, then one
figure of every claim against its threshold, then the technical tables; the README's thesis section holds the same words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import experiments, report
from sim.figures import plots, plots_arms
from tests.unit.test_figures import check_figure

ROOT = Path(__file__).resolve().parents[2]
DATED = [o for c in experiments.CLAIMS if c.key in report.REPUBLICS for _, o in c.dates]


def outcomes(replicates: int) -> pd.DataFrame:
    """A synthetic thesis run: baseline and no_concessions, the allegiance outcomes the two separatism claims read."""
    rng = np.random.default_rng(3)
    base = {o: rng.uniform(0.4, 0.6, replicates) for o in DATED}
    rows = {"replicate": list(range(replicates)), "seed": list(range(replicates))}
    ref = pd.DataFrame({"arm": "baseline", **rows, **base})
    arm = pd.DataFrame({"arm": "no_concessions", **rows, **{o: v - (0.12 if "Ukraine" in o else -0.002) for o, v in base.items()}})
    return pd.concat([ref, arm], ignore_index=True)


def flips() -> pd.DataFrame:
    """A flip search that reversed the RSFSR claim at a point named `court=0.637 (reference 0), tau_refuse=0.152 (reference 0.05)`."""
    common = {"points": 8, "candidates": 3, "confirm_mean": -0.1, "confirm_lo": -0.2, "confirm_hi": -0.05}
    return pd.DataFrame(
        [
            {"claim": "separatism_rsfsr", "share_points_predicted": 0.6, "share_points_opposite": 0.4, "flip_shown": True}
            | common
            | {"point": "court=0.637 (reference 0), tau_refuse=0.152 (reference 0.05)"},
            {"claim": "separatism_ukraine", "share_points_predicted": 0.9, "share_points_opposite": 0.1, "flip_shown": False}
            | common
            | {"point": "court=0.2 (reference 0)"},
        ]
    )


def made(replicates: int = 200) -> str:
    out = outcomes(replicates)
    verdicts = experiments.judge(out, "baseline", flips=flips())
    effects = experiments.paired_effects(out, "baseline")
    meta = {"command": "python run.py thesis", "git_commit": "abc", "replicates": replicates, "seed": 1, "parameters": "posterior"}
    return report.report(verdicts, effects, [], meta, ["figures/claims.png", "figures/forest_effects.png"])


def test_the_report_opens_with_the_answer_per_republic_and_date_in_words():
    """`python run.py thesis --replicates 20`: the answer was rows 5-6 of a 16-row table, after a dense paragraph."""
    text = made()
    head = text.split("## How the answer was reached")[0]
    assert text.index("## The answer") < text.index("## Verdicts") and len(head.splitlines()) < 40  # the first screen
    ukraine = head.split("**Ukrainian SSR**")[1].split("**RSFSR**")[0]
    rsfsr = head.split("**RSFSR**")[1]
    for date in ("17 March 1991", "24 August 1991", "1 December 1991"):
        assert f"- {date}" in ukraine and f"- {date}" in rsfsr  # one line per republic and date
    assert "With the concessions 12 percentage points more of the mining workforce backed the republic" in ukraine  # 0.12, in points
    assert "effect of the lever +12 points" in ukraine and "of the 200 paired runs agree" in ukraine
    assert "**supported**" in ukraine and "the least that matters: 5)" in ukraine
    assert "It rests on" in rsfsr and "overturned inside the priors by" in rsfsr
    # parameters in words, not as name=value
    assert "court=" not in head and "tau_refuse=" not in head
    assert "moves its committees' allegiance towards the republic (`court`) at 0.637 instead of 0" in rsfsr
    assert "Warning" not in head
    assert "![Every claim" in text and text.index("![Every claim") < text.index("## Verdicts")  # the figure next
    assert "court=" not in text.split("## Verdicts")[1].split("## What each verdict rests on")[0]  # glossed in the tables too


def test_the_report_warns_below_100_replicates():
    head = made(20).split("## How the answer was reached")[0]
    assert "**Warning: 20 replicates per arm is too few to cite.**" in head


def test_every_effect_is_stated_as_the_effect_of_the_lever():
    text = made()
    assert experiments.EFFECT in text and "Baseline minus arm, per outcome" not in text and "*baseline minus arm*" not in text


def test_the_claims_figure_has_one_row_per_claim_and_the_thresholds():
    out = outcomes(40)
    verdicts = experiments.judge(out, "baseline")
    fig = plots_arms.plot_claims(verdicts, "thesis", 40)
    check_figure("claims", fig)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    ticks = sorted((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels())
    assert [s for _, s in ticks][::-1] == [c.replace("_", " ") for c in verdicts["claim"]]  # the first claim on top
    xs = {round(float(ln.get_xdata()[0]), 9) for ln in ax.get_lines()}
    assert {-1.0, 1.0, 0.0} <= xs  # the threshold on both sides of zero
    assert "effect of the lever" in ax.get_xlabel() and all(v in " ".join(t.get_text() for t in ax.texts) for v in verdicts["verdict"])
    plots.close(fig)


def test_the_readme_holds_the_answer_in_the_same_words(tmp_path):
    from sim import api
    from sim.inputs.errors import InputError

    readme_text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_text.count(report.ANSWER_START) == 1 and readme_text.count(report.ANSWER_END) == 1
    rep = tmp_path / "report.md"
    rep.write_text(made(), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.ANSWER_START}\nold words\n{report.ANSWER_END}\n\nrest\n", encoding="utf-8")
    api.write_thesis_answer(rep, readme)
    new = readme.read_text(encoding="utf-8")
    assert report.answer_block(new) == report.answer_block(rep.read_text(encoding="utf-8")) and "old words" not in new
    assert new.endswith("\n\nrest\n")
    with pytest.raises(InputError, match="not a thesis report"):
        api.write_thesis_answer(readme.with_name("none.md"), readme)


def test_the_answer_gives_the_vote_scale_reading_per_republic_and_date():
    """Issue 29: the separatism claims read on the scale of a vote too, in percentage points of the republic's adults."""
    vote = [o for c in experiments.CLAIMS if c.key in {f"{k}_vote" for k in report.REPUBLICS} for _, o in c.dates]
    assert len(vote) == 6  # two republics x three dates
    out = outcomes(200)
    rng = np.random.default_rng(4)
    base = {o: rng.uniform(0.2, 0.3, 200) for o in vote}
    for o, v in base.items():
        out[o] = np.concatenate([v, v - (0.03 if "Ukraine" in o else 0.001)])
    verdicts = experiments.judge(out, "baseline")
    meta = {"command": "python run.py thesis", "git_commit": "abc", "replicates": 200, "seed": 1, "parameters": "posterior"}
    text = report.report(verdicts, experiments.paired_effects(out, "baseline"), [], meta, [])
    head = text.split("## How the answer was reached")[0]
    ukraine = head.split("**Ukrainian SSR**")[1].split("**RSFSR**")[0]
    rsfsr = head.split("**RSFSR**")[1]
    for part in (ukraine, rsfsr):
        scale = part.split("On the scale of a vote")[1]
        for date in ("17 March 1991", "24 August 1991", "1 December 1991"):
            assert f"- {date}" in scale
    assert "3.0 percentage points more of the adults backed the republic" in ukraine.split("On the scale of a vote")[1]
    assert "of the adults" not in ukraine.split("On the scale of a vote")[0]  # the committee reading keeps its own words
    # the vote scale is what the claims read, so it comes first; the RSFSR held no referendum on 1 December 1991
    assert ukraine.index("On the scale of a vote") < ukraine.index("Among the miners")
    assert "the Ukrainian referendum" in ukraine and "the Ukrainian referendum" not in rsfsr
    assert "1 December 1991 (the day of Ukraine's referendum; the RSFSR held none)" in rsfsr
