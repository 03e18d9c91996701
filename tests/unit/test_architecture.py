"""The layers of docs/design.md hold: each folder of sim/ is a layer, and a module imports only from layers above it."""

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"
LAYERS = ("inputs", "model", "run", "analysis", "figures", "api")
"""The layer folders, top (imported by all) to bottom (imports all)."""
ORDER = {
    "inputs": ("errors", "limits", "process", "params", "rng", "datafiles", "oblasts", "network", "posterior"),
    "model": (
        "state",
        "arrays",
        "cache",
        "draws",
        "observation",
        "kernel",
        "metrics",
        "interventions",
        "scenario",
        "agents",
        "model",
        "vote",
        "stance",
        "engine",
    ),
    "run": ("runner", "results"),
    "analysis": ("targets", "vote_scale", "calibration", "smc", "experiments", "explain", "sensitivity", "flips", "report"),
    "figures": ("plots", "plots_network", "plots_arms", "plots_analysis", "plots_app", "figures", "viz"),
}
"""Within a layer, a module imports only modules before it (this order keeps the import graph acyclic); the api's modules may import each other."""


def modules() -> dict[str, Path]:
    """'layer.module' -> path, for every module of every layer folder."""
    return {f"{p.parent.name}.{p.stem}": p for layer in LAYERS for p in (SIM / layer).glob("*.py") if p.stem != "__init__"}


def rank(dotted: str) -> tuple[int, int]:
    layer, _, mod = dotted.partition(".")
    return LAYERS.index(layer), (ORDER[layer].index(mod) if layer in ORDER else 0)


def imports(path: Path) -> set[str]:
    """The 'layer.module' names a file imports from sim (a `from sim.layer import a, b` names each module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            parts = node.module.split(".")
            if len(parts) >= 3:
                out.add(f"{parts[1]}.{parts[2]}")
            elif len(parts) == 2:
                out.update(f"{parts[1]}.{a.name}" for a in node.names if (SIM / parts[1] / f"{a.name}.py").exists())
                if not (SIM / parts[1]).is_dir():
                    out.add(parts[1])
        elif isinstance(node, ast.Import):
            out.update(".".join(a.name.split(".")[1:3]) for a in node.names if a.name.startswith("sim."))
    return out


def test_every_module_lives_in_a_layer_folder():
    loose = {p.name for p in SIM.glob("*.py")} - {"__init__.py"}
    assert not loose, f"modules outside the layer folders: {sorted(loose)}"
    assert {p.name for p in SIM.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)
    for dotted in modules():
        layer, _, mod = dotted.partition(".")
        assert layer == "api" or mod in ORDER[layer], f"{dotted} is not in the layer table"


def test_imports_follow_layers():
    for dotted, path in modules().items():
        for dep in imports(path):
            assert dep in modules(), f"{dotted} imports {dep}, which is no module of a layer"
            if dotted.startswith("api.") and dep.startswith("api."):
                continue
            assert rank(dep) < rank(dotted), f"{dotted} imports {dep}: a module imports only from layers (and modules) above it"


def test_the_command_line_is_thin_and_no_module_is_long():
    """run.py parses, calls `sim.api` and prints (under 400 lines); no module of the library is over 600 lines."""
    run_py = SIM.parent / "run.py"
    assert len(run_py.read_text(encoding="utf-8").splitlines()) < 400
    for path in modules().values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= 600, f"{path.relative_to(SIM.parent)} has {n} lines"
    assert "ResultsFolder(" not in run_py.read_text(encoding="utf-8")  # the folder lifecycle is the library's


def test_only_the_figures_layer_imports_matplotlib_and_only_results_writes():
    writes = (".write_text(", ".write_bytes(", "to_parquet(", ".savefig(", 'open("w"', '.open("w"')
    for dotted, path in modules().items():
        text = path.read_text(encoding="utf-8").replace("results.write_text(", "")  # writing through results is allowed
        if not dotted.startswith("figures.plots"):
            assert "import matplotlib" not in text and "from matplotlib" not in text, dotted
        if dotted not in ("run.results", "model.cache"):  # (model.cache writes the compiled code's stamp, not a result)
            assert not any(w in text for w in writes), dotted


def test_importing_the_library_switches_no_backend_and_sets_no_environment_variable():
    import os
    import subprocess
    import sys

    code = (
        "import os; before = dict(os.environ); "
        "import sim, sim.figures.plots, sim.figures.figures, sim.run.runner, sim.analysis.experiments, sim.analysis.explain, sim.api; "
        "import matplotlib; print(dict(os.environ) == before, matplotlib.get_backend())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["MPLBACKEND"] = "svg"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SIM.parent, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "svg"]
