"""`hfchat run` settles memory once its front ends are built: start-up objects frozen out of the collector's walks,
and the collector's thresholds raised (core.app.GC_THRESHOLDS, measured in bench/results/capacity-gc-thresholds.md)."""

import gc

from core.app import GC_THRESHOLDS, settle_memory


def test_settling_freezes_what_is_alive_and_collects_less_often():
    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        python_s = (700, 10, 10)  # CPython's own thresholds: young and full collections both rarer than with them
        assert GC_THRESHOLDS[0] > python_s[0] and GC_THRESHOLDS[2] > python_s[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
