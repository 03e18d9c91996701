"""Paired counterfactual effects, the essay's claims as tests, and the thesis report.

Arms run on the same replicate seeds and posterior draws (`sim.run.runner.run_arms`), so replicate i of
an arm and replicate i of the reference form a pair that differs only through the arm's lever. For
every arm and outcome the paired effect is `reference - arm`: the effect of what the reference (the
historical baseline) did and the arm did not. Summaries: median and 5-95% range of the pair effects
(how much the effect varies over chance and parameter uncertainty), the mean with a bootstrap 90%
interval (how well the average effect is known), the share of pairs with a positive and a negative
effect, and for 0/1 outcomes the share of pairs where the outcome flips.

A claim of the essay names an arm, an outcome, the sign it predicts and the smallest effect that would
matter to a historian (its region of practical equivalence, `rope`, with the reason). Its verdict
comes from the numbers only: **supported** when the 90% interval of the mean effect lies beyond
+rope on the predicted side, **contradicted** when it lies beyond -rope on the other side,
**negligible** when it lies inside (-rope, +rope), **undetermined** otherwise. A claim whose sign
the model's structure fixes (`construction`: the argument) is never "supported": an effect on the
predicted side is reported as **true by construction**.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.inputs.posterior import sign_share
from sim.model.metrics import OUTCOMES

BOOTSTRAP = 2000
"""Bootstrap resamples of the pairs for the interval of the mean effect."""
LEVEL = 0.90
"""Level of every interval in the report."""


@dataclass(frozen=True)
class Claim:
    """One claim of the essay as a paired test.

    Attributes:
        key: short identifier.
        text: the claim in the essay's words.
        arm: the counterfactual arm (None: a claim about the reference arm alone).
        outcome: the named outcome (`sim.model.metrics.OUTCOMES`).
        sign: +1 if the claim predicts reference - arm > 0 (or, without an arm, a positive value).
        reads: how to read the effect in a sentence.
        rope: the smallest mean effect that would matter to a historian, in the outcome's unit.
        rope_reason: why that size.
        construction: None if the model's structure allows an effect of either sign; else the
            argument why the sign cannot flip (the verdict is then "true by construction").
        dates: the claim read at the dates that matter, as (date, outcome) pairs (the 1991 Union
            referendum, after the coup, the Ukrainian referendum): the report shows the verdict at
            each and says when they differ.
    """

    key: str
    text: str
    arm: str | None
    outcome: str
    sign: int
    reads: str
    rope: float = 0.0
    rope_reason: str = ""
    construction: str | None = None
    dates: tuple[tuple[str, str], ...] = ()  # (date read, outcome) pairs: the same claim read at other dates that matter


DATES_UKRAINE = (
    ("17 Mar 1991", "allegiance_Ukraine_mar1991"),
    ("24 Aug 1991", "allegiance_Ukraine_aug1991"),
    ("1 Dec 1991", "allegiance_Ukraine_1991"),
)
"""The Ukrainian claim read at the Union referendum, after the coup, and at the Ukrainian referendum."""
DATES_RSFSR = (
    ("17 Mar 1991", "allegiance_RSFSR_mar1991"),
    ("24 Aug 1991", "allegiance_RSFSR_aug1991"),
    ("1 Dec 1991", "allegiance_RSFSR_1991"),
)
"""The RSFSR claim read at the same dates."""

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "precedent",
        "The precedent effect: concessions taught the miners that striking pays and raised the frequency of later strikes.",
        "no_concessions",
        "striker_days_1990_91",
        +1,
        "striker-days of 1990-91 with the historical concessions minus without any",
        rope=1.0,
        rope_reason="one million striker-days (the outcome's unit): one day of a strike of the whole industry, about a million miners, "
        "is the least a historian of 1990-91 would notice",
    ),
    Claim(
        "precedent_waves",
        "The precedent effect, counted in waves: concessions made later strike waves more frequent.",
        "no_concessions",
        "waves_1990_91",
        +1,
        "strike waves of 1990-91 with the concessions minus without",
        rope=0.5,
        rope_reason="half a wave on average: fewer than one wave in two replicates is not a pattern a historian could see",
    ),
    Claim(
        "institutionalisation",
        "Committee institutionalisation: concessions legitimised the strike committees, which persisted as standing bodies.",
        "no_concessions",
        "committees_1991",
        +1,
        "committees active in 1991 with the concessions minus without",
        rope=5.0,
        rope_reason="five of the model's 143 town and basin committees: fewer would not change how the movement looked in any basin",
    ),
    Claim(
        "broken_promises",
        "Radicalisation through broken promises: unkept promises turned the committees' material demands into political ones.",
        "kept_promises",
        "political_share_1991",
        +1,
        "share of committees at the political or sovereignty stage at the end of 1991, promises broken (history) minus kept",
        rope=0.05,
        rope_reason="five percentage points of the committees: a smaller shift is within what the sources could distinguish",
    ),
    Claim(
        "separatism_ukraine",
        "The thesis: the centre's concessions fuelled separatism (Ukrainian SSR).",
        "no_concessions",
        "allegiance_Ukraine_1991",
        +1,
        "share of the Ukrainian SSR's mining workforce whose committee backs the republic against the Union on 1 December 1991, "
        "with the concessions minus without",
        dates=DATES_UKRAINE,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce: smaller than the margin by which any mining oblast voted in 1991",
    ),
    Claim(
        "separatism_rsfsr",
        "The thesis: the centre's concessions fuelled separatism (RSFSR).",
        "no_concessions",
        "allegiance_RSFSR_1991",
        +1,
        "share of the RSFSR's mining workforce whose committee backs the republic against the Union on 1 December 1991, "
        "with the concessions minus without",
        dates=DATES_RSFSR,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce: smaller than the margin by which any mining oblast voted in 1991",
    ),
    Claim(
        "regional_concessions",
        "Concessions to regional actors: the republics' deals with the strikers (the RSFSR's transfer of its mines in May 1991) "
        "bound the committees to the republic.",
        "no_republic_concessions",
        "allegiance_RSFSR_1991",
        +1,
        "share of the RSFSR's mining workforce whose committee backs the republic on 1 December 1991, with the republic's "
        "concession minus without",
        dates=DATES_RSFSR,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
    ),
    Claim(
        "regional_deals",
        "Regional deals (Kuzbass on 17 July, Donbas on 23 July 1989) tied the committees to their republics; one Union-wide deal "
        "would have kept an all-Union movement.",
        "union_deal",
        "allegiance_Ukraine_1991",
        +1,
        "share of the Ukrainian SSR's mining workforce whose committee backs the republic on 1 December 1991, regional deals "
        "(history) minus one Union-wide deal",
        dates=DATES_UKRAINE,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
    ),
    Claim(
        "pacifism",
        "Pacifism: a centre that negotiated with the July 1989 strikers instead of repressing them strengthened separatism.",
        "repression",
        "allegiance_RSFSR_1991",
        +1,
        "share of the RSFSR's mining workforce whose committee backs the republic on 1 December 1991, negotiation (history) "
        "minus repression",
        dates=DATES_RSFSR,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
    ),
    Claim(
        "pacifism_vorkuta",
        "Pacifism towards the Vorkuta strike of autumn 1989 strengthened separatism.",
        "pechora_repressed",
        "allegiance_RSFSR_1991",
        +1,
        "share of the RSFSR's mining workforce whose committee backs the republic on 1 December 1991, the Vorkuta strike left "
        "alone (history) minus repressed",
        dates=DATES_RSFSR,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
    ),
    Claim(
        "pacifism_strike_law",
        "Pacifism: the strike ban of October 1989, never enforced against the miners, let separatism grow.",
        "strike_law_enforced",
        "allegiance_RSFSR_1991",
        +1,
        "share of the RSFSR's mining workforce whose committee backs the republic on 1 December 1991, the ban unenforced "
        "(history) minus enforced",
        dates=DATES_RSFSR,
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
    ),
    Claim(
        "early_concession",
        "The strike spread because the centre answered late: a deal in the first days would have kept the Donbas out.",
        "early_concession",
        "donbas_struck_july",
        +1,
        "share of replicates in which the Donbas struck in July 1989, history minus an early Kuzbass deal",
        rope=0.1,
        rope_reason="a change of ten percentage points in the chance that the Donbas struck at all",
    ),
    Claim(
        "cooperatives",
        "Co-operatives: the 1988 law on co-operatives sharpened the grievance against managerial privilege and so the July strike.",
        "no_cooperatives",
        "july_peak_strikers",
        +1,
        "July 1989 peak strikers with the co-operatives (history) minus without",
        rope=20000.0,
        rope_reason="20,000 strikers: about a tenth of the Kuzbass strike, below what the July counts can distinguish",
    ),
    Claim(
        "glasnost",
        "Glasnost: open national coverage spread the strike beyond the Kuzbass within days.",
        "weak_news",
        "july_peak_strikers",
        +1,
        "July 1989 peak strikers with glasnost's coverage (history) minus with weak coverage",
        rope=20000.0,
        rope_reason="20,000 strikers: about a tenth of the Kuzbass strike, below what the July counts can distinguish",
    ),
    Claim(
        "co_optation",
        "National co-optation where management was ethnically distinct: the Donbas committees were drawn to sovereignty.",
        "no_ethnic_gap",
        "separatism_Ukraine_1991",
        +1,
        "Ukrainian separatism index at the end of 1991 with the ethnic gap's effect minus without",
        rope=0.05,
        rope_reason="five percentage points of the mining workforce, as for the thesis",
        construction="the ethnic gap enters only as a term g_ethnic * gap >= 0 in the log-rate of escalation (g_ethnic >= 0 in its "
        "allowed range), so removing it can only lower escalation: the effect cannot be negative",
    ),
    Claim(
        "demands",
        "Kuzbass material versus Donbas political demands: the Donbas workforce moved to political demands, the Kuzbass stayed material.",
        None,
        "donbas_minus_kuzbass_political_1990",
        +1,
        "Donbas minus Kuzbass share of the workforce at the political or sovereignty stage, mean over 1990 (baseline alone)",
        rope=0.05,
        rope_reason="five percentage points of the workforce: a smaller difference would not distinguish the two basins' demands",
    ),
)


def _bootstrap_mean(x: np.ndarray, seed: int) -> tuple[float, float]:
    """LEVEL interval of the mean of `x` by bootstrap over its elements (seeded)."""
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(BOOTSTRAP, len(x)))].mean(axis=1)
    a = (1 - LEVEL) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def summarise(values: np.ndarray, seed: int, binary_pair: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    """Summary of paired effects (or of values, for a claim without an arm)."""
    v = np.asarray(values, dtype=float)
    a = (1 - LEVEL) / 2
    lo, hi = _bootstrap_mean(v, seed)
    out = {
        "pairs": len(v),
        "median": float(np.median(v)),
        "p05": float(np.quantile(v, a)),
        "p95": float(np.quantile(v, 1 - a)),
        "mean": float(v.mean()),
        "mean_lo": lo,
        "mean_hi": hi,
        "share_positive": float(np.mean(v > 0)),
        "share_negative": float(np.mean(v < 0)),
    }
    if binary_pair is not None:
        ref, arm = binary_pair
        out["flip_off"] = float(np.mean((ref > 0.5) & (arm < 0.5)))  # true in the reference, false in the arm
        out["flip_on"] = float(np.mean((ref < 0.5) & (arm > 0.5)))
    return out


def paired_effects(outcomes: pd.DataFrame, reference: str, seed: int = 0) -> pd.DataFrame:
    """Effects `reference - arm` of every other arm on every outcome, summarised over the pairs.

    Args:
        outcomes: one row per arm and replicate (columns arm, replicate, seed, outcomes...).
        reference: the reference arm's name (the baseline).
        seed: seed of the bootstrap.
    """
    names = [c for c in outcomes.columns if c in OUTCOMES]
    ref = outcomes[outcomes["arm"] == reference].set_index("replicate").sort_index()
    rows = []
    for arm, g in outcomes[outcomes["arm"] != reference].groupby("arm", sort=False):
        g = g.set_index("replicate").sort_index()
        if not g.index.equals(ref.index) or not (g["seed"] == ref["seed"]).all():
            raise ValueError(f"arm {arm} is not paired with {reference}: replicates or seeds differ")
        for name in names:
            r, x = ref[name].to_numpy(float), g[name].to_numpy(float)
            pair = (r, x) if OUTCOMES[name].binary else None
            rows.append({"arm": arm, "outcome": name, "unit": OUTCOMES[name].unit, **summarise(r - x, seed, pair)})
    return pd.DataFrame(rows)


VERDICTS = ("supported", "true by construction", "contradicted", "negligible", "undetermined")


def verdict(lo: float, hi: float, sign: int, rope: float = 0.0, construction: bool = False) -> str:
    """The verdict from the interval [lo, hi] of the mean effect, the predicted sign and the region of practical equivalence.

    supported: the interval lies beyond +rope on the predicted side (or "true by construction" when
    the model's structure fixes that sign); contradicted: beyond -rope on the other side; negligible:
    inside (-rope, +rope); undetermined: otherwise.
    """
    a, b = sorted((sign * lo, sign * hi))
    if a > rope:
        return "true by construction" if construction else "supported"
    if b < -rope:
        return "contradicted"
    if -rope < a and b < rope:
        return "negligible"
    return "undetermined"


def judge(
    outcomes: pd.DataFrame,
    reference: str,
    claims: tuple[Claim, ...] = CLAIMS,
    seed: int = 0,
    flips: pd.DataFrame | None = None,
    posterior_rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Every claim whose arm was run: its effect summary and verdict (from the numbers alone).

    Args:
        outcomes: one row per arm and replicate.
        reference: the reference arm's name.
        claims: the claims.
        seed: seed of the bootstrap.
        flips: the table of `sim.analysis.flips.search` (None: no search): reported (`flip_evidence`), never changing a
            label, which depends on the paired effects and the claim's own argument (`Claim.construction`) only.
        posterior_rows: the posterior row of each replicate, in replicate order (None: the parameters were
            not drawn from a posterior): gives `posterior_probability` (`sim.inputs.posterior.sign_share`).
    """
    flip = {} if flips is None or not len(flips) else {r["claim"]: r for _, r in flips.iterrows()}
    arms = set(outcomes["arm"])
    ref = outcomes[outcomes["arm"] == reference].set_index("replicate").sort_index()
    rows = []
    for c in claims:
        if c.outcome not in ref.columns or (c.arm is not None and c.arm not in arms):
            continue
        if c.arm is None:
            values = ref[c.outcome].to_numpy(float)
        else:
            g = outcomes[outcomes["arm"] == c.arm].set_index("replicate").sort_index()
            values = ref[c.outcome].to_numpy(float) - g[c.outcome].to_numpy(float)
        s = summarise(values, seed)
        f = flip.get(c.key)
        construction = c.construction  # the model's structure only: the search never turns a verdict into another label
        post = np.nan if posterior_rows is None else sign_share(values, posterior_rows, c.sign)
        at = []
        for label, name in c.dates:
            if name not in ref.columns:
                continue
            v = ref[name].to_numpy(float) - (g[name].to_numpy(float) if c.arm is not None else 0.0)
            sd = summarise(v, seed)
            at.append((label, verdict(sd["mean_lo"], sd["mean_hi"], c.sign, c.rope, construction is not None), sd["mean"]))
        rows.append(
            {
                "claim": c.key,
                "text": c.text,
                "arm": c.arm or "(baseline alone)",
                "outcome": c.outcome,
                "predicted_sign": c.sign,
                "reads": c.reads,
                **s,
                "share_predicted": s["share_positive"] if c.sign > 0 else s["share_negative"],
                "posterior_probability": post,
                "rope": c.rope,
                "rope_reason": c.rope_reason,
                "can_flip": construction is None,
                "construction": construction or "",
                "flip_evidence": _flip_evidence(f, c) if f is not None else "",
                "verdict": verdict(s["mean_lo"], s["mean_hi"], c.sign, c.rope, construction is not None),
                "verdict_by_date": "; ".join(f"{lab}: {v} ({_fmt(m)})" for lab, v, m in at),
                "dates_differ": len({v for _, v, _ in at}) > 1,
            }
        )
    return pd.DataFrame(rows)


def _flip_evidence(f, c: Claim) -> str:
    """One sentence: what the search of the priors found for a claim."""
    runs = f", {int(f['runs_screen']) + int(f['runs_confirm']):,} runs" if "runs_screen" in f else ""
    head = f"{f['share_points_predicted']:.0%} of {int(f['points'])} parameter sets inside the priors (calibrated ones from the posterior{runs}) give the predicted sign{f.get('counters', '')}"
    if f["flip_shown"]:
        return (
            f"{head}; the sign flips at {f['point']}: effect {_fmt(f['confirm_mean'])} "
            f"[90% interval {_fmt(f['confirm_lo'])} to {_fmt(f['confirm_hi'])}] on fresh paired replicates"
        )
    if f["share_points_opposite"] == 0:
        return f"{head}; none gives the opposite sign"
    return (
        f"{head} and {f['share_points_opposite']:.0%} the opposite one, but no flip was confirmed: the most opposite of the "
        f"{int(f['candidates'])} run again on fresh paired replicates ({f['point']}) gave {_fmt(f['confirm_mean'])} "
        f"[{_fmt(f['confirm_lo'])} to {_fmt(f['confirm_hi'])}]; the sign may flip, but the search did not show it"
    )


def _pct(v: float) -> str:
    return "-" if v != v else f"{v:.0%}"


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def report(
    verdicts: pd.DataFrame,
    effects: pd.DataFrame,
    arms: list[dict],
    meta: dict,
    figures: list[str],
    sensitivity: dict | None = None,
) -> str:
    """The thesis report (markdown): each claim with its paired effect, interval and verdict.

    Args:
        verdicts: the table of `judge`.
        effects: the table of `paired_effects`.
        arms: one dict per arm: name, file, claim, description.
        meta: run facts (command, seed, replicates, parameters, commit, fork date).
        figures: relative paths of the figures.
        sensitivity: what `python run.py sensitivity` found, read back from its folder (folder,
            knockouts table, robustness summary), or None if no sensitivity run is on disk.
    """
    pct = int(LEVEL * 100)
    lines = [
        "# Did the centre's concessions fuel separatism? The essay's claims as paired experiments",
        "",
        f"Command: `{meta['command']}`. Commit `{meta['git_commit']}`. {meta['replicates']} replicates per arm from root seed "
        f"{meta['seed']}; every arm ran on the same replicate seeds and the same parameter draws ({meta['parameters']}), "
        f"so each replicate of an arm is paired with the same replicate of the baseline and the two differ only through the arm's lever"
        + (f"; the arms part from the baseline's history on {meta['fork_at']}" if meta.get("fork_at") else "")
        + ". (Timing and the replicate seeds are in `manifest.json`; this report depends only on the command, seed and commit.)",
        "",
        "**How to read it.** An effect is *baseline minus arm*: what the historical course did that the counterfactual did "
        f"not. For each claim: the median of the paired effects and the range from {(100 - pct) // 2}% to {100 - (100 - pct) // 2}% of them (how much the "
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
        f"| claim | arm | outcome | median effect [{(100 - pct) // 2}%-{100 - (100 - pct) // 2}% of pairs] | mean [{pct}% interval] | threshold | pairs with the predicted sign | posterior probability of the predicted sign | can the sign flip? | verdict |",
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
            + (f" **True by construction**: {arg}." if arg else " The model's structure allows an effect of either sign.")
            + (f" Search of the priors: {r['flip_evidence']}." if r.get("flip_evidence") else " (The priors were not searched for a flip.)")
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
    lines += ["", "## Every paired effect", "", "Baseline minus arm, per outcome (units in the outcome list below).", ""]
    lines += [
        f"| arm | outcome | median [{(100 - pct) // 2}%-{100 - (100 - pct) // 2}% of pairs] | mean [{pct}% interval] | pairs > 0 | pairs < 0 | flips |",
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


ROBUST_CLAIMS = {"separatism_rsfsr": "RSFSR", "separatism_ukraine": "Ukraine"}
"""Claims whose robustness over parameter space the sensitivity run maps (the concession effect on separatism)."""


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
