"""With what code the runs ran: each run's ``result.json`` ``env`` records the ``git_commit``, whether
the tree had uncommitted changes (``git_dirty``, with ``code.diff`` in the run folder; older runs
lack it) and the package versions. A grid whose runs come from different commits, from dirty trees
or with different packages is flagged, naming which variant and seed ran on what."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .keys import seed_key

_PACKAGES = ("python", "torch", "timm", "torchvision", "numpy")  # env keys that are versions (vt_core.environment)


_TEXTS: dict[tuple[Any, ...], str] = {}  # the few distinct version sets of a grid, each formatted once


def packages_text(env: dict[str, Any]) -> str:
    """'python 3.11.9 · timm 1.0.11 · torch 2.5.0' from ``env["packages"]`` or the version keys of env."""
    packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    key = (*(str(env.get(k)) for k in _PACKAGES), *sorted((str(k), str(v)) for k, v in packages.items()))
    if key not in _TEXTS:
        versions = {**{k: env[k] for k in _PACKAGES if isinstance(env.get(k), str)}, **packages}
        _TEXTS[key] = " · ".join(f"{k} {versions[k]}" for k in sorted(versions) if versions[k] is not None)
    return _TEXTS[key]


def _tree(dirty: Any) -> str:
    if dirty is True:
        return "dirty"
    return "clean" if dirty is False else "tree not recorded"


def _who(group: pd.DataFrame) -> str:
    """'`a` seeds 0, 1; `b` seed 2' (variants in table order)."""
    parts = []
    for v, g in group.groupby("variant", sort=False, observed=True):
        seeds = sorted(set(g["seed_text"]), key=seed_key)
        parts.append(f"`{v}` seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}")
    return "; ".join(parts)


def provenance(runs: pd.DataFrame) -> tuple[str, list[str]]:
    """(one sentence on where the runs' code came from, the flags: one item per commit and tree state
    or per package set where they differ). Runs without a result.json say nothing."""
    if "commit" not in runs.columns:
        return "", []
    ran = runs[runs["commit"].notna()].copy()
    if not len(ran):
        return "", []
    ran["seed_text"] = [str(s) if d is None or d != d else f"{s}/{d}" for s, d in
                        zip(ran["seed"], ran["data_seed"] if "data_seed" in ran.columns else [None] * len(ran),
                            strict=True)]
    ran["tree"] = [_tree(x) for x in (ran["git_dirty"] if "git_dirty" in ran.columns else [None] * len(ran))]
    ran["packages"] = ran["packages"].fillna("") if "packages" in ran.columns else ""
    commits = list(dict.fromkeys(ran["commit"].astype(str)))
    dirty = ran[ran["tree"] == "dirty"]
    package_sets = list(dict.fromkeys(ran["packages"]))
    if len(commits) == 1 and not len(dirty) and len(package_sets) == 1:
        trees = set(ran["tree"])
        tree = "a clean tree" if trees == {"clean"} else ("clean or unrecorded trees" if "clean" in trees
                                                           else "the tree's state not recorded")
        pk = f"; {package_sets[0]}" if package_sets[0] else ""
        return f"All {len(ran)} runs with a result ran the same code: commit `{commits[0]}`, {tree}{pk}.", []
    flags = []
    if len(commits) > 1 or len(dirty):
        for (commit, tree), g in ran.groupby(["commit", "tree"], sort=False):
            diff = ""
            if tree == "dirty":
                have = int(g["code_diff"].fillna(False).astype(bool).sum()) if "code_diff" in g.columns else 0
                diff = f" (uncommitted changes; `code.diff` in {have} of the {len(g)} run folders)"
            flags.append(f"commit `{commit}`, {tree}{diff}: {_who(g)}")
    if len(package_sets) > 1:
        for pk, g in ran.groupby("packages", sort=False):
            flags.append(f"packages {pk or 'not recorded'}: {_who(g)}")
    what = [w for w, bad in (("different commits", len(commits) > 1), ("dirty trees", len(dirty)),
                             ("different package versions", len(package_sets) > 1)) if bad]
    return (f"**The runs did not all run the same code** ({', '.join(what)}): numbers from different code "
            f"may not be comparable.", flags)
