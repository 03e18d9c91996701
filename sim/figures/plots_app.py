"""The interactive app's drawing (`sim/figures/viz.py`): the network's state and the live series of one running model.

Split from `sim.figures.plots` (figures of saved results); each function returns a Figure.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.figures.plots import STAGE_COLORS, STAGE_NAMES, THOUSANDS

APP_TITLE = "The 1989 Soviet miners' strike: an agent-based simulation"
"""The app's title: its page heading and the browser tab's (served as Solara's page title, whose default is "Solara")."""


def plot_network_state(
    layout: pd.DataFrame, on_strike: pd.Series, stage: pd.Series, title: str, figsize: tuple[float, float] = (9, 4.6), ax=None
) -> Figure:
    """The network on one day (the app's live drawing): enterprises on strike, towns' committees by demand stage.

    Args:
        layout: `network_layout` output (town, basin, x, y, r, enterprises).
        on_strike: town -> enterprises on strike that day.
        stage: town -> demand stage of the town's committee (0 material, 1 political, 2 sovereignty; NaN: no committee).
        title: the panel's title (date and counts).
        figsize: inches (of a new figure).
        ax: an Axes to draw on (default: a new figure, not registered with pyplot).
    """
    if ax is None:
        ax = Figure(figsize=figsize, layout="constrained").add_subplot()
    fig = ax.figure
    golden = np.pi * (3 - np.sqrt(5))
    xs, ys, cs = [], [], []
    for _, row in layout.iterrows():
        n, k = int(row["enterprises"]), int(on_strike.get(row["town"], 0))
        i = np.arange(n)
        rad = row["r"] * np.sqrt((i + 0.5) / max(n, 1))
        xs.extend(row["x"] + rad * np.cos(i * golden))
        ys.extend(row["y"] + rad * np.sin(i * golden))
        cs.extend(["#c44e52" if j < k else "#b8c4d6" for j in i])
    ax.scatter(xs, ys, c=cs, s=4, lw=0)
    from matplotlib.patches import Circle

    st = layout["town"].map(stage)
    for s, name in enumerate(STAGE_NAMES):
        for _, row in layout[st == s].iterrows():  # a ring around the town's cluster, in the committee's stage colour
            ax.add_patch(Circle((row["x"], row["y"]), row["r"] + 0.12, fill=False, edgecolor=STAGE_COLORS[name], lw=1.3))
    for basin, g in layout.groupby("basin"):
        ax.annotate(basin, (g["x"].mean(), (g["y"] + g["r"]).max() + 0.15), ha="center", va="bottom", fontsize=6.5, color="#333333")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.legend(
        handles=[
            plt.Line2D([], [], marker="o", color="#c44e52", ls="", label="enterprise on strike"),
            plt.Line2D([], [], marker="o", color="#b8c4d6", ls="", label="enterprise at work"),
            *[plt.Line2D([], [], marker="o", mfc="none", mec=STAGE_COLORS[n], ls="", label=f"town committee: {n}") for n in STAGE_NAMES],
        ],
        loc="lower right",
        fontsize=6.5,
        framealpha=0.8,
    )
    return fig


def plot_live_series(
    dates: list, series: dict[str, list[float]], ylabel: str, title: str, colors: dict[str, str] | None = None, ax=None
) -> Figure:
    """A small line chart of the app (one line per key): strikers by basin, committees by stage; `ax`: an Axes to draw on."""
    if ax is None:
        ax = Figure(figsize=(6, 3.2), layout="constrained").add_subplot()
    fig = ax.figure
    for name, values in series.items():
        ax.plot(dates, values, label=name, lw=1.5, color=(colors or {}).get(name))
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel("date", fontsize=8)
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %y"))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig
