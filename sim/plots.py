"""Figures from saved results (never from the model): the only matplotlib importer.

Each function takes tidy tables and returns a Figure; `scenario` and replicate count go in the
subtitle. `sim.results.save_figure` writes them as PNG and SVG.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from sim.metrics import band

WAVE_BASINS = ("Kuzbass", "Donbas", "Pechora", "Karaganda", "Eastern Donbas", "Lviv-Volyn")
THOUSANDS = mticker.StrMethodFormatter("{x:,.0f}")
WEEKLY = mdates.WeekdayLocator(byweekday=mdates.MO)  # Mondays: 10 July 1989 was one
STAGE_COLORS = {"material": "#4c72b0", "political": "#dd8452", "sovereignty": "#c44e52"}


def _subtitle(scenario: str, replicates: int) -> str:
    return f"scenario: {scenario} | {replicates} replicates | median and 10-90% band"


def plot_wave(
    daily: pd.DataFrame, targets: pd.DataFrame | None, scenario: str, start: str = "1989-07-05", end: str = "1989-08-10"
) -> Figure:
    """Strikers and enterprises on strike by basin, July-August 1989, against the targets.

    Args:
        daily: tidy basin table (replicate, date, basin, strikers, mines_on_strike, ...).
        targets: targets table (date, basin, place, measure, value, low, high, kind) or None.
        scenario: scenario name for the subtitle.
        start: ISO date opening the window.
        end: ISO date closing the window.
    """
    d = daily[(daily["date"] >= start) & (daily["date"] <= end) & daily["basin"].isin(WAVE_BASINS)]
    reps = daily["replicate"].nunique()
    fig, axes = plt.subplots(2, 1, figsize=(11, 8.5), sharex=True, constrained_layout=True)
    colors = dict(zip(WAVE_BASINS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, col, label in ((axes[0], "strikers", "strikers (persons)"), (axes[1], "mines_on_strike", "enterprises on strike")):
        b = band(d, col)
        for basin in WAVE_BASINS:
            g = b[b["basin"] == basin]
            ax.plot(g["date"], g["median"], color=colors[basin], label=basin, lw=1.8)
            ax.fill_between(g["date"], g["lo"], g["hi"], color=colors[basin], alpha=0.18, lw=0)
        if targets is not None:
            t = targets[(targets["measure"] == col) & (targets["place"].fillna("") == "")]
            for _, row in t.iterrows():
                c = colors.get(row["basin"], "black")
                x = pd.Timestamp(row["date"])
                lo, hi = row.get("low"), row.get("high")
                ax.errorbar(
                    [x],
                    [row["value"]],
                    yerr=[[row["value"] - lo], [hi - row["value"]]] if pd.notna(lo) else None,
                    fmt="D",
                    color=c,
                    mec="black",
                    ms=7,
                    capsize=4,
                    zorder=5,
                )
            ax.plot([], [], "D", color="grey", mec="black", label="historical figure (interval)")
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.grid(alpha=0.3)
    axes[0].fill_between([], [], [], color="grey", alpha=0.25, lw=0, label="10-90% of replicates")
    axes[0].legend(ncol=2, fontsize=9, loc="upper left")
    others = sorted(set(daily["basin"]) - set(WAVE_BASINS))
    axes[1].annotate(
        f"Not drawn (smaller July waves; in daily_basin.parquet): {', '.join(others)}.\n"
        "Figures for a town or oblast (Mezhdurechensk, Donetsk oblast) are in targets_july1989.png.",
        xy=(0.0, -0.2),
        xycoords="axes fraction",
        fontsize=8,
        color="dimgrey",
    )
    axes[1].xaxis.set_major_locator(WEEKLY)
    axes[1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    axes[1].set_xlabel("date (1989)")
    fig.suptitle(f"The July 1989 strike wave by basin\n{_subtitle(scenario, reps)}", fontsize=12)
    return fig


def plot_stages(daily: pd.DataFrame, republic: pd.DataFrame, scenario: str) -> Figure:
    """Committees by demand stage, 1989-1991, and the separatism index by republic."""
    reps = daily["replicate"].nunique()
    fig, axes = plt.subplots(3, 1, figsize=(12.5, 10), sharex=True, constrained_layout=True)
    total = daily.groupby(["replicate", "date"], as_index=False)[
        ["committees_material", "committees_political", "committees_sovereignty", "strikers"]
    ].sum()
    total["basin"] = "all"
    for stage, color in STAGE_COLORS.items():
        b = band(total, f"committees_{stage}")
        axes[0].plot(b["date"], b["median"], color=color, label=stage, lw=1.8)
        axes[0].fill_between(b["date"], b["lo"], b["hi"], color=color, alpha=0.2, lw=0)
    axes[0].set_ylabel("active committees")
    axes[0].legend(title="demand stage", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    b = band(total, "strikers")
    mean = total.groupby("date")["strikers"].mean()
    axes[1].plot(b["date"], b["median"], color="black", lw=1.2, label="median of replicates")
    axes[1].plot(mean.index, mean.to_numpy(), color="black", lw=0.9, ls="--", label="mean of replicates")
    axes[1].fill_between(b["date"], b["lo"], b["hi"], color="grey", alpha=0.3, lw=0, label="10-90% of replicates")
    axes[1].set_title(
        "strikers, all basins: after 1989 waves come at different dates in different replicates, so the median stays low", fontsize=9
    )
    axes[1].set_ylabel("strikers (persons)")
    axes[1].yaxis.set_major_formatter(THOUSANDS)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    rep = republic[republic["republic"].isin(["RSFSR", "Ukrainian SSR", "Kazakh SSR"])].rename(columns={"republic": "basin"})
    rb = band(rep, "separatism_index")
    for name, g in rb.groupby("basin"):
        line = axes[2].plot(g["date"], g["median"], lw=1.8, label=name)[0]
        axes[2].fill_between(g["date"], g["lo"], g["hi"], color=line.get_color(), alpha=0.2, lw=0)
    axes[2].set_ylabel("separatism index\n(share of mining workforce)")
    axes[2].set_ylim(0, 1)
    axes[2].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[2].set_xlabel("date")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(f"Strike committees by demand stage and separatism, 1989-1991\n{_subtitle(scenario, reps)}", fontsize=12)
    return fig


def close(fig: Figure) -> None:
    """Release a figure's memory after it has been saved."""
    plt.close(fig)


def plot_targets(
    scores: pd.DataFrame,
    series: dict[int, pd.DataFrame],
    scenario: str,
    replicates: int,
    title: str = "July 1989 targets against the model",
) -> Figure:
    """One panel per scored target: the simulated band in its place over July-August 1989, and the figure.

    Count targets show the model's median and 10-90% band over time with the historical value (or
    interval); event targets (a first strike, the end of a wave) show the spread of the simulated
    dates across replicates with the historical date.

    Args:
        scores: the table of `sim.targets.score`.
        series: target line -> simulated (replicate, date, mines_on_strike, strikers) for its area.
        scenario: scenario name for the subtitle.
        replicates: replicate count for the subtitle.
        title: the figure's title.
    """
    rows = scores[scores["scored"]]
    n = max(len(rows), 1)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(13, 3.4 * nrow + 0.6), constrained_layout=True, squeeze=False)
    blue, red = "#4c72b0", "#c44e52"
    for ax, (_, r) in zip(axes.flat, rows.iterrows(), strict=False):
        s = series[r["line"]]
        x = pd.Timestamp(r["date"])
        x0, x1 = x - pd.Timedelta(days=14), x + pd.Timedelta(days=14)  # four weeks around the target
        where = r["basin"] + (f", {r['place']}" if r["place"] else "")
        verdict = "inside the 50% band" if r["inside_50"] else "inside the 90% band" if r["inside_90"] else "OUTSIDE the 90% band"
        if r["measure"] in ("first_strike", "last_day"):
            days = x + pd.to_timedelta([r["sim_p10"], r["sim_median"], r["sim_p90"]], unit="D")
            ax.axvspan(days[0], days[2], color=blue, alpha=0.25, lw=0)
            ax.axvline(days[1], color=blue, lw=1.6)
            ax.axvline(x, color=red, lw=2, ls="--")
            ax.set_yticks([])
            ax.set_ylabel("date of the event", fontsize=8)
            what = "first strike" if r["measure"] == "first_strike" else "end of the wave"
            ax.set_title(f"{where}\n{what} on {r['date']}: {verdict}", fontsize=9)
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
            ax.set_title(f"{where}\n{r['measure'].replace('_', ' ')} on {r['date']}: {verdict}", fontsize=9)
        ax.xaxis.set_major_locator(WEEKLY)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], color=blue, lw=1.6, label="model median"),
        plt.Rectangle((0, 0), 1, 1, color=blue, alpha=0.5, label="model 25-75% of replicates"),
        plt.Rectangle((0, 0), 1, 1, color=blue, alpha=0.2, label="model 10-90% of replicates"),
        plt.Line2D([], [], marker="D", color=red, mec="black", ls="", label="historical figure (bar: its interval)"),
        plt.Line2D([], [], color=red, ls="--", lw=2, label="historical date"),
    ]
    if spare:  # the legend takes the first empty panel
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles=handles, loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=9)
    fig.suptitle(f"{title} (a place in brackets is resolved to its town)\n{_subtitle(scenario, replicates)}", fontsize=12)
    return fig


def plot_marginals(post: pd.DataFrame, priors: list[dict], title: str) -> Figure:
    """Marginal posteriors: weighted histogram of each calibrated parameter over its prior range.

    Args:
        post: posterior draws (one column per parameter, and `weight`).
        priors: one dict per parameter: name, lo, hi, scale ("linear" or "log"), unit.
        title: subtitle text (how the posterior was made).
    """
    import numpy as np

    n = len(priors)
    ncol = 4
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(13, 2.6 * nrow + 0.9), constrained_layout=True, squeeze=False)
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


ARM_COLORS = ("#222222", "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")


def plot_forest(effects: pd.DataFrame, outcomes: list[str], units: dict[str, str], title: str, replicates: int) -> Figure:
    """Forest plot: the paired effect (baseline minus arm) of every arm on each outcome.

    One panel per outcome, one row per arm: a dot at the mean effect with its 90% interval (thick),
    and the 5-95% range of the pair effects (thin); zero is marked.

    Args:
        effects: the table of `sim.experiments.paired_effects`.
        outcomes: outcomes to show, one panel each.
        units: outcome -> unit (axis labels).
        title: scenario suite name for the subtitle.
        replicates: pairs per arm.
    """
    arms = list(dict.fromkeys(effects["arm"]))
    n = len(outcomes)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(14, 0.42 * len(arms) * nrow + 1.6 * nrow + 0.8), constrained_layout=True, squeeze=False)
    for ax, name in zip(axes.flat, outcomes, strict=False):
        e = effects[effects["outcome"] == name].set_index("arm").reindex(arms)
        y = list(range(len(arms)))[::-1]
        ax.hlines(y, e["p05"], e["p95"], color="#999999", lw=1.2)
        ax.hlines(y, e["mean_lo"], e["mean_hi"], color="#4c72b0", lw=4)
        ax.plot(e["mean"], y, "o", color="#c44e52", mec="black", ms=5, zorder=3)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels(arms, fontsize=8)
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel(f"baseline minus arm ({units.get(name, '')})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.set_visible(False)
    handles = [
        plt.Line2D([], [], marker="o", color="#c44e52", mec="black", ls="", label="mean paired effect"),
        plt.Line2D([], [], color="#4c72b0", lw=4, label="90% interval of the mean (bootstrap)"),
        plt.Line2D([], [], color="#999999", lw=1.2, label="5-95% of the pair effects"),
    ]
    if spare:
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles=handles, loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9)
    fig.suptitle(
        f"Paired effects of the historical levers: baseline minus each counterfactual arm\nsuite: {title} | {replicates} paired replicates per arm",
        fontsize=12,
    )
    return fig


def plot_arms(series: pd.DataFrame, title: str, replicates: int, shocks: list[tuple[str, str]] | None = None) -> Figure:
    """Overlaid bands per arm, 1989-1991: strikers, committees at the political stage or beyond, separatism (Ukraine, RSFSR).

    Args:
        series: the daily series of `sim.runner.run_arms` (arm, replicate, date, strikers, ...).
        title: suite name for the subtitle.
        replicates: replicates per arm.
        shocks: (ISO date, label) of dated shocks to mark.
    """
    panels = [
        ("strikers", "strikers union-wide (persons, weekly mean)"),
        ("committees_political_plus", "committees at the political or sovereignty stage"),
        ("separatism_Ukraine", "separatism index, Ukrainian SSR"),
        ("separatism_RSFSR", "separatism index, RSFSR"),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 3.0 * len(panels) + 0.8), sharex=True, constrained_layout=True)
    arms = list(dict.fromkeys(series["arm"]))
    for ax, (col, label) in zip(axes, panels, strict=True):
        for i, arm in enumerate(arms):
            s = series[series["arm"] == arm][["replicate", "date", col]]
            if col == "strikers":  # weekly means keep a thousand daily spikes readable
                s = s.assign(date=s["date"].dt.to_period("W").dt.start_time).groupby(["replicate", "date"], as_index=False)[col].mean()
            g = s.groupby("date")[col]
            med, lo, hi = g.median(), g.quantile(0.25), g.quantile(0.75)
            c = ARM_COLORS[i % len(ARM_COLORS)]
            ax.plot(med.index, med.values, color=c, lw=2.0 if i == 0 else 1.1, label=arm, zorder=5 if i == 0 else 2)
            ax.fill_between(med.index, lo.values, hi.values, color=c, alpha=0.12, lw=0)
        for d, name in shocks or []:
            ax.axvline(pd.Timestamp(d), color="grey", lw=0.6, ls=":")
            if col == panels[0][0]:
                ax.annotate(
                    name,
                    (pd.Timestamp(d), 1.0),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    fontsize=6,
                    va="top",
                    ha="right",
                    color="grey",
                )
        ax.set_ylabel(label, fontsize=8)
        ax.yaxis.set_major_formatter(THOUSANDS if col in ("strikers", "committees_political_plus") else mticker.PercentFormatter(1.0))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].legend(ncol=min(len(arms), 5), fontsize=8, loc="upper right")
    axes[-1].xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[-1].set_xlabel("date")
    fig.suptitle(
        f"The arms of the thesis suite, 1989-1991: median and 25-75% band across replicates\nsuite: {title} | {replicates} replicates per arm; dotted lines: dated shocks",
        fontsize=12,
    )
    return fig
