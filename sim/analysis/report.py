"""The thesis report (`report.md` of `python run.py thesis`): the answer first, then its figure, then the technical tables.

The answer is one short paragraph per republic: the verdict on the thesis (the centre's concessions
fuelled separatism) at each date that matters, in plain words: the effect in percentage points of the
republic's mining workforce, the share of paired runs that agree with the claim, the probability of
the claimed sign where a run gives one, and one sentence on what the verdict rests on and what would
overturn it, with parameters named by what they do (their meaning in the parameter table) rather than
as `name=value`. The README's thesis section holds the same words: `answer` writes them between
`ANSWER_START` and `ANSWER_END`, and `sim.api.write_thesis_answer` copies that block from a report
into the README.

Every effect is stated as `sim.analysis.experiments.EFFECT` says: the effect of the lever, baseline
minus counterfactual arm, positive when the historical lever raised the outcome.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from sim.analysis.experiments import CLAIMS, EFFECT, LEVEL, Claim, _fmt, _pct, verdict
from sim.inputs.params import Params
from sim.model.metrics import OUTCOMES

FEW_REPLICATES = 100
"""Below this many paired replicates per arm the report warns that a verdict may change with more runs."""
ANSWER_START, ANSWER_END = "<!-- answer:start -->", "<!-- answer:end -->"
"""Markers around the answer, in the report and in the README (the README's copy is written from the report's)."""
ROBUST_CLAIMS = {"separatism_rsfsr": "RSFSR", "separatism_ukraine": "Ukraine"}
"""Claims whose robustness over parameter space the sensitivity run maps (the concession effect on separatism)."""
REPUBLICS = {"separatism_ukraine": "Ukrainian SSR", "separatism_rsfsr": "RSFSR"}
"""The claims the answer reads, one paragraph each: the thesis per republic."""
DATE_WORDS = {
    "17 Mar 1991": "17 March 1991 (the Union referendum)",
    "24 Aug 1991": "24 August 1991 (after the coup)",
    "1 Dec 1991": "1 December 1991 (the Ukrainian referendum)",
}
"""The dates the separatism claims are read at, in words."""
DATE_WORDS_BY_REPUBLIC = {"RSFSR": {"1 Dec 1991": "1 December 1991 (the day of Ukraine's referendum; the RSFSR held none)"}}
"""Where a date's words differ by republic: the RSFSR voted on 17 March 1991 but not on 1 December."""
PROBABILITY_COLUMNS = ("probability_predicted", "p_predicted", "posterior_probability")
"""A verdicts column holding the probability of the claimed sign, if the run computed one (read where present)."""


def gloss(name: str) -> str:
    """A parameter in words: its meaning in the parameter table (the first clause, without parentheses)."""
    fields = {f.name: f for f in dataclasses.fields(Params)}
    if name not in fields:
        return name.replace("_", " ")
    doc = re.sub(r"\s*\([^)]*\)", "", fields[name].metadata["doc"])
    return re.split(r"[;:]", doc)[0].strip()


def gloss_point(text: str) -> str:
    """Every `name=value (reference v)` of a searched parameter set in words: 'meaning at value instead of v (`name`)'."""

    def one(m: re.Match) -> str:
        ref = f" instead of {m.group(3)}" if m.group(3) else ""
        return f"{gloss(m.group(1))} (`{m.group(1)}`) at {m.group(2)}{ref}"

    text = re.sub(r"\b([a-z][a-z0-9_]*)=([-+0-9.e]+)(?: \(reference ([-+0-9.e]+)\))?", one, text)
    return re.sub(r"calibrated parameters: posterior row (\d+)", r"the calibrated parameters of the posterior's draw \1", text)


def _points(x: float) -> str:
    """A share as percentage points: '12', '0.4'."""
    v = abs(x) * 100
    return f"{v:.0f}" if v >= 10 or v == round(v) else f"{v:.1f}"


def _signed_points(x: float) -> str:
    return ("+" if x > 0 else "-" if x < 0 else "") + _points(x)


def _claim(key: str) -> Claim | None:
    return next((c for c in CLAIMS if c.key == key), None)


def _date_verdicts(row) -> dict[str, str]:
    """The verdict at each date of a claim, as the verdicts table states it ('17 Mar 1991: supported (0.29); ...')."""
    out = {}
    for part in str(row.get("verdict_by_date") or "").split("; "):
        label, _, rest = part.partition(": ")
        if rest:
            out[label] = rest.split(" (")[0]
    return out


def _rests_on(row, sens: dict | None) -> str:
    """One sentence: what a claim's verdict rests on and what would overturn it."""
    key = row["claim"]
    if sens:
        changed, _ = needs(sens["knockouts"], key)
        mech = (
            f"the model's mechanisms of {', '.join(m.replace('+', ' with ') for m in changed)} (switched off, the verdict changes)"
            if changed
            else "no single mechanism (none switched off changes the verdict)"
        )
    else:
        mech = (
            "the model's mechanisms as calibrated on 1989-1990 (the counter-mechanisms of refusal on weak evidence of the "
            "committees' stance) and on hand-set assumptions (no sensitivity run was read)"
        )
    ev = str(row.get("flip_evidence") or "")
    if not row.get("can_flip", True) and row.get("construction"):
        over = "nothing inside the priors overturns it: " + gloss_point(str(row["construction"]))
    elif "sign flips at " in ev:
        point = ev.split("sign flips at ", 1)[1].split(": effect", 1)[0]
        over = f"it is overturned inside the priors by {gloss_point(point)}"
    elif ev:
        over = "the search of the priors found parameter sets of the opposite sign but confirmed none"
    else:
        over = "the priors were not searched for a parameter set that overturns it"
    box = ((sens or {}).get("robustness") or {}).get(ROBUST_CLAIMS.get(key, ""), {})
    if box.get("limits"):
        where = "; ".join(f"{gloss(k)} (`{k}`) between {lo:.3g} and {hi:.3g}" for k, (lo, hi) in box["limits"].items())
        over += f"; the sign turns where {where}"
    return f"It rests on {mech}; {over}."


def _probability(row, sens: dict | None, date_outcome: str, claim: Claim) -> str:
    """The probability of the claimed sign, where the run gives one ('' otherwise)."""
    for col in PROBABILITY_COLUMNS:
        if col in row and pd.notna(row[col]) and date_outcome == claim.outcome:
            return f"; probability of the claimed sign {float(row[col]):.0%}"
    box = ((sens or {}).get("robustness") or {}).get(ROBUST_CLAIMS.get(claim.key, ""), {})
    share = box.get("posterior_share_predicted")
    if share is not None and date_outcome == claim.outcome:
        return f"; {share:.0%} of the posterior's parameter sets give the claimed sign (sensitivity run)"
    return ""


def _dated_items(c: Claim, row, effects: pd.DataFrame, sens: dict | None, whom: str, republic: str = "") -> list[str]:
    """One line per date a claim reads: its verdict and effect in percentage points of `whom`, in words."""
    pct, at, items = int(LEVEL * 100), _date_verdicts(row), []
    words = DATE_WORDS | DATE_WORDS_BY_REPUBLIC.get(republic, {})
    for label, outcome in c.dates or (("", c.outcome),):
        e = effects[(effects["arm"] == c.arm) & (effects["outcome"] == outcome)]
        if not len(e):
            continue
        e = e.iloc[0]
        v = at.get(label) or verdict(e["mean_lo"], e["mean_hi"], c.sign, c.rope, not row.get("can_flip", True))
        more = "more" if e["mean"] > 0 else "fewer" if e["mean"] < 0 else "no more and no fewer"
        agree = e["share_positive"] if c.sign > 0 else e["share_negative"]
        items.append(
            f"- {words.get(label, label or 'At the end')}: **{v}**. With the concessions {_points(e['mean'])} percentage "
            f"points {more} {whom} backed the republic (effect of the lever {_signed_points(e['mean'])} "
            f"points, {pct}% interval {_signed_points(e['mean_lo'])} to {_signed_points(e['mean_hi'])}; the least that "
            f"matters: {_points(c.rope)}); {agree:.0%} of the {int(e['pairs'])} paired runs agree"
            f"{_probability(row, sens, outcome, c)}."
        )
    return items


def answer(verdicts: pd.DataFrame, effects: pd.DataFrame, meta: dict, sens: dict | None = None) -> list[str]:
    """The answer, between its markers: one paragraph per republic, the verdict at each date in plain words."""
    reps = int(meta.get("replicates") or 0)
    lines = [
        ANSWER_START,
        f"*From `{meta['command']}` (commit `{meta['git_commit']}`), {reps} paired runs per arm. The claim: the centre's "
        "concessions fuelled separatism, read on the scale of a vote (the share of the adults of each republic's mining oblasts "
        "who would back their republic against the Union) and among the miners (the share of the mining workforce whose strike "
        "committee backs the republic, the model's mechanism), with the historical concessions against the same runs without any.*",
        "",
    ]
    if reps < FEW_REPLICATES:
        lines += [
            f"> **Warning: {reps} replicates per arm is too few to cite.** Below {FEW_REPLICATES} a verdict can change with more "
            "runs (an interval that just touches a threshold moves with chance): run `python run.py thesis --replicates 200`.",
            "",
        ]
    rows = {r["claim"]: r for _, r in verdicts.iterrows()} if len(verdicts) else {}
    said = False
    for key, republic in REPUBLICS.items():
        c, row = _claim(key), rows.get(key)
        vote_c, vote_row = _claim(f"{key}_vote"), rows.get(f"{key}_vote")
        if (c is None or row is None) and (vote_c is None or vote_row is None):
            continue
        said = True
        lines += [f"**{republic}**", ""]
        if vote_c is not None and vote_row is not None:
            lines += [
                f"On the scale of a vote, the share of the adults of the {republic}'s mining oblasts (those with a sourced 1989 "
                "population) who would back their republic against the Union, the miners' households among them (`sim/model/vote.py`; "
                "what the separatism claims read):",
                "",
                *_dated_items(vote_c, vote_row, effects, sens, "of the adults", republic),
                "",
            ]
        if c is not None and row is not None:
            lines += ["Among the miners, the share of the mining workforce whose committee backs the republic against the Union:", ""]
            lines += [*_dated_items(c, row, effects, sens, "of the mining workforce", republic), "", _rests_on(row, sens), ""]
    if not said:
        lines += ["The thesis claims per republic were not among the claims run: see the verdicts below.", ""]
    lines.append(ANSWER_END)
    return lines


def report(
    verdicts: pd.DataFrame,
    effects: pd.DataFrame,
    arms: list[dict],
    meta: dict,
    figures: list[str],
    sensitivity: dict | None = None,
) -> str:
    """The thesis report (markdown): the answer per republic and date, its figure, then each claim's effect, interval and verdict.

    Args:
        verdicts: the table of `sim.analysis.experiments.judge`.
        effects: the table of `sim.analysis.experiments.paired_effects`.
        arms: one dict per arm: name, file, claim, description.
        meta: run facts (command, seed, replicates, parameters, commit, fork date).
        figures: relative paths of the figures (`figures/claims.png`, if listed, follows the answer).
        sensitivity: what `python run.py sensitivity` found, read back from its folder (folder,
            knockouts table, robustness summary), or None if no sensitivity run is on disk.
    """
    pct = int(LEVEL * 100)
    lo_q, hi_q = (100 - pct) // 2, 100 - (100 - pct) // 2
    lines = [
        "# Did the centre's concessions fuel separatism? The essay's claims as paired experiments",
        "",
        "## The answer",
        "",
        *answer(verdicts, effects, meta, sensitivity),
    ]
    claims_fig = next((f for f in figures if f.endswith("claims.png")), None)
    if claims_fig:
        lines += [
            "",
            f"![Every claim: the effect of its lever with its {pct}% interval, against its threshold]({claims_fig})",
            "",
            f"Every claim in one figure: the mean effect of its lever (dot) with its {pct}% interval, in multiples of the claim's "
            "threshold (the smallest effect that would matter; dotted lines at plus and minus one), with its verdict.",
        ]
    lines += [
        "",
        "## How the answer was reached",
        "",
        f"Command: `{meta['command']}`. Commit `{meta['git_commit']}`. {meta['replicates']} replicates per arm from root seed "
        f"{meta['seed']}; every arm ran on the same replicate seeds and the same parameter draws ({meta['parameters']}), "
        f"so each replicate of an arm is paired with the same replicate of the baseline and the two differ only through the arm's lever"
        + (f"; the arms part from the baseline's history on {meta['fork_at']}" if meta.get("fork_at") else "")
        + ". (Timing and the replicate seeds are in `manifest.json`; this report depends only on the command, seed and commit.)",
        "",
        f"**How to read it.** Every effect is the {EFFECT}. For each claim: the median of the paired effects and the range "
        f"from {lo_q}% to {hi_q}% of them (how much the "
        f"effect varies with chance and the uncertain parameters), the mean effect with a bootstrap {pct}% interval (how well "
        "the average is known), and the share of pairs in which the effect has the sign the claim predicts. Each claim declares "
        "the smallest mean effect that would matter to a historian (its threshold, with the reason). The verdict comes from the "
        f"numbers alone: **supported** if the {pct}% interval of the mean effect lies beyond the threshold on the predicted side, "
        "**contradicted** if it lies beyond it on the other side, **negligible** if it lies inside plus or minus the threshold, "
        "**undetermined** otherwise; a claim whose sign the model's structure fixes is reported as **true by construction**, "
        "never as supported (the argument is given). Two readings say how far a verdict rests on the parameters, and neither changes "
        "its label: the posterior probability of the predicted sign (the share of the posterior draws, one per replicate, whose paired "
        "effect has the claimed sign: the parameters the 1989-1990 data constrain), and a search of those they do not constrain (a Latin "
        "hypercube over the assumed ones and, over wide ranges, the mechanisms linking concessions, refusal and repression to separatism "
        "with their counter-mechanisms), which runs the most opposite sets again on fresh paired replicates and shows a flip only if it holds. "
        "A verdict is about this model, with its "
        "assumptions (see the parameter table and `docs/model.md`): it says whether the model's mechanisms, calibrated on July "
        "1989, produce the claimed effect, not whether history did.",
        "",
        "## Verdicts",
        "",
        f"| claim | arm | outcome | median effect of the lever [{lo_q}%-{hi_q}% of pairs] | mean [{pct}% interval] | threshold | pairs with the predicted sign | posterior probability of the predicted sign | can the sign flip? | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in verdicts.iterrows():
        ev = r.get("flip_evidence") or ""
        if not r.get("can_flip", True):
            flip = "no: by construction"
        elif "sign flips at" in ev:
            flip = "yes: shown (below)"
        elif "none gives the opposite sign" in ev:
            flip = "not found: no searched set gives the opposite sign"
        else:
            flip = "maybe: opposite signs in the search, none confirmed" if ev else "not searched"
        lines.append(
            f"| {r['text']} | `{r['arm']}` | {r['outcome']} | {_fmt(r['median'])} [{_fmt(r['p05'])} to {_fmt(r['p95'])}] | "
            f"{_fmt(r['mean'])} [{_fmt(r['mean_lo'])} to {_fmt(r['mean_hi'])}] | {_fmt(r.get('rope', 0.0))} | {r['share_predicted']:.0%} | {_pct(r.get('posterior_probability', np.nan))} | {flip} | **{r['verdict']}** |"
        )
    dated = verdicts[verdicts.get("verdict_by_date", pd.Series("", index=verdicts.index)).astype(bool)] if len(verdicts) else verdicts
    if len(dated):
        lines += ["", "The separatism claims read at the dates that matter (mean effect in brackets):", ""]
        for _, r in dated.iterrows():
            differ = " **The verdict depends on the date read.**" if r.get("dates_differ") else " The same verdict at every date."
            lines.append(f"- *{r['claim']}*: {r['verdict_by_date']}.{differ}")
    lines += ["", "Thresholds and whether a claim can come out otherwise:", ""]
    for _, r in verdicts.iterrows():
        why = r.get("rope_reason") or "none given"
        arg = r.get("construction") or ""
        lines.append(
            f"- *{r['claim']}*: threshold {_fmt(r.get('rope', 0.0))} ({why})."
            + (f" **True by construction**: {gloss_point(arg)}." if arg else " The model's structure allows an effect of either sign.")
            + (
                f" Search of the priors: {gloss_point(r['flip_evidence'])}."
                if r.get("flip_evidence")
                else " (The priors were not searched for a flip.)"
            )
        )
    lines += ["", "In words:", ""]
    for _, r in verdicts.iterrows():
        lines.append(
            f"- *{r['claim']}*: {r['reads']}: mean {_fmt(r['mean'])} ({pct}% interval {_fmt(r['mean_lo'])} to {_fmt(r['mean_hi'])}), "
            f"median {_fmt(r['median'])}; the predicted sign in {r['share_predicted']:.0%} of {int(r['pairs'])} pairs: **{r['verdict']}**."
        )
    lines += _mechanisms_section(verdicts, sensitivity)
    lines += ["", "## The arms", "", "| arm | file | what changes | claim it tests |", "| --- | --- | --- | --- |"]
    for a in arms:
        lines.append(f"| `{a['name']}` | `{a['file']}` | {a['description']} | {a['claim']} |")
    lines += ["", "## Every paired effect", "", f"The {EFFECT}; per outcome (units in the outcome list below).", ""]
    lines += [
        f"| arm | outcome | median [{lo_q}%-{hi_q}% of pairs] | mean [{pct}% interval] | pairs > 0 | pairs < 0 | flips |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in effects.iterrows():
        flips = f"off {r['flip_off']:.0%}, on {r['flip_on']:.0%}" if "flip_off" in r and pd.notna(r.get("flip_off")) else ""
        lines.append(
            f"| `{r['arm']}` | {r['outcome']} | {_fmt(r['median'])} [{_fmt(r['p05'])} to {_fmt(r['p95'])}] | "
            f"{_fmt(r['mean'])} [{_fmt(r['mean_lo'])} to {_fmt(r['mean_hi'])}] | {r['share_positive']:.0%} | {r['share_negative']:.0%} | {flips} |"
        )
    lines += [
        "",
        "Flips (0/1 outcomes): *off* = the share of pairs where the outcome happened in the baseline but not in the arm "
        "(for `donbas_struck_july` under an early concession: how often it keeps the Donbas from striking at all, a "
        "probability of sufficiency); *on* = the reverse.",
        "",
        "## Outcomes",
        "",
    ]
    for name, o in OUTCOMES.items():
        lines.append(f"- `{name}` ({o.unit}): {o.doc}")
    lines += ["", "## Figures", ""] + [f"- [`{f}`]({f})" for f in figures]
    lines += [
        "",
        "Tables: `outcomes.parquet` (every arm and replicate), `effects.parquet`, `verdicts.parquet`, `series.parquet`.",
        "",
    ]
    return "\n".join(lines)


def answer_block(report_text: str) -> str:
    """The answer of a report, markers included (what the README holds)."""
    if ANSWER_START not in report_text or ANSWER_END not in report_text:
        raise ValueError(f"no answer in this report (markers {ANSWER_START} and {ANSWER_END})")
    return report_text[report_text.index(ANSWER_START) : report_text.index(ANSWER_END) + len(ANSWER_END)]


def _mechanisms_section(verdicts: pd.DataFrame, sens: dict | None) -> list[str]:
    """The report's section on what each verdict rests on: knock-outs and the robustness map."""
    lines = ["", "## What each verdict rests on: mechanisms and robustness", ""]
    if not sens:
        return [
            *lines,
            "No sensitivity run was found (`results/sensitivity/`): run `python run.py sensitivity` and then this command "
            "again (or pass `--sensitivity FOLDER`) to list, for each verdict, the mechanisms it needs and how robust it is.",
        ]

    ko, rob = sens["knockouts"], sens.get("robustness") or {}
    lines += [
        f"From `{sens['folder']}` ({sens.get('budget', '?')} budget; its `summary.md` has the details). *Needs*: the "
        "mechanisms (of MODEL.md, switched off one at a time and in pairs) without which the verdict changes; *kept*: the "
        "share of knock-outs under which it stays. For the concession effect on separatism, the robustness map: the "
        "posterior mass inside the region of parameter space where the effect changes sign (found by PRIM), and the share "
        "of posterior draws with the predicted sign.",
        "",
        "| claim | verdict | needs | kept under knock-outs | posterior mass where the sign flips | posterior draws with the predicted sign |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in verdicts.iterrows():
        changed, kept = needs(ko, r["claim"])
        rep = ROBUST_CLAIMS.get(r["claim"])
        box = rob.get(rep, {}) if rep else {}
        mass = f"{box['posterior_mass']:.0%}" if box.get("posterior_mass") is not None else ""
        share = f"{box['posterior_share_predicted']:.0%}" if box.get("posterior_share_predicted") is not None else ""
        kept_s = "" if kept != kept else f"{kept:.0%}"
        lines.append(f"| {r['claim']} | {r['verdict']} | {', '.join(changed) or 'none'} | {kept_s} | {mass} | {share} |")
    return lines


def needs(knockouts: pd.DataFrame, claim: str) -> tuple[list[str], float]:
    """The knock-outs that change a claim's verdict, and the share of knock-outs that keep it."""
    col = f"verdict_{claim}"
    if col not in knockouts or "none" not in set(knockouts["mechanism"]):
        return [], float("nan")
    ref = knockouts.loc[knockouts["mechanism"] == "none", col].iloc[0]
    rest = knockouts[knockouts["mechanism"] != "none"]
    changed = rest.loc[rest[col] != ref, "mechanism"].tolist()
    return changed, float((rest[col] == ref).mean()) if len(rest) else float("nan")
