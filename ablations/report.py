"""Reports: from a grid's run folders to the tables, statistics and figures a paper can use.

    python ablations/report.py --grid relpos_vs_abs                       # reports/relpos_vs_abs/
    python ablations/report.py --grid swin_table4 --runs-dir /scratch/runs --metric best_top1
    python ablations/report.py --grid relpos_vs_abs --profile cifar --out /tmp/rep

Everything comes from ``runs/<grid>/grid.json`` (written by the launcher) and the run folders it
names, so the Slurm report job can call ``write_report`` without the grid module. Written to
``reports/<grid>/`` (or ``--out``):

    report.md / report.html   description, table, verdicts, figures, problems, command and commit
    table.csv / .md / .tex    the grid's metric per variant: mean ± std, 95 % CI, Δ to the baseline,
                              the test and its p-value, the verdict, the paper's number, the costs
    summary.csv               the same statistics for every final metric (one row per variant × metric)
    runs.csv                  the tidy table: one row per (variant, seed) with its status and numbers
    curves.csv                the epoch rows of every metrics.jsonl (long format)
    bars / curves / cost / resolution .png + .pdf

Statistics: n, mean, std (ddof 1) and a 95 % t-interval per variant; the difference to the
baseline with its 95 % interval, tested with a paired t-test when both have the same seeds and
Welch's t-test otherwise; verdict better / worse (p < 0.05, direction: higher is better unless the
metric measures a loss, an error, time, memory or cost) or "no detectable difference". Runs that are
not done (failed, diverged, running, pending, corrupt) appear with their status, never as numbers.

Exit codes: 0 written, 2 bad input (no grid.json, unknown metric or profile), one line on stderr.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import html
import json
import math
import os
import re
import shlex
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.special import stdtr, stdtrit  # noqa: E402

from vt_core import exit_codes  # noqa: E402
from vt_core.overrides import ConfigError  # noqa: E402

ALPHA = 0.05
LIST_MAX = 60  # runs / problems listed one by one in report.md; the rest are counted
CONFIDENCE = 0.95
STATUSES = ("done", "diverged", "failed", "running", "interrupted", "pending", "corrupt")
# final metrics of result.json (those present become columns, in this order; other numeric keys follow)
METRICS = ("top1", "top5", "loss", "train_loss", "best_top1", "best_top5", "best_epoch", "top1_ema", "epochs")
COSTS = ("params", "macs", "gmacs", "train_img_per_s", "peak_mem_mb", "wall_time_s")
MODEL_COSTS = ("params", "macs", "gmacs")  # properties of the architecture: kept for diverged runs too
CURVE_KEYS = ("epoch", "step", "val_top1", "val_top5", "val_loss", "train_loss", "train_top1", "lr", "img_per_s",
              "grad_norm", "val_top1_ema", "val_loss_ema")
_LOWER_IS_BETTER = ("loss", "err", "time", "mem", "macs", "flops", "params")
LABELS = {
    "top1": "Top-1 accuracy (%)", "top5": "Top-5 accuracy (%)", "loss": "Validation loss",
    "train_loss": "Training loss", "best_top1": "Best top-1 accuracy (%)", "best_top5": "Best top-5 accuracy (%)",
    "top1_ema": "Top-1 accuracy, EMA (%)", "best_epoch": "Best epoch", "epochs": "Epochs",
    "params": "Parameters", "params_m": "Parameters (M)", "gmacs": "GMACs per image", "macs": "MACs per image",
    "train_img_per_s": "Training throughput (img/s)", "peak_mem_mb": "Peak memory (MiB)",
    "wall_time_s": "Wall time (s)", "val_top1": "Validation top-1 accuracy (%)", "val_loss": "Validation loss",
}
SHORT = {"top1": "Top-1 (%)", "top5": "Top-5 (%)", "loss": "Val. loss", "train_loss": "Train loss",
         "best_top1": "Best top-1 (%)", "best_top5": "Best top-5 (%)", "top1_ema": "Top-1 EMA (%)"}


class ReportError(ConfigError):
    """Bad input to the report (exit code 2): one line naming the file or the option."""


def higher_is_better(metric: str) -> bool:
    """Accuracy-like metrics go up; losses, errors, time, memory and cost go down."""
    m = metric.lower()
    return not any(k in m for k in _LOWER_IS_BETTER)


def metric_label(metric: str) -> str:
    if metric in LABELS:
        return LABELS[metric]
    m = re.fullmatch(r"(\w+)@(\d+)", metric)
    if m:
        return f"{metric_label(m.group(1))} at {m.group(2)} px"
    return metric.replace("_", " ")


def _decimals(metric: str) -> int:
    return 4 if "loss" in metric else 2


# ============================================================================ aggregation
@dataclass
class Aggregate:
    """Everything the report reads: the grid's index, the tidy runs table and the curves."""

    grid: dict[str, Any]
    runs: pd.DataFrame  # one row per (variant, seed) of the selected setting
    curves: pd.DataFrame  # long: one row per (variant, seed, epoch)
    variants: list[str]
    axes: list[str]
    profile: str | None
    setting: dict[str, Any]  # overrides shared by the reported runs (preset, BASE, profile, --set)
    problems: list[str] = field(default_factory=list)  # corrupt results, malformed entries (by path)
    excluded: list[str] = field(default_factory=list)  # runs of other settings, superseded entries


def load_index(grid_name: str, runs_dir: str | Path = "runs") -> dict[str, Any]:
    path = Path(runs_dir) / grid_name / "grid.json"
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file (launch the grid first: python ablations/launch.py --grid {grid_name})") from None
    except (OSError, ValueError) as e:
        raise ReportError(f"{path}: cannot be read as JSON ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    if not isinstance(index, dict) or not isinstance(index.get("runs"), list):
        raise ReportError(f"{path}: not a grid index (no 'runs' list)")
    return index


def _read_run(run_dir: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """(state, result or None, problem or None); a result.json that does not parse is 'corrupt'."""
    path = run_dir + "/result.json"
    try:
        with open(path, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        from vt_core.run_folder import run_state

        return run_state(Path(run_dir)), None, None
    except OSError as e:
        return "corrupt", None, f"{path}: unreadable ({e.strerror or e}); skipped"
    try:
        result = json.loads(text)
        if not isinstance(result, dict):
            raise ValueError("not an object")
    except ValueError:
        return "corrupt", None, f"{path}: not valid JSON (truncated or corrupt); skipped"
    status = str(result.get("status", "done"))
    return (status if status in STATUSES else "done"), result, None


def _num(x: Any) -> float:
    if isinstance(x, bool) or x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _read_curve(path: str) -> list[dict[str, Any]]:
    """The epoch rows of metrics.jsonl (those with val_top1); step rows and lines cut by a kill are skipped."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    lines = [ln for ln in data.split(b"\n") if b'"val_top1"' in ln]
    if not lines:
        return []
    try:  # one parse for the whole run: far faster than one per line
        rows = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:  # a line cut by a kill: parse line by line, keep the whole ones
        rows = []
        for ln in lines:
            try:
                rows.append(json.loads(ln))
            except ValueError:
                continue
    return [r for r in rows if isinstance(r, dict) and "epoch" in r]


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""
    except OSError:
        return ""


_DEFAULTS: dict[tuple[str, str], Any] = {}


def _default_value(preset: Any, key: str) -> Any:
    """The value of a dotted key in the preset's RunConfig (for axes a variant does not set)."""
    k = (str(preset), key)
    if k not in _DEFAULTS:
        try:
            from vt_core.config import RunConfig
            from vt_core.presets import get_preset

            obj: Any = RunConfig(model=get_preset(str(preset))) if preset else RunConfig()
            for part in key.split("."):
                obj = getattr(obj, part)
            _DEFAULTS[k] = obj
        except Exception:  # an unknown preset or key (an old grid.json): leave the cell empty
            _DEFAULTS[k] = None
    return _DEFAULTS[k]


def _cell(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, separators=(",", ":"))
    return v


_RANK = {"done": 0, "diverged": 1, "running": 2, "interrupted": 3, "failed": 4, "corrupt": 5, "pending": 6}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -math.inf


def aggregate(grid_name: str, runs_dir: str | Path = "runs", *, profile: str | None = None,
              index: dict[str, Any] | None = None, curves: bool = True) -> Aggregate:
    """Read a grid's runs into one tidy DataFrame (and the curves into a long one).

    Only one setting is reported: the runs of one profile with the same shared overrides (a
    relaunch with ``--set`` or another profile makes new run ids beside the old ones). Without
    ``profile`` the setting whose run folders changed last is taken; the others are listed in
    ``excluded``.
    """
    runs_dir = Path(runs_dir)
    gdir = runs_dir / grid_name
    index = index if index is not None else load_index(grid_name, runs_dir)
    problems: list[str] = []
    excluded: list[str] = []
    entries = []
    for i, e in enumerate(index["runs"]):
        if not (isinstance(e, dict) and isinstance(e.get("variant"), str) and isinstance(e.get("run_id"), str)
                and "seed" in e):
            problems.append(f"{gdir / 'grid.json'}: entry {i} lacks variant, seed or run_id; skipped")
            continue
        entries.append(e)
    variants = [v for v in index.get("variants") or [] if isinstance(v, str)]
    if not variants:
        variants = list(dict.fromkeys(e["variant"] for e in entries))
    stale = Counter(e["variant"] for e in entries if e["variant"] not in variants)
    for v, n in stale.items():
        excluded.append(f"{n} run(s) of variant {v!r}, which the grid no longer has")
    entries = [e for e in entries if e["variant"] in variants]
    axes = [a for a in index.get("axes") or [] if isinstance(a, str)]
    if not axes:
        keys: dict[str, set[str]] = {}
        for e in entries:
            for k, v in (e.get("overrides") or {}).items():
                keys.setdefault(k, set()).add(json.dumps(_cell(v)))
        axes = [k for k, vals in keys.items() if len(vals) > 1 and k != "train.seed"]

    # ---- one setting: profile + the overrides every run shares (all but the axes and the seed)
    def setting_of(e: dict[str, Any]) -> tuple[str, str]:
        rest = {k: v for k, v in (e.get("overrides") or {}).items() if k not in axes and k != "train.seed"}
        return str(e.get("profile")), json.dumps(rest, sort_keys=True, default=str)

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(setting_of(e), []).append(e)
    if profile is not None:
        profiles = sorted({k[0] for k in groups})
        if profile not in profiles:
            raise ReportError(f"--profile: no runs of profile {profile!r} in {gdir / 'grid.json'} "
                              f"(profiles there: {', '.join(profiles) or 'none'})")
    candidates = [k for k in groups if profile is None or k[0] == profile]
    if len(candidates) > 1:
        chosen = max(candidates, key=lambda k: max(_mtime(gdir / e["run_id"]) for e in groups[k]))
    else:
        chosen = candidates[0] if candidates else ("None", "{}")
    setting = json.loads(chosen[1])
    for k, es in groups.items():
        if k == chosen:
            continue
        other = json.loads(k[1])
        diff = sorted({key for key in set(other) | set(setting) if other.get(key) != setting.get(key)})
        what = ", ".join(f"{key}={other.get(key, '(unset)')}" for key in diff[:6]) + (" …" if len(diff) > 6 else "")
        excluded.append(f"{len(es)} run(s) of profile {k[0]!r}" + (f" with {what}" if what else "")
                        + " (report them with --profile or after relaunching that setting)")
    selected = groups.get(chosen, [])

    # ---- read each distinct run folder once (variants with identical configs share a run id)
    cache: dict[str, tuple[str, dict[str, Any] | None, str | None]] = {}
    gstr = str(gdir)
    for e in selected:
        rid = e["run_id"]
        if rid not in cache:
            cache[rid] = _read_run(f"{gstr}/{rid}")
            if cache[rid][2]:
                problems.append(cache[rid][2])

    # ---- (variant, seed) → one entry: an edited variant leaves its old run id in grid.json
    by_key: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for e in selected:
        by_key.setdefault((e["variant"], e["seed"]), []).append(e)
    keep = []
    for (v, s), es in by_key.items():
        if len(es) > 1:
            es = sorted(es, key=lambda e: (_RANK.get(cache[e["run_id"]][0], 9), -_mtime(gdir / e["run_id"])))
            excluded.append(f"variant {v} seed {s}: {len(es) - 1} older run id(s) superseded by {es[0]['run_id']} "
                            f"({', '.join(e['run_id'] for e in es[1:])})")
        keep.append(es[0])
    order = {v: i for i, v in enumerate(variants)}
    keep.sort(key=lambda e: (order[e["variant"]], _seed_key(e["seed"])))

    rows: list[dict[str, Any]] = []
    extra_keys: list[str] = []
    eval_keys: list[str] = []
    curve_recs: list[dict[str, Any]] = []
    curve_ids: list[tuple[str, Any, str, str, int]] = []  # (variant, seed, run id, state, rows)
    curve_cache: dict[str, list[dict[str, Any]]] = {}
    for e in keep:
        rid = e["run_id"]
        state, result, _ = cache[rid]
        ov = e.get("overrides") or {}
        preset = ov.get("preset")
        row: dict[str, Any] = {"grid": index.get("grid", grid_name), "profile": e.get("profile"),
                               "variant": e["variant"], "seed": e["seed"], "run_id": rid, "status": state}
        for a in axes:
            row[a] = _cell(ov[a] if a in ov else _default_value(preset, a))
        note = ""
        if result is not None:
            measured = state == "done"
            for k in METRICS:
                row[k] = _num(result.get(k)) if measured else math.nan
            for k in COSTS:
                row[k] = _num(result.get(k)) if (measured or k in MODEL_COSTS) else math.nan
            if measured:
                for k, v in result.items():
                    if k in row or k in METRICS or k in COSTS or k in ("world_size", "diverged_at", "run_id"):
                        continue
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        row[k] = float(v)
                        if k not in extra_keys:
                            extra_keys.append(k)
                sizes = result.get("eval_sizes")
                if isinstance(sizes, dict):
                    for size, vals in sizes.items():
                        if isinstance(vals, dict):
                            for mk, mv in vals.items():
                                col = f"{mk}@{size}"
                                row[col] = _num(mv)
                                if col not in eval_keys:
                                    eval_keys.append(col)
            if state == "diverged":
                note = f"diverged at {result.get('diverged_at')}" if result.get("diverged_at") is not None else "diverged"
            env = result.get("env") if isinstance(result.get("env"), dict) else {}
            row["commit"] = env.get("git_commit")
            row["device"] = env.get("device")
        elif state == "failed":
            note = _last_line(gdir / rid / "error.txt")
        elif state == "corrupt":
            note = f"corrupt {gdir / rid / 'result.json'}"
        row["note"] = note
        rows.append(row)
        if curves and state in ("done", "diverged", "running", "interrupted"):
            if rid not in curve_cache:
                curve_cache[rid] = _read_curve(f"{gstr}/{rid}/metrics.jsonl")
            recs = curve_cache[rid]
            if recs:
                curve_recs.extend(recs)
                curve_ids.append((e["variant"], e["seed"], rid, state, len(recs)))

    base_cols = ["grid", "profile", "variant", "seed", "run_id", "status", *axes]
    num_cols = [*METRICS, *extra_keys, *sorted(eval_keys, key=_eval_sort), *COSTS]
    runs = pd.DataFrame.from_records(rows, columns=[*base_cols, *num_cols, "commit", "device", "note"])
    for c in num_cols:
        runs[c] = pd.to_numeric(runs[c], errors="coerce").astype(float)
    runs = runs[[c for c in runs.columns if c in base_cols or c == "note" or runs[c].notna().any()]]
    runs["status"] = pd.Categorical(runs["status"], categories=list(STATUSES))
    curves_df = _curves_frame(curve_recs, curve_ids)
    return Aggregate(grid=index, runs=runs, curves=curves_df, variants=variants, axes=axes,
                     profile=None if chosen[0] == "None" else chosen[0], setting=setting,
                     problems=problems, excluded=excluded)


def _curves_frame(recs: list[dict[str, Any]], ids: list[tuple[str, Any, str, str, int]]) -> pd.DataFrame:
    """The long curves table: (variant, seed, run id, status) repeated over each run's epoch rows."""
    reps = np.array([n for *_, n in ids], dtype=np.int64)
    head = {name: np.repeat(np.array([x[i] for x in ids], dtype=object), reps) if ids else np.array([], dtype=object)
            for i, name in enumerate(("variant", "seed", "run_id", "status"))}
    nan = math.nan

    def column(k: str) -> np.ndarray:
        values = [r.get(k, nan) for r in recs]
        try:  # the common case: numbers only
            return np.array(values, dtype=float)
        except (TypeError, ValueError):  # a null or a string somewhere: those become NaN
            return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)

    body = pd.DataFrame({k: column(k) for k in CURVE_KEYS})
    frame = pd.concat([pd.DataFrame(head), body], axis=1)
    keep = [c for c in frame.columns if c in ("variant", "seed", "run_id", "status", "epoch") or frame[c].notna().any()]
    return frame[keep]


def _seed_key(seed: Any) -> tuple[int, Any]:
    return (0, seed) if isinstance(seed, (int, float)) else (1, str(seed))


def _eval_sort(col: str) -> tuple[str, int]:
    m, _, size = col.partition("@")
    return m, int(size) if size.isdigit() else 0


# ============================================================================ statistics
def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """(mean, std ddof=1, low, high) with the t-distribution; std and the bounds are NaN for n < 2."""
    x = np.asarray(list(values), dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = _t_quantile(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t with df degrees of freedom (df may be fractional: Welch)."""
    return float(stdtrit(df, q))


def _t_two_sided_p(t: float, df: float) -> float:
    return float(2.0 * stdtr(df, -abs(t)))


def compare(variant: Mapping[Any, float] | pd.Series, baseline: Mapping[Any, float] | pd.Series, *,
            higher_better: bool = True, alpha: float = ALPHA, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """The difference ``variant − baseline`` (values by seed: a dict or a Series) with its interval and test.

    Paired t-test over seeds when both have the same seeds, Welch's t-test otherwise. Returns diff,
    diff_low, diff_high, test ('paired' / 'Welch' / ''), t, df, p_value and verdict.
    """
    v = {k: float(x) for k, x in variant.items() if math.isfinite(x)}
    b = {k: float(x) for k, x in baseline.items() if math.isfinite(x)}
    out: dict[str, Any] = {"diff": math.nan, "diff_low": math.nan, "diff_high": math.nan, "test": "",
                           "t": math.nan, "df": math.nan, "p_value": math.nan}
    if not v:
        return {**out, "verdict": "no finished runs"}
    if not b:
        return {**out, "verdict": "no baseline runs to compare with"}
    vx, bx = np.fromiter(v.values(), float), np.fromiter(b.values(), float)
    out["diff"] = float(vx.mean() - bx.mean())
    if len(v) < 2 or len(b) < 2:
        return {**out, "verdict": "no interval: one seed"}
    if set(v) == set(b):
        seeds = sorted(v, key=_seed_key)
        d = np.array([v[k] - b[k] for k in seeds])
        n = len(d)
        diff, se, df = float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n), float(n - 1)
        out["test"] = "paired"
    else:
        nv, nb = len(vx), len(bx)
        sv, sb = float(vx.var(ddof=1)) / nv, float(bx.var(ddof=1)) / nb
        diff, se = out["diff"], math.sqrt(sv + sb)
        df = (sv + sb) ** 2 / (sv**2 / (nv - 1) + sb**2 / (nb - 1)) if se > 0 else math.nan
        out["test"] = "Welch"
    out.update(diff=diff, df=df)
    if not se > 0:  # every seed gives the same difference: a t-test is undefined (not p = 0)
        return {**out, "verdict": "no test: no variance over seeds"}
    t = diff / se
    half = _t_quantile(0.5 + confidence / 2, df) * se
    p = _t_two_sided_p(t, df)
    out.update(t=t, p_value=p, diff_low=diff - half, diff_high=diff + half)
    if p < alpha and diff != 0:
        verdict = "better" if (diff > 0) == higher_better else "worse"
    else:
        verdict = "no detectable difference"
    return {**out, "verdict": verdict}


def summarize(runs: pd.DataFrame, metric: str, baseline: str, variants: list[str] | None = None, *,
              alpha: float = ALPHA, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Statistics per variant (index) of one metric over its done runs' seeds."""
    variants = variants if variants is not None else list(dict.fromkeys(runs["variant"]))
    higher = higher_is_better(metric)
    values: dict[str, dict[Any, float]] = {v: {} for v in variants}
    run_ids: dict[str, set[str]] = {v: set() for v in variants}
    counts: dict[str, Counter] = {v: Counter() for v in variants}
    metric_vals = runs[metric].to_numpy(float) if metric in runs.columns else np.full(len(runs), np.nan)
    for v, seed, rid, st, x in zip(runs["variant"].to_numpy(), runs["seed"].to_numpy(), runs["run_id"].to_numpy(),
                                   runs["status"].astype(str).to_numpy(), metric_vals):
        if v not in values:
            continue
        run_ids[v].add(rid)
        counts[v][st] += 1
        if st == "done" and math.isfinite(x):
            values[v][seed] = float(x)
    base = values.get(baseline, {})
    rows = []
    for v in variants:
        x = values[v]
        mean, std, lo, hi = t_interval(list(x.values()), confidence)
        row: dict[str, Any] = {"variant": v, "metric": metric, "n": len(x), "mean": mean, "std": std,
                               "ci_low": lo, "ci_high": hi, "seeds": ",".join(str(s) for s in sorted(x, key=_seed_key))}
        if v == baseline:
            cmp = {"diff": math.nan, "diff_low": math.nan, "diff_high": math.nan, "test": "", "t": math.nan,
                   "df": math.nan, "p_value": math.nan, "verdict": "baseline"}
        elif run_ids[v] and run_ids[v] == run_ids.get(baseline):
            cmp = {"diff": 0.0 if len(x) else math.nan, "diff_low": math.nan, "diff_high": math.nan, "test": "",
                   "t": math.nan, "df": math.nan, "p_value": math.nan, "verdict": f"same runs as {baseline}"}
        else:
            cmp = compare(x, base, higher_better=higher, alpha=alpha, confidence=confidence)
        row.update(cmp)
        for s in STATUSES:
            row[f"n_{s}"] = counts[v].get(s, 0)
        rows.append(row)
    out = pd.DataFrame(rows).set_index("variant")
    return out


def variant_costs(runs: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """Params (M), GMACs, train img/s and peak memory per variant: medians over its finished runs
    (params and GMACs, properties of the model, from any run that has them)."""
    cols = {"params_m": "params", "gmacs": "gmacs", "train_img_per_s": "train_img_per_s", "peak_mem_mb": "peak_mem_mb"}
    out = pd.DataFrame(index=pd.Index(variants, name="variant"), columns=list(cols), dtype=float)
    done = runs[runs["status"] == "done"]
    for name, col in cols.items():
        if col not in runs.columns:
            continue
        med = done.groupby("variant", observed=True, sort=False)[col].median()
        if col in MODEL_COSTS:
            med = med.combine_first(runs.groupby("variant", observed=True, sort=False)[col].median())
        out[name] = med.reindex(variants).astype(float) / (1e6 if col == "params" else 1.0)
    return out


def pareto_front(cost: np.ndarray, value: np.ndarray, *, cost_lower_better: bool = True,
                 value_higher_better: bool = True) -> np.ndarray:
    """Boolean mask of the points no other point beats on both cost and value."""
    c = np.asarray(cost, float) * (1 if cost_lower_better else -1)
    y = np.asarray(value, float) * (-1 if value_higher_better else 1)  # both: lower is better now
    ok = np.isfinite(c) & np.isfinite(y)
    mask = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (c <= c[i]) & (y <= y[i]) & ((c < c[i]) | (y < y[i]))
        mask[i] = not dominated.any()
    return mask


# ============================================================================ tables
def _fmt(x: Any, d: int = 2, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _cost_decimals(costs: pd.DataFrame) -> dict[str, int]:
    """One number of decimals per cost column, from its smallest value (0.25 and 0.33 GMACs, not 0.3)."""
    out = {}
    for k in ("params_m", "gmacs", "train_img_per_s", "peak_mem_mb"):
        vals = costs[k].dropna().abs() if k in costs.columns else pd.Series(dtype=float)
        m = float(vals[vals > 0].min()) if (vals > 0).any() else 1.0
        out[k] = int(min(4, max(0, 2 - math.floor(math.log10(m))))) if k in ("params_m", "gmacs") else (1 if m < 10 else 0)
    return out


def _fmt_cost(x: float, d: int) -> str:
    return f"{x:,.{d}f}" if math.isfinite(x) else ""


def _axis_names(axes: list[str]) -> dict[str, str]:
    short = {a: a.split(".")[-1] for a in axes}
    dup = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {a: (a if short[a] in dup else short[a]) for a in axes}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: list[str]  # "l" | "r"
    bold: list[list[bool]]  # per cell: the best value
    numeric: pd.DataFrame  # the CSV form


def build_table(agg: Aggregate, summary: pd.DataFrame, costs: pd.DataFrame, metric: str, baseline: str,
                paper: dict[str, float] | None) -> Table:
    d = _decimals(metric)
    higher = higher_is_better(metric)
    means = summary["mean"].astype(float)
    best = means.max() if higher else means.min()
    names = _axis_names(agg.axes)
    first = agg.runs.drop_duplicates("variant").set_index("variant") if len(agg.runs) else pd.DataFrame()
    header = ["Variant", *[names[a] for a in agg.axes], "Runs", f"{SHORT.get(metric, metric_label(metric))} mean ± std",
              "95% CI", f"Δ vs {baseline} [95% CI]", "p (test)", "Verdict"]
    align = ["l", *["l"] * len(agg.axes), "r", "r", "r", "r", "r", "l"]
    if paper:
        header.append("Paper")
        align.append("r")
    header += ["Params (M)", "GMACs", "Train img/s", "Peak mem. (MiB)"]
    align += ["r"] * 4
    rows, bold, numeric = [], [], []
    cdec = _cost_decimals(costs)
    pdec = next((d for d in range(4) if all(abs(round(x, d) - x) < 1e-9 for x in (paper or {}).values())), 2)
    for v, s in summary.iterrows():
        n = int(s["n"])
        planned = sum(int(s[f"n_{st}"]) for st in STATUSES)
        others = ", ".join(f"{int(s[f'n_{st}'])} {st}" for st in STATUSES[1:] if s[f"n_{st}"])
        runs_cell = f"{n}/{planned}" + (f" ({others})" if others else "")
        is_best = n > 0 and math.isfinite(s["mean"]) and math.isfinite(best) and abs(s["mean"] - best) <= 1e-12 * max(1, abs(best))
        if n == 0:
            mean_cell, ci_cell = "", ""
        elif n == 1:
            mean_cell, ci_cell = f"{_fmt(s['mean'], d)} (1 seed)", "none: one seed"
        else:
            mean_cell, ci_cell = f"{_fmt(s['mean'], d)} ± {_fmt(s['std'], d)}", f"[{_fmt(s['ci_low'], d)}, {_fmt(s['ci_high'], d)}]"
        if s["verdict"] in ("baseline",) or s["verdict"].startswith("same runs"):
            diff_cell = ""
        elif math.isfinite(s["diff_low"]):
            diff_cell = f"{_fmt(s['diff'], d, True)} [{_fmt(s['diff_low'], d, True)}, {_fmt(s['diff_high'], d, True)}]"
        elif math.isfinite(s["diff"]):
            diff_cell = f"{_fmt(s['diff'], d, True)} (no interval)"
        else:
            diff_cell = ""
        p_cell = f"{_fmt_p(s['p_value'])} ({s['test']})" if math.isfinite(s["p_value"]) else ""
        axis_cells = [str(first.loc[v, a]) if v in first.index and a in first.columns and pd.notna(first.loc[v, a]) else ""
                      for a in agg.axes]
        row = [v, *axis_cells, runs_cell, mean_cell, ci_cell, diff_cell, p_cell, s["verdict"]]
        flags = [False] * len(row)
        flags[len(agg.axes) + 2] = is_best
        if paper:
            row.append(_fmt(paper[v], pdec) if v in paper else "")
            flags.append(False)
        c = costs.loc[v] if v in costs.index else pd.Series(dtype=float)
        for k in ("params_m", "gmacs", "train_img_per_s", "peak_mem_mb"):
            row.append(_fmt_cost(float(c.get(k, math.nan)), cdec[k]))
            flags.append(False)
        rows.append(row)
        bold.append(flags)
        rec = {"variant": v, **{a: (first.loc[v, a] if v in first.index and a in first.columns else None) for a in agg.axes},
               "metric": metric, "n": n, "planned": planned, "mean": s["mean"], "std": s["std"], "ci_low": s["ci_low"],
               "ci_high": s["ci_high"], "diff": s["diff"], "diff_ci_low": s["diff_low"], "diff_ci_high": s["diff_high"],
               "test": s["test"], "p_value": s["p_value"], "verdict": s["verdict"], "best": is_best}
        if paper:
            rec["paper"] = paper.get(v, math.nan)
        rec.update({k: c.get(k, math.nan) for k in ("params_m", "gmacs", "train_img_per_s", "peak_mem_mb")})
        rec.update({f"n_{st}": int(s[f"n_{st}"]) for st in STATUSES})
        numeric.append(rec)
    return Table(header, rows, align, bold, pd.DataFrame(numeric))


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def table_markdown(t: Table) -> str:
    def cell(text: str, b: bool) -> str:
        text = _md_escape(text)
        if b and text:
            head, sep, tail = text.partition(" ")
            return f"**{head}**{sep}{tail}"
        return text

    lines = ["| " + " | ".join(_md_escape(h) for h in t.header) + " |",
             "|" + "|".join(":---" if a == "l" else "---:" for a in t.align) + "|"]
    for row, flags in zip(t.rows, t.bold):
        lines.append("| " + " | ".join(cell(c, b) for c, b in zip(row, flags)) + " |")
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(s: str) -> str:
    s = "".join(_TEX.get(ch, ch) for ch in str(s))
    s = s.replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("−", "--").replace("…", r"\ldots{}")
    return re.sub(r"(?<![\w.])-(?=\d)", r"$-$", s)  # a minus sign, not a hyphen


def table_latex(t: Table, caption: str, label: str) -> str:
    def cell(text: str, b: bool) -> str:
        if b and text:
            head, sep, tail = text.partition(" ")
            return r"\textbf{" + tex_escape(head) + "}" + sep + tex_escape(tail)
        return tex_escape(text)

    spec = "".join(t.align)
    lines = [
        r"% generated by ablations/report.py; needs \usepackage{booktabs}",
        r"\begin{table}[t]", r"\centering", r"\small", r"\setlength{\tabcolsep}{4pt}",
        rf"\caption{{{tex_escape(caption)}}}", rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
        " & ".join(tex_escape(h) for h in t.header) + r" \\", r"\midrule",
    ]
    for row, flags in zip(t.rows, t.bold):
        lines.append(" & ".join(cell(c, b) for c, b in zip(row, flags)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def table_html(t: Table) -> str:
    def cell(text: str, b: bool, a: str) -> str:
        text = html.escape(text)
        if b and text:
            head, sep, tail = text.partition(" ")
            text = f"<strong>{head}</strong>{sep}{tail}"
        return f'<td class="{a}">{text}</td>'

    head = "".join(f'<th class="{a}">{html.escape(h)}</th>' for h, a in zip(t.header, t.align))
    body = "\n".join("<tr>" + "".join(cell(c, b, a) for c, b, a in zip(row, flags, t.align)) + "</tr>"
                     for row, flags in zip(t.rows, t.bold))
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"


# ============================================================================ figures
def _rc() -> dict[str, Any]:
    import seaborn as sns

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("ticks"))
    rc.update(sns.plotting_context("paper", font_scale=1.0))
    rc.update({
        "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9, "axes.labelsize": 8.5,
        "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "legend.frameon": False,
        "axes.linewidth": 0.7, "xtick.major.width": 0.7, "ytick.major.width": 0.7, "lines.linewidth": 1.4,
        "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.03,
        "axes.grid": True, "axes.grid.axis": "y", "grid.color": "0.9", "grid.linewidth": 0.6,
    })
    return rc


def _palette(variants: list[str], baseline: str) -> dict[str, Any]:
    import seaborn as sns

    others = [v for v in variants if v != baseline]
    colors = sns.color_palette("colorblind", max(len(others), 1)) if len(others) <= 10 else \
        sns.color_palette("husl", len(others))
    pal = {v: colors[i] for i, v in enumerate(others)}
    pal[baseline] = (0.35, 0.35, 0.35)
    return pal


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)  # Agg, without pyplot: no global backend state, nothing shown
    return fig


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    paths = []
    for ext, kw in (("png", {"dpi": 200}), ("pdf", {})):
        p = out / f"{stem}.{ext}"
        fig.savefig(p, **kw)
        paths.append(p)
    return paths


def _tick_labels(ax: Any, names: list[str]) -> None:
    rot = 30 if max((len(n) for n in names), default=0) * len(names) > 48 else 0
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=rot, ha="right" if rot else "center")


def merged_variants(runs: pd.DataFrame, variants: list[str], baseline: str) -> tuple[list[str], dict[str, str]]:
    """Variants with the same run ids (identical configs) are one line in a figure: the representatives
    (the baseline where it is one of them) and their labels ('rel = shifted')."""
    ids = {v: frozenset(runs.loc[runs["variant"] == v, "run_id"]) for v in variants}
    reps: list[str] = []
    label: dict[str, str] = {}
    for v in sorted(variants, key=lambda v: v != baseline):  # the baseline first: it leads its group
        for r in reps:
            if ids[v] and ids[v] == ids[r]:
                label[r] += f" = {v}"
                break
        else:
            reps.append(v)
            label[v] = v
    reps.sort(key=variants.index)
    return reps, label


def fig_bars(agg: Aggregate, summary: pd.DataFrame, metric: str, baseline: str, paper: dict[str, float],
             pal: dict[str, Any], out: Path) -> list[Path]:
    import seaborn as sns
    from matplotlib.lines import Line2D

    variants = list(summary.index)
    done = agg.runs[(agg.runs["status"] == "done") & agg.runs[metric].notna()] if metric in agg.runs.columns else agg.runs.iloc[0:0]
    fig = _figure(max(3.4, 0.52 * len(variants) + 1.2), 2.7)
    ax = fig.add_subplot()
    x = np.arange(len(variants))
    means = summary["mean"].to_numpy(float)
    lo = (summary["mean"] - summary["ci_low"]).to_numpy(float)
    hi = (summary["ci_high"] - summary["mean"]).to_numpy(float)
    vals = [means[np.isfinite(means)], summary["ci_low"].dropna().to_numpy(float), summary["ci_high"].dropna().to_numpy(float),
            done[metric].to_numpy(float) if len(done) else np.array([])]
    if paper:
        vals.append(np.array([paper[v] for v in variants if v in paper], float))
    allv = np.concatenate([v for v in vals if len(v)]) if any(len(v) for v in vals) else np.array([0.0, 1.0])
    vmin, vmax = float(np.nanmin(allv)), float(np.nanmax(allv))
    span = max(vmax - vmin, 1e-3 * max(abs(vmax), 1.0), 1e-9)
    bottom = vmin - 0.35 * span
    if vmin >= 0 and (bottom < 0 or vmin < 0.6 * span):  # close to zero anyway: start the bars at zero
        bottom = 0.0
    top = vmax + 0.14 * span
    colors = [pal[v] for v in variants]
    heights = np.where(np.isfinite(means), means - bottom, 0)
    ax.bar(x, heights, bottom=bottom, width=0.66, color=colors, edgecolor="black", linewidth=0.6, alpha=0.85, zorder=2)
    ok = np.isfinite(lo)
    ax.errorbar(x[ok], means[ok], yerr=[lo[ok], hi[ok]], fmt="none", ecolor="black", elinewidth=1.0, capsize=3,
                capthick=1.0, zorder=4)
    if len(done):
        sns.stripplot(data=done.assign(variant=done["variant"].astype(str)), x="variant", y=metric, order=variants,
                      ax=ax, color="white", edgecolor="black", linewidth=0.6, size=3.6, jitter=0.14, zorder=5,
                      native_scale=False, legend=False)
    handles = [Line2D([], [], color="black", marker="_", ms=7, lw=1.0, label="95% CI")] if ok.any() else []
    handles.append(Line2D([], [], ls="", marker="o", ms=4, mfc="white", mec="black", mew=0.6, label="seed"))
    if baseline in summary.index and math.isfinite(summary.loc[baseline, "mean"]):
        ax.axhline(summary.loc[baseline, "mean"], color="0.35", lw=0.8, ls="--", zorder=1)
        handles.append(Line2D([], [], color="0.35", lw=0.8, ls="--", label=f"{baseline} (baseline)"))
    if paper:
        px = [i for i, v in enumerate(variants) if v in paper]
        ax.scatter(px, [paper[variants[i]] for i in px], marker="D", s=16, color="#d62728", edgecolor="black",
                   linewidth=0.4, zorder=6)
        handles.append(Line2D([], [], ls="", marker="D", ms=4, mfc="#d62728", mec="black", mew=0.4, label="paper"))
    counts = summary["n"].astype(int)
    all_single = bool((counts[counts > 0] == 1).all()) and (counts > 0).any()
    if all_single:
        top = vmax + 0.2 * span
    for i, v in enumerate(variants):
        n = int(summary.loc[v, "n"])
        if n == 0:
            states = ", ".join(f"{int(summary.loc[v, f'n_{s}'])} {s}" for s in STATUSES[1:] if summary.loc[v, f"n_{s}"])
            ax.text(i, bottom + 0.04 * (top - bottom), states or "no runs", rotation=90, ha="center", va="bottom",
                    fontsize=6.5, color="0.3")
        elif n == 1 and not all_single:
            y = max(means[i], paper.get(v, -math.inf)) + 0.035 * (top - bottom)
            ax.text(i, y, "n=1", ha="center", va="bottom", fontsize=6.5, color="0.3")
    if all_single:
        ax.text(0.99, 0.98, "one seed per variant: no intervals", transform=ax.transAxes, ha="right", va="top",
                fontsize=6.5, color="0.3")
    ax.set_ylim(bottom, top)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    _tick_labels(ax, variants)
    ax.set_xlabel("")
    ax.set_ylabel(metric_label(metric))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), handlelength=1.4,
              columnspacing=1.2, borderaxespad=0.3)
    sns.despine(ax=ax)
    ax.tick_params(axis="x", length=0)
    return _save(fig, out, "bars")


def _line_data(df: pd.DataFrame, reps: list[str], label: dict[str, str], pal: dict[str, Any]
               ) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    df = df[df["variant"].isin(reps)].assign(label=lambda d: d["variant"].map(label))
    present = set(df["variant"])
    order = [label[v] for v in reps if v in present]
    return df, order, {label[v]: pal[v] for v in reps}


def fig_curves(agg: Aggregate, variants: list[str], baseline: str, pal: dict[str, Any], out: Path) -> list[Path]:
    import seaborn as sns

    c = agg.curves
    c = c[(c["status"] == "done")] if len(c) else c
    reps, label = merged_variants(agg.runs, variants, baseline)
    c, order, lpal = _line_data(c, reps, label, pal)
    panels = [k for k in ("val_top1", "train_loss") if k in c.columns and c[k].notna().any()]
    fig = _figure(6.8, 2.55)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    few = c["epoch"].nunique() <= 12
    for ax, key in zip(axes, panels):
        sns.lineplot(data=c, x="epoch", y=key, hue="label", hue_order=order, palette=lpal, errorbar="sd",
                     err_kws={"alpha": 0.18, "linewidth": 0}, marker="o" if few else None, markersize=3.2,
                     markeredgewidth=0, ax=ax, legend=ax is axes[0], estimator="mean")
        ax.set_xlabel("Epoch")
        ax.set_ylabel({"val_top1": "Validation top-1 accuracy (%)", "train_loss": "Training loss"}[key])
        ax.grid(True, axis="both", color="0.92", lw=0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        sns.despine(ax=ax)
    if panels and axes[0].get_legend() is not None:
        handles, labels = axes[0].get_legend_handles_labels()
        axes[0].get_legend().remove()
        ncol = len(labels) if len(labels) <= 7 else math.ceil(len(labels) / math.ceil(len(labels) / 7))
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol,
                   frameon=False, handlelength=1.6, columnspacing=1.2)
        rows = math.ceil(len(labels) / ncol)
        fig.subplots_adjust(top=0.86 - 0.06 * (rows - 1), wspace=0.28)
    return _save(fig, out, "curves")


def fig_cost(agg: Aggregate, summary: pd.DataFrame, costs: pd.DataFrame, metric: str, baseline: str,
             pal: dict[str, Any], out: Path) -> list[Path]:
    import seaborn as sns
    from matplotlib.lines import Line2D

    runs = agg.runs
    reps, label = merged_variants(runs, list(summary.index), baseline)
    summary = summary.loc[[v for v in reps if math.isfinite(summary.loc[v, "mean"])]]
    panels = [(k, lower) for k, lower in (("gmacs", True), ("train_img_per_s", False), ("peak_mem_mb", True))
              if k in costs.columns and costs.loc[summary.index, k].notna().any()]
    fig = _figure(2.3 * len(panels) + 0.4, 2.65)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    higher = higher_is_better(metric)
    ys = summary["mean"].to_numpy(float)
    yerr = np.vstack([(summary["mean"] - summary["ci_low"]).to_numpy(float),
                      (summary["ci_high"] - summary["mean"]).to_numpy(float)])
    crowded = False
    placed = []
    for ax, (key, lower) in zip(axes, panels):
        xs = costs.loc[summary.index, key].to_numpy(float)
        xerr = np.zeros_like(xs)
        if key in runs.columns and key not in MODEL_COSTS:
            spread = runs[runs["status"] == "done"].groupby("variant", observed=True)[key].std()
            xerr = np.array([float(spread.get(v, np.nan)) for v in summary.index])
            xerr = np.where(np.isfinite(xerr), xerr, 0.0)
        front = pareto_front(xs, ys, cost_lower_better=lower, value_higher_better=higher)
        fidx = np.flatnonzero(front)
        if len(fidx) > 1:
            fidx = fidx[np.argsort(xs[fidx])]
            ax.step(xs[fidx], ys[fidx], where="post" if lower == higher else "pre", color="0.3", lw=0.9, ls="--", zorder=1)
        for i, v in enumerate(summary.index):
            if not math.isfinite(xs[i]):
                continue
            ye = yerr[:, i:i + 1] if np.isfinite(yerr[:, i]).all() else None
            ax.errorbar(xs[i], ys[i], yerr=ye, xerr=xerr[i] if xerr[i] > 0 else None, fmt="o",
                        ms=6 if front[i] else 4.5, color=pal[v], mec="black" if front[i] else pal[v], mew=1.0,
                        ecolor=pal[v], elinewidth=0.8, capsize=1.5, alpha=0.95, zorder=3 + front[i])
        finite = xs[np.isfinite(xs)]
        if len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20:
            ax.set_xscale("log")
        elif len(finite):
            lo_, hi_ = float(finite.min()), float(finite.max())
            pad = 0.12 * (hi_ - lo_) if hi_ > lo_ else 0.05 * max(abs(hi_), 1e-9)
            ax.set_xlim(lo_ - pad, hi_ + 2.5 * pad)
        ax.set_xlabel(LABELS[key])
        ax.set_ylabel(metric_label(metric) if ax is axes[0] else "")
        ax.grid(True, axis="both", color="0.92", lw=0.5)
        sns.despine(ax=ax)
        placed.append((ax, xs))
    # names beside the points where they do not collide; a legend where they would
    fig.subplots_adjust(wspace=0.32)
    fig.canvas.draw()
    for ax, xs in placed:
        pts = ax.transData.transform(np.column_stack([xs, ys]))
        ok = np.isfinite(pts).all(1)
        pts = pts[ok]
        for i in range(len(pts)):
            for j in range(i + 1, len(pts)):
                if abs(pts[i, 1] - pts[j, 1]) < 12 and abs(pts[i, 0] - pts[j, 0]) < 70:
                    crowded = True
    if crowded or len(summary) > 10:
        handles = [Line2D([], [], ls="", marker="o", ms=5, color=pal[v], label=label[v]) for v in summary.index]
        handles.append(Line2D([], [], ls="", marker="o", ms=5, mfc="none", mec="black", mew=1.0, label="Pareto front"))
        ncol = len(handles) if len(handles) <= 8 else math.ceil(len(handles) / math.ceil(len(handles) / 8))
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol,
                   frameon=False, handlelength=1.0, columnspacing=1.0)
        rows = math.ceil(len(handles) / ncol)
        fig.subplots_adjust(top=0.86 - 0.06 * (rows - 1))
    else:
        for ax, xs in placed:
            for i, v in enumerate(summary.index):
                if math.isfinite(xs[i]):
                    ax.annotate(label[v], (xs[i], ys[i]), xytext=(4, 3), textcoords="offset points", fontsize=6.5,
                                color="0.15", zorder=6)
        fig.legend(handles=[Line2D([], [], ls="--", color="0.3", lw=0.9, marker="o", ms=5, mfc="white", mec="black",
                                   mew=1.0, label="Pareto front")], loc="upper center", bbox_to_anchor=(0.5, 1.0),
                   frameon=False)
        fig.subplots_adjust(top=0.86)
    return _save(fig, out, "cost")


def fig_resolution(agg: Aggregate, variants: list[str], metric: str, baseline: str, pal: dict[str, Any],
                   out: Path) -> list[Path]:
    import seaborn as sns

    runs = agg.runs[agg.runs["status"] == "done"]
    base_metric = metric if metric in ("top1", "top5", "loss") else "top1"
    cols = [c for c in runs.columns if c.startswith(base_metric + "@")]
    long = runs.melt(id_vars=["variant", "seed"], value_vars=cols, var_name="size", value_name="value").dropna()
    long["size"] = long["size"].str.split("@").str[1].astype(int)
    reps, label = merged_variants(agg.runs, variants, baseline)
    long, order, lpal = _line_data(long, reps, label, pal)
    train_size = None
    if "model.img_size" in agg.setting:
        train_size = agg.setting["model.img_size"]
    elif "model.img_size" not in agg.axes:
        train_size = _default_value(agg.setting.get("preset"), "model.img_size")
    fig = _figure(3.9, 2.7)
    ax = fig.add_subplot()
    sns.lineplot(data=long, x="size", y="value", hue="label", hue_order=order, palette=lpal, errorbar="sd",
                 err_kws={"alpha": 0.15, "linewidth": 0}, marker="o", markersize=4, markeredgewidth=0, ax=ax)
    if isinstance(train_size, (int, float)) and not isinstance(train_size, bool):
        ax.axvline(train_size, color="0.5", ls=":", lw=0.9, zorder=0)
        ax.annotate("training\nresolution", (train_size, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0),
                    textcoords="offset points", fontsize=6.5, color="0.4", va="bottom")
    sizes = sorted(long["size"].unique())
    ax.set_xticks(sizes)
    ax.set_xlabel("Evaluation resolution (px)")
    ax.set_ylabel(metric_label(base_metric))
    ax.grid(True, axis="both", color="0.92", lw=0.5)
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(ax=ax)
    return _save(fig, out, "resolution")


# ============================================================================ report
def _git_commit() -> str:
    from vt_core.environment import git_commit, git_dirty

    head = git_commit()
    return head + (" (with uncommitted changes)" if head != "unknown" and git_dirty() else "")


def _inline_html(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


_CAPTIONS = {
    "bars": "{metric} per variant: bars are means over seeds, whiskers the 95 % t-interval, white points the single "
            "seeds; the dashed line is the baseline ({baseline}){paper}.",
    "curves": "Learning curves: validation top-1 accuracy and training loss per epoch, mean over seeds with a "
              "±1 std band.",
    "cost": "{metric} against cost (median over seeds; whiskers: 95 % CI of the metric, ±1 std of throughput and "
            "memory). Points with a black edge and the dashed line form the Pareto front.",
    "resolution": "{metric} when evaluated at other input resolutions (mean over seeds, ±1 std band); the dotted "
                  "line marks the training resolution.",
}


def write_report(grid_name: str, runs_dir: str | Path = "runs", out_dir: str | Path | None = None,
                 metric: str | None = None, grid_path: str | Path | None = None, *, profile: str | None = None,
                 alpha: float = ALPHA, command: str | None = None) -> Path:
    """Write ``report.md``, ``report.html``, the tables and the figures of a grid; returns report.md's path."""
    t0 = time.perf_counter()
    name = Path(str(grid_name)).stem if str(grid_name).endswith(".py") else str(grid_name)
    runs_dir = Path(runs_dir)
    index = load_index(name, runs_dir)
    if grid_path is not None and (not index.get("description") or "paper" not in index):
        try:  # an older grid.json: take the description and the paper's numbers from the module
            from ablations.grid import load_grid

            g = load_grid(str(grid_path))
            index.setdefault("paper", g.paper)
            index["description"] = index.get("description") or g.description
        except Exception:
            pass
    agg = aggregate(name, runs_dir, profile=profile, index=index)
    asked = metric
    metric = metric or index.get("metric") or "top1"
    finished = agg.runs[agg.runs["status"] == "done"]
    metric_problem = None
    if len(finished) and (metric not in agg.runs.columns or finished[metric].isna().all()):
        avail = [c for c in agg.runs.columns if c in (*METRICS, *COSTS) or "@" in c
                 or (c not in ("grid", "profile", "variant", "seed", "run_id", "status", "commit", "device", "note", *agg.axes))]
        metric_problem = f"{metric!r} is in no done run's result.json (available: {', '.join(avail)})"
        if asked:  # the user's --metric: bad input; the grid's own metric (end of a launch): say so, still report
            raise ReportError(f"--metric: {metric_problem}")
        metric_problem = f"the grid's metric {metric_problem}"
    baseline = index.get("baseline") or (agg.variants[0] if agg.variants else "")
    out = Path(out_dir) if out_dir is not None else Path("reports") / name
    out.mkdir(parents=True, exist_ok=True)
    variants = agg.variants
    summary = summarize(agg.runs, metric, baseline, variants, alpha=alpha)
    costs = variant_costs(agg.runs, variants)
    paper = {k: float(v) for k, v in (index.get("paper") or {}).items()
             if isinstance(v, (int, float)) and metric == (index.get("metric") or "top1")}
    table = build_table(agg, summary, costs, metric, baseline, paper)

    # ---- data files
    agg.runs.to_csv(out / "runs.csv", index=False)
    agg.curves.to_csv(out / "curves.csv", index=False)
    all_metrics = [m for m in METRICS if m in agg.runs.columns and m not in ("best_epoch", "epochs")]
    all_metrics += [c for c in agg.runs.columns if "@" in c]
    if metric not in all_metrics:
        all_metrics.insert(0, metric)
    pd.concat([summarize(agg.runs, m, baseline, variants, alpha=alpha).reset_index() for m in all_metrics]
              ).to_csv(out / "summary.csv", index=False)
    table.numeric.to_csv(out / "table.csv", index=False)
    md_table = table_markdown(table)
    (out / "table.md").write_text(md_table)
    caption = (f"{name}: {metric_label(metric)}, mean ± std over seeds with the 95% confidence interval (t); "
               f"Δ: difference to {baseline} with its 95% CI and the p-value of a paired t-test over seeds "
               f"(Welch's where the seeds differ). Best in bold.")
    (out / "table.tex").write_text(table_latex(table, caption, f"tab:{re.sub(r'[^A-Za-z0-9]+', '-', name)}"))

    # ---- figures
    figures: list[tuple[str, Path]] = []
    fig_problems: list[str] = []
    pal = _palette(variants, baseline)
    have_metric = metric in agg.runs.columns and agg.runs.loc[agg.runs["status"] == "done", metric].notna().any()
    jobs: list[tuple[str, Any]] = []
    if have_metric:
        jobs.append(("bars", lambda: fig_bars(agg, summary, metric, baseline, paper, pal, out)))
    if len(agg.curves) and (agg.curves["status"] == "done").any():
        jobs.append(("curves", lambda: fig_curves(agg, variants, baseline, pal, out)))
    if have_metric and costs[["gmacs", "train_img_per_s", "peak_mem_mb"]].notna().any().any():
        jobs.append(("cost", lambda: fig_cost(agg, summary, costs, metric, baseline, pal, out)))
    if any("@" in c for c in agg.runs.columns):
        jobs.append(("resolution", lambda: fig_resolution(agg, variants, metric, baseline, pal, out)))
    import matplotlib

    for stem in ("bars", "curves", "cost", "resolution"):  # no stale figures from an earlier report
        if stem not in [j[0] for j in jobs]:
            for ext in ("png", "pdf"):
                (out / f"{stem}.{ext}").unlink(missing_ok=True)
    with matplotlib.rc_context(_rc()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for stem, job in jobs:
            try:
                paths = job()
                figures.append((stem, paths[0]))
            except Exception as e:  # one figure must not cost the tables: say so in the report
                fig_problems.append(f"figure {stem} could not be drawn: {type(e).__name__}: {e}")
                print(f"report {name}: figure {stem} failed: {type(e).__name__}: {e}", file=sys.stderr)

    # ---- report.md and report.html from the same blocks
    counts = Counter(agg.runs["status"].astype(str))
    n_runs = len(agg.runs)
    status_line = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
    direction = "higher is better" if higher_is_better(metric) else "lower is better"
    seeds = sorted(set(agg.runs["seed"]), key=_seed_key)
    shared = {k: v for k, v in agg.setting.items()}
    cmd = command or _equivalent_command(name, runs_dir, out_dir, metric if metric != index.get("metric") else None, profile)
    run_commits = sorted({str(c) for c in agg.runs.get("commit", pd.Series(dtype=object)).dropna()})
    devices = sorted({str(c) for c in agg.runs.get("device", pd.Series(dtype=object)).dropna()})

    blocks: list[tuple[str, Any]] = [("h1", f"Ablation report: {name}")]
    if index.get("description"):
        blocks.append(("p", str(index["description"]).strip()))
    blocks.append(("p", f"**Profile** `{agg.profile}` · **baseline** `{baseline}` · **metric** `{metric}` ({direction}) · "
                        f"**seeds** {', '.join(map(str, seeds)) or '—'} · **runs** {n_runs}: {status_line or 'none'}."))
    if shared:
        blocks.append(("p", "Settings shared by every run: " + ", ".join(f"`{k}={_cell(v)}`" for k, v in shared.items()) + "."))
    blocks.append(("h2", "Results"))
    blocks.append(("table", table))
    blocks.append(("p", f"Mean ± std over the seeds of the finished runs; 95 % CI from the t-distribution; "
                        f"Δ: difference to `{baseline}` with its 95 % CI, tested with a paired t-test when both have the "
                        f"same seeds and Welch's t-test otherwise (α = {alpha:g}, two-sided, not corrected for "
                        f"multiple comparisons). A variant with one seed gets no interval. Costs are medians over the "
                        f"variant's finished runs (params and GMACs of the model; throughput and peak memory as "
                        f"measured while training)." + (" **Paper**: the published number." if paper else "")))
    blocks.append(("h2", "Verdicts"))
    blocks.append(("ul", _verdict_lines(summary, metric, baseline)))
    if figures:
        blocks.append(("h2", "Figures"))
        for stem, path in figures:
            cap = _CAPTIONS[stem].format(metric=metric_label(metric), baseline=baseline,
                                         paper="; red diamonds: the paper's numbers" if paper else "")
            blocks.append(("fig", (path, cap)))
    else:
        blocks.append(("p", "No figures: no run has finished yet."))
    unfinished = agg.runs[agg.runs["status"] != "done"]
    if len(unfinished):
        blocks.append(("h2", "Runs without a result"))
        blocks.append(("p", "These runs count in no statistic (their numbers, if any, are not shown)."))
        items = [f"`{r.variant}` seed {r.seed} (`{r.run_id}`): **{r.status}**" + (f": {r.note}" if r.note else "")
                 for r in unfinished.head(LIST_MAX).itertuples()]
        if len(unfinished) > LIST_MAX:
            items.append(f"… and {len(unfinished) - LIST_MAX} more (every run's status is in `runs.csv`)")
        blocks.append(("ul", items))
    problems = agg.problems + fig_problems + ([metric_problem] if metric_problem else [])
    if problems or agg.excluded:
        blocks.append(("h2", "Problems and exclusions"))
        items = [str(p) for p in problems[:LIST_MAX]] + [f"excluded: {e}" for e in agg.excluded[:LIST_MAX]]
        more = max(0, len(problems) - LIST_MAX) + max(0, len(agg.excluded) - LIST_MAX)
        blocks.append(("ul", items + ([f"… and {more} more"] if more else [])))
    blocks.append(("h2", "Reproduce"))
    blocks.append(("ul", [
        f"Command: `{cmd}`",
        f"Report code commit: `{_git_commit()}`",
        f"Runs trained at commit(s): {', '.join(f'`{c}`' for c in run_commits) or 'unknown'}"
        + (f" on {', '.join(devices)}" if devices else ""),
        f"Runs: `{runs_dir / name}`" + (f"; grid module: `{grid_path}`" if grid_path else ""),
        f"Files: {', '.join(f'`{f}`' for f in ('table.csv', 'table.md', 'table.tex', 'summary.csv', 'runs.csv', 'curves.csv'))}"
        + (", " + ", ".join(f"`{p.stem}.png/.pdf`" for _, p in figures) if figures else ""),
        f"Written {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} in {time.perf_counter() - t0:.1f} s",
    ]))
    _write(out / "report.md", _render_md(blocks, out))
    _write(out / "report.html", _render_html(blocks, name))
    for p in agg.problems:
        print(f"report {name}: {p}", file=sys.stderr)
    return out / "report.md"


def _write(path: Path, text: str) -> None:
    """Atomically (a report job and a local report may race), readable by the group like any file."""
    from vt_core.run_folder import atomic_write_text

    atomic_write_text(path, text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _equivalent_command(name: str, runs_dir: Path, out_dir: Any, metric: str | None, profile: str | None) -> str:
    parts = ["python", "ablations/report.py", "--grid", name]
    if str(runs_dir) != "runs":
        parts += ["--runs-dir", str(runs_dir)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if metric:
        parts += ["--metric", metric]
    if profile:
        parts += ["--profile", profile]
    return shlex.join(parts)


def _verdict_lines(summary: pd.DataFrame, metric: str, baseline: str) -> list[str]:
    d = _decimals(metric)
    unit = " pp" if metric in ("top1", "top5", "best_top1", "best_top5", "top1_ema") or metric.startswith(("top1@", "top5@")) else ""
    lines = []
    for v, s in summary.iterrows():
        verdict = s["verdict"]
        if verdict == "baseline":
            if int(s["n"]) >= 2:
                lines.append(f"`{v}` is the baseline: {_fmt(s['mean'], d)} ± {_fmt(s['std'], d)} over {int(s['n'])} seeds.")
            elif int(s["n"]) == 1:
                lines.append(f"`{v}` is the baseline: {_fmt(s['mean'], d)} from one seed (no interval).")
            else:
                lines.append(f"`{v}` is the baseline and has no finished run: nothing can be compared.")
            continue
        if verdict.startswith("same runs"):
            lines.append(f"`{v}`: the same configuration, and so the same runs, as `{baseline}`.")
        elif verdict == "no finished runs":
            lines.append(f"`{v}`: no finished runs.")
        elif math.isfinite(s["diff_low"]):
            lines.append(f"`{v}`: {_fmt(s['diff'], d, True)}{unit} vs `{baseline}` (95 % CI [{_fmt(s['diff_low'], d, True)}, "
                         f"{_fmt(s['diff_high'], d, True)}]), {s['test']} t-test p = {_fmt_p(s['p_value'])} → **{verdict}**.")
        elif math.isfinite(s["diff"]) and math.isfinite(s["p_value"]):
            lines.append(f"`{v}`: {_fmt(s['diff'], d, True)}{unit} vs `{baseline}`, {s['test']} t-test p = "
                         f"{_fmt_p(s['p_value'])} → **{verdict}**.")
        elif math.isfinite(s["diff"]):
            lines.append(f"`{v}`: {_fmt(s['diff'], d, True)}{unit} vs `{baseline}`; **{verdict}** (no interval or test "
                         f"can be given with fewer than two seeds on either side).")
        else:
            lines.append(f"`{v}`: **{verdict}**.")
    return lines


def _render_md(blocks: list[tuple[str, Any]], out: Path) -> str:
    parts = []
    for kind, x in blocks:
        if kind == "h1":
            parts.append(f"# {x}\n")
        elif kind == "h2":
            parts.append(f"## {x}\n")
        elif kind == "p":
            parts.append(f"{x}\n")
        elif kind == "ul":
            parts.append("\n".join(f"- {item}" for item in x) + "\n")
        elif kind == "table":
            parts.append(table_markdown(x))
        elif kind == "fig":
            path, cap = x
            parts.append(f"![{path.stem}]({path.name})\n\n*{cap}* ([PDF]({path.stem}.pdf))\n")
    return "\n".join(parts)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.86em;margin:1em 0;border-top:2px solid #222;border-bottom:2px solid #222}
th{border-bottom:1px solid #222;font-weight:600}th,td{padding:.25em .6em;white-space:nowrap}td.r,th.r{text-align:right}
td.l,th.l{text-align:left}tbody tr:nth-child(even){background:#f7f7f7}code{background:#f2f2f2;padding:0 .2em;border-radius:3px}
figure{margin:1.2em 0}figure img{max-width:100%;border:0}figcaption{font-size:.9em;color:#444;max-width:820px}
"""


def _render_html(blocks: list[tuple[str, Any]], title: str) -> str:
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{html.escape(title)} report</title>"
             f"\n<style>{_CSS}</style>\n</head>\n<body>"]
    for kind, x in blocks:
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{_inline_html(x)}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_inline_html(x)}</p>")
        elif kind == "ul":
            parts.append("<ul>\n" + "\n".join(f"<li>{_inline_html(i)}</li>" for i in x) + "\n</ul>")
        elif kind == "table":
            parts.append(table_html(x))
        elif kind == "fig":
            path, cap = x
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{_inline_html(cap)}</figcaption></figure>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


# ============================================================================ CLI
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python ablations/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", required=True, help="the grid's name (runs/<grid>/grid.json) or its module's path")
    p.add_argument("--runs-dir", default="runs", help="where run folders live (default: runs)")
    p.add_argument("--out", help="output folder (default: reports/<grid>)")
    p.add_argument("--metric", help="a key of result.json (default: the grid's METRIC)")
    p.add_argument("--profile", help="report this profile's runs (default: the setting run last)")
    args = p.parse_args(argv)
    cmd = shlex.join(["python", "ablations/report.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        path = write_report(args.grid, runs_dir=args.runs_dir, out_dir=args.out, metric=args.metric,
                            profile=args.profile, command=cmd)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    print(f"report: {path}")
    return exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
