"""The interactive app: a Mesa SolaraViz page over one replicate of the Mesa model (`sim.model.model.StrikeModel`).

`python run.py viz` serves this module with Solara (`solara run sim/figures/viz.py`) on localhost. The page
shows the date and the strikers, the network of enterprises coloured by strike state with each
town's committee ringed by its demand stage, strikers by basin and committees by stage over time
(Mesa's plot component over the model's DataCollector); the sidebar has Mesa's step / play /
reset controls and sliders for the seed, the main levers (the centre's concessions, repression,
glasnost) and two calibrated parameters. Reset builds a new model from the sliders.

The scenario is the baseline unless `MINERS_VIZ_SCENARIO` names another scenario file (run.py
sets it from `--scenario`, after checking the file).
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import solara
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.figures import plots, plots_app, plots_network
from sim.figures.figures import towns_table
from sim.inputs.params import Params
from sim.model.interventions import Repression
from sim.model.model import StrikeModel, strikers
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_ENV = "MINERS_VIZ_SCENARIO"
MAIN_BASINS = ("Kuzbass", "Donbas", "Pechora", "Karaganda")
FIELDS = {f.name: f for f in dataclasses.fields(Params)}


def _scenario_path() -> Path:
    return Path(os.environ.get(SCENARIO_ENV) or ROOT / "scenarios" / "baseline.toml")


@cache
def _base():
    return load_scenario(_scenario_path())


class VizModel(StrikeModel):
    """`StrikeModel` whose levers are keyword arguments, as SolaraViz rebuilds a model from its sliders.

    Args:
        seed: replicate seed.
        concessions: keep the scenario's concessions (False: the centre never concedes).
        repression: level of repression in every basin from 14 July to 31 August 1989 (0: none).
        glasnost: openness of national coverage (1: historical).
        w_city: contagion between enterprises of a town (per day).
        g_ref: grievance at which an enterprise's readiness to strike is one half.
    """

    def __init__(
        self,
        seed: int = 1989,
        concessions: bool = True,
        repression: float = 0.0,
        glasnost: float = 1.0,
        w_city: float | None = None,
        g_ref: float | None = None,
    ) -> None:
        sc = _base()
        events = [e for e in sc.events if concessions or e.kind not in ("concession", "town_concession")]
        if repression > 0:
            events.append(
                Repression(
                    kind="repression",
                    source="app lever (assumption)",
                    start=date(1989, 7, 14),
                    end=date(1989, 8, 31),
                    level=float(repression),
                )
            )
        changes = {"glasnost": float(glasnost)}
        if w_city is not None:
            changes["w_city"] = float(w_city)
        if g_ref is not None:
            changes["g_ref"] = float(g_ref)
        sc = sc.with_changes(params=changes, events=tuple(events))
        from sim.run.runner import world_for

        super().__init__(world_for(sc.data), sc, int(seed))
        self.levers = {"concessions": concessions, "repression": repression, "glasnost": glasnost}


@cache
def _layout(data: str) -> pd.DataFrame:
    from sim.run.runner import world_for

    return plots_network.network_layout(towns_table(world_for(Path(data))))


def _town_counts(model: VizModel) -> tuple[pd.Series, pd.Series]:
    """Enterprises on strike by town, and the demand stage of each town's active committee."""
    w, s = model.world, model.state()
    towns = np.asarray(w.city_names)
    on = pd.Series(np.bincount(w.city, weights=s.striking[0].astype(float), minlength=w.n_cities), index=towns)
    active = s.c_active[0, : w.n_cities]
    stage = pd.Series(np.where(active, s.c_stage[0, : w.n_cities], np.nan), index=towns)
    return on, stage


def headline(model: VizModel) -> dict[str, object]:
    """What the page prints: the date, the day, strikers and enterprises on strike."""
    return {
        "date": model.date,
        "day": model.steps,
        "days": model.sc.days,
        "strikers": round(strikers(model)),
        "enterprises": sum(1 for mi in model.mines if mi.striking),
    }


TITLE = plots_app.APP_TITLE
LEGEND = (
    "One replicate of the scenario. Each dot is a coal enterprise (mine, open pit or plant), grouped by town and placed "
    "roughly by geography (west left, north up); red: on strike. A ring round a town is its strike committee, coloured by "
    "its demands: material, political or sovereignty. Step advances one day; Play runs on; Reset builds a new run from the "
    "sliders."
)


@solara.component
def NetworkView(model: VizModel):  # noqa: N802 (Solara components are capitalised)
    """The date and the strike's size as text (the browser test reads it), then the network drawing."""
    update_counter.get()
    solara.Title(TITLE)  # the browser tab's title (Solara's default is "Solara")
    h = headline(model)
    layout = _layout(str(model.sc.data))
    when = f"{h['date']:%d %B %Y}" if h["day"] > 0 else "1 July 1989, before the first day"
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"<h3>{when}</h3><p>Day {h['day']} of {h['days']} · <b>Strikers: {h['strikers']:,}</b> · "
        f"Enterprises on strike: {h['enterprises']:,} of {model.world.n:,} enterprises in {len(layout)} towns "
        f"of {layout['basin'].nunique()} basins</p><p><small>{LEGEND}</small></p>",
    )
    on, stage = _town_counts(model)
    title = f"The network on {h['date']:%d %b %Y}" if h["day"] else "The network on 1 July 1989"
    fig = plots_app.plot_network_state(layout, on, stage, title, figsize=(8, 3.3))
    solara.FigureMatplotlib(fig, format="png", bbox_inches="tight", dpi=90)


def basin_series(model: VizModel) -> tuple[list, dict[str, list[float]]]:
    """The days simulated so far and the strikers of the main basins (and of the others together) after each of them."""
    d = model.steps
    dates = [model.sc.start + pd.Timedelta(days=i) for i in range(d)]
    arr = np.asarray(model.datacollector.model_vars["strikers_by_basin"][1:], dtype=float).reshape(d, model.world.n_basins)
    names = list(model.world.basin_names)
    series = {b: arr[:, names.index(b)].tolist() for b in MAIN_BASINS if b in names}
    others = [i for i, b in enumerate(names) if b not in MAIN_BASINS]
    if others:
        series["other basins"] = arr[:, others].sum(axis=1).tolist()
    return dates, series


@solara.component
def BasinStrikers(model: VizModel):  # noqa: N802
    """Strikers by basin, day by day so far."""
    update_counter.get()
    dates, series = basin_series(model)
    fig = plots_app.plot_live_series(dates, series, "strikers (persons)", "Strikers by basin")
    solara.FigureMatplotlib(fig, format="png", bbox_inches="tight", dpi=90)


def _committees_axes(ax) -> None:
    ax.legend(ax.get_lines(), list(plots.STAGE_NAMES), title="demand stage", fontsize=8)
    ax.set_title("Active committees by demand stage", fontsize=10)
    ax.set_ylabel("committees (count)", fontsize=8)
    ax.set_xlabel("day of the run", fontsize=8)
    ax.tick_params(labelsize=7)


MODEL_PARAMS = {
    "seed": {"type": "SliderInt", "value": 1989, "label": "Seed (replicate)", "min": 1, "max": 10000, "step": 1},
    "concessions": {"type": "Checkbox", "value": True, "label": "Concessions (13 July town deal; 17, 22 and 24 July and 3 August deals)"},
    "repression": {
        "type": "SliderFloat",
        "value": 0.0,
        "label": "Repression, 14 July - 31 August 1989 (0: none)",
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
    },
    "glasnost": {
        "type": "SliderFloat",
        "value": 1.0,
        "label": "Glasnost: openness of national coverage",
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
    },
    "w_city": {
        "type": "SliderFloat",
        "value": 1.4,
        "label": "Contagion within a town (w_city, per day; posterior median 1.4)",
        "min": FIELDS["w_city"].metadata["lo"],
        "max": min(FIELDS["w_city"].metadata["hi"], 6.0),
        "step": 0.1,
    },
    "g_ref": {
        "type": "SliderFloat",
        "value": 0.55,
        "label": "Grievance at half readiness (g_ref; posterior median 0.55)",
        "min": 0.4,
        "max": 0.7,
        "step": 0.01,
    },
}
"""The sidebar's sliders: SolaraViz passes them to `VizModel` on Reset."""


def make_page(model: VizModel | None = None):
    """The SolaraViz page (a model built from the sliders' defaults unless one is given)."""
    model = model or VizModel(**{k: v["value"] for k, v in MODEL_PARAMS.items()})
    committees = make_plot_component(
        {
            "committees_material": plots.STAGE_COLORS["material"],
            "committees_political": plots.STAGE_COLORS["political"],
            "committees_sovereignty": plots.STAGE_COLORS["sovereignty"],
        },
        post_process=_committees_axes,
    )
    return SolaraViz(
        model,
        components=[(NetworkView, 0), (BasinStrikers, 0), committees],
        model_params=MODEL_PARAMS,
        name=f"The 1989 Soviet miners' strike: {model.sc.name}",
        play_interval=150,
    )


page = make_page()
