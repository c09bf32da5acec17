"""The maths is importable on its own: a notebook's ``from runner import fit`` loads no
Hydra, OmegaConf, MLflow or matplotlib (import-linter checks the source; this checks what
a real process loads)."""

from __future__ import annotations

import json

from helpers import run_python

HEAVY = ("hydra", "omegaconf", "mlflow", "matplotlib")


def test_a_fit_in_python_loads_no_hydra_mlflow_or_matplotlib(tmp_path):
    code = (
        "import json, sys\n"
        "from runner import fit\n"
        "f = fit('gamma', [1.0, 2.0, 3.5, 0.7])\n"
        "f.summary(); f.to_dict()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = run_python(["-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
