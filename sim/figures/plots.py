"""Figures from saved results (never from the model): runs, arms, the thesis and explanations.

With `sim.figures.plots_analysis` (calibration and sensitivity figures) and `sim.figures.plots_app` (the app's
drawing), the only modules that import matplotlib; none of them chooses a backend.

Each function takes tidy tables and returns a Figure; `scenario` and replicate count go in the
subtitle. `sim.run.results.save_figure` writes them as PNG and SVG.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from sim.model.metrics import band

THOUSANDS = mticker.StrMethodFormatter("{x:,.0f}")
WEEKLY = mdates.WeekdayLocator(byweekday=mdates.MO)  # Mondays: 10 July 1989 was one
ARM_COLORS = ("#222222", "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#17becf", "#ccb974")
STAGE_COLORS = {"material": "#4c72b0", "political": "#dd8452", "sovereignty": "#c44e52"}


def panels(axes, nrow: int, ncol: int, **figure):
    """(figure, nrow x ncol array of Axes): the caller's `axes` (any shape holding nrow * ncol of them), else a new figure.

    Every plot function takes `ax=None` (one panel) or `axes=None` (several), so its panels can be
    drawn into a figure of the caller's; options of a new figure (`figure`) then do not apply.
    """
    import numpy as np

    if axes is None:
        return plt.subplots(nrow, ncol, squeeze=False, **figure)
    flat = np.asarray(axes, dtype=object).ravel()
    if flat.size < nrow * ncol:
        raise ValueError(f"this figure needs {nrow * ncol} axes ({nrow} x {ncol}), got {flat.size}")
    return flat[0].figure, flat[: nrow * ncol].reshape(nrow, ncol)


def _subtitle(scenario: str, replicates: int, bands: str = "median and 5-95% band") -> str:
    return f"scenario: {scenario} | {replicates} replicates | {bands}"


def wave_basins(daily: pd.DataFrame, start: str, end: str, targets: pd.DataFrame | None = None, least: float = 1000.0) -> list[str]:
    """The basins of the wave figure, largest median peak first (at most eight).

    Every basin whose median peak in the window reaches `least` strikers, or that has a basin-level
    historical figure in `targets`.
    """
    d = daily[(daily["date"] >= start) & (daily["date"] <= end)]
    peak = d.groupby(["basin", "replicate"])["strikers"].max().groupby("basin").median().sort_values(ascending=False, kind="stable")
    named = set()
    if targets is not None and len(targets):
        named = set(targets.loc[targets["place"].fillna("") == "", "basin"])
    return [b for b in peak.index if peak[b] >= least or b in named][:8]


def plot_wave(
    daily: pd.DataFrame,
    targets: pd.DataFrame | None,
    scenario: str,
    start: str = "1989-07-05",
    end: str = "1989-08-10",
    axes=None,
    events: list[dict] | None = None,
    basins: list[str] | None = None,
    runs: int = 20,
) -> Figure:
    """Strikers and enterprises on strike by basin, July-August 1989, against the targets: one pair of panels per basin.

    Each basin has its own scale. A panel shows, on each day, the median across replicates and the
    bands of 50% and 90% of the replicates, and (thin lines) the paths of single runs: the median
    is not the path of any run, and where runs split (a basin joins in some, not in others) the thin
    lines show the two courses. Concessions to the basin (or to all) are dashed lines; the
    historical figures are diamonds with their intervals.

    Args:
        daily: tidy basin table (replicate, date, basin, strikers, mines_on_strike, ...).
        targets: targets table (date, basin, place, measure, value, low, high, kind) or None.
        scenario: scenario name for the subtitle.
        start: ISO date opening the window.
        end: ISO date closing the window.
        axes: 2 x len(basins) Axes, a basin's strikers then its enterprises (default: a new figure, two basins a row).
        events: the scenario's events as recorded in the manifest (concessions are marked).
        basins: basins to draw (default: `wave_basins`).
        runs: single runs drawn as thin lines (the first ones).
    """
    import numpy as np

    basins = list(basins) if basins is not None else wave_basins(daily, start, end, targets)
    d = daily[(daily["date"] >= start) & (daily["date"] <= end) & daily["basin"].isin(basins)]
    reps = daily["replicate"].nunique()
    nrow = (len(basins) + 1) // 2
    if axes is None:  # two basins a row
        fig, grid = panels(None, nrow, 4, figsize=(16, 2.5 * nrow + 2.2), sharex=True, constrained_layout=True)
        grid = grid.reshape(nrow * 2, 2)
        if len(basins) % 2:
            for ax in grid[-1]:
                ax.set_visible(False)
    else:
        fig, grid = panels(axes, max(len(basins), 1), 2)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    shown_runs = sorted(d["replicate"].unique())[:runs]
    concessions = [e for e in events or [] if e["kind"] == "concession"]
    for i, basin in enumerate(basins):
        color = palette[i % len(palette)]
        g = d[d["basin"] == basin]
        for ax, col, label in ((grid[i, 0], "strikers", "strikers (persons)"), (grid[i, 1], "mines_on_strike", "enterprises on strike")):
            b90, b50 = band(g, col, 0.05, 0.95), band(g, col, 0.25, 0.75)
            ax.fill_between(b90["date"], b90["lo"], b90["hi"], color=color, alpha=0.15, lw=0)
            ax.fill_between(b50["date"], b50["lo"], b50["hi"], color=color, alpha=0.3, lw=0)
            wide = g[g["replicate"].isin(shown_runs)].pivot(index="date", columns="replicate", values=col)
            ax.plot(wide.index, wide.to_numpy(), color=color, lw=0.5, alpha=0.45)
            ax.plot(b90["date"], b90["median"], color="black", lw=1.6, zorder=4)
            for ev in concessions:
                if not ev.get("basins") or basin in ev["basins"]:
                    ax.axvline(pd.Timestamp(ev["date"]), color=EVENT_STYLE["concession"][0], ls="--", lw=1.1, zorder=2)
            top = float(np.nanmax([b90["hi"].max(), g[col].max() if len(g) else 0, 1.0]))
            if targets is not None:
                t = targets[(targets["measure"] == col) & (targets["place"].fillna("") == "") & (targets["basin"] == basin)]
                for _, row in t.iterrows():
                    x = pd.Timestamp(row["date"])
                    lo, hi = row.get("low"), row.get("high")
                    ax.errorbar(
                        [x],
                        [row["value"]],
                        yerr=[[row["value"] - lo], [hi - row["value"]]] if pd.notna(lo) else None,
                        fmt="D",
                        color="#c44e52",
                        mec="black",
                        ms=6,
                        capsize=3,
                        zorder=5,
                    )
                    top = max(top, float(hi) if pd.notna(hi) else float(row["value"]))
            ax.set_ylim(-0.03 * top, 1.08 * top)
            ax.set_title(f"{basin}: {label}", fontsize=9, loc="left", color=color, fontweight="bold")
            ax.set_ylabel(label, fontsize=8)
            ax.yaxis.set_major_formatter(THOUSANDS)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    for ax in grid.flat:
        if ax.get_visible():
            ax.xaxis.set_major_locator(mdates.DayLocator(bymonthday=(1, 10, 20)))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
            ax.set_xlim(pd.Timestamp(start), pd.Timestamp(end))
            ax.tick_params(axis="x", labelbottom=True)
    for ax in (grid[-2:] if len(basins) % 2 == 0 else grid[-3:-1]).flat:  # the bottom panel of each column
        ax.set_xlabel("date (1989)", fontsize=8)
    others = sorted(set(daily["basin"]) - set(basins))
    handles = [
        plt.Line2D([], [], color="black", lw=1.6, label="median across replicates on each day (not the path of any run)"),
        plt.Line2D([], [], color="grey", lw=0.5, label=f"single runs (the first {len(shown_runs)}), in the basin's colour"),
        plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.45, label="50% of replicates (25-75%)"),
        plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.15, label="90% of replicates (5-95%)"),
        plt.Line2D([], [], color=EVENT_STYLE["concession"][0], ls="--", lw=1.1, label="concession to the basin (or to all)"),
        plt.Line2D([], [], marker="D", color="#c44e52", mec="black", ls="", label="historical figure (bar: its interval)"),
    ]
    note = (
        f"Not drawn (median July peak under 1,000 strikers; in daily_basin.parquet): {', '.join(others)}. "
        "Figures for a town or oblast are in targets_july1989.png. Basin names: docs/glossary.md."
    )
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8.5, title=note, title_fontsize=8)
    fig.suptitle(
        f"The July 1989 strike wave by basin, each basin on its own scale\n{_subtitle(scenario, reps, 'median, 50% and 90% bands, single runs')}",
        fontsize=12,
    )
    return fig


EVENT_STYLE = {
    "concession": ("#55a868", "--", "concession"),
    "town_concession": ("#55a868", ":", "town's concession"),
    "republic_concession": ("#8172b3", "--", "republic's concession"),
    "strike_call": ("#dd8452", "-.", "strike call"),
    "shock": ("#8c8c8c", ":", "shock"),
    "repression": ("#c44e52", "-.", "repression"),
    "cut_communication": ("#64b5cd", "-.", "communication cut"),
    "news": ("#937860", ":", "news"),
    "seed_strike": ("#222222", "-", "first strike"),
}
"""Colour, line style and legend label of each kind of dated event on the timelines."""


def event_label(ev: dict) -> str:
    """A short label for a scenario event (as recorded in a manifest): its name, or kind and places."""
    if ev.get("name"):
        return str(ev["name"])
    where = ", ".join(ev.get("basins") or []) or ", ".join(ev.get("republics") or []) or ev.get("city") or "union-wide"
    return f"{EVENT_STYLE.get(ev['kind'], ('', '', ev['kind']))[2]}: {where}"


def _event_groups(days: list[pd.Timestamp], gap_days: int = 21) -> list[list[int]]:
    """Indices of sorted event days grouped when closer than `gap_days` to the previous one (their numbers share one label)."""
    groups: list[list[int]] = []
    for i, d in enumerate(days):
        if groups and (d - days[groups[-1][-1]]).days < gap_days:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _mark_events(axes, events: list[dict], fig: Figure) -> list:
    """Numbered vertical lines for dated events on every panel; the key is written under the figure.

    Events days apart share one label above the top panel ("1-4"), and labels of neighbouring groups
    alternate between two heights, so no two numbers are drawn over each other. Returns the labels.
    """
    key, marks = [], []
    events = sorted(events, key=lambda e: str(e.get("date") or e.get("start")))
    days = [pd.Timestamp(ev.get("date") or ev.get("start")) for ev in events]
    for n, (ev, day) in enumerate(zip(events, days, strict=True), start=1):
        color, ls, _ = EVENT_STYLE.get(ev["kind"], ("grey", ":", ev["kind"]))
        for ax in axes:
            if ev.get("end"):  # an interval lever (repression, news, communication cut): a shaded span [start, end)
                ax.axvspan(day, pd.Timestamp(ev["end"]), color=color, alpha=0.12, lw=0, zorder=0)
            ax.axvline(day, color=color, ls=ls, lw=0.9, zorder=1)
        span = f" to {pd.Timestamp(ev['end']) - pd.Timedelta(days=1):%d %b %Y}" if ev.get("end") else ""
        key.append(f"{n} {day:%d %b %Y}{span} {event_label(ev)}")
    prev = None
    level = 0
    for g in _event_groups(days):
        first, last = g[0], g[-1]
        text = str(first + 1) if first == last else f"{first + 1}-{last + 1}"
        level = 1 - level if prev is not None and (days[first] - days[prev]).days < 60 else 0
        prev = last
        color = EVENT_STYLE.get(events[first]["kind"], ("grey",))[0] if first == last else "#444444"
        marks.append(
            axes[0].annotate(
                text,
                (days[first], 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2 + 9 * level),
                textcoords="offset points",
                ha="left" if first != last else "center",
                va="bottom",
                fontsize=7.5,
                color=color,
                fontweight="bold",
            )
        )
    if key:
        half = (len(key) + 1) // 2
        width = max(len(k) for k in key[:half]) + 4
        text = "\n".join(f"{a:<{width}s}{b}" for a, b in zip(key[:half], [*key[half:], *[""] * (2 * half - len(key))], strict=True))
        fig.text(0.01, 0.0, "Dated events (numbered lines):\n" + text, fontsize=7.5, family="monospace", va="bottom", color="dimgrey")
    return marks


def _end_labels(ax, items: list[tuple[str, float, str]], gap: float = 0.09) -> None:
    """Name each line at its right end (label, last y in data units, colour), pushed apart so no two labels overlap."""
    lo, hi = ax.get_ylim()
    pos = sorted(((y - lo) / (hi - lo), label, color) for label, y, color in items)
    placed: list[float] = []
    for f, _, _ in pos:
        placed.append(max(f, placed[-1] + gap) if placed else f)
    over = placed[-1] - 0.97 if placed else 0
    if over > 0:  # pushed past the top: shift the stack down
        placed = [p - over for p in placed]
    for p, (_, label, color) in zip(placed, pos, strict=True):
        ax.annotate(
            label, (1.0, p), xycoords="axes fraction", xytext=(4, 0), textcoords="offset points", va="center", fontsize=8, color=color
        )


def plot_timeline(daily: pd.DataFrame, republic: pd.DataFrame, scenario: str, events: list[dict] | None = None, axes=None) -> Figure:
    """The 1989-1991 course: strike waves, how many runs have one, committees by demand stage, allegiance by republic.

    Every panel shows, on each day, the median across replicates with the bands of 50% (25-75%) and
    90% (5-95%) of the replicates: a line is a daily median, not the path of any one run. In most
    of 1990 fewer than half of the replicates have a strike on a given day, so the strikers' median
    is 0 while the mean and the 90% band show the waves of the others; the second panel says how many
    runs have a wave on each day. Dated events are numbered lines, listed under the figure.

    Args:
        daily: tidy basin table (replicate, date, basin, strikers, committees_<stage>, ...).
        republic: tidy republic table (replicate, date, republic, separatism_index, ...).
        scenario: scenario name for the subtitle.
        events: the scenario's events as recorded in the manifest (kind, date or start, basins, name...).
        axes: four Axes to draw on, top to bottom (default: a new figure, with room for the key of events).
    """
    reps = daily["replicate"].nunique()
    events = [e for e in events or [] if e["kind"] != "seed_strike"]
    n_key = (len(events) + 1) // 2
    height = 12.0 + 0.13 * (n_key + 2)
    own = axes is None
    fig, axes = panels(axes, 4, 1, figsize=(14, height), sharex=True, gridspec_kw={"height_ratios": (3, 1.1, 2.4, 2.4)})
    axes = axes[:, 0]
    # the key of dated events takes the bottom: leave just its lines (inches), not a fixed share of the figure
    key_in = 0.135 * (n_key + 2) + 0.55
    if own:
        fig.subplots_adjust(left=0.08, right=0.9, top=1 - 1.75 / height, bottom=key_in / height, hspace=0.32)
    total = daily.groupby(["replicate", "date"], as_index=False)[
        ["committees_material", "committees_political", "committees_sovereignty", "strikers"]
    ].sum()
    total["basin"] = "all"

    def bands(ax, df, col, color, label=None, lw=1.8, ls="-"):
        b90, b50 = band(df, col, 0.05, 0.95), band(df, col, 0.25, 0.75)
        ax.fill_between(b90["date"], b90["lo"], b90["hi"], color=color, alpha=0.13, lw=0)
        ax.fill_between(b50["date"], b50["lo"], b50["hi"], color=color, alpha=0.28, lw=0)
        ax.plot(b90["date"], b90["median"], color=color, lw=lw, ls=ls, label=label, zorder=3)
        return b90

    bands(axes[0], total, "strikers", "#555555", lw=1.3)
    axes[0].lines[-1].set_color("black")
    mean = total.groupby("date")["strikers"].mean()
    axes[0].plot(mean.index, mean.to_numpy(), color="#c44e52", lw=1.1, zorder=4)
    axes[0].set_title(
        "strikers, all basins, across replicates: the median is 0 on days when fewer than half the runs have a strike",
        fontsize=9,
        loc="left",
        pad=24,  # room for the numbered event marks above the panel
    )
    axes[0].set_ylabel("strikers (persons)")
    axes[0].yaxis.set_major_formatter(THOUSANDS)
    share_on = total.assign(on=total["strikers"] > 20_000).groupby("date")["on"].mean()
    axes[1].fill_between(share_on.index, 0, share_on.to_numpy(), color="#4c72b0", alpha=0.35, lw=0, step="post")
    axes[1].step(share_on.index, share_on.to_numpy(), where="post", color="#4c72b0", lw=0.9)
    axes[1].set_ylim(-0.04, 1.04)  # 0 and 100% off the frame
    axes[1].yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    axes[1].set_ylabel("replicates\nwith a wave", fontsize=9)
    axes[1].set_title("share of replicates with over 20,000 on strike that day", fontsize=9, loc="left")
    ends = []
    for stage, color in STAGE_COLORS.items():
        bs = bands(axes[2], total, f"committees_{stage}", color)
        ends.append((f"{stage} {bs['median'].iloc[-1]:.0f}", bs["median"].iloc[-1], color))
    axes[2].set_ylabel("active committees\n(count)")
    axes[2].set_title("strike committees by demand stage (named at the right with the last day's median)", fontsize=9, loc="left")
    axes[2].set_ylim(bottom=-2)
    _end_labels(axes[2], ends)
    rep = republic[republic["republic"].isin(["RSFSR", "Ukrainian SSR", "Kazakh SSR"])].rename(columns={"republic": "basin"})
    measure = "allegiance" if "allegiance" in rep else "separatism_index"  # folders made before allegiance existed
    axes[3].set_ylim(-0.04, 1.04)  # a line at 0 or 1 stays off the frame
    ends = []
    styles = {"RSFSR": ("#dd8452", "-", 3), "Ukrainian SSR": ("#55a868", "-", 3), "Kazakh SSR": ("#8172b3", "--", 5)}
    for name, g in rep.groupby("basin"):
        color, ls, z = styles.get(name, ("grey", "-", 3))
        b = bands(axes[3], g, measure, color, ls=ls)
        axes[3].lines[-1].set_zorder(z)  # the Kazakh line, often 0 under the others, drawn on top and dashed
        ends.append((f"{name} {b['median'].iloc[-1]:.0%}", b["median"].iloc[-1], color))
    _end_labels(axes[3], ends, gap=0.1)
    axes[3].yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    if measure == "allegiance":
        axes[3].set_ylabel("backing the republic\n(share of mining workforce)")
        axes[3].set_title(
            "allegiance: share of the mining workforce whose committee backs its republic against the Union", fontsize=9, loc="left"
        )
    else:
        axes[3].set_ylabel("separatism index\n(share of mining workforce)")
        axes[3].set_title("separatism index by republic", fontsize=9, loc="left")
    axes[3].xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axes[3].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[3].set_xlabel("date")
    axes[3].set_xlim(total["date"].min(), total["date"].max())
    for ax in axes:
        ax.grid(alpha=0.3)
    kinds = dict.fromkeys(e["kind"] for e in events)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.13, label="90% of replicates (5-95%)"),
        plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.4, label="50% of replicates (25-75%)"),
        plt.Line2D([], [], color="black", lw=1.3, label="median across replicates (each day; not a run's path)"),
        plt.Line2D([], [], color="#c44e52", lw=1.1, label="mean of replicates (strikers)"),
        *(
            plt.Line2D([], [], color=EVENT_STYLE[k][0], ls=EVENT_STYLE[k][1], label=f"dated event: {EVENT_STYLE[k][2]}")
            for k in kinds
            if k in EVENT_STYLE
        ),
    ]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.75 / height), ncol=4, fontsize=8, frameon=False)
    _mark_events(axes, events, fig)
    fig.suptitle(
        f"The strike movement 1989-1991: waves, committees by demand stage, allegiance\n{_subtitle(scenario, reps, 'median, 50% and 90% bands in every panel')}",
        fontsize=12,
    )
    return fig


def close(fig: Figure) -> None:
    """Release a figure's memory after it has been saved."""
    plt.close(fig)


STAGE_NAMES = ("material", "political", "sovereignty")


def chance(p: float) -> str:
    """A probability as a reader says it: '45%', '4.5%', '0.45%', '1 in 105,000', '0'."""
    if not p > 0:
        return "0"
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{100 * p:.2g}%"
    odds = round(1 / p)
    return f"1 in {round(odds, 2 - len(str(odds))):,.0f}"  # two significant digits


def plot_explain(
    e: pd.DataFrame, terms: list[str], damped: set[str], title: str, ax=None, names: dict | None = None, notes: list[str] | None = None
) -> Figure:
    """Horizontal stacked bars of each enterprise's hazard terms (`sim.analysis.explain`), its probability and whether it acted.

    Args:
        e: one row per enterprise (`Explanation.enterprises`).
        terms: the hazard terms to stack, in order.
        damped: the onset terms that an established committee's damping (`channelled`) multiplies.
        title: the title.
        ax: an Axes to draw on (default: a new figure).
        names: each term's label in the legend (default: its column name).
        notes: the text after each enterprise's bar (default: its probability and whether it acted).
    """
    names = names or {}
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.32 * max(len(e), 2) + 2.0), constrained_layout=True)
    colors = plt.get_cmap("tab20")(range(len(terms)))
    for y, (_, r) in enumerate(e.iterrows()):
        left = 0.0
        for t, col in zip(terms, colors, strict=True):
            v = r.get(t)
            if v is None or v != v or v <= 0:
                continue
            v = v * (r["channelled"] if t in damped and r["decision"] == "onset" else 1.0)
            ax.barh(y, v, left=left, color=col, label=names.get(t, t))
            left += v
        mark = "acted" if r["acted"] else "did not"
        note = notes[y] if notes else f"{r['decision']}: chance {chance(r['probability'])} that day ({mark})"
        ax.text(left, y, f"  {note}", va="center", fontsize=8)
    ax.set_yticks(range(len(e)), e["enterprise"], fontsize=8)
    ax.set_ylim(len(e) - 0.5, -0.5)  # top to bottom, no empty rows
    widest = max((bar.get_x() + bar.get_width() for bar in ax.patches), default=0.0)
    ax.set_xlim(0, (widest or 1.0) * 1.55)  # room for the text after the longest bar
    ax.set_xlabel("daily hazard (onset: before multiplying by readiness)")
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(
        uniq.values(), uniq.keys(), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=min(len(uniq), 5) or 1
    )  # below: covers no bar
    return ax.figure
