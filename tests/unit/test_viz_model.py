"""The app's model (sim/figures/viz.py) without a browser: what the page shows, before the first day and after steps."""

import pytest

pytest.importorskip("solara")


def test_the_page_reads_the_mesa_model_from_day_0_on():
    from sim.figures.viz import VizModel, basin_series, headline

    m = VizModel()
    dates, series = basin_series(m)  # day 0: nothing simulated yet (the page once failed here)
    assert dates == [] and all(v == [] for v in series.values()) and headline(m)["day"] == 0
    for _ in range(12):  # 1 to 12 July 1989
        m.step()
    dates, series = basin_series(m)
    h = headline(m)
    assert len(dates) == 12 and h["day"] == 12 and str(h["date"]) == "1989-07-12"
    assert series["Kuzbass"][-1] == pytest.approx(h["strikers"] - sum(v[-1] for k, v in series.items() if k != "Kuzbass"), abs=1)
    assert h["strikers"] > 0 and h["enterprises"] > 0
