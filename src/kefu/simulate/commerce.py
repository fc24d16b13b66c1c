"""Orders, refunds and the chats that orders cause.

Every buyer is one journey: a pre-sale buyer chats and maybe orders, a silent
buyer (静默下单) orders without any chat. Paid orders later bring after-sales
questions (where is my parcel) and refunds, each with its own chat.
Money is kept in integer cents (fen) so it always has exactly two decimals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import phrases as ph
from .dialogues import AGENT, Messages
from .load import AFTERSALE_HOURS, DAY, HOUR, MINUTE, busy_factor
from .roster import AFTERSALES, REFUND, Roster
from .sessions import route

# Paid silent orders per paid chat order: with the bot-only buyers this puts
# silent orders at ~40 % of paid orders, as in a typical Tmall apparel shop.
SILENT_PER_CHAT_ORDER = 0.6
AFTERSALE_CHAT_SHARE = 0.30  # paid orders whose buyer later asks after-sales questions
REFUND_SHARE = 0.08  # of paid orders; more after impulse buys on event days
REFUND_SHARE_EVENT = 0.14
REFUND_CHAT_SHARE = 0.7  # refunds the buyer talks about first

_PRICES_YUAN = np.array([59, 69, 79, 89.9, 99, 119, 129, 139.9, 159, 169, 189, 199, 229, 259, 299, 329, 399, 459, 599])
_PRICE_WEIGHTS = np.array([3, 4, 6, 8, 10, 10, 10, 8, 8, 6, 5, 6, 4, 3, 3, 2, 2, 1, 1], float)


def _uniform(rng, lo, hi, n) -> np.ndarray:
    return rng.integers(lo, hi, n, endpoint=True)


def _amount_cents(rng, created: np.ndarray, start_s: int, event_day: np.ndarray) -> np.ndarray:
    """Order amounts: one to three pieces; on sales-event days 满300减50."""
    n = len(created)
    price = np.rint(_PRICES_YUAN * 100).astype(np.int64)
    piece = price[rng.choice(len(price), n, p=_PRICE_WEIGHTS / _PRICE_WEIGHTS.sum())]
    qty = 1 + np.searchsorted([0.75, 0.93], rng.random(n), side="right")
    cents = piece * qty
    day = np.clip((created - start_s) // DAY, 0, len(event_day) - 1)
    return np.where(event_day[day], cents - 5000 * (cents // 30000), cents)


def _payment(
    rng, created: np.ndarray, p_never: float, p_next_day: float = 0.0, p_days_later: float = 0.0
) -> np.ndarray:
    """paid_at for each order (-1 = never paid): mostly minutes after ordering,
    some the next day, a few days later (so 询单→次日付款 < 最终付款), some never."""
    n = len(created)
    u = rng.random(n)
    soon = created + _uniform(rng, 20, 10 * MINUTE, n)
    next_day = np.maximum(created // DAY * DAY + DAY + _uniform(rng, 8 * HOUR, 22 * HOUR, n), created + 30 * MINUTE)
    days_later = created // DAY * DAY + _uniform(rng, 2 * DAY + 8 * HOUR, 5 * DAY, n)
    return np.select(
        [u < p_never, u < p_never + p_next_day, u < p_never + p_next_day + p_days_later],
        [-1, next_day, days_later],
        soon,
    )


def chat_orders(
    s: pd.DataFrame, t_end: np.ndarray, buys: np.ndarray, start_s: int, event_day: np.ndarray, rng
) -> pd.DataFrame:
    """Orders of the pre-sale buyers who decided to buy: minutes to hours after
    their last chat, at the latest by the end of the day after they asked."""
    buyer = s["buyer"].to_numpy()
    last_end = np.zeros(len(buys), dtype=np.int64)
    np.maximum.at(last_end, buyer, t_end)
    first_t0 = np.full(len(buys), np.iinfo(np.int64).max)
    np.minimum.at(first_t0, buyer, s["t0"].to_numpy())

    who = np.flatnonzero(buys)
    n = len(who)
    delay = np.select(
        [rng.random(n) < 0.6, rng.random(n) < 0.75],
        [
            _uniform(rng, 1 * MINUTE, 15 * MINUTE, n),
            np.clip(40 * MINUTE * np.exp(rng.standard_normal(n)), 15 * MINUTE, 4 * HOUR),
        ],
        _uniform(rng, 3 * HOUR, 20 * HOUR, n),
    ).astype(np.int64)
    created = last_end[who] + delay
    window_end = first_t0[who] // DAY * DAY + 2 * DAY
    created = np.where(created < window_end, created, last_end[who] + _uniform(rng, 60, 600, n))
    return pd.DataFrame(
        {
            "buyer": who.astype(np.int64),
            "created": created,
            "paid": _payment(rng, created, p_never=0.10, p_next_day=0.06, p_days_later=0.02),
            "cents": _amount_cents(rng, created, start_s, event_day),
        }
    )


def silent_orders(
    load: np.ndarray, n_chat_paid: int, start_s: int, first_buyer: int, event_day: np.ndarray, rng
) -> pd.DataFrame:
    """Orders without any chat, spread like the shop's traffic."""
    n = rng.poisson(SILENT_PER_CHAT_ORDER * n_chat_paid / 0.95)
    p = load.ravel() / load.sum()
    cell = np.sort(rng.choice(load.size, n, p=p))
    created = start_s + cell * HOUR + rng.integers(0, HOUR, n)
    return pd.DataFrame(
        {
            "buyer": first_buyer + np.arange(n, dtype=np.int64),
            "created": created,
            "paid": _payment(rng, created, p_never=0.05),
            "cents": _amount_cents(rng, created, start_s, event_day),
        }
    )


def _sessions_for(
    buyer, t0, kind, roster, roles, start_s, load, rng, bot_share, bot_only_share, rounds_mean
) -> pd.DataFrame:
    """After-sales style dialogues at given times, routed to the given roles."""
    n = len(t0)
    cell = (t0 - start_s) // HOUR
    busy = busy_factor(load).ravel()[cell]
    agent = route(roster, roles, cell // 24, rng)
    with_bot = rng.random(n) < bot_share
    bot_only = with_bot & (rng.random(n) < bot_only_share)
    return pd.DataFrame(
        {
            "buyer": buyer,
            "kind": np.broadcast_to(kind, n).astype(np.int8),
            "agent": np.where(bot_only, -1, agent),
            "t0": t0,
            "bot_rounds": with_bot.astype(np.int64),
            "transfer": np.where(with_bot & ~bot_only, 1 + (rng.random(n) < 0.6), 0),
            "human_rounds": np.where(bot_only, 0, 1 + np.minimum(rng.poisson(rounds_mean, n), 6)),
            "unanswered": ~bot_only & (rng.random(n) < roster.unanswered_share[agent] * busy),
            "hello": rng.random(n) < 0.4,
            "closes": np.zeros(n, dtype=bool),
            "busy": busy,
        }
    )


def aftersale_sessions(
    orders: pd.DataFrame, start_s: int, end_s: int, load: np.ndarray, roster: Roster, rng
) -> pd.DataFrame:
    """Buyers who paid ask about shipping within hours, or about the parcel days later."""
    paid = orders[orders["paid"] >= 0]
    paid = paid[rng.random(len(paid)) < AFTERSALE_CHAT_SHARE]
    n = len(paid)
    paid_at = paid["paid"].to_numpy()
    before_shipping = rng.random(n) < 0.35
    later = np.where(before_shipping, _uniform(rng, 30 * MINUTE, 20 * HOUR, n), _uniform(rng, 2 * DAY, 8 * DAY, n))
    # Keep the day, redraw the time of day: after-sales chats come in office hours.
    hour = rng.choice(24, n, p=AFTERSALE_HOURS / AFTERSALE_HOURS.sum())
    t0 = (paid_at + later) // DAY * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    t0 = np.where(t0 < paid_at + 10 * MINUTE, t0 + DAY, t0)
    keep = t0 < end_s
    kind = np.where(before_shipping, ph.SHIPPING, ph.AFTERSALE)[keep]
    return _sessions_for(
        paid["buyer"].to_numpy()[keep],
        t0[keep],
        kind,
        roster,
        (AFTERSALES, REFUND),
        start_s,
        load,
        rng,
        bot_share=0.3,
        bot_only_share=0.3,
        rounds_mean=1.3,
    )


def refunds(
    orders: pd.DataFrame, start_s: int, end_s: int, load: np.ndarray, event_day: np.ndarray, roster: Roster, rng
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refund requests on paid orders, and the chats that come with most of them."""
    paid = orders[orders["paid"] >= 0]
    day = np.clip((paid["created"].to_numpy() - start_s) // DAY, 0, len(event_day) - 1)
    share = np.where(event_day[day], REFUND_SHARE_EVENT, REFUND_SHARE)
    paid = paid[rng.random(len(paid)) < share]
    paid_at = paid["paid"].to_numpy()
    n = len(paid)

    # Quick refunds before shipping (拍错了) or returns after the parcel arrived.
    quick = rng.random(n) < 0.25
    applied = paid_at + np.where(quick, _uniform(rng, 10 * MINUTE, 12 * HOUR, n), _uniform(rng, 2 * DAY, 10 * DAY, n))
    reasons = np.array(ph.QUICK_REFUND_REASONS + ph.RETURN_REASONS, dtype=object)
    n_quick = len(ph.QUICK_REFUND_REASONS)
    reason = np.where(quick, rng.integers(0, n_quick, n), rng.integers(n_quick, len(reasons), n))
    finished = applied + np.clip(20 * HOUR * np.exp(rng.standard_normal(n)), 10 * MINUTE, 7 * DAY).astype(np.int64)
    status = np.where(finished >= end_s, "processing", np.where(rng.random(n) < 0.08, "closed", "success"))
    cents = paid["cents"].to_numpy()
    # Quality problems are often settled with a partial refund (补偿).
    partial = (reasons[reason] == "质量问题") & (rng.random(n) < 0.5)
    amount = np.where(partial, np.rint(cents * rng.uniform(0.1, 0.3, n) / 100) * 100, cents)

    chat = rng.random(n) < REFUND_CHAT_SHARE
    t0 = np.maximum(applied - _uniform(rng, 2 * MINUTE, 40 * MINUTE, n), paid_at + MINUTE)
    t_route = np.where(chat, t0, applied)
    r = pd.DataFrame(
        {
            "order": paid.index.to_numpy(),
            "buyer": paid["buyer"].to_numpy(),
            "applied": applied,
            "finished": np.where(status == "processing", -1, finished),
            "cents": amount.astype(np.int64),
            "status": status,
            "reason": reasons[reason],
            "chat": chat,
            "t0": t0,
            "t_route": t_route,
        }
    )
    r = r[r["applied"] < end_s].reset_index(drop=True)
    sessions = _sessions_for(
        r["buyer"].to_numpy(),
        r["t_route"].to_numpy(),
        ph.REFUND,
        roster,
        (REFUND, AFTERSALES),
        start_s,
        load,
        rng,
        bot_share=0.15,
        bot_only_share=0.0,
        rounds_mean=1.8,
    )
    r["agent"] = sessions["agent"].to_numpy()  # whoever talked to the buyer handles it
    return r.drop(columns=["t0", "t_route"]), sessions[r["chat"].to_numpy()]


def order_status(orders: pd.DataFrame, refunds_: pd.DataFrame, end_s: int) -> np.ndarray:
    """Status at export time (the end of the simulated period)."""
    paid = orders["paid"].to_numpy()
    age = end_s - np.where(paid >= 0, paid, orders["created"].to_numpy())
    refunded = np.zeros(len(orders), dtype=bool)
    full = refunds_[
        (refunds_["status"] == "success")
        & (refunds_["cents"].to_numpy() == orders["cents"].to_numpy()[refunds_["order"]])
    ]
    refunded[full["order"].to_numpy()] = True
    return np.select(
        [(paid < 0) & (age < DAY), paid < 0, refunded, age < DAY, age < 8 * DAY],
        ["unpaid", "closed", "closed", "paid", "shipped"],
        "success",
    )


def nudges(s: pd.DataFrame, t_end: np.ndarray, orders: pd.DataFrame, n_buyers: int, end_s: int, rng) -> Messages:
    """Agent messages that answer nothing: payment reminders (催付) to buyers
    who ordered but have not paid, and follow-ups to buyers still deciding."""
    last = ~s["buyer"].duplicated(keep="last").to_numpy()
    agent = np.full(n_buyers, -1, dtype=np.int64)
    answered = np.zeros(n_buyers, dtype=bool)
    end = np.zeros(n_buyers, dtype=np.int64)
    b = s["buyer"].to_numpy()[last]
    agent[b] = s["agent"].to_numpy()[last]
    answered[b] = ~s["unanswered"].to_numpy()[last]
    end[b] = t_end[last]

    o = orders[orders["buyer"] < n_buyers]  # chat orders only
    ob = o["buyer"].to_numpy()
    ts = o["created"].to_numpy() + _uniform(rng, 10 * MINUTE, 60 * MINUTE, len(o))
    paid = o["paid"].to_numpy()
    remind = (agent[ob] >= 0) & answered[ob] & ((paid < 0) | (paid > ts + MINUTE)) & (rng.random(len(o)) < 0.7)

    undecided = np.ones(n_buyers, dtype=bool)
    undecided[ob] = False
    fb = np.flatnonzero(undecided & (agent >= 0) & answered & (rng.random(n_buyers) < 0.1))
    fts = end[fb] + _uniform(rng, 30 * MINUTE, 3 * HOUR, len(fb))

    ts_all = np.concatenate([ts[remind], fts])
    n_remind = int(remind.sum())
    u = rng.random(len(ts_all))
    text = np.concatenate([ph.pick(ph.REMINDER, u[:n_remind]), ph.pick(ph.FOLLOW_UP, u[n_remind:])])
    keep = ts_all < end_s
    return Messages(
        ts=ts_all[keep],
        buyer=np.concatenate([ob[remind], fb])[keep],
        account=np.concatenate([agent[ob[remind]], agent[fb]])[keep].astype(np.int32),
        sender=np.full(int(keep.sum()), AGENT, dtype=np.int8),
        text=text[keep],
    )
