"""``python -m runner.rank``: which family fits best; ``python -m runner study=rank`` with
the same overrides (``data=csv data.path=x.csv data.column=v study.candidates=all``)."""

import runpy
import sys

if __name__ == "__main__":
    if not any(a.lstrip("+~").split("=")[0] == "study" for a in sys.argv[1:]):
        sys.argv.append("study=rank")  # last: flags such as -m come before overrides
    runpy.run_module("runner", run_name="__main__", alter_sys=True)
