"""Named points where a test kills the ingest process, to prove that every crash window after a commit is closed.

`reach(name)` does nothing unless the environment variable CAPACITY_CRASH_AT equals `name`; then the process
kills itself with SIGKILL on the spot (no clean-up, no flush, no `finally`), as the OOM killer or a power cut
would. Only tests set the variable (tests/hostile/test_hostile_crash_windows.py). The points, in the order a
committed batch passes them while its file is put away (runner.SourceRunner._put_away, ingest/quarantine.py):

- `committed`: the batch's ledger row is committed and its put-away listed; no file operation done yet (also
  reached when a later run takes up a put-away that is still listed)
- `report-part`: the hidden `.part` file of its report (`.afgewezen.csv` or `.fout.txt`) is written, not renamed
- `report-written`: the report is in place; the file is not yet moved, copied or deleted
- `copy-part`: the hidden `.part` file of its scrubbed copy is written, not renamed
- `copy-written`: the scrubbed copy is in place; the original is still in the inbox
- `put-away`: every file operation is done; the warehouse still lists the put-away as open
"""
from __future__ import annotations

import os
import signal

ENVIRONMENT_VARIABLE = "CAPACITY_CRASH_AT"


def reach(name: str) -> None:
    """Die here, at once, when CAPACITY_CRASH_AT names this point."""
    if os.environ.get(ENVIRONMENT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
