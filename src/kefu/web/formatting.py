"""Numbers on the pages: formatted as everywhere (kefu.formatting), coloured by the metric's direction."""

from __future__ import annotations

from kefu.formatting import clock, definition, fmt, fmt_delta, label
from kefu.metrics.registry import BY_KEY

__all__ = ["clock", "definition", "fmt", "fmt_delta", "label", "tone"]


def tone(key: str, delta, provisional: bool = False) -> str:
    """CSS class for a change: good, bad or neutral, by the metric's higher_is_better; `provisional` for a figure
    that can still change (kefu.metrics.provisional), never coloured as a rise or a drop."""
    if provisional:
        return "provisional"
    m = BY_KEY.get(key)
    if delta is None or delta == 0 or m is None or m.higher_is_better is None:
        return "neutral"
    return "good" if (delta > 0) == m.higher_is_better else "bad"
