"""The report's statistics beyond the t-test: multiple-comparison corrections, effect sizes, bootstrap
intervals, power and the variance over two seeds — each against an independent computation
(statsmodels, scipy.stats called directly, or a case worked by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.special import gamma, stdtrit
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from ablations import report as R
from ablations.report import power as P
from ablations.report.multiplicity import adjust
from ablations.report.variance import decompose, seed_sources
from tests.support.report_runs import SEEDS, TOP1, build_runs, done_top1


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The test_report runs folder: missing seeds, failed, diverged, corrupt and pending runs."""
    root = tmp_path_factory.mktemp("runs")
    build_runs(root)
    return R.aggregate("toy", root)


def _frame(values: dict[str, dict], metric: str = "top1") -> pd.DataFrame:
    """A runs table of done runs from values by variant and seed ((init, data) pairs for two seeds)."""
    rows = []
    for v, per_seed in values.items():
        for k, x in per_seed.items():
            seed, data = k if isinstance(k, tuple) else (k, None)
            rows.append({"variant": v, "seed": seed, "data_seed": data, "run_id": f"{v}-{seed}-{data}",
                         "status": "done", metric: x})
    return pd.DataFrame(rows)


_E = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # the noise pattern of the constructed paired differences


def _with_p(p_target: float, base: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Values whose paired t-test against ``base`` has exactly the two-sided p-value ``p_target``."""
    t = stdtrit(len(_E) - 1, 1 - p_target / 2)
    mean = t * scale * _E.std(ddof=1) / math.sqrt(len(_E))
    return base + mean + scale * _E


BASE5 = np.array([70.0, 71.0, 69.5, 72.0, 70.5])


def _family(ps: dict[str, float]) -> pd.DataFrame:
    values = {"base": dict(enumerate(BASE5))}
    values.update({v: dict(enumerate(_with_p(p, BASE5))) for v, p in ps.items()})
    return _frame(values)


# ------------------------------------------------------------------------------------ corrections
def test_holm_and_bh_match_statsmodels():
    rng = np.random.default_rng(3)
    for m in (1, 2, 5, 17):
        p = rng.uniform(0, 0.2, m)
        p[0] = p[-1]  # a tie
        assert adjust(p, "holm") == pytest.approx(multipletests(p, method="holm")[1])
        assert adjust(p, "bh") == pytest.approx(multipletests(p, method="fdr_bh")[1])
        assert adjust(p, "none") == pytest.approx(p)
    with_nan = np.array([0.01, np.nan, 0.04])
    assert np.isnan(adjust(with_nan, "holm")[1])
    assert adjust(with_nan, "holm")[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 → non-decreasing 0.03, 0.06, 0.06
    assert adjust(np.array([0.04, 0.01, 0.03]), "holm") == pytest.approx([0.06, 0.03, 0.06])


def test_constructed_p_values_are_exact():
    s = R.summarize(_family({"a": 0.03, "b": 0.5}), "top1", "base", correction="none")
    assert s.loc["a", "p_value"] == pytest.approx(0.03) and s.loc["b", "p_value"] == pytest.approx(0.5)


def test_holm_changes_a_verdict():
    """p = 0.03 among three comparisons: 'better' uncorrected, not after Holm (0.03·3 = 0.09), nor BH."""
    runs = _family({"a": 0.03, "b": 0.5, "c": 0.6})
    none = R.summarize(runs, "top1", "base", correction="none")
    holm = R.summarize(runs, "top1", "base")  # the default
    bh = R.summarize(runs, "top1", "base", correction="bh")
    assert none.loc["a", "verdict"] == "better" and none.loc["a", "p_adj"] == pytest.approx(0.03)
    ref = multipletests(none.loc[["a", "b", "c"], "p_value"], method="holm")[1]
    assert holm.loc[["a", "b", "c"], "p_adj"].to_numpy() == pytest.approx(ref)
    assert holm.loc["a", "verdict"] == "no detectable difference" and holm.loc["a", "correction"] == "holm"
    assert bh.loc["a", "p_adj"] == pytest.approx(0.09) and bh.loc["a", "verdict"] == "no detectable difference"
    assert holm.loc["base", "correction"] == "" and math.isnan(holm.loc["base", "p_adj"])


def test_bh_keeps_what_holm_drops():
    """p = 0.02, 0.03, 0.04: Holm adjusts all to 0.06 (none better), BH to 0.04 (all better), none keeps all."""
    runs = _family({"a": 0.02, "b": 0.03, "c": 0.04})
    verdicts = {c: R.summarize(runs, "top1", "base", correction=c)["verdict"] for c in ("holm", "bh", "none")}
    assert set(verdicts["holm"][["a", "b", "c"]]) == {"no detectable difference"}
    assert set(verdicts["bh"][["a", "b", "c"]]) == {"better"}
    assert set(verdicts["none"][["a", "b", "c"]]) == {"better"}
    bh = R.summarize(runs, "top1", "base", correction="bh")
    assert bh.loc[["a", "b", "c"], "p_adj"].to_numpy() == pytest.approx([0.04] * 3)


def test_family_on_the_toy_runs(toy):
    """The family is every tested comparison (not the baseline, the twin, one-seed or unrun variants)."""
    s = R.summarize(toy.runs, "top1", "base", toy.variants)
    tested = ["better", "noise", "worse", "partial"]
    assert s["p_adj"].notna().sum() == 4
    assert s.loc[tested, "p_adj"].to_numpy() == pytest.approx(
        multipletests(s.loc[tested, "p_value"], method="holm")[1])


# ------------------------------------------------------------------------------------ effect sizes
@pytest.mark.parametrize("variant", ["better", "noise"])
def test_dz_and_superiority_paired(toy, variant):
    s = R.summarize(toy.runs, "top1", "base", toy.variants).loc[variant]
    d = np.array([TOP1[variant][k] - TOP1["base"][k] for k in SEEDS])
    assert s["effect_kind"] == "d_z" and s["effect"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert s["p_superiority"] == pytest.approx(sps.norm.cdf(d.mean() / d.std(ddof=1)))


@pytest.mark.parametrize("variant", ["worse", "partial"])
def test_hedges_g_and_superiority_independent(toy, variant):
    s = R.summarize(toy.runs, "top1", "base", toy.variants).loc[variant]
    v, b = np.array(list(done_top1(variant).values())), np.array(list(TOP1["base"].values()))
    nu = len(v) + len(b) - 2
    pooled = math.sqrt(((len(v) - 1) * v.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / nu)
    j = gamma(nu / 2) / (math.sqrt(nu / 2) * gamma((nu - 1) / 2))
    assert s["effect_kind"] == "g" and s["effect"] == pytest.approx(j * (v.mean() - b.mean()) / pooled)
    assert j == pytest.approx(1 - 3 / (4 * nu - 1), abs=0.02)  # Hedges' approximation of J
    spread = math.sqrt(v.var(ddof=1) + b.var(ddof=1))
    assert s["p_superiority"] == pytest.approx(sps.norm.cdf((v.mean() - b.mean()) / spread))


def test_superiority_follows_the_metric_direction(toy):
    loss = R.summarize(toy.runs, "loss", "base", toy.variants)
    top1 = R.summarize(toy.runs, "top1", "base", toy.variants)
    assert top1.loc["better", "p_superiority"] > 0.9 and loss.loc["better", "p_superiority"] > 0.9
    assert loss.loc["better", "effect"] < 0 < top1.loc["better", "effect"]  # effects keep the metric's sign


# ------------------------------------------------------------------------------------ bootstrap
def test_bootstrap_matches_scipy(toy):
    s = R.summarize(toy.runs, "top1", "base", toy.variants, interval="bootstrap", bootstrap_seed=7)
    b = np.array([TOP1["base"][k] for k in SEEDS])
    v = np.array([TOP1["better"][k] for k in SEEDS])

    def diff(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    ref = sps.bootstrap((v, b), diff, paired=True, vectorized=True, method="BCa", rng=np.random.default_rng(7))
    assert s.loc["better", "interval"] is R.Interval.BOOTSTRAP and s.loc["better", "interval"].short == "BCa"
    assert (s.loc["better", "diff_low"], s.loc["better", "diff_high"]) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high))
    w = np.array(list(done_top1("worse").values()))
    ref = sps.bootstrap((w, b), diff, paired=False, vectorized=True, method="BCa", rng=np.random.default_rng(7))
    assert (s.loc["worse", "diff_low"], s.loc["worse", "diff_high"]) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high))
    ref = sps.bootstrap((b,), np.mean, method="BCa", rng=np.random.default_rng(7))
    assert (s.loc["base", "ci_low"], s.loc["base", "ci_high"]) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high))
    t = R.summarize(toy.runs, "top1", "base", toy.variants)
    assert s.loc["better", "p_value"] == t.loc["better", "p_value"]  # the test is the t-test either way
    assert t.loc["better", "interval"] == "t"


def test_bootstrap_on_many_seeds_is_close_to_t():
    rng = np.random.default_rng(0)
    base = rng.normal(70, 1, 40)
    runs = _frame({"base": dict(enumerate(base)), "a": dict(enumerate(base + 0.5 + rng.normal(0, 0.5, 40)))})
    boot = R.summarize(runs, "top1", "base", interval="bootstrap").loc["a"]
    t = R.summarize(runs, "top1", "base").loc["a"]
    assert boot["diff_low"] == pytest.approx(t["diff_low"], abs=0.06)
    assert boot["diff_high"] == pytest.approx(t["diff_high"], abs=0.06)


# ------------------------------------------------------------------------------------ power
def _nct_power(row: pd.Series) -> float:
    """The power of the row's test at its detectable difference, from scipy.stats.nct (whose lower tail
    is NaN where it underflows: 0 then)."""
    tc = sps.t.ppf(1 - row["mde_alpha"] / 2, row["df"])
    nc = row["mde"] / row["se"]
    return sps.nct.sf(tc, row["df"], nc) + np.nan_to_num(sps.nct.cdf(-tc, row["df"], nc))


def test_detectable_difference_paired_matches_statsmodels(toy):
    none = R.summarize(toy.runs, "top1", "base", toy.variants, correction="none")
    for v in ("better", "noise"):
        dz = TTestPower().solve_power(nobs=3, alpha=0.05, power=0.8, alternative="two-sided")
        assert none.loc[v, "mde_alpha"] == 0.05
        assert none.loc[v, "mde"] == pytest.approx(dz * none.loc[v, "sd_diff"], rel=1e-5)
    s = R.summarize(toy.runs, "top1", "base", toy.variants)
    # Holm over four comparisons: a lone real one must reach α / 4. statsmodels' solver fails there with
    # three seeds (its power is NaN at α/4), so the reference is the noncentral t itself.
    for v in ("better", "noise"):
        assert s.loc[v, "mde_alpha"] == pytest.approx(0.05 / 4)
        assert _nct_power(s.loc[v]) == pytest.approx(0.8, abs=1e-6)
        assert s.loc[v, "mde"] > none.loc[v, "mde"]


@pytest.mark.parametrize("variant", ["worse", "partial"])
def test_detectable_difference_welch_is_80_percent_power(toy, variant):
    """At the reported difference the noncentral t (scipy.stats.nct) gives 80 % power."""
    row = R.summarize(toy.runs, "top1", "base", toy.variants).loc[variant]
    assert row["test"] == "Welch" and _nct_power(row) == pytest.approx(0.8, abs=1e-6)


def test_noncentrality_with_one_degree_of_freedom():
    """Two paired seeds (df = 1): scipy's inverse gives up there; the report's bisection does not."""
    nc = float(P.noncentrality_for_power(np.array([1.0]), 0.05)[0])
    row = pd.Series({"mde_alpha": 0.05, "df": 1.0, "mde": nc, "se": 1.0})
    assert _nct_power(row) == pytest.approx(0.8, abs=1e-6)
    assert nc == pytest.approx(TTestPower().solve_power(nobs=2, alpha=0.05, power=0.8) * math.sqrt(2), rel=1e-4)


def test_seeds_needed(toy):
    s = R.summarize(toy.runs, "top1", "base", toy.variants, min_effect=0.3)
    level = s.loc["noise", "mde_alpha"]
    row = s.loc["noise"]  # paired: statsmodels' sample size, rounded up
    n = TTestPower().solve_power(effect_size=0.3 / row["sd_diff"], nobs=None, alpha=level, power=0.8)
    assert row["seeds_needed"] == math.ceil(n) and row["min_effect"] == 0.3
    row = s.loc["partial"]  # Welch with equal seeds per side: n reaches 80 %, n − 1 does not
    var_v, var_b = row["std"] ** 2, s.loc["base", "std"] ** 2

    def welch_power(n: int) -> float:
        se = math.sqrt((var_v + var_b) / n)
        df = (var_v / n + var_b / n) ** 2 / ((var_v / n) ** 2 / (n - 1) + (var_b / n) ** 2 / (n - 1))
        tc = sps.t.ppf(1 - level / 2, df)
        return sps.nct.sf(tc, df, 0.3 / se) + np.nan_to_num(sps.nct.cdf(-tc, df, 0.3 / se))

    n = int(row["seeds_needed"])
    assert welch_power(n) >= 0.8 > welch_power(n - 1)
    assert math.isnan(s.loc["single", "seeds_needed"]) and math.isnan(s.loc["base", "seeds_needed"])
    assert math.isnan(R.summarize(toy.runs, "top1", "base", toy.variants).loc["noise", "seeds_needed"])
    flat = _frame({"base": dict(enumerate(BASE5)), "a": dict(enumerate(BASE5 + 1.0))})  # no spread observed
    assert math.isnan(R.summarize(flat, "top1", "base", min_effect=0.3).loc["a", "seeds_needed"])


# ------------------------------------------------------------------------------------ two seeds
TABLE = np.array([[1.0, 2.0, 6.0], [3.0, 5.0, 7.0]])  # 2 init seeds × 3 data seeds


def test_decomposition_by_hand():
    # grand 4; rows 3, 5; columns 2, 3.5, 6.5; residuals ±0.5 in four cells
    # MS_init = 3·2/1 = 6, MS_data = 2·10.5/2 = 10.5, MS_resid = 1/2 = 0.5
    est = decompose(TABLE)
    assert est["var_init"] == pytest.approx((6 - 0.5) / 3)
    assert est["var_data"] == pytest.approx((10.5 - 0.5) / 2)
    assert est["var_resid"] == pytest.approx(0.5)


def test_decomposition_matches_statsmodels_anova():
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(1)
    y = rng.normal(size=(4, 3)) + np.arange(4)[:, None] * 0.7
    df = pd.DataFrame([(i, j, y[i, j]) for i in range(4) for j in range(3)], columns=["init", "data", "y"])
    table = anova_lm(ols("y ~ C(init) + C(data)", df).fit())
    ms = table["sum_sq"] / table["df"]
    est = decompose(y)
    assert est["var_resid"] == pytest.approx(ms["Residual"])
    assert est["var_init"] == pytest.approx((ms["C(init)"] - ms["Residual"]) / 3)
    assert est["var_data"] == pytest.approx((ms["C(data)"] - ms["Residual"]) / 4)


def test_two_seeds_pair_and_decompose():
    values = {(i, j): TABLE[i, j] for i in range(2) for j in range(3)}
    other = {(i, j): TABLE[i, j] + 0.5 + 0.1 * (i - j) for i in range(2) for j in range(3)}
    runs = _frame({"base": values, "a": other, "b": {k: x for k, x in other.items() if k != (1, 2)}})
    s = R.summarize(runs, "top1", "base")
    keys = sorted(values)
    ref = sps.ttest_rel([other[k] for k in keys], [values[k] for k in keys])
    assert s.loc["a", "test"] == "paired" and s.loc["a", "p_value"] == pytest.approx(ref.pvalue)
    assert s.loc["b", "test"] == "Welch"  # a missing (init, data) cell: not paired
    assert s.loc["base", "seeds"] == "0/0,0/1,0/2,1/0,1/1,1/2"
    assert s.loc["base", "var_init"] == pytest.approx(5.5 / 3) and s.loc["base", "var_data"] == pytest.approx(5)
    assert (s.loc["b", "n_init"], s.loc["b", "n_data"], s.loc["b", "dropped_init"]) == (1, 3, "1")
    assert math.isnan(s.loc["b", "var_init"])  # one complete row left: nothing to decompose


def test_negative_component_is_zero_and_said():
    y = np.array([[1.0, 10.0], [5.0, 8.0], [3.0, 9.0]])  # MS_init = 0.5 < MS_resid = 4.5 < MS_data = 54
    est = seed_sources({(i, j): y[i, j] for i in range(3) for j in range(2)})
    assert est["var_init"] == 0.0 and est["truncated"] == "init"
    assert decompose(y)["var_init"] == pytest.approx((0.5 - 4.5) / 2)
    assert est["var_resid"] == pytest.approx(4.5) and est["var_data"] == pytest.approx((54 - 4.5) / 3)


def test_one_seed_source_has_no_decomposition(toy):
    s = R.summarize(toy.runs, "top1", "base", toy.variants)
    assert s["var_init"].isna().all() and (s["n_init"] == 0).all()


# ------------------------------------------------------------------------------------ too few seeds
def test_two_paired_seeds_get_no_test_and_a_plan():
    """Two paired seeds: no p, no effect size, no P(beats), no verdict; the seeds that would detect the
    difference seen so far at the family's level (80 % power, the paired test at the observed spread)."""
    runs = _frame({"base": {0: 70.0, 1: 71.0}, "a": {0: 70.9, 1: 71.3}})
    row = R.summarize(runs, "top1", "base").loc["a"]
    assert row["verdict"] == "too few seeds" and row["test"] == "paired"
    for k in ("p_value", "p_adj", "effect", "p_superiority", "diff_low", "mde"):
        assert math.isnan(row[k]), k
    d = np.array([0.9, 0.3])
    n = TTestPower().solve_power(effect_size=d.mean() / d.std(ddof=1), nobs=None, alpha=0.05, power=0.8)
    assert row["plan_effect"] == pytest.approx(0.6) and row["seeds_needed"] == max(3, math.ceil(n))
    assert row["seeds_more"] == row["seeds_needed"] - 2
    text = R.verdict_text(row, "top1")
    assert text == f"too few seeds: {int(row['seeds_more'])} more needed for a Δ of 0.60 pp"
    assert "d_z" not in " ".join(R.verdict_lines(R.summarize(runs, "top1", "base"), "top1", "base"))


def test_one_seed_plans_only_a_test():
    runs = _frame({"base": {0: 70.0, 1: 71.0, 2: 72.0}, "a": {0: 75.0}})
    row = R.summarize(runs, "top1", "base").loc["a"]
    assert R.verdict_text(row, "top1") == "too few seeds: 2 more needed for a test"


def test_min_effect_plans_the_few_seeds_too():
    runs = _frame({"base": {0: 70.0, 1: 71.0}, "a": {0: 70.9, 1: 71.3}})
    row = R.summarize(runs, "top1", "base", min_effect=2.0).loc["a"]
    assert row["plan_effect"] == 2.0 and R.verdict_text(row, "top1").endswith("for a Δ of 2.00 pp")


def test_min_seeds_floor_is_three():
    from ablations.report.few_seeds import MIN_SEEDS

    three = _frame({"base": dict(enumerate([70.0, 71.0, 72.5])), "a": dict(enumerate([74.0, 75.5, 76.0]))})
    assert MIN_SEEDS == 3 and R.summarize(three, "top1", "base").loc["a", "verdict"] == "better"


# ------------------------------------------------------------------------------------ effect intervals
@pytest.mark.parametrize("variant", ["better", "noise"])
def test_dz_interval_inverts_the_noncentral_t(toy, variant):
    """The d_z interval: T = d_z·√n is noncentral t (n − 1 df, noncentrality δ·√n); at the bounds T's
    observed value is at the 97.5 % and 2.5 % points (scipy.stats.nct). P(beats)'s interval is Φ of them."""
    s = R.summarize(toy.runs, "top1", "base", toy.variants).loc[variant]
    n = 3
    t = s["effect"] * math.sqrt(n)
    assert sps.nct.cdf(t, n - 1, s["effect_low"] * math.sqrt(n)) == pytest.approx(0.975, abs=1e-6)
    assert sps.nct.cdf(t, n - 1, s["effect_high"] * math.sqrt(n)) == pytest.approx(0.025, abs=1e-6)
    assert s["effect_low"] < s["effect"] < s["effect_high"]
    assert (s["p_sup_low"], s["p_sup_high"]) == pytest.approx(
        (sps.norm.cdf(s["effect_low"]), sps.norm.cdf(s["effect_high"])))


@pytest.mark.parametrize("variant", ["worse", "partial"])
def test_g_interval_inverts_welchs_noncentral_t(toy, variant):
    """Independent seeds: Welch's t as noncentral t (Welch's df, noncentrality δ·s_pooled/se), so the
    interval of δ = Δ/s_pooled excludes 0 exactly when Welch's test rejects."""
    s = R.summarize(toy.runs, "top1", "base", toy.variants).loc[variant]
    v, b = np.array(list(done_top1(variant).values())), np.array(list(TOP1["base"].values()))
    ref = sps.ttest_ind(v, b, equal_var=False)
    pooled = math.sqrt(((len(v) - 1) * v.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(v) + len(b) - 2))
    scale = math.sqrt(v.var(ddof=1) / len(v) + b.var(ddof=1) / len(b)) / pooled
    assert sps.nct.cdf(ref.statistic, ref.df, s["effect_low"] / scale) == pytest.approx(0.975, abs=1e-6)
    assert sps.nct.cdf(ref.statistic, ref.df, s["effect_high"] / scale) == pytest.approx(0.025, abs=1e-6)
    assert s["effect_low"] < s["effect"] < s["effect_high"]
    assert (s["effect_low"] > 0 or s["effect_high"] < 0) == (ref.pvalue < 0.05)
    assert s["p_sup_low"] <= s["p_superiority"] <= s["p_sup_high"]


def test_no_row_reads_against_itself():
    """Over many random families (paired and Welch, t and bootstrap): a verdict of 'no detectable
    difference' never stands beside an effect or P(beats) interval that excludes no effect, unless it
    says why (after the correction, or the bootstrap interval); 'better'/'worse' never beside an
    interval of Δ that holds 0 (t intervals); below three seeds no effect size at all."""
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(2, 6))
        base = rng.normal(70, 1, n)
        values = {"base": dict(enumerate(base))}
        for k in range(3):
            seeds = range(n) if trial % 2 else range(k % 2, n + k % 2)  # odd trials paired, even Welch
            values[f"v{k}"] = {sd: 70 + rng.normal(0, 1) + rng.normal(0.8 * k, 1) for sd in seeds}
        interval = "bootstrap" if trial % 5 == 0 else "t"
        s = R.summarize(_frame(values), "top1", "base", interval=interval)
        for v in ("v0", "v1", "v2"):
            row = s.loc[v]
            text = R.verdict_text(row, "top1")
            if row["verdict"] == "too few seeds":
                assert all(math.isnan(row[k]) for k in ("effect", "p_superiority", "p_value")), (trial, v)
                continue
            excludes = row["effect_low"] > 0 or row["effect_high"] < 0
            if row["verdict"] == "no detectable difference" and excludes:
                assert text != "no detectable difference", (trial, v, text)
            if row["verdict"] in ("better", "worse") and interval == "t":
                assert row["diff_low"] > 0 or row["diff_high"] < 0, (trial, v)
            if math.isfinite(row["p_sup_low"]):
                assert (row["p_sup_low"] > 0.5 or row["p_sup_high"] < 0.5) == excludes, (trial, v)


def test_interval_of_p_beats_follows_the_metric_direction(toy):
    loss = R.summarize(toy.runs, "loss", "base", toy.variants).loc["better"]
    assert loss["effect"] < 0 and loss["p_sup_low"] == pytest.approx(1 - sps.norm.cdf(loss["effect_high"]))
    assert loss["p_sup_low"] <= loss["p_superiority"] <= loss["p_sup_high"]


def test_effect_beyond_ten_is_said_with_the_raw_difference():
    """d_z of −90 over three seeds says only that the seeds barely vary: '> 10' and the raw Δ."""
    runs = _frame({"base": dict(enumerate([99.9, 100.0, 100.0])), "none": dict(enumerate([24.0, 25.2, 23.9]))})
    row = R.summarize(runs, "top1", "base").loc["none"]
    assert row["effect"] < -10
    assert R.effect_text(row, 2) == f"|d_z| > 10 (Δ {row['diff']:+.2f})"
    line = R.verdict_lines(R.summarize(runs, "top1", "base"), "top1", "base")[1]
    assert "|d_z| > 10" in line and "d_z = -" not in line


def test_mean_interval_cut_to_what_the_metric_can_take():
    runs = _frame({"base": dict(enumerate([99.9, 100.0, 99.6]))})
    s = R.summarize(runs, "top1", "base").loc["base"]
    assert s["ci_high"] == 100.0 and s["ci_low"] < s["mean"]
    loss = _frame({"base": dict(enumerate([0.001, 0.2, 0.002]))}, metric="loss")
    s = R.summarize(loss, "loss", "base").loc["base"]
    assert s["ci_low"] == 0.0 and s["ci_high"] > s["mean"]


def test_a_difference_only_its_own_test_sees_says_so():
    """Raw p = 0.03 among three: the Δ interval excludes 0 on its own, Holm does not decide it: the
    verdict reads 'no detectable difference after Holm', not a bare 'no detectable difference'."""
    s = R.summarize(_family({"a": 0.03, "b": 0.5, "c": 0.6}), "top1", "base")
    assert s.loc["a", "diff_low"] > 0 and s.loc["a", "verdict"] == "no detectable difference"
    assert R.verdict_text(s.loc["a"], "top1") == "no detectable difference after Holm"
    assert R.verdict_text(s.loc["b"], "top1") == "no detectable difference"


def test_seeds_for_min_effect_never_below_the_floor():
    """A difference far above the spread would be 'detected' by 2 seeds in the power formula; 2 seeds
    get no test, so the column says 3."""
    runs = _family({"a": 0.001})
    s = R.summarize(runs, "top1", "base", min_effect=50.0).loc["a"]
    assert s["seeds_needed"] == 3
