"""Figures of calibration and sensitivity results (from saved tables): posterior marginals, targets, Morris, Sobol, knock-outs, robustness.

Split from `sim.figures.plots` (the run, compare, thesis and explain figures); each function takes tidy tables and returns a Figure.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.targets import tally
from sim.figures.plots import THOUSANDS, WEEKLY, _subtitle, panels
from sim.model.metrics import band

GROUP_COLORS = {
    "wage": "#4c72b0",
    "ecology": "#55a868",
    "privilege": "#8172b3",
    "onset": "#937860",
    "contagion": "#dd8452",
    "committees": "#c44e52",
    "news": "#da8bc3",
    "centre": "#222222",
    "identity": "#ccb974",
    "fatigue": "#17becf",
}
"""Colour of each mechanism group of the sensitivity analysis."""


def plot_targets(
    scores: pd.DataFrame,
    series: dict[int, pd.DataFrame],
    scenario: str,
    replicates: int,
    title: str = "July 1989 targets against the model",
    axes=None,
) -> Figure:
    """One panel per scored target: the simulated band in its place over July-August 1989, and the figure.

    Count targets show the model's median and 5-95% band over time with the historical value (or
    interval); event targets (a first strike, the end of a wave) show the spread of the simulated
    dates across replicates with the historical date.

    Args:
        scores: the table of `sim.analysis.targets.score`.
        series: target line -> simulated (replicate, date, mines_on_strike, strikers) for its area.
        scenario: scenario name for the subtitle.
        replicates: replicate count for the subtitle.
        title: the figure's title.
        axes: Axes to draw on, one per scored target in three columns (default: a new figure).
    """
    rows = scores[scores["scored"]]
    n = max(len(rows), 1)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = panels(axes, nrow, ncol, figsize=(13, 3.4 * nrow + 0.6), constrained_layout=True)
    blue, red = "#4c72b0", "#c44e52"
    for ax, (_, r) in zip(axes.flat, rows.iterrows(), strict=False):
        s = series[r["line"]]
        x = pd.Timestamp(r["date"])
        x0, x1 = x - pd.Timedelta(days=14), x + pd.Timedelta(days=14)  # four weeks around the target
        where = r["basin"] + (f", {r['place']}" if r["place"] else "")
        verdict = "inside the 50% band" if r["inside_50"] else "inside the 90% band" if r["inside_90"] else "OUTSIDE the 90% band"
        idle = bool(r["inside_90"]) and not r.get("informative", True)  # a hit whose band says nothing (sim.analysis.targets.uninformative)
        if idle:
            why = str(r.get("uninformative_why") or "").split(" though")[0].split(",")[0].split(" (")[0]
            verdict += f"\nUNINFORMATIVE: {why}" if why else ", UNINFORMATIVE"
        if r["measure"] in ("first_strike", "last_day"):
            days = x + pd.to_timedelta([r["sim_p05"], r["sim_median"], r["sim_p95"]], unit="D")
            if days.notna().all():
                ax.axvspan(days[0], days[2], color=blue, alpha=0.25, lw=0)
                ax.axvline(days[1], color=blue, lw=1.6)
            else:  # the event happened in no replicate
                ax.text(0.5, 0.5, "never happened in the model", transform=ax.transAxes, ha="center", fontsize=9, color=blue)
            ax.axvline(x, color=red, lw=2, ls="--")
            ax.set_yticks([])
            ax.set_ylabel("(dates only)", fontsize=8, color="dimgrey")  # the band is the spread of the simulated dates
            what = "first strike" if r["measure"] == "first_strike" else "end of the wave"
            ax.set_title(f"{where}\n{what} on {r['date']}: {verdict}", fontsize=9, color="dimgrey" if idle else "black")
            ax.set_xlim(x0, x1)
        else:
            s = s[(s["date"] >= x0) & (s["date"] <= x1)].assign(basin="x")
            b = band(s, r["measure"])
            b50 = band(s, r["measure"], 0.25, 0.75)
            ax.plot(b["date"], b["median"], color=blue, lw=1.6)
            ax.fill_between(b["date"], b["lo"], b["hi"], color=blue, alpha=0.2, lw=0)
            ax.fill_between(b50["date"], b50["lo"], b50["hi"], color=blue, alpha=0.3, lw=0)
            if r["kind"] == "interval":
                lo, hi = r["low"], r["high"]
                v = r["value"] if pd.notna(r["value"]) else (lo + hi) / 2
                ax.errorbar([x], [v], yerr=[[v - lo], [hi - v]], fmt="D", color=red, mec="black", capsize=4)
            else:
                ax.plot([x], [r["value"]], "D", color=red, mec="black")
            ax.set_ylabel("enterprises on strike" if r["measure"] == "mines_on_strike" else "strikers (persons)", fontsize=8)
            ax.yaxis.set_major_formatter(THOUSANDS)
            ax.set_title(
                f"{where}\n{r['measure'].replace('_', ' ')} on {r['date']}: {verdict}", fontsize=9, color="dimgrey" if idle else "black"
            )
        ax.xaxis.set_major_locator(WEEKLY)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.set_xlabel(f"date ({x.year})", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], color=blue, lw=1.6, label="model median across replicates, day by day"),
        plt.Rectangle((0, 0), 1, 1, color=blue, alpha=0.5, label="model 25-75% of replicates"),
        plt.Rectangle((0, 0), 1, 1, color=blue, alpha=0.2, label="model 5-95% of replicates"),
        plt.Line2D([], [], marker="D", color=red, mec="black", ls="", label="historical figure (bar: its interval)"),
        plt.Line2D([], [], color=red, ls="--", lw=2, label="historical date"),
    ]
    if spare:  # the legend takes the first empty panel
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles=handles, loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=9)
    n = tally(scores)
    count = f"{n['good']} of {n['scored']} inside the 90% band and informative, {n['uninformative']} inside but uninformative, {n['outside']} outside"
    fig.suptitle(
        f"{title} (a place in brackets is resolved to its town)\n{count}\n{_subtitle(scenario, replicates, 'median, 50% and 90% bands')}",
        fontsize=12,
    )
    return fig


def plot_marginals(post: pd.DataFrame, priors: list[dict], title: str, axes=None) -> Figure:
    """Marginal posteriors: weighted histogram of each calibrated parameter over its prior range.

    Args:
        post: posterior draws (one column per parameter, and `weight`).
        priors: one dict per parameter: name, lo, hi, scale ("linear" or "log"), unit.
        title: subtitle text (how the posterior was made).
        axes: Axes to draw on, one per parameter in four columns (default: a new figure).
    """
    n = len(priors)
    ncol = 4
    nrow = (n + ncol - 1) // ncol
    fig, axes = panels(axes, nrow, ncol, figsize=(13, 2.6 * nrow + 0.9), constrained_layout=True)
    w = post["weight"].to_numpy()
    for ax, pr in zip(axes.flat, priors, strict=False):
        v = post[pr["name"]].to_numpy()
        log = pr["scale"] == "log"
        edges = np.geomspace(pr["lo"], pr["hi"], 21) if log else np.linspace(pr["lo"], pr["hi"], 21)
        ax.hist(v, bins=edges, weights=w, color="#4c72b0", alpha=0.8, label="posterior (weighted)")
        ax.axhline(1 / 20, color="grey", ls="--", lw=1, label="prior (flat on this scale)")
        order = np.argsort(v)
        cdf = np.cumsum(w[order]) / w.sum()
        med = v[order][np.searchsorted(cdf, 0.5)]
        ax.axvline(med, color="#c44e52", lw=1.5, label="posterior median")
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(mticker.NullFormatter())  # minor labels overlap on short log ranges
        ax.set_xlim(pr["lo"], pr["hi"])
        ax.set_title(f"{pr['name']} (median {med:.3g})", fontsize=9)
        unit = f"{pr['unit']}, " if pr.get("unit") else ""
        ax.set_xlabel(f"{pr['name']} ({unit}{'log' if log else 'linear'} scale)", fontsize=8)
        ax.set_ylabel("posterior mass per bin", fontsize=8)
        ax.tick_params(labelsize=7)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if spare:
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles, labels, loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9)
    fig.suptitle(f"Marginal posteriors of the calibrated parameters (ABC-SMC, July 1989 targets)\n{title}", fontsize=12)
    return fig


def _outcome_grid(n: int, axes=None, ncol: int = 3, height: float = 3.6):
    nrow = (n + ncol - 1) // ncol
    fig, axes = panels(axes, nrow, ncol, figsize=(14, height * nrow + 1.2), constrained_layout=True)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_morris(morris: pd.DataFrame, labels: dict[str, str], subtitle: str, top: int = 6, axes=None) -> Figure:
    """Morris screening: mu* (mean absolute elementary effect) against sigma, one panel per outcome, factors coloured by group.

    `axes`: Axes to draw on, one per outcome in three columns (default: a new figure).
    """
    outs = list(dict.fromkeys(morris["outcome"]))
    fig, axes = _outcome_grid(len(outs), axes)
    for ax, o in zip(axes.flat, outs, strict=False):
        m = morris[morris["outcome"] == o]
        for g, d in m.groupby("group"):
            ax.scatter(d["mu_star"], d["sigma"].fillna(0), color=GROUP_COLORS.get(g, "grey"), s=28, label=g, edgecolor="black", lw=0.3)
        for _, r in m.nlargest(top, "mu_star").iterrows():
            ax.annotate(
                r["parameter"],
                (r["mu_star"], 0 if pd.isna(r["sigma"]) else r["sigma"]),
                fontsize=7,
                xytext=(3, 2),
                textcoords="offset points",
            )
        ax.set_title(labels.get(o, o), fontsize=9)
        ax.set_xlabel("mu* (mean |elementary effect|, outcome units)", fontsize=8)
        ax.set_ylabel("sigma (spread of the effects)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=c, mec="black", label=g) for g, c in GROUP_COLORS.items() if g in set(morris["group"])
    ]
    fig.legend(handles=handles, title="mechanism group", loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"Morris screening: which parameters move each outcome (labelled: the {top} largest)\n{subtitle}", fontsize=12)
    return fig


def plot_sobol(sobol: pd.DataFrame, labels: dict[str, str], subtitle: str, axes=None) -> Figure:
    """Sobol indices: first-order (S1) and total (ST) with bootstrap 90% intervals, one panel per outcome.

    `axes`: Axes to draw on, one per outcome in three columns (default: a new figure).
    """
    outs = list(dict.fromkeys(sobol["outcome"]))
    fig, axes = _outcome_grid(max(len(outs), 1), axes)
    for ax, o in zip(axes.flat, outs, strict=False):
        s = sobol[sobol["outcome"] == o].sort_values("ST")
        y = np.arange(len(s))
        ax.barh(y + 0.2, s["ST"].clip(lower=0), 0.4, xerr=s["ST_conf"], color="#4c72b0", label="total (ST)", error_kw={"lw": 0.8})
        ax.barh(y - 0.2, s["S1"].clip(lower=0), 0.4, xerr=s["S1_conf"], color="#dd8452", label="first order (S1)", error_kw={"lw": 0.8})
        ax.set_yticks(y)
        ax.set_yticklabels([f"{p} ({g})" for p, g in zip(s["parameter"], s["group"], strict=True)], fontsize=7)
        ax.set_xlabel("share of the outcome's variance", fontsize=8)
        ax.set_title(labels.get(o, o), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    fig.legend(
        handles=[
            plt.Rectangle((0, 0), 1, 1, color="#4c72b0", label="total index ST (with interactions)"),
            plt.Rectangle((0, 0), 1, 1, color="#dd8452", label="first-order index S1 (alone)"),
        ],
        loc="outside lower center",
        ncol=2,
        fontsize=9,
        title="bars: bootstrap 90% interval",
    )
    fig.suptitle(f"Sobol indices of the factors that matter most (negative estimates drawn at zero)\n{subtitle}", fontsize=12)
    return fig


VERDICT_COLORS = {"supported": "#55a868", "contradicted": "#c44e52", "undetermined": "#cccccc"}


def plot_knockouts(ko: pd.DataFrame, claims: list[str], subtitle: str, ax=None) -> Figure:
    """The knock-out matrix: one row per mechanism switched off, the July 1989 fit and each claim's verdict.

    `ax`: an Axes to draw on (default: a new figure).
    """
    rows = list(ko["mechanism"])
    fig, axes = panels(
        None if ax is None else [ax], 1, 1, figsize=(3.2 + 1.25 * len(claims), 0.42 * len(rows) + 2.4), constrained_layout=True
    )
    ax = axes[0, 0]
    for i, (_, r) in enumerate(ko.iterrows()):
        good = r.get("targets_good_90", r["targets_inside_90"])  # informative hits (a folder older than the column: every hit)
        frac = good / max(r["targets_scored"], 1)
        ax.add_patch(plt.Rectangle((0, i), 1, 1, color=plt.cm.RdYlGn(frac), ec="white"))
        ax.text(0.5, i + 0.5, f"{int(good)}/{int(r['targets_scored'])}", ha="center", va="center", fontsize=8)
        for j, c in enumerate(claims, start=1):
            v = r.get(f"verdict_{c}", "")
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=VERDICT_COLORS.get(v, "white"), ec="white"))
            mean = r.get(f"mean_{c}", np.nan)
            ax.text(j + 0.5, i + 0.5, f"{v[:5]}\n{mean:+.3g}" if v else "", ha="center", va="center", fontsize=6.5)
    ax.set_xlim(0, len(claims) + 1)
    ax.set_ylim(len(rows), 0)
    ax.set_xticks(np.arange(len(claims) + 1) + 0.5)
    ax.set_xticklabels(
        ["July 1989 targets in the\n90% band, informative", *[c.replace("_", " ") for c in claims]], fontsize=7.5, rotation=30, ha="right"
    )
    ax.set_yticks(np.arange(len(rows)) + 0.5)
    ax.set_yticklabels([f"{m} off" if m != "none" else "none (reference)" for m in rows], fontsize=8)
    ax.set_xlabel("July 1989 fit and the essay's claims (cell: verdict and mean paired effect)", fontsize=8)
    ax.set_ylabel("mechanism switched off", fontsize=8)
    ax.legend(
        handles=[plt.Rectangle((0, 0), 1, 1, color=c, label=v) for v, c in VERDICT_COLORS.items()],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        title="verdict",
    )
    ax.set_title(f"Mechanism knock-outs: what survives without each mechanism\n{subtitle}", fontsize=11)
    return fig


def plot_robustness(points: pd.DataFrame, boxes: dict, dims: dict[str, tuple[str, str]], subtitle: str, axes=None) -> Figure:
    """The thesis robustness map: sampled parameter sets coloured by the sign of the concession effect, with the PRIM box.

    Args:
        points: one row per sampled point: factor values, `source` (posterior or wider ranges), `concession_effect_<rep>`.
        boxes: republic -> PRIM result (limits, coverage, density, posterior_mass).
        dims: republic -> the two factors drawn (the box's first two, or the most influential).
        subtitle: scenario, points and replicates.
        axes: Axes to draw on, one per republic in a row (default: a new figure).
    """
    import textwrap

    reps = list(boxes)
    fig, axes = panels(axes, 1, len(reps), figsize=(6.8 * len(reps), 7.6), constrained_layout=True)
    for ax, rep in zip(axes.flat, reps, strict=True):
        b = boxes[rep]
        xd, yd = dims[rep]
        eff = points[f"concession_effect_{rep}"]
        for src, marker in (("posterior", "o"), ("wider ranges", "^")):
            d = points[points["source"] == src]
            e = eff[points["source"] == src]
            ax.scatter(
                d.loc[e >= 0, xd],
                d.loc[e >= 0, yd],
                marker=marker,
                s=22,
                color="#4c72b0",
                alpha=0.7,
                lw=0,
                label=f"{src}: effect >= 0 (thesis sign)",
            )
            ax.scatter(
                d.loc[e < 0, xd],
                d.loc[e < 0, yd],
                marker=marker,
                s=26,
                color="#c44e52",
                alpha=0.9,
                lw=0,
                label=f"{src}: effect < 0 (sign flips)",
            )
        lim = b.get("limits") or {}
        if lim:
            x0, x1 = lim.get(xd, (points[xd].min(), points[xd].max()))
            y0, y1 = lim.get(yd, (points[yd].min(), points[yd].max()))
            ax.add_patch(
                plt.Rectangle(
                    (x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", lw=1.6, ls="--", label="PRIM box (its limits on these two factors)"
                )
            )
            box_text = "; ".join(f"{k} [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in lim.items())
        else:
            box_text = "no region found (no sign flips)"
        ax.set_xlabel(f"{xd} (parameter value)", fontsize=9)
        ax.set_ylabel(f"{yd} (parameter value)", fontsize=9)
        mass = b.get("posterior_mass")
        ax.set_title(
            f"Concession effect on {rep} separatism: sign flips in {b.get('base_rate', 0):.0%} of the points\n"
            f"PRIM box: coverage {b.get('coverage', 0):.0%}, density {b.get('density', 0):.0%}"
            + (f", posterior mass inside {mass:.0%}" if mass is not None else ""),
            fontsize=9,
        )
        ax.text(
            0.0,
            -0.12,
            "box limits (most restrictive first):\n" + "\n".join(textwrap.wrap(box_text, 95)),
            transform=ax.transAxes,
            va="top",
            fontsize=7,
            color="dimgrey",
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Where in parameter space does the thesis fail? (PRIM scenario discovery)\n{subtitle}", fontsize=12)
    return fig
