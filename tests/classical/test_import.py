import subprocess
import sys

import pytest

# Fresh interpreters: what a classical-only user (or a classical benchmark run) loads.
CASES = {
    "classical": "import classical, classical.baselines",
    "benchmarks.datasets": "import benchmarks.datasets",
    "benchmarks.metrics": "import benchmarks.metrics",
    "segbench cli": "import benchmarks.cli",
}


@pytest.mark.parametrize("name", list(CASES))
def test_import_does_not_load_torch(name):
    code = CASES[name] + "; import sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{name} imported torch"
