"""完成率 follows the metric's direction (issue 11.1): 平响 15 s target, 66.3 s actual is 23 %, never 442 %."""

import datetime as dt

import pytest

from kefu.metrics.provisional import final_on, is_provisional, provisional
from kefu.targets import completion, progress


def test_lower_is_better_completion_is_target_over_actual():
    assert completion(66.3, 15, False) == pytest.approx(15 / 66.3)
    p = progress(66.3, 15, "avg_response_s")
    assert p["completion"] == pytest.approx(0.2262, abs=1e-4) and p["on_track"] is False


def test_higher_is_better_completion_is_actual_over_target():
    p = progress(0.55, 0.6, "inquiry_conversion")
    assert p["completion"] == pytest.approx(0.55 / 0.6) and p["on_track"] is False


def test_zero_actual_on_lower_is_better_has_no_ratio_and_is_on_track():
    p = progress(0, 3, "complaints", elapsed_share=0.5)
    assert p["completion"] is None and p["on_track"] is True


def test_conversion_of_a_day_is_final_once_data_reaches_two_days_later():
    day = dt.date(2026, 11, 11)
    assert final_on(day, "inquiry_conversion") == dt.date(2026, 11, 13)
    assert is_provisional("inquiry_conversion", day, day, dt.datetime(2026, 11, 12, 23, 59, 59))
    assert not is_provisional("inquiry_conversion", day, day, dt.datetime(2026, 11, 13, 0, 0, 0))
    assert not is_provisional("avg_response_s", day, day, dt.datetime(2026, 11, 11, 12))
    assert provisional(["lost_buyers", "sales_amount"], day, day, dt.datetime(2026, 11, 12)) == {
        "lost_buyers": dt.date(2026, 11, 13)
    }
