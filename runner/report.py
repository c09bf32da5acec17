"""``python -m runner.report``: one table and a few plots for a sweep (runner.io.report)."""

import sys

from runner.io.report import main

if __name__ == "__main__":
    sys.exit(main())
