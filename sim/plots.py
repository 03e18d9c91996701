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
    axes[0].legend(ncol=2, fontsize=9, loc="upper left")
    axes[1].annotate(
        "Figures for a town or oblast (Mezhdurechensk, Donetsk oblast) are in targets_july1989.png.",
        xy=(0.0, -0.16),
        xycoords="axes fraction",
        fontsize=8,
        color="dimgrey",
    )
    axes[1].xaxis.set_major_locator(mdates.DayLocator(bymonthday=(1, 5, 10, 15, 20, 25)))
    axes[1].xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    axes[1].set_xlabel("date (1989)")
    fig.suptitle(f"The July 1989 strike wave by basin\n{_subtitle(scenario, reps)}", fontsize=12)
    return fig


def plot_stages(daily: pd.DataFrame, republic: pd.DataFrame, scenario: str) -> Figure:
    """Committees by demand stage, 1989-1991, and the separatism index by republic."""
    reps = daily["replicate"].nunique()
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), sharex=True, constrained_layout=True)
    total = daily.groupby(["replicate", "date"], as_index=False)[
        ["committees_material", "committees_political", "committees_sovereignty", "strikers"]
    ].sum()
    total["basin"] = "all"
    for stage, color in STAGE_COLORS.items():
        b = band(total, f"committees_{stage}")
        axes[0].plot(b["date"], b["median"], color=color, label=stage, lw=1.8)
        axes[0].fill_between(b["date"], b["lo"], b["hi"], color=color, alpha=0.2, lw=0)
    axes[0].set_ylabel("active committees")
    axes[0].legend(title="demand stage", loc="upper left")
    b = band(total, "strikers")
    axes[1].plot(b["date"], b["median"], color="black", lw=1.2, label="all basins")
    axes[1].fill_between(b["date"], b["lo"], b["hi"], color="grey", alpha=0.3, lw=0)
    axes[1].set_ylabel("strikers (persons)")
    axes[1].yaxis.set_major_formatter(THOUSANDS)
    axes[1].legend(loc="upper left")
    rep = republic[republic["republic"].isin(["RSFSR", "Ukrainian SSR", "Kazakh SSR"])].rename(columns={"republic": "basin"})
    rb = band(rep, "separatism_index")
    for name, g in rb.groupby("basin"):
        line = axes[2].plot(g["date"], g["median"], lw=1.8, label=name)[0]
        axes[2].fill_between(g["date"], g["lo"], g["hi"], color=line.get_color(), alpha=0.2, lw=0)
    axes[2].set_ylabel("separatism index\n(share of mining workforce)")
    axes[2].set_ylim(0, 1)
    axes[2].legend(loc="upper left")
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[2].set_xlabel("date")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(f"Strike committees by demand stage and separatism, 1989-1991\n{_subtitle(scenario, reps)}", fontsize=12)
    return fig


def close(fig: Figure) -> None:
    """Release a figure's memory after it has been saved."""
    plt.close(fig)


def plot_targets(scores: pd.DataFrame, series: dict[int, pd.DataFrame], scenario: str, replicates: int) -> Figure:
    """One panel per scored count target: the simulated band over July-August 1989 and the target.

    Args:
        scores: the table of `sim.targets.score`.
        series: target line -> simulated (replicate, date, mines_on_strike, strikers) for its area.
        scenario: scenario name for the subtitle.
        replicates: replicate count for the subtitle.
    """
    rows = scores[scores["scored"] & scores["measure"].isin(["mines_on_strike", "strikers"])]
    n = max(len(rows), 1)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(13, 3.3 * nrow), constrained_layout=True, squeeze=False)
    for ax, (_, r) in zip(axes.flat, rows.iterrows(), strict=False):
        s = series[r["line"]]
        s = s[(s["date"] >= "1989-07-05") & (s["date"] <= "1989-08-05")].assign(basin="x")
        b = band(s, r["measure"])
        ax.plot(b["date"], b["median"], color="#4c72b0", lw=1.6, label="model median")
        ax.fill_between(b["date"], b["lo"], b["hi"], color="#4c72b0", alpha=0.25, lw=0, label="model 10-90%")
        x = pd.Timestamp(r["date"])
        if r["kind"] == "interval":
            ax.errorbar(
                [x],
                [r["value"]],
                yerr=[[r["value"] - r["low"]], [r["high"] - r["value"]]],
                fmt="D",
                color="#c44e52",
                mec="black",
                capsize=4,
                label="historical (interval)",
            )
        else:
            ax.plot([x], [r["value"]], "D", color="#c44e52", mec="black", label="historical")
        where = r["basin"] + (f", {r['place']}" if r["place"] else "")
        verdict = "inside the 90% band" if r["inside_90"] else "OUTSIDE the 90% band"
        ax.set_title(f"{where}\n{r['measure'].replace('_', ' ')} on {r['date']}: {verdict}", fontsize=9)
        ax.set_ylabel("enterprises" if r["measure"] == "mines_on_strike" else "strikers (persons)", fontsize=8)
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.xaxis.set_major_locator(mdates.DayLocator(bymonthday=(1, 8, 15, 22, 29)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"July 1989 targets against the model\n{_subtitle(scenario, replicates)}", fontsize=12)
    return fig
