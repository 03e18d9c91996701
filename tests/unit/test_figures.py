"""`python run.py plot FOLDER`: every figure redrawn from the saved results, each one labelled."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import figures, plots

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
    lay = plots.network_layout(towns).set_index("town")
    assert lay.loc["a", "x"] < lay.loc["c", "x"]  # west stays left of east
    for u, v in (("a", "b"), ("c", "d")):
        gap = ((lay.loc[u, "x"] - lay.loc[v, "x"]) ** 2 + (lay.loc[u, "y"] - lay.loc[v, "y"]) ** 2) ** 0.5
        assert gap >= lay.loc[u, "r"] + lay.loc[v, "r"]  # clusters do not overlap


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


def test_every_plot_function_draws_into_the_callers_axes(run_folder):
    """Each plot function takes `ax=None` (one panel) or `axes=None` (several): a user's own figure can hold its panels."""
    import inspect

    import matplotlib.pyplot as plt
    import pandas as pd

    from sim import plots_analysis, plots_app

    for mod in (plots, plots_analysis, plots_app):
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("plot_") and fn.__module__ == mod.__name__:
                assert {"ax", "axes"} & set(inspect.signature(fn).parameters), f"{mod.__name__}.{name}"
    daily = pd.read_parquet(run_folder / "daily_basin.parquet")
    mine, axes = plt.subplots(3, 2)
    fig = plots.plot_wave(daily, None, "small", axes=axes[:, 1])
    assert fig is mine and all(a.has_data() for a in axes[:, 1]) and not any(a.has_data() for a in axes[:, 0])
    with pytest.raises(ValueError, match="needs 3 axes"):
        plots.plot_wave(daily, None, "small", axes=axes[:2, 0])
    one, ax = plt.subplots()
    assert plots_app.plot_live_series([1, 2], {"a": [1.0, 2.0]}, "y", "t", ax=ax) is one and ax.has_data()
    plt.close("all")
