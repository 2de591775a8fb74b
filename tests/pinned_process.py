"""Run a Python script with its clock pinned at $TEST_PROCESS_PINNED_AT (ticking): the tests' worker processes.

    python tests/pinned_process.py worker.py billing
"""
import os
import runpy
import sys
from datetime import datetime

import time_machine

if __name__ == "__main__":
    script, *rest = sys.argv[1:]
    traveller = time_machine.travel(datetime.fromisoformat(os.environ["TEST_PROCESS_PINNED_AT"]), tick=True)
    traveller.start()
    sys.argv = [script, *rest]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
