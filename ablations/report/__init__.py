"""Reports: from a grid's run folders to the tables, statistics and figures a paper can use.

    python ablations/report.py --grid relpos_vs_abs                       # reports/relpos_vs_abs/
    python ablations/report.py --grid swin_table4 --runs-dir /scratch/runs --metric best_top1
    python ablations/report.py --grid relpos_vs_abs --profile cifar --out /tmp/rep

Everything comes from ``runs/<grid>/grid.json`` (written by the launcher) and the run folders it
names, so the Slurm report job can call ``write_report`` without the grid module. Written to
``reports/<grid>/`` (or ``--out``):

    report.md / report.html   description, table, verdicts, figures, problems, command and commit
    table.csv / .md / .tex    the main metric per variant: mean ± std, 95 % CI, Δ to the baseline, the
                              test, its p-value and the family's adjusted one, effect sizes, the
                              detectable difference, the verdict, the paper's number, the costs
    table_<metric>.*          the same for each further metric (--metric top1,top5,val_loss)
    summary.csv               the same statistics for every final metric (one row per variant × metric)
    runs.csv                  the tidy table: one row per (variant, seed) with its status and numbers
    curves.csv                the epoch rows of every metrics.jsonl (long format)
    bars / curves / cost / resolution .png + .pdf

The modules, in the order the data flows:

    vocabulary  Interval, Correction, Verdict: the report's choices and verdicts, each with its labels
    keys        metric and cost keys, labels, direction (higher or lower is better), run states
    selection   which entries of grid.json count: one setting, one run per (variant, seed)
    readers     one run folder: result.json, metrics.jsonl, error.txt
    load        load_index, aggregate → Aggregate (the tidy runs table and the long curves table)
    stats       StatOptions, t_interval, describe, compare, summarize, variant_costs, memory_kinds,
                pareto_front; with multiplicity (Holm, BH), effects (g, d_z, superiority), resample
                (BCa bootstrap), power (detectable difference, seeds needed), variance (init × data)
    provenance  commits, dirty trees and package versions of the runs
    budget      estimated against measured device-hours
    findings    one metric's Aggregate, summary, costs, baseline and paper numbers, as one object
    methods     the methods paragraph and the LaTeX caption, from the same clauses
    table       the table model (its columns, cells and which cell is emphasised)
    formats     the table as CSV, Markdown, LaTeX and HTML
    figures/    bars, curves, cost, resolution and their shared style
    document    the report's blocks and their Markdown and HTML rendering
    sections    what the report says, section by section (run_sections: seeds, code, cost, weights)
    write       write_report: compute, write the data files, draw the figures, write the document
    cli         the command line (``ablations/report.py`` and ``python -m ablations.report``)
"""

from .cli import main
from .figures import merged_variants
from .findings import Findings
from .formats import table_csv, table_html, table_latex, table_markdown, tex_escape
from .keys import ALPHA, CONFIDENCE, COSTS, METRICS, STATUSES, higher_is_better, metric_label
from .load import Aggregate, aggregate, load_index
from .sections import verdict_lines
from .selection import ReportError
from .stats import StatOptions, compare, pareto_front, summarize, t_interval, variant_costs
from .table import Cell, Table, build_table, effect_text, superiority_text, verdict_text
from .vocabulary import Correction, Interval, Verdict
from .write import write_report

__all__ = [
    "ALPHA", "CONFIDENCE", "COSTS", "METRICS", "STATUSES", "Aggregate", "Cell", "Correction", "Findings", "Interval",
    "ReportError", "StatOptions", "Table", "Verdict", "aggregate",
    "build_table", "compare", "higher_is_better", "load_index", "main", "merged_variants", "metric_label",
    "pareto_front", "summarize", "t_interval", "table_csv", "table_html", "table_latex", "table_markdown",
    "tex_escape", "variant_costs", "verdict_lines", "write_report", "effect_text", "superiority_text", "verdict_text",
]
