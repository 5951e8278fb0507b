"""Process-wide thread settings (benchmarks._runtime)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import numba
from numba import njit
from benchmarks._runtime import set_threads

set_threads(1)

@njit
def twice(x):
    return 2 * x

assert twice(21) == 42          # compiling re-reads NUMBA_NUM_THREADS
assert numba.get_num_threads() == 1
set_threads(2)                   # the pool cannot grow once launched: stays consistent
numba.config.reload_config()
print("ok")
"""


def test_set_threads_after_importing_numba_keeps_compiling():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
