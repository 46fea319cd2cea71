"""The garbage-collector settings of the long-running commands."""

from __future__ import annotations

import gc

from watchkeeper.runtime.gcpolicy import YOUNG_THRESHOLD, tune_for_server


def test_tuning_freezes_what_exists_and_collects_the_young_generation_less_often() -> None:
    saved = gc.get_threshold()
    try:
        tune_for_server()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, saved[1], saved[2])
        assert gc.get_freeze_count() > 0  # startup's objects are out of every collection
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
