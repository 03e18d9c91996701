"""`python run.py plot FOLDER`: every figure redrawn from the saved results, each one labelled."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.figures import figures, plots, plots_arms, plots_network

ROOT = Path(__file__).resolve().parents[2]


def run(*args, ok=True):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")]
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*") if p.is_file()}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, small_dir):
    out = tmp_path_factory.mktemp("res")
    run("run", str(small_dir / "small.toml"), "-n", "3", "-s", "4", "--out", str(out), "-q", "-j", "1")
    return only_folder(out)


@pytest.mark.slow
def test_plot_redraws_every_figure_of_a_run_from_its_tables(run_folder):
    before = digests(run_folder)
    written = sorted(p.name for p in (run_folder / "figures").iterdir())
    expected = {"wave_july1989", "network_july1989", "timeline_1989_1991"}
    assert expected <= {Path(n).stem for n in written}
    shutil.rmtree(run_folder / "figures")
    r = run("plot", str(run_folder))
    assert "figures" in r.stdout
    assert sorted(p.name for p in (run_folder / "figures").iterdir()) == written  # every figure, PNG and SVG
    assert digests(run_folder) == before  # tables and manifest untouched


@pytest.mark.slow
def test_every_figure_has_title_subtitle_labels_and_legend(run_folder):
    figs = figures.build(run_folder)
    assert len(figs) >= 3
    for name, fig in figs:
        title = fig._suptitle.get_text()
        assert "small" in title and "3 replicates" in title, (name, title)  # scenario and replicate count
        axes = [a for a in fig.axes if a.get_visible() and a.has_data()]
        assert axes, name
        has_legend = bool(fig.legends) or any(a.get_legend() is not None for a in fig.axes)
        assert has_legend, name
        if name != "network_july1989":  # a map has no axes scales; its panels are titled by date
            assert all(a.get_ylabel() for a in axes), name
            assert any(a.get_xlabel() for a in axes), name
        else:
            assert all(a.get_title() for a in axes), name
        plots.close(fig)


def test_network_layout_keeps_towns_apart_and_basins_in_place():
    import pandas as pd

    towns = pd.DataFrame(
        {
            "town": ["a", "b", "c", "d"],
            "basin": ["West", "West", "East", "East"],
            "lat": [50.0, 50.01, 50.0, 50.0],
            "lon": [30.0, 30.0, 90.0, 90.2],
            "enterprises": [9, 4, 16, 1],
        }
    )
    lay = plots_network.network_layout(towns).set_index("town")
    assert lay.loc["a", "x"] < lay.loc["c", "x"]  # west stays left of east
    for u, v in (("a", "b"), ("c", "d")):
        gap = ((lay.loc[u, "x"] - lay.loc[v, "x"]) ** 2 + (lay.loc[u, "y"] - lay.loc[v, "y"]) ** 2) ** 0.5
        assert gap >= lay.loc[u, "r"] + lay.loc[v, "r"]  # clusters do not overlap


@pytest.mark.slow
def test_plot_on_a_compare_folder_and_arm_selection(tmp_path, small_dir):
    out = tmp_path / "res"
    shutil.copytree(small_dir, tmp_path, dirs_exist_ok=True)  # a scenario names files beside it or in the repository only
    sc = tmp_path / "small.toml"
    arm = tmp_path / "no_news.toml"
    arm.write_text(f'base = "{sc.as_posix()}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    run("compare", str(sc), str(arm), "-n", "2", "--out", str(out), "-q", "-j", "1", "--no-figures")
    folder = only_folder(out)
    assert not list(folder.glob("figures/*.png"))
    run("plot", str(folder))
    full = {f"{n}.{e}" for n in ("forest_effects", "arms_1989_1991") for e in ("png", "svg")}
    assert {p.name for p in (folder / "figures").iterdir()} == full
    before = {p.name: p.read_bytes() for p in (folder / "figures").glob("*.png")}
    run("plot", str(folder), "--arms", "no_news", "-q")  # a selection goes to a subfolder: the full figures stay
    assert {p.name for p in (folder / "figures" / "arms_no_news").iterdir()} == full
    assert {p.name: p.read_bytes() for p in (folder / "figures").glob("*.png")} == before
    bad = run("plot", str(folder), "--arms", "nope", ok=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no arm nope" in bad.stderr


@pytest.mark.slow
def test_plot_on_a_missing_or_broken_folder_is_one_line(tmp_path):
    r = run("plot", str(tmp_path / "nothing"), ok=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    r = run("plot", str(tmp_path / "broken"), ok=False)
    assert r.returncode == 2 and "manifest" in r.stderr and "Traceback" not in r.stderr
    root = tmp_path / "results" / "baseline"  # a results root: the newest finished folder inside is named
    for name in ("20260101T000000Z_aaaaaaaa", "20260102T000000Z_bbbbbbbb"):
        (root / name).mkdir(parents=True)
        (root / name / "manifest.json").write_text("{}")
    r = run("plot", str(root), ok=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "the newest finished one inside is" in r.stderr
    assert "20260102T000000Z_bbbbbbbb" in r.stderr


@pytest.mark.slow
def test_every_plot_function_draws_into_the_callers_axes(run_folder):
    """Each plot function takes `ax=None` (one panel) or `axes=None` (several): a user's own figure can hold its panels."""
    import inspect

    import matplotlib.pyplot as plt
    import pandas as pd

    from sim.figures import plots_analysis, plots_app

    for mod in (plots, plots_analysis, plots_app):
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("plot_") and fn.__module__ == mod.__name__:
                assert {"ax", "axes"} & set(inspect.signature(fn).parameters), f"{mod.__name__}.{name}"
    daily = pd.read_parquet(run_folder / "daily_basin.parquet")
    basin = daily["basin"].iloc[0]
    mine, axes = plt.subplots(2, 2)
    fig = plots.plot_wave(daily, None, "small", axes=axes[:, 1], basins=[basin])  # one basin: its strikers and enterprises
    assert fig is mine and all(a.has_data() for a in axes[:, 1]) and not any(a.has_data() for a in axes[:, 0])
    with pytest.raises(ValueError, match="needs 4 axes"):
        plots.plot_wave(daily, None, "small", axes=axes[:, 0], basins=[basin, basin])
    one, ax = plt.subplots()
    assert plots_app.plot_live_series([1, 2], {"a": [1.0, 2.0]}, "y", "t", ax=ax) is one and ax.has_data()
    plt.close("all")


# ---- each figure's elements, checked on the drawn figure (issue 30: figures that say no more than the numbers) ----


def _data_lines(ax):
    """Lines drawn in data coordinates (not axvline/axhline, whose other coordinate is the axes')."""
    return [ln for ln in ax.get_lines() if ln.get_visible() and ln.get_transform() == ax.transData and len(ln.get_xdata())]


def _points(ax):
    """Display coordinates of every data point of an Axes: line vertices, markers and scatter dots."""
    import numpy as np

    pts = []
    for ln in _data_lines(ax):
        xy = np.column_stack([plots_dates(ln.get_xdata()), np.asarray(ln.get_ydata(), dtype=float)])
        pts.append(ax.transData.transform(xy[np.isfinite(xy).all(axis=1)]))
    for c in ax.collections:
        off = c.get_offsets()
        if len(off) and c.get_offset_transform() == ax.transData:
            pts.append(ax.transData.transform(np.asarray(off, dtype=float)))
    return np.concatenate(pts) if pts else np.empty((0, 2))


def plots_dates(x):
    """Line x data as floats (matplotlib date numbers for dates)."""
    import matplotlib.dates as mdates
    import numpy as np

    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.datetime64) or (x.dtype == object and len(x) and hasattr(x[0], "year")):
        return mdates.date2num(x)
    return x.astype(float)


def check_figure(name, fig):
    """What every figure must hold: a title, labelled panels, no series clipped at the axes' limits, legends over no data."""
    import numpy as np

    fig.canvas.draw()
    assert fig._suptitle is not None and fig._suptitle.get_text(), name
    shown = [a for a in fig.axes if a.get_visible() and a.has_data()]
    assert shown, name
    for ax in shown:
        assert ax.get_title(loc="left") or ax.get_title() or ax.get_ylabel(), (name, "a panel without a title or label")
        lo, hi = ax.get_ylim()
        lo, hi = min(lo, hi), max(lo, hi)
        for ln in _data_lines(ax):
            y = np.asarray(ln.get_ydata(), dtype=float)
            y = y[np.isfinite(y)]
            if len(y):  # strictly inside: a line on the frame (at 0 or 1) is hidden by it or cut off
                assert lo < y.min() and y.max() < hi, (name, ax.get_title(loc="left") or ax.get_title(), ln.get_label(), lo, hi)
        for c in ax.collections:  # bands: within the limits
            for path in c.get_paths():
                v = path.vertices[:, 1]
                v = v[np.isfinite(v)]
                if len(v) and c.get_transform() == ax.transData:
                    assert lo - 1e-9 <= v.min() and v.max() <= hi + 1e-9, (name, "band clipped", lo, hi)
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            box = leg.get_window_extent()
            pts = _points(ax)
            inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
            assert not inside.any(), (name, "legend over data", ax.get_title())
    for leg in fig.legends:
        box = leg.get_window_extent()
        for ax in shown:
            assert not box.overlaps(ax.get_window_extent()), (name, "figure legend over a panel", ax.get_title())


def _texts_overlap(texts):
    boxes = [t.get_window_extent() for t in texts if t.get_visible() and t.get_text()]
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]


def _band_alphas(ax):
    """The band definition of a panel, read from its fills: the set of their transparencies."""
    from matplotlib.collections import PolyCollection

    return {round(c.get_alpha() or 1.0, 3) for c in ax.collections if isinstance(c, PolyCollection)}


def synthetic_run(reps=8, days=("1989-07-01", "1991-12-31")):
    """Tidy basin and republic tables of a made-up run: three basins, waves in some replicates, allegiance rising to 1 in the RSFSR."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    dates = pd.date_range(*days)
    t = np.arange(len(dates))
    rows, rep_rows = [], []
    for r in range(reps):
        for b, (size, peak) in {"Kuzbass": (180_000, 14), "Donbas": (300_000, 20), "Far East": (30_000, 25)}.items():
            joins = b != "Donbas" or r % 2 == 0  # the Donbas joins in half the runs
            wave = size * joins * np.exp(-(((t - peak) / 3.0) ** 2)) + size * (r % 3 == 0) * np.exp(-(((t - 400) / 5.0) ** 2))
            strikers = np.round(wave * rng.uniform(0.8, 1.2))
            rows.append(
                pd.DataFrame(
                    {
                        "replicate": r,
                        "date": dates,
                        "basin": b,
                        "strikers": strikers,
                        "mines_on_strike": np.round(strikers / 1000),
                        "committees_material": np.minimum(t, 40) * 0.5,
                        "committees_political": t / 100,
                        "committees_sovereignty": t / 50,
                    }
                )
            )
        for rep, top in (("RSFSR", 1.0), ("Ukrainian SSR", 0.8), ("Kazakh SSR", 0.0)):
            rep_rows.append(
                pd.DataFrame(
                    {
                        "replicate": r,
                        "date": dates,
                        "republic": rep,
                        "allegiance": np.clip(top * (t - 450) / 300, 0, top),
                        "separatism_index": 0.5,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True), pd.concat(rep_rows, ignore_index=True)


EVENTS = [
    {"kind": "concession", "date": "1989-07-17", "basins": ["Kuzbass"]},
    {"kind": "concession", "date": "1989-07-22", "basins": ["Far East"]},
    {"kind": "concession", "date": "1989-07-23", "basins": ["Donbas"]},
    {"kind": "concession", "date": "1989-08-03", "basins": []},
    {"kind": "strike_call", "date": "1989-10-26", "basins": ["Pechora"]},
    {"kind": "shock", "date": "1990-06-12", "name": "RSFSR declaration"},
    {"kind": "strike_call", "date": "1990-07-11", "basins": []},
    {"kind": "shock", "date": "1990-07-16", "name": "Ukrainian declaration"},
]


def test_timeline_one_axis_a_panel_the_same_bands_everywhere_nothing_clipped_or_stacked():
    daily, republic = synthetic_run()
    fig = plots.plot_timeline(daily, republic, "synthetic", EVENTS)
    check_figure("timeline", fig)
    assert len(fig.axes) == 4  # no twin axis: the share of runs with a wave has its own panel
    strikers, share, committees, allegiance = fig.axes
    assert "replicates" in share.get_ylabel() and share.get_ylim()[0] < 0 < 1 < share.get_ylim()[1]
    assert _band_alphas(strikers) == _band_alphas(committees) == _band_alphas(allegiance) and len(_band_alphas(strikers)) == 2
    lo, hi = allegiance.get_ylim()
    assert lo < 0 and hi > 1  # RSFSR at 100% and the Kazakh SSR at 0% stay off the frame
    ends = [t.get_text() for t in allegiance.texts]
    assert any(t.startswith("Kazakh SSR 0%") for t in ends) and any(t.startswith("RSFSR 100%") for t in ends)
    assert not _texts_overlap(allegiance.texts) and not _texts_overlap(committees.texts)
    marks = [t for t in strikers.texts if t.get_text()[:1].isdigit()]
    assert {t.get_text() for t in marks} >= {"1-4", "5"}  # the four July concessions share one label
    assert not _texts_overlap(marks)
    assert "not a run's path" in " ".join(t.get_text() for leg in fig.legends for t in leg.get_texts())
    right = max(a.get_position().x1 for a in fig.axes)
    assert right >= 0.85  # the panels take the width (the legends no longer fill a fifth of it)
    plots.close(fig)


def test_wave_one_basin_a_panel_pair_the_far_east_drawn_concessions_marked_legend_outside():
    import pandas as pd

    daily, _ = synthetic_run(days=("1989-07-01", "1989-08-31"))
    pechora = daily[daily["basin"] == "Far East"].assign(basin="Pechora", strikers=lambda d: d["strikers"] / 3)
    tiny = daily[daily["basin"] == "Far East"].assign(basin="Tiny", strikers=lambda d: d["strikers"] / 100)
    daily = pd.concat([daily, pechora, tiny], ignore_index=True)
    # by median peak: the Donbas joins in half the runs, so its median peak is below the Kuzbass's; under 1,000: left out
    assert plots.wave_basins(daily, "1989-07-05", "1989-08-10") == ["Kuzbass", "Donbas", "Far East", "Pechora"]
    fig = plots.plot_wave(daily, None, "synthetic", events=EVENTS)
    check_figure("wave", fig)
    titles = [a.get_title(loc="left") for a in fig.axes if a.get_visible()]
    assert any(t.startswith("Far East") for t in titles)  # larger than Pechora: drawn
    assert len({frozenset(_band_alphas(a)) for a in fig.axes if a.get_visible()}) == 1  # the same bands in every panel
    for ax in fig.axes:
        if ax.get_visible():
            vlines = [ln for ln in ax.get_lines() if ln.get_transform() != ax.transData]
            assert vlines, ax.get_title(loc="left")  # every basin had a concession (its own or the union-wide one)
    legend = " ".join(t.get_text() for leg in fig.legends for t in leg.get_texts())
    assert "not the path of any run" in legend and "single runs" in legend and "concession" in legend
    plots.close(fig)


def _effects(arms=("no_concessions", "kept_promises")):
    import pandas as pd

    from sim.figures import figures

    rows = []
    for a in arms:
        for o in figures.forest_outcomes():
            binary = o == "donbas_struck_july"
            rows.append(
                {
                    "arm": a,
                    "outcome": o,
                    "mean": 0.2,
                    "mean_lo": 0.1,
                    "mean_hi": 0.3,
                    "p05": -1.0 if binary else -0.5,
                    "p95": 1.0,
                    "median": 0.0,
                }
            )
    return pd.DataFrame(rows)


def test_forest_draws_thresholds_no_pair_range_on_a_yes_no_outcome_and_plain_units():
    from sim.figures import figures
    from sim.model.metrics import OUTCOME_LABELS, OUTCOMES

    effects = _effects()
    shown = figures.forest_outcomes()
    units = {k: v.unit for k, v in OUTCOMES.items()}
    th = figures.claim_thresholds()
    assert th and set(th) <= set(shown)  # every outcome a claim reads, with its threshold
    binary = {k for k, v in OUTCOMES.items() if v.binary}
    fig = plots_arms.plot_forest(effects, shown, units, "thesis", 20, OUTCOME_LABELS, thresholds=th, binary=binary)
    check_figure("forest", fig)
    panels = [a for a in fig.axes if a.get_visible()]
    assert len(panels) == len(shown)
    for ax, name in zip(panels, shown, strict=True):
        assert "))" not in ax.get_xlabel()
        xs = {round(float(ln.get_xdata()[0]), 9) for ln in ax.get_lines() if ln.get_transform() != ax.transData}
        if name in th:
            assert {-th[name], th[name]} <= xs, name  # the threshold on both sides of zero
        grey = [c for c in ax.collections if c.get_linewidth()[0] < 2 and len(c.get_paths())]
        if name in binary:
            assert not grey and ax.get_xlim() == (-1.05, 1.05)  # no 5-95% range of -1/0/1 pair effects
    plots.close(fig)
    ten = _effects(tuple(f"arm{i}" for i in range(10)))  # the thesis: ten arms
    fig = plots_arms.plot_forest(ten, shown, units, "thesis", 20, OUTCOME_LABELS, thresholds=th, binary=binary)
    w, h = fig.get_size_inches()
    assert h <= 18 and w <= 16, (w, h)  # was 14 x 38 inches
    plots.close(fig)


def test_arms_plot_allegiance_the_measure_the_verdicts_read():
    import pandas as pd

    daily, republic = synthetic_run(reps=4)
    wide = republic.pivot_table(index=["replicate", "date"], columns="republic", values="allegiance").reset_index()
    base = daily.groupby(["replicate", "date"], as_index=False)["strikers"].sum()
    base["committees_political_plus"] = 3.0
    base["allegiance_RSFSR"], base["allegiance_Ukraine"] = wide["RSFSR"].to_numpy(), wide["Ukrainian SSR"].to_numpy()
    base["separatism_RSFSR"] = base["separatism_Ukraine"] = 0.9
    series = pd.concat([base.assign(arm="baseline"), base.assign(arm="no_concessions")], ignore_index=True)
    fig = plots_arms.plot_arms(series, "compare", 4)
    check_figure("arms", fig)
    titles = " ".join(a.get_title() for a in fig.axes)
    assert "backing the republic" in titles and "separatism" not in titles
    plots.close(fig)


def test_targets_titles_flag_uninformative_hits_and_count_informative_ones():
    import numpy as np
    import pandas as pd

    from sim.figures import plots_analysis

    dates = pd.date_range("1989-07-01", "1989-08-10")
    series = pd.DataFrame(
        [
            {"replicate": r, "date": d, "strikers": float(r * 1000 * (d.day % 7)), "mines_on_strike": float(r)}
            for r in range(5)
            for d in dates
        ]
    )
    base = {"basin": "Kuzbass", "kind": "point", "low": np.nan, "high": np.nan, "scored": True, "inside_50": False, "inside_90": True}
    scores = pd.DataFrame(
        [
            {**base, "line": 1, "date": "1989-07-15", "place": "", "measure": "strikers", "value": 3000.0, "informative": True},
            {**base, "line": 2, "date": "1989-07-20", "place": "", "measure": "mines_on_strike", "value": 2.0, "informative": False},
        ]
    )
    fig = plots_analysis.plot_targets(scores, {1: series, 2: series}, "synthetic", 5)
    check_figure("targets", fig)
    titles = [a.get_title() for a in fig.axes if a.get_visible() and a.has_data()]
    assert "uninformative" not in titles[0].lower() and "uninformative" in titles[1].lower()
    assert "1 of 2 inside the 90% band and informative" in fig._suptitle.get_text()
    plots.close(fig)


def test_network_names_towns():
    import pandas as pd

    towns = pd.DataFrame(
        {
            "town": ["Mezhdurechensk", "Prokopyevsk", "Tiny", "Donetsk"],
            "basin": ["Kuzbass", "Kuzbass", "Kuzbass", "Donbas"],
            "lat": [53.7, 53.9, 54.0, 48.0],
            "lon": [88.0, 86.7, 87.0, 37.8],
            "enterprises": [10, 33, 2, 36],
        }
    )
    layout = plots_network.network_layout(towns)
    daily = pd.DataFrame(
        [{"replicate": 0, "date": pd.Timestamp("1989-07-15"), "town": t, "mines_on_strike": 1, "strikers": 100} for t in towns["town"]]
    )
    fig = plots_network.plot_network(daily, layout, ["1989-07-15"], "synthetic")
    names = {t.get_text() for t in fig.axes[0].texts}
    assert {"Mezhdurechensk", "Prokopyevsk", "Donetsk"} <= names and "Tiny" not in names  # the largest of each basin, and where it began
    plots.close(fig)


def test_explain_chances_read_as_words_not_exponents():
    assert [plots.chance(p) for p in (0.0, 9.5e-06, 0.0049, 0.045, 0.46, 1.0)] == ["0", "1 in 110,000", "0.49%", "4.5%", "46%", "100%"]


@pytest.mark.slow
def test_every_figure_of_a_run_and_a_compare_folder_passes_the_element_checks(run_folder, tmp_path, small_dir):
    for name, fig in figures.build(run_folder):
        check_figure(name, fig)
        if name == "network_july1989":  # town and basin names clear of one another
            assert all(not _texts_overlap(ax.texts) for ax in fig.axes if ax.get_visible()), name
        plots.close(fig)
    out = tmp_path / "res"
    shutil.copytree(small_dir, tmp_path, dirs_exist_ok=True)  # a scenario names files beside it or in the repository only
    sc = tmp_path / "small.toml"
    arm = tmp_path / "no_news.toml"
    arm.write_text(f'base = "{sc.as_posix()}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    run("compare", str(sc), str(arm), "-n", "2", "--out", str(out), "-q", "-j", "1", "--no-figures")
    for name, fig in figures.build(only_folder(out)):
        check_figure(name, fig)
        plots.close(fig)


def test_gallery_pictures_are_readable_sizes():
    """Every picture of docs/gallery.md exists and fits a screen's width at most twice down (the thesis forest was 1820 x 4955 px)."""
    import re

    from PIL import Image

    text = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    pics = re.findall(r"\]\((gallery/[a-z0-9_]+\.png)\)", text)
    assert pics
    for pic in pics:
        w, h = Image.open(ROOT / "docs" / pic).size
        assert w <= 2200 and h <= 2400, (pic, w, h)
