"""Paired counterfactual effects and the essay's claims as tests (the thesis report: `sim.analysis.report`).

Arms run on the same replicate seeds and posterior draws (`sim.run.runner.run_arms`), so replicate i of
an arm and replicate i of the reference form a pair that differs only through the arm's lever. For
every arm and outcome the paired effect is `reference - arm`: the effect of the lever, what the reference (the
historical baseline) did and the arm did not (`EFFECT`: positive means the lever raised the outcome). Summaries: median and 5-95% range of the pair effects
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
from sim.model.metrics import OUTCOMES, VOTE_DATES, VOTE_REPUBLICS

BOOTSTRAP = 2000
"""Bootstrap resamples of the pairs for the interval of the mean effect."""
LEVEL = 0.90
"""Level of every interval in the report."""
EFFECT = (
    "effect of the lever = baseline minus counterfactual arm, pair by pair: positive means the historical lever "
    "(what the baseline does and the arm does not) raised the outcome, negative that it lowered it"
)
"""How every paired effect is stated (report, `compare`, figures, sensitivity, tutorial): what the lever did."""
EFFECT_SHORT = "effect of the lever (baseline minus arm; > 0: the lever raised it)"
"""The same, as an axis label."""


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
    *(
        Claim(
            f"separatism_{short.lower()}_vote",
            f"The thesis on the scale of a vote: the centre's concessions fuelled separatism among the {rep}'s adults.",
            "no_concessions",
            f"vote_republic_{short}_dec1991",
            +1,
            f"mean stance of the {rep}'s adults (its mining oblasts with 1989 adults) on 1 December 1991, concessions minus none",
            dates=tuple((lab, f"vote_republic_{short}_{tag}") for tag, _, lab in VOTE_DATES),
            rope=0.01,
            rope_reason="one percentage point of the adults (assumption): the miners and families are 2-19% of an oblast's adults",
        )
        for short, rep in VOTE_REPUBLICS
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
