"""Tutorial: the library from Python (a notebook in the percent format; see the first cell)."""

# %% [markdown]
# # Tutorial: the library from Python
#
# A script in the percent format (`# %%` cells): open it in Jupyter with jupytext, run it cell by cell in
# VS Code, or run it whole with the environment's Python, from any folder: `.venv/bin/python docs/tutorial.py`
# (a plain `python docs/tutorial.py` whose Python lacks the project's packages hands over to the
# repository's `.venv` when there is one, else says in one line what to run). A test runs it on every change
# (`tests/unit/test_tutorial.py`). It runs the historical baseline in this process on a short horizon,
# reads the tables with pandas, draws a figure, compares two arms and asks one town's enterprises why
# they struck. Importing `sim` changes nothing in your session: it sets no matplotlib backend and no
# environment variable.

# %%
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(ROOT))
try:
    import matplotlib  # noqa: F401 - the project's packages are in this Python
except ModuleNotFoundError:  # a Python without them (the environment not activated): hand over to the repository's .venv
    VENV = ROOT / ".venv"
    PY = next((p for p in (VENV / "bin" / "python", VENV / "Scripts" / "python.exe") if p.is_file()), None)
    if PY is None or "__file__" not in globals() or Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit(
            "tutorial.py: this Python lacks the project's packages; install them (README, 'Set up and run') and run "
            "the tutorial with the environment's Python: .venv/bin/python docs/tutorial.py"
        )
    os.execv(PY, [str(PY), str(Path(__file__).resolve()), *sys.argv[1:]])

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from sim.analysis import experiments, explain  # noqa: E402
from sim.model.scenario import load_scenario  # noqa: E402
from sim.run.runner import run_arms, run_ensemble, world_for  # noqa: E402

OUT = ROOT / "results" / "tutorial"
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. Run the baseline, July-August 1989
#
# A scenario file is read once and checked; `with_changes` gives a copy with another horizon (or other
# parameters). `run_ensemble` runs the replicates (here 20, in this process) and returns tidy tables
# and the replicate seeds: the same root seed gives the same tables, however the replicates are split.

# %%
baseline = load_scenario(ROOT / "scenarios" / "baseline.toml").with_changes(end=date(1989, 8, 31))
tables, seeds = run_ensemble(baseline, replicates=20, seed=1, workers=1)
print(f"{len(seeds)} replicates; daily basin table: {tables.basin.shape[0]:,} rows, columns {list(tables.basin.columns)[:6]}...")

# %% [markdown]
# ## 2. Read the tables with pandas
#
# `tables.basin` has one row per replicate, date and basin. The peak of the July strike in each basin,
# median over replicates (the historical Kuzbass figure: about 177,000 on 15-17 July):

# %%
peak = tables.basin.groupby(["basin", "replicate"])["strikers"].max().groupby("basin").median().sort_values(ascending=False)
print(peak.head(6).round(-2).to_string())

# %% [markdown]
# ## 3. Draw a figure
#
# Kuzbass strikers by day: the median and the band of 5-95% of the replicates.

# %%
kuz = tables.basin[tables.basin["basin"] == "Kuzbass"].pivot(index="date", columns="replicate", values="strikers")
fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
ax.fill_between(kuz.index, kuz.quantile(0.05, axis=1), kuz.quantile(0.95, axis=1), alpha=0.3, label="5-95% of replicates")
ax.plot(kuz.index, kuz.median(axis=1), label="median across replicates (each day)")
ax.set_ylabel("strikers (persons)")
ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))  # short dates that do not overlap
ax.set_title(f"Kuzbass, July-August 1989 ({len(seeds)} replicates, baseline)")
ax.legend()
fig.savefig(OUT / "kuzbass_july1989.png", dpi=100)
print(f"figure: {OUT / 'kuzbass_july1989.png'}")

# %% [markdown]
# ## 4. Compare two arms
#
# `run_arms` runs every arm on the same replicate seeds and parameter draws, so replicate i of the two
# arms differs only through the lever; `paired_effects` summarises, per outcome, the effect of the lever
# (`experiments.EFFECT`: baseline minus arm, pair by pair; positive means the historical lever raised
# the outcome). Here the arm makes the Kuzbass deal on 11 July instead of 17 July, so the lever is the
# historical delay: a positive effect on July peak strikers means the delay raised them.

# %%
early = load_scenario(ROOT / "scenarios" / "early_concession.toml").with_changes(end=date(1989, 8, 31))
arms, _ = run_arms([baseline, early], replicates=20, seed=1, workers=1)
effects = experiments.paired_effects(arms.outcomes, "baseline")
print(effects[["arm", "outcome", "median", "mean", "mean_lo", "mean_hi"]].to_string(index=False))
print(experiments.EFFECT)

# %% [markdown]
# ## 5. Inspect one agent: why did Prokopyevsk's enterprises strike, or not, on 15 July?
#
# `explain` runs the per-agent Mesa model (the same rules, seed and parameter draw as the engine's
# replicate 0) to that day and returns, for each enterprise of the town, the terms of its decision;
# `explain.report` says it in words (what `run.py explain` prints), the tables hold every term.

# %%
why = explain.explain(baseline, date(1989, 7, 15), "Prokopyevsk", replicate=0)
print("\n".join(explain.report(why).splitlines()[:4]))
cols = ["enterprise", "decision", "readiness", "z_grievance", "contagion_town", "contagion_basin", "news", "hazard", "probability", "acted"]
print(why.enterprises[[c for c in cols if c in why.enterprises]].head(8).to_string(index=False))
print(why.committees[["committee", "active", "stage", "allegiance"]].to_string(index=False))

# %% [markdown]
# ## 6. Step a Mesa model and read its agents
#
# `StrikeModel` (`sim.model.model`) is the Mesa model whose agents hold the rules: each `Enterprise` sits on
# its cell of the tie network and decides from its neighbours. Step it and read one agent's state.

# %%
from sim.model.model import Enterprise, StrikeCommittee, StrikeModel  # noqa: E402

world = world_for(baseline.data)
agents = StrikeModel(world, baseline, seeds[0])
for _ in range(16):  # 1 to 16 July 1989
    agents.step()
out = agents.agents_by_type[Enterprise].select(lambda e: e.striking)
e = out.to_list()[0]
print(f"{len(out)} enterprises on strike; {world.mine_name[e.i]}: {len(e.cell.neighborhood)} neighbours on the network,")
print(f"  {e.days_on:.0f} days out, efficacy {e.eff:.2f}, trust {e.trust:.2f}, grievances (wage, ecology, privilege) {e.griev}")
print(f"{len(agents.agents_by_type[StrikeCommittee].select(lambda c: c.active))} strike committees active")

# The compiled engine, which every command runs, holds the same state on the same seed and draw:
from sim.model.engine import Engine  # noqa: E402

engine = Engine(world, baseline, [seeds[0]]).run(until=16)
print(f"{agents.date}: {int(engine.state.striking.sum())} enterprises on strike in the engine's replicate on the same seed")

# %% [markdown]
# The basins and the centre are agents too: a `Basin` holds the centre's promises to it and the strike
# calls in force there, the `Centre` its perceived strength. Mesa's clock counts days (`run_for`), and
# the DataCollector's reporters are named functions of `sim.model.model`.

# %%
from sim.model.model import Basin, Centre  # noqa: E402

agents.run_for(30)  # to 15 August 1989
(centre,) = agents.agents_by_type[Centre]
names = world.basin_names
for b in agents.agents_by_type[Basin].select(lambda b: b.concessions > 0):
    print(f"{names[b.b]}: {b.concessions:.0f} concession(s), relief promised {b.promised:.2f}, carried out {b.implemented:.2f}")
print(f"{agents.date}: centre's perceived strength {centre.strength:.2f}")
print(agents.datacollector.get_model_vars_dataframe().drop(columns="strikers_by_basin").tail(3).to_string())
