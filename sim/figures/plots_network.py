"""The network figure of a run: the towns' layout (roughly by geography) and the enterprises on strike, as small multiples.

With `sim.figures.plots` (runs, the timeline, explanations), `sim.figures.plots_arms` (paired experiments),
`sim.figures.plots_analysis` (calibration, sensitivity) and `sim.figures.plots_app` (the app), the only modules that
import matplotlib; none of them chooses a backend.
"""

from __future__ import annotations

import matplotlib.patheffects as patheffects
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.figures.plots import panels


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


def plot_network(
    town_daily: pd.DataFrame,
    layout: pd.DataFrame,
    dates: list[str],
    scenario: str,
    axes=None,
    min_named: int = 5,
    per_basin: int = 2,
    towns_named: tuple[str, ...] = ("Mezhdurechensk",),
) -> Figure:
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
        min_named: the `per_basin` largest towns of each basin are named under their clusters if they have at least
            this many enterprises.
        per_basin: towns named in each basin.
        towns_named: towns named whatever their size (Mezhdurechensk, where the strike began).
    """
    reps = town_daily["replicate"].nunique()
    ncol = 2
    nrow = (len(dates) + ncol - 1) // ncol
    if axes is None:
        fig, axes = panels(None, nrow, ncol, figsize=(14, 4.3 * nrow + 1.4))
        fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.08, wspace=0.03, hspace=0.1)
    else:
        fig, axes = panels(axes, nrow, ncol)
    golden = np.pi * (3 - np.sqrt(5))
    labels = []
    big = layout.sort_values(["enterprises", "town"], ascending=[False, True]).groupby("basin").head(per_basin)
    named = set(big.loc[big["enterprises"] >= min_named, "town"]) | set(towns_named)
    halo = [patheffects.withStroke(linewidth=2, foreground="white")]
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
        fixed, movable = [], []
        for basin, g in layout.groupby("basin"):
            top = (g["y"] + g["r"]).max()
            fixed.append(
                ax.annotate(
                    basin, (g["x"].mean(), top + 0.15), ha="center", va="bottom", fontsize=7.5, color="#333333", fontweight="bold", zorder=6
                )
            )
        towns = layout[layout["town"].isin(named)].sort_values(["enterprises", "town"], ascending=[False, True])
        for _, row in towns.iterrows():  # town names under their clusters (moved round them if that place is taken)
            spots = [
                ((row["x"], row["y"] - row["r"]), "center", "top"),
                ((row["x"], row["y"] + row["r"]), "center", "bottom"),
                ((row["x"] + row["r"], row["y"]), "left", "center"),
                ((row["x"] - row["r"], row["y"]), "right", "center"),
                ((row["x"] + 0.7 * row["r"], row["y"] - 0.7 * row["r"]), "left", "top"),
                ((row["x"] - 0.7 * row["r"], row["y"] - 0.7 * row["r"]), "right", "top"),
            ]
            movable.append(
                (
                    spots,
                    ax.annotate(
                        row["town"],
                        (row["x"], row["y"] - row["r"]),
                        ha="center",
                        va="top",
                        fontsize=6.5,
                        color="#333333",
                        path_effects=halo,
                        zorder=5,
                        annotation_clip=False,
                        clip_on=False,  # a name at the edge of the map is not cut by the frame
                    ),
                )
            )
        labels.append((fixed, movable))
        ax.set_title(
            f"{pd.Timestamp(day):%d %B %Y}: {int(on.sum())} enterprises, {strikers:,.0f} strikers on strike (medians)", fontsize=10
        )
        ax.set_aspect("equal")
        ax.margins(x=0.07, y=0.06)  # room for the names of the towns at the edges
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
        title="one dot per enterprise; a cluster is a town, the two largest of each basin named where there is room (red dots: the median across replicates of the town's enterprises on strike)",
        title_fontsize=8.5,
    )
    fig.suptitle(
        "The strike spreading over the network of coal enterprises, July 1989\n"
        f"basins placed roughly by geography (west left, north up; not to scale) | scenario: {scenario} | {reps} replicates",
        fontsize=12,
    )
    _place_labels(fig, labels)
    return fig


def _place_labels(fig: Figure, labels: list) -> None:
    """Move each town name to the first of its spots round its cluster where it overlaps no name placed before (none: hidden)."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        ax.apply_aspect()  # the equal aspect moves the panels: measure where they will be drawn
    for fixed, movable in labels:
        taken = [t.get_window_extent(renderer) for t in fixed]
        for spots, text in movable:
            for xy, ha, va in spots:
                text.xy = xy
                text.set_ha(ha)
                text.set_va(va)
                box = text.get_window_extent(renderer)
                if not any(box.overlaps(b) for b in taken):
                    break
            else:  # nowhere free: left out rather than written over another name
                text.set_visible(False)
                continue
            taken.append(box)
