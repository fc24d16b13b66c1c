"""When buyers come: the shop's load per day and hour of day.

Times in the simulator are int64 seconds of shop-local wall-clock time,
counted from 1970-01-01 00:00:00 as if it were UTC (no DST in China, so the
arithmetic is plain).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# Share of a normal day's pre-sale chats per hour: quiet at night, a morning
# and an afternoon plateau, the evening peak 20:00-23:00.
_NORMAL = [
    2.0,
    1.0,
    0.5,
    0.3,
    0.2,
    0.2,
    0.4,
    1.0,
    2.5,
    4.0,
    5.5,
    5.5,
    4.5,
    5.0,
    5.5,
    5.5,
    5.0,
    4.5,
    4.5,
    5.5,
    7.0,
    8.0,
    7.5,
    5.0,
]
# A sales event's day: the opening rush at 00:00-02:00 and the last-chance
# rush at 22:00-24:00 are the busiest hours of the whole season.
_EVENT_DAY = [16, 12, 4, 1.5, 0.6, 0.5, 0.8, 1.5, 3, 4, 5, 5, 4.5, 4.5, 5, 5, 4.5, 4.5, 5, 6, 7, 8, 13, 15]
# Its eve: the pre-sale rush starts in the evening (尾款 opens, carts fill up).
_EVENT_EVE = _NORMAL[:20] + [8.0, 9.0, 12.0, 14.0]
# The day after: the rush runs on until 02:00.
_EVENT_AFTER = [8.0, 5.0] + _NORMAL[2:]
# After-sales questions (logistics, exchanges) come in office hours mostly.
AFTERSALE_HOURS = (
    np.array([0.8, 0.4, 0.2, 0.1, 0.1, 0.1, 0.3, 1, 3, 6, 7, 7, 5, 6, 7, 7, 6, 5, 4, 5, 6, 6, 5, 2]) / 100.0
)

# (month, day) -> how many normal days of pre-sale load the event day has.
EVENTS = {(11, 11): 9.0, (6, 18): 4.0, (12, 12): 2.0}


def _profile(hours: list[float]) -> np.ndarray:
    p = np.array(hours, dtype=float)
    return p / p.sum()


def epoch_seconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY


def _day_factor(day: date) -> tuple[float, np.ndarray]:
    """Load of one day (1.0 = normal weekday) and its hour profile."""
    base = 1.1 if day.weekday() >= 5 else 1.0
    for (month, dom), size in EVENTS.items():
        try:
            event = date(day.year, month, dom)
        except ValueError:
            continue
        lead = (event - day).days
        if lead == 0:
            return size, _profile(_EVENT_DAY)
        if lead == 1:
            return 1 + 0.17 * size, _profile(_EVENT_EVE)
        if 2 <= lead <= 10:
            # Warm-up: buyers compare, add to cart and ask more each day.
            return base + size * 0.09 * (11 - lead) / 9, _profile(_NORMAL)
        if lead == -1:
            return 1 + 0.08 * size, _profile(_EVENT_AFTER)
        if -4 <= lead <= -2:
            return base + size * 0.03 * (5 + lead) / 3, _profile(_NORMAL)
    return base, _profile(_NORMAL)


def presale_load(start: date, days: int) -> np.ndarray:
    """Expected pre-sale chats per (day, hour), in normal-day units (a normal weekday sums to 1)."""
    rows = [_day_factor(start + timedelta(d)) for d in range(days)]
    return np.array([factor * profile for factor, profile in rows])


def busy_factor(load: np.ndarray) -> np.ndarray:
    """How much slower agents answer in a (day, hour) cell than in a normal evening peak."""
    normal_peak = _profile(_NORMAL).max()
    return np.clip(load / normal_peak, 1.0, 6.0) ** 0.4
