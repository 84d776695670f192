"""Process-wide settings for one command-line run."""

from __future__ import annotations

import gc

# CPython starts a collection every 700 net allocations, and an older-generation pass walks every
# object alive. Loading a 10,000-user file allocates some 400,000 small objects that live until
# the run ends, so with the defaults the collector walks them again and again: more than half of
# `plan`'s own work on such a file (benchmarks/plan_bench.py). A run is short and makes few
# reference cycles, so collecting less often costs little memory.
COLLECTOR_THRESHOLDS = (50_000, 50, 50)


def tune_collector() -> None:
    """Set the garbage collector's thresholds for a short, allocation-heavy run."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
