"""The layer table of DESIGN.md holds: a module of sim/ imports only from layers above it."""

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "sim"
# DESIGN.md's layers; within a layer, a fixed order keeps the import graph acyclic
LAYER = {
    "errors": 0.0,
    "process": 0.0,
    "limits": 0.05,
    "params": 0.1,
    "rng": 0.1,
    "datafiles": 0.15,
    "network": 0.2,
    "state": 0.3,
    "kernel": 0.35,
    "metrics": 0.4,
    "posterior": 0.5,
    "interventions": 1.0,
    "scenario": 1.1,
    "targets": 1.2,
    "agents": 2,
    "model": 2.5,
    "engine": 3,
    "runner": 4,
    "calibration": 5,
    "experiments": 5,
    "plots": 5,
    "plots_analysis": 5.01,
    "plots_network": 5.01,
    "plots_arms": 5.01,
    "plots_app": 5.01,
    "results": 5,
    "sensitivity": 5.5,
    "flips": 5.6,
    "explain": 5.2,
    "figures": 6,
    "viz": 7,
    "api": 8,  # the package sim/api: one function per command; every module of sim/ may be below it, none imports it
}
API = SIM / "api"


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            out.add(node.module.split(".")[1] if "." in node.module else node.names[0].name)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("sim."))
    return out


def test_every_module_has_a_layer():
    mods = {p.stem for p in SIM.glob("*.py") if p.stem != "__init__"} | {p.parent.name for p in SIM.glob("*/__init__.py")}
    assert mods == set(LAYER)


def test_imports_follow_layers():
    for path in SIM.glob("*.py"):
        if path.stem == "__init__":
            continue
        for dep in imports(path):
            assert LAYER[dep] < LAYER[path.stem], f"{path.stem} (layer {LAYER[path.stem]}) imports {dep} (layer {LAYER[dep]})"
    for path in API.glob("*.py"):  # the library API may use every layer below it
        assert all(dep == "api" or LAYER[dep] < LAYER["api"] for dep in imports(path)), path.name


def test_the_command_line_is_thin_and_no_module_is_long():
    """run.py parses, calls `sim.api` and prints (under 400 lines); no module of the library is over 600 lines."""
    run_py = SIM.parent / "run.py"
    assert len(run_py.read_text(encoding="utf-8").splitlines()) < 400
    for path in [*SIM.glob("*.py"), *API.glob("*.py")]:
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= 600, f"{path.relative_to(SIM.parent)} has {n} lines"
    assert "ResultsFolder(" not in run_py.read_text(encoding="utf-8")  # the folder lifecycle is the library's


def test_only_the_plots_modules_import_matplotlib_and_only_results_writes():
    writes = (".write_text(", ".write_bytes(", "to_parquet(", ".savefig(", 'open("w"', '.open("w"')
    for path in [*SIM.glob("*.py"), *API.glob("*.py")]:
        text = path.read_text(encoding="utf-8").replace("results.write_text(", "")  # writing through results is allowed
        if not path.stem.startswith("plots"):
            assert "import matplotlib" not in text and "from matplotlib" not in text, path.stem
        if path.stem != "results":
            assert not any(w in text for w in writes), path.stem


@pytest.mark.slow
def test_importing_the_library_switches_no_backend_and_sets_no_environment_variable():
    import os
    import subprocess
    import sys

    code = (
        "import os; before = dict(os.environ); "
        "import sim, sim.plots, sim.figures, sim.runner, sim.experiments, sim.explain, sim.api; import matplotlib; "
        "print(dict(os.environ) == before, matplotlib.get_backend())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["MPLBACKEND"] = "svg"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SIM.parent, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "svg"]
