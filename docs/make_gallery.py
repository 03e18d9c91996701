"""Regenerate the pictures of docs/gallery.md from small runs of the commands that draw them.

Usage: python docs/make_gallery.py [--out FOLDER] [--replicates N]
(about four minutes with the default 20 replicates; writes docs/gallery/*.png)

The gallery shows what each figure looks like; the numbers in it come from small runs, not from
the measured runs quoted in the README.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(n: int) -> list[list[str]]:
    """The run.py commands whose figures the gallery shows, with n replicates each."""
    return [
        ["run", "-n", str(n), "--seed", "1989"],
        ["compare", "scenarios/baseline.toml", "scenarios/no_concessions.toml", "scenarios/kept_promises.toml", "-n", str(n)],
        ["validate", "--targets", "calibration/targets/july1989.csv", "-n", str(n)],
        ["thesis", "-n", str(n), "--flip-points", "0", "--sensitivity", ""],  # only its claims figure is new (THESIS_ONLY)
    ]


THESIS_ONLY = ("claims.png",)
"""The figures taken from the thesis run; its forest and arms figures are the compare run's, drawn the same way."""


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "gallery"), help="where the pictures go (default: docs/gallery)")
    ap.add_argument("--replicates", "-n", type=int, default=20, help="replicates of each run (default: 20)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for cmd in commands(args.replicates):
            subprocess.run([sys.executable, str(ROOT / "run.py"), *cmd, "--out", tmp, "-q"], check=True, cwd=ROOT)
        for png in Path(tmp).glob("*/*/figures/*.png"):
            if (png.parents[2].name == "thesis") == (png.name in THESIS_ONLY):
                shutil.copyfile(png, out / png.name)
    print(f"wrote {len(list(out.glob('*.png')))} pictures to {out}")
