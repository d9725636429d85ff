"""``python -m ablations.report``: the report's command line (``cli.main``)."""

import sys

from .cli import main

sys.exit(main())
