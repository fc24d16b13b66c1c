"""Numbers as a 客服主管 reads them, the same in the CLI, the web pages, the reports and the payslips:
percentages, 秒 (分:秒 from a minute on), ¥ amounts; a metric's name and definition in Chinese or English."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.metrics.registry import BY_KEY


def label(key: str, lang: str) -> str:
    m = BY_KEY.get(key)
    if m is None:
        return key
    return m.zh if lang == "zh" else m.en


def definition(key: str, lang: str) -> str:
    """A metric's definition in `lang`: the tooltip of its name on the pages."""
    m = BY_KEY[key]
    return m.doc_zh if lang == "zh" else m.doc


def fmt(key: str, value: Any, lang: str = "zh") -> str:
    """A metric's value in its unit: 95.0%, 12.5 秒 or 1:06, ¥1,234.50, 1,234."""
    if value is None:
        return "—"
    m = BY_KEY.get(key)
    unit = m.unit if m else None
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return clock(value) if round(value) >= 60 else (f"{value:.1f} 秒" if lang == "zh" else f"{value:.1f} s")
    if unit == "yuan":
        return f"¥{value:,.2f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def clock(seconds: float) -> str:
    """A time of a minute or more as 分:秒 (66.3 → 1:06), from an hour on as 时:分:秒 (3725 → 1:02:05)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_delta(key: str, delta: Any, lang: str = "zh") -> str:
    """A change: percentage points for rates, otherwise in the metric's unit, with a sign."""
    if delta is None:
        return "—"
    m = BY_KEY.get(key)
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if m and m.unit == "ratio":
        return f"{sign}{abs(delta) * 100:.1f} pp"
    return sign + fmt(key, abs(delta), lang)


def money(value: Any, *, signed: bool = False) -> str:
    """An amount in a table of amounts: 1,234.50 (`signed`: +1,234.50 / -5.00)."""
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def yuan(value: Any) -> str:
    """An amount on its own: ¥1,234.50, −¥5.00 (a true minus sign), — for none."""
    if value is None:
        return "—"
    value = Decimal(str(value))
    return f"¥{value:,.2f}" if value >= 0 else f"−¥{-value:,.2f}"
