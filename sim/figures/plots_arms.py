"""Figures of paired experiments (`compare`, `thesis`): every claim against its threshold, the forest of paired effects, and the arms over time.

With `sim.figures.plots`, `sim.figures.plots_network`, `sim.figures.plots_analysis` and `sim.figures.plots_app`, the only modules that
import matplotlib; none of them chooses a backend.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from sim.figures.plots import ARM_COLORS, THOUSANDS, panels


def _unit_label(unit: str) -> str:
    """An axis unit without nested brackets: 'index (share)' -> 'index, share'."""
    return unit.replace(" (", ", ").replace(")", "")


def plot_forest(
    effects: pd.DataFrame,
    outcomes: list[str],
    units: dict[str, str],
    title: str,
    replicates: int,
    labels: dict[str, str] | None = None,
    axes=None,
    thresholds: dict[str, float] | None = None,
    binary: set[str] | None = None,
) -> Figure:
    """Forest plot: the paired effect of every arm's lever on each outcome (`EFFECT`: baseline minus arm, > 0: the lever raised it).

    One panel per outcome, one row per arm: a dot at the mean effect with its 90% interval (thick),
    and the 5-95% range of the pair effects (thin; not drawn for a yes/no outcome, whose pair
    effects are -1, 0 or 1 and whose mean is the difference in the share of runs); zero is marked,
    and where a claim reads the outcome, its threshold (the smallest effect that matters) is drawn
    on both sides of zero with the span between shaded.

    Args:
        effects: the table of `sim.analysis.experiments.paired_effects`.
        outcomes: outcomes to show, one panel each.
        units: outcome -> unit (axis labels).
        title: scenario suite name for the subtitle.
        replicates: pairs per arm.
        labels: outcome -> human name (panel titles; default: the variable name).
        axes: Axes to draw on, one per outcome in four columns (default: a new figure).
        thresholds: outcome -> the claim's threshold in the outcome's unit (drawn at -t and +t).
        binary: the yes/no outcomes.
    """
    from matplotlib.ticker import MaxNLocator

    labels, thresholds, binary = labels or {}, thresholds or {}, binary or set()
    arms = list(dict.fromkeys(effects["arm"]))
    n = len(outcomes)
    ncol = 4 if n > 6 else 3
    nrow = (n + ncol - 1) // ncol
    per_row = 0.2 * len(arms) + 1.1
    fig, axes = panels(axes, nrow, ncol, figsize=(15, per_row * nrow + 1.4), constrained_layout=True)
    for k, (ax, name) in enumerate(zip(axes.flat, outcomes, strict=False)):
        e = effects[effects["outcome"] == name].set_index("arm").reindex(arms)
        y = list(range(len(arms)))[::-1]
        t = thresholds.get(name)
        if t:
            ax.axvspan(-t, t, color="#f2e6c9", lw=0, zorder=0)
            for x in (-t, t):
                ax.axvline(x, color="#b07d2b", lw=0.9, ls=":", zorder=1)
        if name not in binary:
            ax.hlines(y, e["p05"], e["p95"], color="#999999", lw=1.2)
        ax.hlines(y, e["mean_lo"], e["mean_hi"], color="#4c72b0", lw=4)
        ax.plot(e["mean"], y, "o", color="#c44e52", mec="black", ms=5, zorder=3)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels(arms if k % ncol == 0 else [], fontsize=8)
        ax.set_title(labels.get(name, name.replace("_", " ")), fontsize=9)
        unit = "difference in the share of runs" if name in binary else _unit_label(units.get(name, ""))
        ax.set_xlabel(f"effect of the lever, baseline minus arm ({unit})", fontsize=8)
        if name in binary:
            ax.set_xlim(-1.05, 1.05)
        if e[["p05", "p95"]].abs().max().max() >= 10_000:
            ax.xaxis.set_major_formatter(THOUSANDS)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # few ticks: long numbers must not overlap
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", color="#c44e52", mec="black", ls="", label="mean paired effect"),
        plt.Line2D([], [], color="#4c72b0", lw=4, label="90% interval of the mean (bootstrap)"),
        plt.Line2D([], [], color="#999999", lw=1.2, label="5-95% of the pair effects (not for a yes/no outcome)"),
        plt.Rectangle((0, 0), 1, 1, color="#f2e6c9", ec="#b07d2b", ls=":", label="within a claim's threshold: too small to matter"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=9)
    fig.suptitle(
        f"Effects of the historical levers (baseline minus each counterfactual arm: > 0 means the lever raised the outcome)\n"
        f"suite: {title} | {replicates} paired replicates per arm",
        fontsize=12,
    )
    return fig


def _signed(x: float) -> str:
    """A signed number for the claims figure: thousands separated, never in scientific notation."""
    return f"{x:+,.0f}" if abs(x) >= 1000 else f"{x:+.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:+.6f}"


VERDICT_COLOURS = {
    "supported": "#2e7d32",
    "true by construction": "#7b1fa2",
    "contradicted": "#c62828",
    "negligible": "#757575",
    "undetermined": "#f9a825",
}
"""A colour per verdict of `sim.analysis.experiments.VERDICTS` (the claims figure)."""


def plot_claims(verdicts: pd.DataFrame, title: str, replicates: int, ax=None) -> Figure:
    """Every claim in one figure: the mean effect of its lever with its 90% interval, in multiples of the claim's threshold.

    One row per claim (of `sim.analysis.experiments.judge`): the dot is the mean paired effect (baseline
    minus arm; positive: the lever raised the outcome) divided by the claim's threshold, the bar its
    90% bootstrap interval; the dotted lines at -1 and +1 are the threshold (the span between shaded:
    too small to matter); the dot's colour and the text on the right give the verdict and the effect
    in the outcome's own unit. A claim without a threshold is drawn against 1 of its unit.
    """
    v = verdicts.reset_index(drop=True)
    rope = v["rope"].where(v["rope"] > 0, 1.0).astype(float)
    mean, lo, hi = v["mean"] / rope, v["mean_lo"] / rope, v["mean_hi"] / rope
    y = list(range(len(v)))[::-1]
    fig, axes = panels(None if ax is None else [ax], 1, 1, figsize=(11, 0.42 * len(v) + 2.0), constrained_layout=True)
    ax = axes[0, 0]
    ax.axvspan(-1, 1, color="#f2e6c9", lw=0, zorder=0)
    for x in (-1, 1):
        ax.axvline(x, color="#b07d2b", lw=0.9, ls=":", zorder=1)
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.hlines(y, lo, hi, color="#4c72b0", lw=4, zorder=2)
    colours = [VERDICT_COLOURS.get(str(x), "#333333") for x in v["verdict"]]
    ax.scatter(mean, y, c=colours, edgecolors="black", s=36, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([str(c).replace("_", " ") for c in v["claim"]], fontsize=8.5)
    ax.set_ylabel("claim of the essay", fontsize=8.5)
    span = max(2.0, float(pd.concat([lo, hi]).abs().max()) * 1.08)
    ax.set_xlim(-span, span)
    ax.set_ylim(-0.8, len(v) - 0.2)
    for yi, (_, r) in zip(y, v.iterrows(), strict=True):
        ax.annotate(
            f"{r['verdict']}: {_signed(r['mean'])} [{_signed(r['mean_lo'])}, {_signed(r['mean_hi'])}]",
            xy=(1.01, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=7.5,
            color=VERDICT_COLOURS.get(str(r["verdict"]), "#333333"),
        )
    ax.set_xlabel(
        "effect of the lever (baseline minus arm; > 0: the lever raised the outcome), in multiples of the claim's threshold", fontsize=8.5
    )
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=8)
    handles = [
        plt.Line2D([], [], color="#4c72b0", lw=4, label="90% interval of the mean effect (bootstrap)"),
        plt.Rectangle((0, 0), 1, 1, color="#f2e6c9", ec="#b07d2b", ls=":", label="within the threshold: too small to matter"),
        *[plt.Line2D([], [], marker="o", ls="", color=c, mec="black", label=k) for k, c in VERDICT_COLOURS.items()],
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(
        "The essay's claims: the mean effect of each lever against the smallest effect that would matter\n"
        f"suite: {title} | {replicates} paired replicates per arm | right: verdict, mean effect [90% interval] in the outcome's unit",
        fontsize=11,
    )
    return fig


def plot_arms(series: pd.DataFrame, title: str, replicates: int, shocks: list[tuple[str, str]] | None = None, axes=None) -> Figure:
    """Each arm against the reference, 1989-1991, as small multiples (one row per arm).

    Columns: strikers union-wide (weekly mean), committees at the political stage or beyond, and
    allegiance (the share of the mining workforce whose committee backs its republic against the
    Union: the measure the thesis verdicts read) in Ukraine and the RSFSR (the separatism index in
    folders written before allegiance was saved). Each panel overlays the reference arm (grey) and
    one counterfactual arm (colour): median and 25-75% band across replicates on each day (not the
    path of any one run); y axes are shared down each column so rows compare.

    Args:
        series: the daily series of `sim.run.runner.run_arms` (arm, replicate, date, strikers, ...).
        title: suite name for the subtitle.
        replicates: replicates per arm.
        shocks: (ISO date, label) of dated shocks to mark.
        axes: Axes to draw on, one row per counterfactual arm and four columns (default: a new figure, axes shared down columns).
    """
    measure, name = ("allegiance", "backing the republic") if "allegiance_Ukraine" in series else ("separatism", "separatism index")
    columns = [
        ("strikers", "strikers union-wide\n(persons, weekly mean)"),
        ("committees_political_plus", "committees at the political\nor sovereignty stage (count)"),
        (f"{measure}_Ukraine", f"{name},\nUkrainian SSR (share of mining workforce)"),
        (f"{measure}_RSFSR", f"{name},\nRSFSR (share of mining workforce)"),
    ]
    arms = list(dict.fromkeys(series["arm"]))
    ref, others = arms[0], arms[1:] or arms[:1]

    def summary(arm: str, col: str):
        s = series[series["arm"] == arm][["replicate", "date", col]]
        if col == "strikers":  # weekly means keep a thousand daily spikes readable
            s = s.assign(date=s["date"].dt.to_period("W").dt.start_time).groupby(["replicate", "date"], as_index=False)[col].mean()
        g = s.groupby("date")[col]
        return g.median(), g.quantile(0.25), g.quantile(0.75)

    fig, axes = panels(
        axes,
        len(others),
        len(columns),
        figsize=(15, min(1.9, 16 / len(others)) * len(others) + 1.8),
        sharex=True,
        sharey="col",
        constrained_layout=True,
    )
    cache = {}
    for r, arm in enumerate(others):
        c = ARM_COLORS[1 + r % (len(ARM_COLORS) - 1)]
        for k, (col, label) in enumerate(columns):
            ax = axes[r, k]
            if (ref, col) not in cache:
                cache[ref, col] = summary(ref, col)
            for (med, lo, hi), color, name, lw in ((cache[ref, col], "#555555", ref, 1.0), (summary(arm, col), c, arm, 1.4)):
                ax.plot(med.index, med.values, color=color, lw=lw, label=name)
                ax.fill_between(med.index, lo.values, hi.values, color=color, alpha=0.18, lw=0)
            for d, _ in shocks or []:
                ax.axvline(pd.Timestamp(d), color="grey", lw=0.5, ls=":")
            if r == 0:
                ax.set_title(label, fontsize=9)
            if k == 0:
                ax.set_ylabel(textwrap.fill(arm.replace("_", " "), 14), fontsize=8.5, color=c, fontweight="bold")  # fits a short row
            share = col not in ("strikers", "committees_political_plus")
            ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0) if share else THOUSANDS)
            if share:
                ax.set_ylim(-0.03, 1.03)  # a line at 0 or 1 stays visible, not on the frame
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
    fig.legend(
        handles=[
            plt.Line2D([], [], color="#555555", lw=1.0, label=f"reference '{ref}': median across replicates"),
            plt.Line2D([], [], color=ARM_COLORS[1], lw=1.4, label="counterfactual arm (the colour of its row's name): median"),
            plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.25, label="25-75% of replicates"),
        ],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
    )
    for ax in axes[-1]:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.set_xlabel("date", fontsize=8)
    fig.suptitle(
        f"Each counterfactual arm (colour) against the reference '{ref}' (grey), 1989-1991: median and 25-75% band across replicates\n"
        f"suite: {title} | {replicates} replicates per arm, the same seeds and parameter draws in every arm; "
        "a line is the median on each day, not one run's path; dotted lines: dated shocks",
        fontsize=11,
    )
    return fig
