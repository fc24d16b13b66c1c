"""Plan the dialogues: who talks to whom, when, and how it goes.

Pre-sale dialogues follow the shop's load curve. After-sales and refund
dialogues are planned from the orders (commerce.py), because only a buyer
who paid can ask where the parcel is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import phrases as ph
from .load import DAY, HOUR, busy_factor
from .roster import PRESALES, Roster

# Pre-sale dialogues per pre-sales agent on a normal weekday. With the
# after-sales chats the orders bring, a 25-agent shop writes ~400k messages in
# the 30 days around Double 11.
PRESALE_PER_AGENT_DAY = 42.0


def route(roster: Roster, roles: tuple[str, ...], day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Assign each dialogue to an agent of the first role that has someone
    active that day (so a shop without refund agents sends refunds to after-sales)."""
    agent = np.full(len(day), -1, dtype=np.int64)
    order = np.argsort(day, kind="stable")
    days, first = np.unique(day[order], return_index=True)
    for d, idx in zip(days, np.split(order, first[1:])):
        for role in roles + (PRESALES,):
            pool = np.flatnonzero((roster.role == role) & (roster.leave_day > d))
            if len(pool):
                agent[idx] = pool[rng.integers(0, len(pool), len(idx))]
                break
    return agent


def _buys(roster: Roster, agent: np.ndarray, unanswered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether the buyer orders. Conversion is the agent's skill, split into
    ordering and then paying (about 9 in 10 orders get paid)."""
    p_order = np.where(agent >= 0, roster.conversion[agent] / 0.9, 0.3)
    p_order = np.where(unanswered, 0.5 * p_order, p_order)
    return rng.random(len(agent)) < np.minimum(p_order, 0.97)


def plan_presales(
    load: np.ndarray, start_s: int, scale: float, roster: Roster, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Pre-sale dialogues, one per new buyer (numbered 0..), plus a second
    agent for some; and whether each buyer will order."""
    n_presales = int((roster.role == PRESALES).sum())
    expected = PRESALE_PER_AGENT_DAY * scale * n_presales * load
    cell = np.repeat(np.arange(load.size), rng.poisson(expected).ravel())
    n = len(cell)
    t0 = start_s + cell * HOUR + rng.integers(0, HOUR, n)
    busy = busy_factor(load).ravel()[cell]
    hour = cell % 24

    # The bot takes the first contact more often at night and in rushes.
    bot_share = np.clip(np.where(hour < 8, 0.55, 0.3) + 0.1 * (busy - 1), 0, 0.8)
    with_bot = rng.random(n) < bot_share
    bot_only = with_bot & (rng.random(n) < 0.15)
    agent = np.where(bot_only, -1, route(roster, (PRESALES,), cell // 24, rng))
    unanswered = ~bot_only & (rng.random(n) < roster.unanswered_share[agent] * busy)
    s = pd.DataFrame(
        {
            "buyer": np.arange(n, dtype=np.int64),
            "kind": np.full(n, ph.PRESALE, dtype=np.int8),
            "agent": agent,
            "t0": t0,
            "bot_rounds": np.where(with_bot, 1 + _flip(rng, 0.4, n) + _flip(rng, 0.1, n), 0),
            "transfer": np.where(with_bot & ~bot_only, 1 + _flip(rng, 0.5, n), 0),
            "human_rounds": np.where(bot_only, 0, 1 + np.minimum(rng.poisson(1.8, n), 7)),
            "unanswered": unanswered,
            "hello": rng.random(n) < 0.45,
            "closes": np.zeros(n, dtype=bool),
            "busy": busy,
        }
    )
    buys = _buys(roster, agent, unanswered, rng)
    s = pd.concat([s, _second_agent(s, start_s, roster, rng)], ignore_index=True)
    # The buyer's last dialogue of the day ends with "好的,那我拍了".
    last = ~s["buyer"].duplicated(keep="last").to_numpy()
    s["closes"] = last & buys[s["buyer"].to_numpy()] & ~s["unanswered"].to_numpy() & (s["agent"].to_numpy() >= 0)
    s["human_rounds"] += s["closes"]  # an extra round, after the questions
    return s, buys


def _flip(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    return (rng.random(n) < p).astype(np.int64)


def _second_agent(s: pd.DataFrame, start_s: int, roster: Roster, rng: np.random.Generator) -> pd.DataFrame:
    """Some buyers come back hours later the same day and land with another agent."""
    back = (s["agent"].to_numpy() >= 0) & (rng.random(len(s)) < 0.07)
    again = s[back].copy()
    again["t0"] = again["t0"] + rng.integers(1 * HOUR, 5 * HOUR, len(again))
    day = (again["t0"].to_numpy() - start_s) // DAY
    again["agent"] = route(roster, (PRESALES,), day, rng)
    n = len(again)
    again["unanswered"] = rng.random(n) < roster.unanswered_share[again["agent"].to_numpy()]
    keep = (day == (s["t0"].to_numpy()[back] - start_s) // DAY) & (
        again["agent"].to_numpy() != s["agent"].to_numpy()[back]
    )
    again = again.assign(
        bot_rounds=0, transfer=0, human_rounds=1 + np.minimum(rng.poisson(1.2, n), 5), hello=rng.random(n) < 0.5
    )
    return again[keep]
