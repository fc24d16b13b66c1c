"""Satisfaction ratings (评价) and complaints (投诉) after human dialogues."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import phrases as ph
from .load import DAY, HOUR, MINUTE
from .roster import Roster

RATED_SHARE = 0.25  # buyers who answer the satisfaction invitation
# Score 1..5 probabilities: most buyers are satisfied; a buyer left without an
# answer or kept waiting is not.
_HAPPY = [0.01, 0.01, 0.04, 0.17, 0.77]
_UNHAPPY = [0.20, 0.20, 0.25, 0.20, 0.15]


def _score(rng, unhappy: np.ndarray) -> np.ndarray:
    u = rng.random(len(unhappy))
    happy = 1 + np.searchsorted(np.cumsum(_HAPPY)[:-1], u, side="right")
    sad = 1 + np.searchsorted(np.cumsum(_UNHAPPY)[:-1], u, side="right")
    return np.where(unhappy, sad, happy)


def ratings(s: pd.DataFrame, t_end: np.ndarray, roster: Roster, end_s: int, rng) -> pd.DataFrame:
    human = np.flatnonzero(s["agent"].to_numpy() >= 0)
    rated = human[rng.random(len(human)) < RATED_SHARE]
    n = len(rated)
    agent = s["agent"].to_numpy()[rated]
    ts = t_end[rated] + np.clip(10 * MINUTE * np.exp(1.2 * rng.standard_normal(n)), 30, 12 * HOUR)
    p_unhappy = 0.5 * s["unanswered"].to_numpy()[rated] + roster.slow_share[agent] * s["busy"].to_numpy()[rated]
    r = pd.DataFrame(
        {
            "ts": ts.astype(np.int64),
            "buyer": s["buyer"].to_numpy()[rated],
            "agent": agent,
            "score": _score(rng, rng.random(n) < p_unhappy),
        }
    )
    return r[r["ts"] < end_s].sort_values("ts", kind="stable").reset_index(drop=True)


def complaints(s: pd.DataFrame, t_end: np.ndarray, end_s: int, rng) -> pd.DataFrame:
    """A few complaints, mostly from buyers whose question was never answered."""
    human = np.flatnonzero(s["agent"].to_numpy() >= 0)
    unanswered = s["unanswered"].to_numpy()[human]
    hit = human[rng.random(len(human)) < np.where(unanswered, 0.01, 0.0004)]
    n = len(hit)
    kinds = np.array(list(ph.COMPLAINT_KINDS), dtype=object)
    details = np.array(list(ph.COMPLAINT_KINDS.values()), dtype=object)
    no_answer = list(ph.COMPLAINT_KINDS).index("未回复")
    kind = np.where(s["unanswered"].to_numpy()[hit], no_answer, rng.integers(0, len(kinds), n))
    ts = t_end[hit] + rng.integers(1 * HOUR, 2 * DAY, n)
    c = pd.DataFrame(
        {
            "ts": ts,
            "agent": s["agent"].to_numpy()[hit],
            "buyer": s["buyer"].to_numpy()[hit],
            "kind": kinds[kind],
            "detail": details[kind],
        }
    )
    return c[c["ts"] < end_s].sort_values("ts", kind="stable").reset_index(drop=True)
