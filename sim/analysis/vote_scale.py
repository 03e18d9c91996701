"""The vote-scale allegiance as results: the table by oblast and republic, its printout, and its target measures.

Reads the per-replicate oblast table of a run (`allegiance_oblast`: `sim.run.runner.allegiance_by_oblast`,
whose vote columns come from `sim.model.vote`). Republic totals are the adult-weighted means of the
oblasts with a value (their mining oblasts with a sourced 1989 population: not the whole republic).
The parts add up in every row: `vote = baseline + shocks + miners`. Nothing here is compared with a
1991 result: a targets file naming `vote_independence_yes` or `vote_union_yes` is scored only if the
user gives one (`score_votes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.targets import Target, _alternatives, inside, overlaps
from sim.model.vote import PARTS, VOTE_COLUMNS, VOTE_MEASURES

ALL = "all mining oblasts with 1989 adults"
"""The `oblast` of a republic's total row."""
PRINT_DATES = (("1991-03-17", "17 Mar 1991"), ("1991-12-01", "1 Dec 1991"))
"""The dates the run prints: the Union referendum and the Ukrainian referendum."""
TOTAL_COLUMNS = ("miners_weight", "miners_stance", "population", *PARTS, "vote")


def vote_table(oblast: pd.DataFrame) -> pd.DataFrame:
    """Per replicate, date and oblast, and per republic (`oblast` = ALL): adults, the measure and its parts.

    Args:
        oblast: the run's `allegiance_oblast` table (with the vote columns).
    """
    cols = ["replicate", "date", "republic", "oblast", "level", "workforce", "adults", *VOTE_COLUMNS]
    obl = oblast.assign(level="oblast")[cols]
    ok = obl[np.isfinite(obl["vote"]) & np.isfinite(obl["adults"])]
    rows = []
    for (rep, day, republic), g in ok.groupby(["replicate", "date", "republic"], sort=True):
        a = g["adults"].to_numpy()
        rec = {"replicate": rep, "date": day, "republic": republic, "oblast": ALL, "level": "republic"}
        rec |= {"workforce": float(g["workforce"].sum()), "adults": float(a.sum())}
        rec |= {c: float(np.sum(g[c].to_numpy() * a) / a.sum()) for c in TOTAL_COLUMNS}
        rows.append(rec)
    tot = pd.DataFrame(rows, columns=cols).astype(obl.dtypes.to_dict()) if rows else obl.iloc[:0]
    return pd.concat([obl, tot], ignore_index=True).sort_values(["replicate", "date", "level", "republic", "oblast"], kind="stable")


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """By date, republic and oblast: median and 5-95% band of the measure across replicates, and the median of each part."""
    g = table.groupby(["date", "level", "republic", "oblast"], sort=True)
    out = g["vote"].quantile([0.05, 0.5, 0.95]).unstack()
    out.columns = ["p05", "median", "p95"]
    for c in (*PARTS, "miners_stance", "adults"):
        out[c] = g[c].median()
    out["replicates"] = g["vote"].count()
    return out.reset_index()


def _cell(r: pd.Series | None) -> str:
    if r is None or not np.isfinite(r["median"]):
        return f"{'not computed':>27}"
    return f"{r['median']:.2f} [{r['p05']:.2f} to {r['p95']:.2f}]".rjust(27)


def text(table: pd.DataFrame) -> str:
    """The printout: every mining oblast and each republic total on 17 March and 1 December 1991 (else the last day)."""
    if not len(table):
        return ""
    s = summary(table)
    have = set(pd.to_datetime(s["date"]).dt.strftime("%Y-%m-%d"))
    dates = [(d, lab) for d, lab in PRINT_DATES if d in have] or [(max(have), max(have))]
    last = dates[-1][0]
    head = "".join(f"{lab:>27}" for _, lab in dates)
    lines = [
        "vote-scale allegiance: share of the adults backing their republic against the Union, median [5% to 95%] across "
        "replicates (sim/model/vote.py; parts on the last date shown: 1989-90 baseline + 1990-91 shocks + the miners' pull)",
        f"{'republic / oblast':<52}{head}   parts on {last}",
    ]
    by = {(str(pd.Timestamp(r.date).date()), r.republic, r.oblast): r for r in s.itertuples(index=False)}
    keys = s[["level", "republic", "oblast"]].drop_duplicates().sort_values(["republic", "level", "oblast"], key=_order)
    missing = 0
    for lv, republic, oblast in keys.itertuples(index=False):
        cells = [by.get((d, republic, oblast)) for d, _ in dates]
        cells = [pd.Series(c._asdict()) if c is not None else None for c in cells]
        name = f"{republic}: {'TOTAL (adult-weighted)' if lv == 'republic' else oblast}"
        end = cells[-1]
        ok = end is not None and np.isfinite(end["median"])
        missing += not ok
        if ok:
            parts = f"   {end['baseline']:.2f} {end['shocks']:+.2f} {end['miners']:+.2f}"
        else:
            parts = f"   (miners' stance {end['miners_stance']:.2f})" if end is not None else ""
        lines.append(f"{name[:51]:<52}{''.join(_cell(c) for c in cells)}{parts}")
    if missing:
        lines.append(
            f"not computed: {missing} oblasts whose 1989 population (so the miners' share of the adults) oblasts.csv does not source; "
            "each republic's TOTAL covers its oblasts with a value only"
        )
    return "\n".join(lines)


def _order(col: pd.Series) -> pd.Series:
    """Sort key: republics as given, the republic total after its oblasts."""
    return col.map({"oblast": 0, "republic": 1}).fillna(0) if col.name == "level" else col


def score_votes(targets: list[Target], scores: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Score the rows naming a vote-scale measure against the vote table; every other row as `scores` has it.

    A row's `basin` names a republic; its `place` an oblast (or nothing: the republic total). It is read
    on its date, which must be one the table holds (17 March, 24 August, 1 December 1991 or the last day).
    """
    if not any(t.measure in VOTE_MEASURES for t in targets):
        return scores
    out = scores.copy()
    flags = ("scored", "inside_90", "inside_50", "overlap_90", "overlap_50", "informative", "uninformative_why", "reason", "area")
    for c in flags:
        out[c] = out[c].astype(object)
    for t in targets:
        if t.measure not in VOTE_MEASURES:
            continue
        i = out.index[out["line"] == t.line][0]
        sel = table[(table["republic"] == t.basin) & (pd.to_datetime(table["date"]) == pd.Timestamp(t.date))]
        named = [bool(_alternatives(o) & _alternatives(t.place)) for o in sel["oblast"]] if t.place else sel["level"] == "republic"
        sel = sel[named]
        vals = sel["vote"].to_numpy(dtype=float)
        vals = 1.0 - vals if t.measure == "vote_union_yes" else vals
        if not np.isfinite(vals).any() or sel["oblast"].nunique() != 1:
            out.at[i, "reason"] = "no vote-scale value for this republic, oblast and date (recorded on 17 Mar, 24 Aug, 1 Dec 1991)"
            continue
        q = np.nanquantile(vals, [0.05, 0.25, 0.5, 0.75, 0.95])
        row = dict(zip(("sim_p05", "sim_p25", "sim_median", "sim_p75", "sim_p95"), q, strict=True))
        row |= {"scored": True, "reason": "", "inside_90": inside(t, q[0], q[4]), "inside_50": inside(t, q[1], q[3])}
        row |= {"overlap_90": overlaps(t, q[0], q[4]), "overlap_50": overlaps(t, q[1], q[3]), "informative": True}
        row |= {"uninformative_why": "", "replicates": len(vals), "area": t.basin + (f" / {t.place}" if t.place else "")}
        for c, v in row.items():
            out.at[i, c] = v
    return out.astype({"scored": bool})
