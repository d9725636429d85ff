"""The report's command line as a script: ``python ablations/report.py --grid relpos_vs_abs``.

The code is the package ``ablations/report/`` beside this file; ``import ablations.report`` finds
the package, never this file (a directory with ``__init__.py`` comes before a module of the same
name, PEP 420), so this file is only ever run, and ``python -m ablations.report`` does the same.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repository importable

from ablations.report.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
