"""The statistics year of a run is the year in Beijing, where the yearly schedule lives."""

from datetime import UTC, datetime

from planstats.dagkit import run_year


def test_the_scheduled_new_year_run_is_the_beijing_year():
    # planstats_yearly fires at 1 January 02:00 Asia/Shanghai = 31 December 18:00 UTC
    scheduled = {"params": {}, "logical_date": datetime(2025, 12, 31, 18, tzinfo=UTC)}
    assert run_year(scheduled, offset=-1) == 2025
    backfill = {"params": {}, "logical_date": datetime(2026, 1, 1, tzinfo=UTC)}
    assert run_year(backfill, offset=-1) == 2025
    assert run_year({"params": {"year": 2023}, "logical_date": None}) == 2023
