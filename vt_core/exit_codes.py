"""Exit codes of the suite's commands (``vt_core.train``, ``ablations/launch.py``, ``report.py``),
named once: the launcher reads a trainer's code by these names."""

OK = 0
FAILED = 1  # a run failed (its traceback is in error.txt)
BAD_INPUT = 2  # a bad config, path or flag: one line on stderr, nothing written
BUSY = 3  # another process holds the run folder's lock
INTERRUPTED = 75  # EX_TEMPFAIL: stopped by SIGTERM / SIGUSR2, checkpoint written; rerun to resume
CTRL_C = 130  # 128 + SIGINT
