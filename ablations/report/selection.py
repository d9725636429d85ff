"""Which runs of a grid's index count: its well-formed entries, the variants and axes, one setting
(a profile and the overrides every run shares), and one run per (variant, seed)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from vt_core.overrides import ConfigError

from .keys import cell, seed_key

Entry = dict[str, Any]  # one run of grid.json: variant, seed, run_id, profile, overrides
SettingKey = tuple[str, str]  # (profile, the shared overrides as sorted JSON)
# a run folder's state from best to worst: an edited variant keeps the run in the best state
_RANK = {"done": 0, "diverged": 1, "running": 2, "interrupted": 3, "failed": 4, "corrupt": 5, "pending": 6}


class ReportError(ConfigError):
    """Bad input to the report (exit code 2): one line naming the file or the option."""


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -math.inf


def valid_entries(index: dict[str, Any], gdir: Path, problems: list[str]) -> list[Entry]:
    """The entries that name a variant, a seed and a run id; the others are problems (by index)."""
    entries = []
    for i, e in enumerate(index["runs"]):
        if not (isinstance(e, dict) and isinstance(e.get("variant"), str) and isinstance(e.get("run_id"), str)
                and "seed" in e):
            problems.append(f"{gdir / 'grid.json'}: entry {i} lacks variant, seed or run_id; skipped")
            continue
        entries.append(e)
    return entries


def current_variants(index: dict[str, Any], entries: list[Entry], excluded: list[str]) -> tuple[list[str], list[Entry]]:
    """The grid's variants (in its order) and their entries; runs of variants it no longer has are excluded."""
    variants = [v for v in index.get("variants") or [] if isinstance(v, str)]
    if not variants:
        variants = list(dict.fromkeys(e["variant"] for e in entries))
    stale = Counter(e["variant"] for e in entries if e["variant"] not in variants)
    for v, n in stale.items():
        excluded.append(f"{n} run(s) of variant {v!r}, which the grid no longer has")
    return variants, [e for e in entries if e["variant"] in variants]


def axes_of(index: dict[str, Any], entries: list[Entry]) -> list[str]:
    """The grid's axes, or (an older grid.json) the override keys whose values differ between runs."""
    axes = [a for a in index.get("axes") or [] if isinstance(a, str)]
    if axes:
        return axes
    keys: dict[str, set[str]] = {}
    for e in entries:
        for k, v in (e.get("overrides") or {}).items():
            keys.setdefault(k, set()).add(json.dumps(cell(v)))
    return [k for k, vals in keys.items() if len(vals) > 1 and k not in ("train.seed", "data.seed")]


def choose_setting(entries: list[Entry], axes: list[str], profile: str | None, gdir: Path,
                   excluded: list[str]) -> tuple[SettingKey, list[Entry]]:
    """One setting: the given profile (or the setting whose run folders changed last) and its entries.

    A relaunch with ``--set`` or another profile makes new run ids beside the old ones; those of the
    other settings are excluded, each with what differs.
    """
    def setting_of(e: Entry) -> SettingKey:  # all overrides but the axes and the seeds the grid varies
        seeds = ("train.seed", "data.seed") if "data_seed" in e else ("train.seed",)
        rest = {k: v for k, v in (e.get("overrides") or {}).items() if k not in axes and k not in seeds}
        return str(e.get("profile")), json.dumps(rest, sort_keys=True, default=str)

    groups: dict[SettingKey, list[Entry]] = {}
    for e in entries:
        groups.setdefault(setting_of(e), []).append(e)
    if profile is not None:
        profiles = sorted({k[0] for k in groups})
        if profile not in profiles:
            raise ReportError(f"--profile: no runs of profile {profile!r} in {gdir / 'grid.json'} "
                              f"(profiles there: {', '.join(profiles) or 'none'})")
    candidates = [k for k in groups if profile is None or k[0] == profile]
    if len(candidates) > 1:
        chosen = max(candidates, key=lambda k: max(mtime(gdir / e["run_id"]) for e in groups[k]))
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
    return chosen, groups.get(chosen, [])


def one_run_per_seed(selected: list[Entry], states: dict[str, str], variants: list[str], gdir: Path,
                     excluded: list[str]) -> list[Entry]:
    """(variant, seed, data seed) → one entry, in the grid's variant order and seed order.

    An edited variant leaves its old run id in grid.json: the run in the best state, then the
    newest, is kept; the others are excluded.
    """
    by_key: dict[tuple[str, Any, Any], list[Entry]] = {}
    for e in selected:
        by_key.setdefault((e["variant"], e["seed"], e.get("data_seed")), []).append(e)
    keep = []
    for (v, s, d), es in by_key.items():
        if d is not None:
            s = f"{s} (data seed {d})"
        if len(es) > 1:
            es = sorted(es, key=lambda e: (_RANK.get(states[e["run_id"]], 9), -mtime(gdir / e["run_id"])))
            excluded.append(f"variant {v} seed {s}: {len(es) - 1} older run id(s) superseded by {es[0]['run_id']} "
                            f"({', '.join(e['run_id'] for e in es[1:])})")
        keep.append(es[0])
    order = {v: i for i, v in enumerate(variants)}
    keep.sort(key=lambda e: (order[e["variant"]], seed_key(e["seed"]), seed_key(e.get("data_seed"))))
    return keep
