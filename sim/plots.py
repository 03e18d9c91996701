"""Figures from saved results (never from the model): runs, arms, the thesis and explanations.

With `sim.plots_analysis` (calibration and sensitivity figures) and `sim.plots_app` (the app's
drawing), the only modules that import matplotlib; none of them chooses a backend.

Each function takes tidy tables and returns a Figure; `scenario` and replicate count go in the
subtitle. `sim.results.save_figure` writes them as PNG and SVG.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from sim.metrics import band

WAVE_BASINS = ("Kuzbass", "Donbas", "Pechora", "Karaganda", "Eastern Donbas", "Lviv-Volyn")
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


def plot_wave(
    daily: pd.DataFrame, targets: pd.DataFrame | None, scenario: str, start: str = "1989-07-05", end: str = "1989-08-10", axes=None
) -> Figure:
    """Strikers and enterprises on strike by basin, July-August 1989, against the targets.

    Args:
        daily: tidy basin table (replicate, date, basin, strikers, mines_on_strike, ...).
        targets: targets table (date, basin, place, measure, value, low, high, kind) or None.
        scenario: scenario name for the subtitle.
        start: ISO date opening the window.
        end: ISO date closing the window.
        axes: three Axes to draw on, top to bottom (default: a new figure).
    """
    d = daily[(daily["date"] >= start) & (daily["date"] <= end) & daily["basin"].isin(WAVE_BASINS)]
    reps = daily["replicate"].nunique()
    fig, axes = panels(axes, 3, 1, figsize=(11, 11), sharex=True, constrained_layout=True)
    axes = axes[:, 0]
    colors = dict(zip(WAVE_BASINS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    big, small = WAVE_BASINS[:2], WAVE_BASINS[2:]  # the smaller basins get a panel of their own scale, not a line at zero
    rows = (
        (axes[0], "strikers", "strikers (persons)", big),
        (axes[1], "strikers", "strikers (persons)", small),
        (axes[2], "mines_on_strike", "enterprises on strike", WAVE_BASINS),
    )
    for ax, col, label, shown in rows:
        b90 = band(d, col, 0.05, 0.95)
        b50 = band(d, col, 0.25, 0.75)
        for basin in shown:
            g, g50 = b90[b90["basin"] == basin], b50[b50["basin"] == basin]
            ax.plot(g["date"], g["median"], color=colors[basin], label=basin, lw=1.8)
            ax.fill_between(g["date"], g["lo"], g["hi"], color=colors[basin], alpha=0.12, lw=0)
            ax.fill_between(g50["date"], g50["lo"], g50["hi"], color=colors[basin], alpha=0.25, lw=0)
        if targets is not None:
            t = targets[(targets["measure"] == col) & (targets["place"].fillna("") == "") & targets["basin"].isin(shown)]
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
            if len(t):
                ax.plot([], [], "D", color="grey", mec="black", label="historical figure (interval)")
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.grid(alpha=0.3)
    axes[0].fill_between([], [], [], color="grey", alpha=0.37, lw=0, label="50% of replicates (25-75%)")
    axes[0].fill_between([], [], [], color="grey", alpha=0.12, lw=0, label="90% of replicates (5-95%)")
    axes[0].legend(ncol=2, fontsize=9, loc="upper left")
    axes[0].set_title("Kuzbass and Donbas", fontsize=9, loc="left")
    axes[1].set_title(f"the other basins ({', '.join(small)}), on their own scale", fontsize=9, loc="left")
    axes[1].legend(ncol=2, fontsize=8, loc="upper left")
    axes[2].set_title("enterprises on strike, all six basins", fontsize=9, loc="left")
    others = sorted(set(daily["basin"]) - set(WAVE_BASINS))
    axes[2].annotate(
        f"Not drawn (smaller July waves; in daily_basin.parquet): {', '.join(others)}.\n"
        "Figures for a town or oblast (Mezhdurechensk, Donetsk oblast) are in targets_july1989.png. Basin names: docs/glossary.md.",
        xy=(0.0, -0.27),
        xycoords="axes fraction",
        fontsize=8,
        color="dimgrey",
    )
    axes[2].xaxis.set_major_locator(mdates.DayLocator(bymonthday=(1, 5, 10, 15, 20, 25)))  # ticks to the window's end
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    axes[2].set_xlim(pd.Timestamp(start), pd.Timestamp(end))
    axes[2].set_xlabel("date (1989)")
    fig.suptitle(f"The July 1989 strike wave by basin\n{_subtitle(scenario, reps, 'median, 50% and 90% bands')}", fontsize=12)
    return fig


EVENT_STYLE = {
    "concession": ("#55a868", "--", "concession"),
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


def _mark_events(axes, events: list[dict], fig: Figure) -> None:
    """Numbered vertical lines for dated events on every panel; the key is written under the figure."""
    key = []
    for n, ev in enumerate(sorted(events, key=lambda e: str(e.get("date") or e.get("start"))), start=1):
        day = pd.Timestamp(ev.get("date") or ev.get("start"))
        color, ls, _ = EVENT_STYLE.get(ev["kind"], ("grey", ":", ev["kind"]))
        for ax in axes:
            if ev.get("end"):  # an interval lever (repression, news, communication cut): a shaded span [start, end)
                ax.axvspan(day, pd.Timestamp(ev["end"]), color=color, alpha=0.12, lw=0, zorder=0)
            ax.axvline(day, color=color, ls=ls, lw=0.9, zorder=1)
        axes[0].annotate(
            str(n),
            (day, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2 + 8 * (n % 3)),  # three heights, so numbers of events days apart do not run together
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            color=color,
            fontweight="bold",
        )
        span = f" to {pd.Timestamp(ev['end']) - pd.Timedelta(days=1):%d %b %Y}" if ev.get("end") else ""
        key.append(f"{n} {day:%d %b %Y}{span} {event_label(ev)}")
    if key:
        half = (len(key) + 1) // 2
        width = max(len(k) for k in key[:half]) + 4
        text = "\n".join(f"{a:<{width}s}{b}" for a, b in zip(key[:half], [*key[half:], *[""] * (2 * half - len(key))], strict=True))
        fig.text(0.01, 0.0, "Dated events (numbered lines):\n" + text, fontsize=7.5, family="monospace", va="bottom", color="dimgrey")


def plot_timeline(daily: pd.DataFrame, republic: pd.DataFrame, scenario: str, events: list[dict] | None = None, axes=None) -> Figure:
    """The 1989-1991 course: strike waves, committees by demand stage, allegiance by republic, dated events marked.

    Args:
        daily: tidy basin table (replicate, date, basin, strikers, committees_<stage>, ...).
        republic: tidy republic table (replicate, date, republic, separatism_index, ...).
        scenario: scenario name for the subtitle.
        events: the scenario's events as recorded in the manifest (kind, date or start, basins, name...).
        axes: three Axes to draw on, top to bottom (default: a new figure, with room for the key of events).
    """
    reps = daily["replicate"].nunique()
    events = [e for e in events or [] if e["kind"] != "seed_strike"]
    n_key = (len(events) + 1) // 2
    height = 10.5 + 0.13 * (n_key + 2)
    own = axes is None
    fig, axes = panels(axes, 3, 1, figsize=(14, height), sharex=True)
    axes = axes[:, 0]
    # the key of dated events takes the bottom: leave just its lines (inches), not a fixed share of the figure
    key_in = 0.135 * (n_key + 2) + 0.55
    if own:
        fig.subplots_adjust(left=0.08, right=0.74, top=1 - 1.3 / height, bottom=key_in / height, hspace=0.2)
    total = daily.groupby(["replicate", "date"], as_index=False)[
        ["committees_material", "committees_political", "committees_sovereignty", "strikers"]
    ].sum()
    total["basin"] = "all"
    b = band(total, "strikers", 0.05, 0.95)
    b50 = band(total, "strikers", 0.25, 0.75)
    mean = total.groupby("date")["strikers"].mean()
    axes[0].fill_between(b["date"], b["lo"], b["hi"], color="grey", alpha=0.2, lw=0, label="90% of replicates (5-95%)")
    axes[0].fill_between(b50["date"], b50["lo"], b50["hi"], color="grey", alpha=0.4, lw=0, label="50% of replicates (25-75%)")
    axes[0].plot(b["date"], b["median"], color="black", lw=1.2, label="median of replicates")
    axes[0].plot(mean.index, mean.to_numpy(), color="#c44e52", lw=0.9, ls="--", label="mean of replicates")
    share_on = total.assign(on=total["strikers"] > 20_000).groupby("date")["on"].mean()
    twin = axes[0].twinx()
    twin.plot(share_on.index, share_on.to_numpy(), color="#4c72b0", lw=0.8, alpha=0.8)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("share of replicates with\nover 20,000 on strike (blue)", fontsize=8, color="#4c72b0")
    twin.tick_params(axis="y", labelsize=7, colors="#4c72b0")
    axes[0].plot([], [], color="#4c72b0", lw=0.8, label="replicates over 20,000 (right axis)")
    axes[0].set_title(
        "strike waves, all basins: strikers across replicates, and how many replicates have a wave on that day",
        fontsize=9,
        loc="left",
        pad=30,  # room for the numbered event marks above the panel
    )
    axes[0].set_ylabel("strikers (persons)")
    axes[0].yaxis.set_major_formatter(THOUSANDS)
    for stage, color in STAGE_COLORS.items():
        bs = band(total, f"committees_{stage}", 0.05, 0.95)
        axes[1].plot(bs["date"], bs["median"], color=color, label=stage, lw=1.8)
        axes[1].fill_between(bs["date"], bs["lo"], bs["hi"], color=color, alpha=0.2, lw=0)
    axes[1].set_ylabel("active committees (count)")
    axes[1].set_title("strike committees by demand stage: median and 90% band", fontsize=9, loc="left")
    rep = republic[republic["republic"].isin(["RSFSR", "Ukrainian SSR", "Kazakh SSR"])].rename(columns={"republic": "basin"})
    measure = "allegiance" if "allegiance" in rep else "separatism_index"  # folders made before allegiance existed
    rb = band(rep, measure, 0.25, 0.75)
    for name, g in rb.groupby("basin"):
        line = axes[2].plot(g["date"], g["median"], lw=1.8, label=name)[0]
        axes[2].fill_between(g["date"], g["lo"], g["hi"], color=line.get_color(), alpha=0.18, lw=0)
    if measure == "allegiance":
        axes[2].set_ylabel("backing the republic\n(share of mining workforce)")
        axes[2].set_title(
            "allegiance: share of the mining workforce whose committee backs its republic against the Union (median, 25-75%)",
            fontsize=9,
            loc="left",
        )
    else:
        axes[2].set_ylabel("separatism index\n(share of mining workforce)")
        axes[2].set_title("separatism index by republic: median and 25-75% band", fontsize=9, loc="left")
    axes[2].set_ylim(0, 1)
    axes[2].xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[2].set_xlabel("date")
    kinds = dict.fromkeys(e["kind"] for e in events)
    marks = [
        plt.Line2D([], [], color=EVENT_STYLE[k][0], ls=EVENT_STYLE[k][1], label=f"dated event: {EVENT_STYLE[k][2]}")
        for k in kinds
        if k in EVENT_STYLE
    ]
    for i, ax in enumerate(axes):
        ax.grid(alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + (marks if i == 0 else []), loc="upper left", bbox_to_anchor=(1.07, 1.0), fontsize=8, title_fontsize=8)
    axes[1].get_legend().set_title("demand stage")
    _mark_events(axes, events, fig)
    fig.suptitle(
        f"The strike movement 1989-1991: waves, committees by demand stage, allegiance\n{_subtitle(scenario, reps, 'median, 50% and 90% bands')}",
        fontsize=12,
    )
    return fig


def network_layout(towns: pd.DataFrame, spread: float = 1.0) -> pd.DataFrame:
    """Map-like positions of towns: basins at their geography, each basin's towns spread around it.

    Basins are placed at the mean longitude/latitude of their enterprises (longitude scaled by
    cos 55 deg); within a basin the towns keep their directions from the basin's centre but are
    spread over a disc sized by the basin's enterprises, and discs (basins, then towns) are pushed
    apart until they no longer overlap. Deterministic.

    Args:
        towns: one row per town: town, basin, lat, lon, enterprises.
        spread: scale of the basins' discs.

    Returns:
        `towns` with x, y (layout units) and r (a town's disc radius).
    """
    import numpy as np

    t = towns.sort_values(["basin", "town"]).reset_index(drop=True).copy()
    t["gx"] = t["lon"] * np.cos(np.radians(55.0))
    t["gy"] = t["lat"]
    t["r"] = 0.33 * np.sqrt(t["enterprises"].clip(lower=1))
    basins = t.groupby("basin").agg(gx=("gx", "mean"), gy=("gy", "mean"), n=("enterprises", "sum"), area=("r", lambda r: (r**2).sum()))
    basins["R"] = spread * 1.5 * np.sqrt(basins["area"]) + 0.4
    pos = basins[["gx", "gy"]].to_numpy(dtype=float)
    pos = _separate(pos, basins["R"].to_numpy() + 0.5)  # room for the basin labels
    basins["x"], basins["y"] = pos[:, 0], pos[:, 1]
    xs, ys = np.zeros(len(t)), np.zeros(len(t))
    for name, idx in t.groupby("basin").groups.items():
        g = t.loc[idx]
        off = g[["gx", "gy"]].to_numpy() - g[["gx", "gy"]].to_numpy().mean(axis=0)
        norm = np.abs(off).max() if len(g) > 1 else 1.0
        off = off / (norm if norm > 0 else 1.0) * (basins.loc[name, "R"] - g["r"].max())
        off = _separate(off, g["r"].to_numpy() + 0.22)  # gaps show the towns as clusters
        xs[idx], ys[idx] = off[:, 0] + basins.loc[name, "x"], off[:, 1] + basins.loc[name, "y"]
    t["x"], t["y"] = xs, ys
    return t.drop(columns=["gx", "gy"])


def _separate(pos, radius, steps: int = 400):
    """Push discs (centres `pos`, radii `radius`) apart until none overlap (or `steps` rounds)."""
    import numpy as np

    pos = np.array(pos, dtype=float)
    rng = np.random.default_rng(0)  # breaks exact ties only; deterministic
    pos += rng.normal(0, 1e-6, pos.shape)
    for _ in range(steps):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((d**2).sum(-1)) + np.eye(len(pos))
        need = radius[:, None] + radius[None, :]
        overlap = np.clip(need - dist, 0, None) * (1 - np.eye(len(pos)))
        if overlap.max() < 1e-3:
            break
        pos += 0.5 * (d / dist[..., None] * overlap[..., None]).sum(1) / 2
    return pos


def plot_network(town_daily: pd.DataFrame, layout: pd.DataFrame, dates: list[str], scenario: str, axes=None) -> Figure:
    """The mine network on chosen dates (small multiples): each town a cluster of its enterprises.

    A town is drawn as a cluster of dots, one per enterprise (a mine, open pit or other coal
    enterprise); on each date as many dots are red as the median across replicates of the town's
    enterprises on strike. Basins are placed roughly by geography (see `network_layout`).

    Args:
        town_daily: tidy town table (replicate, date, town, mines_on_strike, strikers).
        layout: `network_layout` output (town, basin, x, y, r, enterprises).
        dates: ISO dates, one panel each.
        scenario: scenario name for the subtitle.
        axes: Axes to draw on, one per date in two columns (default: a new figure).
    """
    import numpy as np

    reps = town_daily["replicate"].nunique()
    ncol = 2
    nrow = (len(dates) + ncol - 1) // ncol
    if axes is None:
        fig, axes = panels(None, nrow, ncol, figsize=(14, 4.3 * nrow + 1.4))
        fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.08, wspace=0.03, hspace=0.1)
    else:
        fig, axes = panels(axes, nrow, ncol)
    golden = np.pi * (3 - np.sqrt(5))
    for ax, day in zip(axes.flat, dates, strict=False):
        d = town_daily[town_daily["date"] == pd.Timestamp(day)]
        med = d.groupby("town")[["mines_on_strike", "strikers"]].median()
        on = layout["town"].map(med["mines_on_strike"]).fillna(0).round().astype(int).to_numpy()
        strikers = float(d.groupby("replicate")["strikers"].sum().median()) if len(d) else 0.0
        xs, ys, cs = [], [], []
        for (_, row), k in zip(layout.iterrows(), on, strict=True):
            n = int(row["enterprises"])
            i = np.arange(n)
            rad = row["r"] * np.sqrt((i + 0.5) / max(n, 1))
            xs.extend(row["x"] + rad * np.cos(i * golden))
            ys.extend(row["y"] + rad * np.sin(i * golden))
            cs.extend(["#c44e52" if j < k else "#b8c4d6" for j in i])
        ax.scatter(xs, ys, c=cs, s=5, lw=0)
        for basin, g in layout.groupby("basin"):
            top = (g["y"] + g["r"]).max()
            ax.annotate(basin, (g["x"].mean(), top + 0.15), ha="center", va="bottom", fontsize=7.5, color="#333333")
        ax.set_title(
            f"{pd.Timestamp(day):%d %B %Y}: {int(on.sum())} enterprises, {strikers:,.0f} strikers on strike (medians)", fontsize=10
        )
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_color("#dddddd")
    for ax in list(axes.flat)[len(dates) :]:
        ax.set_visible(False)
    fig.legend(
        handles=[
            plt.Line2D([], [], marker="o", color="#c44e52", ls="", label="enterprise on strike"),
            plt.Line2D([], [], marker="o", color="#b8c4d6", ls="", label="enterprise at work"),
        ],
        loc="lower center",
        ncol=2,
        fontsize=9,
        title="one dot per enterprise; a cluster is a town (red dots: the median across replicates of the town's enterprises on strike)",
        title_fontsize=8.5,
    )
    fig.suptitle(
        "The strike spreading over the network of coal enterprises, July 1989\n"
        f"basins placed roughly by geography (west left, north up; not to scale) | scenario: {scenario} | {reps} replicates",
        fontsize=12,
    )
    return fig


def close(fig: Figure) -> None:
    """Release a figure's memory after it has been saved."""
    plt.close(fig)


def plot_forest(
    effects: pd.DataFrame,
    outcomes: list[str],
    units: dict[str, str],
    title: str,
    replicates: int,
    labels: dict[str, str] | None = None,
    axes=None,
) -> Figure:
    """Forest plot: the paired effect (baseline minus arm) of every arm on each outcome.

    One panel per outcome, one row per arm: a dot at the mean effect with its 90% interval (thick),
    and the 5-95% range of the pair effects (thin); zero is marked.

    Args:
        effects: the table of `sim.experiments.paired_effects`.
        outcomes: outcomes to show, one panel each.
        units: outcome -> unit (axis labels).
        title: scenario suite name for the subtitle.
        replicates: pairs per arm.
        labels: outcome -> human name (panel titles; default: the variable name).
        axes: Axes to draw on, one per outcome in three columns (default: a new figure).
    """
    from matplotlib.ticker import MaxNLocator

    labels = labels or {}
    arms = list(dict.fromkeys(effects["arm"]))
    n = len(outcomes)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = panels(axes, nrow, ncol, figsize=(14, 0.42 * len(arms) * nrow + 1.6 * nrow + 0.8), constrained_layout=True)
    for ax, name in zip(axes.flat, outcomes, strict=False):
        e = effects[effects["outcome"] == name].set_index("arm").reindex(arms)
        y = list(range(len(arms)))[::-1]
        ax.hlines(y, e["p05"], e["p95"], color="#999999", lw=1.2)
        ax.hlines(y, e["mean_lo"], e["mean_hi"], color="#4c72b0", lw=4)
        ax.plot(e["mean"], y, "o", color="#c44e52", mec="black", ms=5, zorder=3)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels(arms, fontsize=8)
        ax.set_title(labels.get(name, name.replace("_", " ")), fontsize=9)
        ax.set_xlabel(f"baseline minus arm ({units.get(name, '')})", fontsize=8)
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


def plot_arms(series: pd.DataFrame, title: str, replicates: int, shocks: list[tuple[str, str]] | None = None, axes=None) -> Figure:
    """Each arm against the reference, 1989-1991, as small multiples (one row per arm).

    Columns: strikers union-wide (weekly mean), committees at the political stage or beyond, the
    separatism index of Ukraine and of the RSFSR. Each panel overlays the reference arm (grey) and
    one counterfactual arm (colour): median and 25-75% band across replicates; y axes are shared
    down each column so rows compare.

    Args:
        series: the daily series of `sim.runner.run_arms` (arm, replicate, date, strikers, ...).
        title: suite name for the subtitle.
        replicates: replicates per arm.
        shocks: (ISO date, label) of dated shocks to mark.
        axes: Axes to draw on, one row per counterfactual arm and four columns (default: a new figure, axes shared down columns).
    """
    columns = [
        ("strikers", "strikers union-wide\n(persons, weekly mean)"),
        ("committees_political_plus", "committees at the political\nor sovereignty stage (count)"),
        ("separatism_Ukraine", "separatism index,\nUkrainian SSR (share)"),
        ("separatism_RSFSR", "separatism index,\nRSFSR (share)"),
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
        axes, len(others), len(columns), figsize=(15, 1.9 * len(others) + 1.8), sharex=True, sharey="col", constrained_layout=True
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
                ax.set_ylabel(arm, fontsize=9, color=c, fontweight="bold")
                ax.legend(fontsize=7, loc="upper right")
            ax.yaxis.set_major_formatter(THOUSANDS if col in ("strikers", "committees_political_plus") else mticker.PercentFormatter(1.0))
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.set_xlabel("date", fontsize=8)
    fig.suptitle(
        f"Each counterfactual arm (colour) against the reference '{ref}' (grey), 1989-1991: median and 25-75% band across replicates\n"
        f"suite: {title} | {replicates} replicates per arm, the same seeds and parameter draws in every arm; dotted lines: dated shocks",
        fontsize=11,
    )
    return fig


STAGE_NAMES = ("material", "political", "sovereignty")


def plot_explain(
    e: pd.DataFrame, terms: list[str], damped: set[str], title: str, ax=None, names: dict | None = None, notes: list[str] | None = None
) -> Figure:
    """Horizontal stacked bars of each enterprise's hazard terms (`sim.explain`), its probability and whether it acted.

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
        _, ax = plt.subplots(figsize=(9, 0.45 * max(len(e), 2) + 1.6), constrained_layout=True)
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
        note = notes[y] if notes else f"{r['decision']} p={r['probability']:.2g} ({'acted' if r['acted'] else 'did not'})"
        ax.text(left, y, f"  {note}", va="center", fontsize=8)
    ax.set_yticks(range(len(e)), e["enterprise"], fontsize=8)
    ax.set_xlim(0, ax.get_xlim()[1] * 1.3)  # room for the text after the longest bar
    ax.invert_yaxis()
    ax.set_xlabel("daily hazard (onset: before multiplying by readiness)")
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(
        uniq.values(), uniq.keys(), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.5 / max(len(e), 2) - 0.03), ncol=4
    )  # below: it covers no bar
    return ax.figure
