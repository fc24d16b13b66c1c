"""The rows behind an agent-day figure (`kefu explain`).

Explanations filter the very fact tables the KPIs are summed from
(kefu.metrics.kpis.facts), so a figure and its rows cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd
from ibis import _

from kefu.config import Params
from kefu.errors import NotFound
from kefu.metrics.kpis import Sources, facts, kpi_table
from kefu.metrics.registry import BY_KEY, Diff, Ratio, Sum

#: Columns shown per fact, in order.
SHOWN = {
    "questions": [
        "buyer",
        "open_ts",
        "close_ts",
        "response_s",
        "opened_by",
        "answered",
        "slow",
        "within_3min",
        "first_of_day",
    ],
    "consultations": [
        "buyer",
        "first_open",
        "answered",
        "first_response_s",
        "any_slow",
        "inquiry",
        "converted",
        "next_day_paid",
        "lost",
    ],
    "credited_orders": [
        "order_id",
        "buyer",
        "created_at",
        "paid_at",
        "amount",
        "credit_moment",
        "credit_ts",
        "credit_sender",
        "credit_text",
    ],
    "messages": ["ts", "buyer", "sender", "text"],
    "ratings": ["ts", "buyer", "score"],
    "complaints": ["ts", "buyer", "kind", "detail"],
}

#: Metrics that count some rows of a section: (section, flag, value) picks the rows that make up the number,
#: so 询单流失 lists the lost buyers, not every consultation (the CLI and the web drill-down alike).
#: A conversion rate lists its denominator, the inquiries, each with its `converted` flag.
FOCUS: dict[str, tuple[str, str, bool]] = {
    "unreplied_buyers": ("consultations", "answered", False),
    "slow_response_buyers": ("consultations", "any_slow", True),
    "inquiry_buyers": ("consultations", "inquiry", True),
    "converted_buyers": ("consultations", "converted", True),
    "next_day_paid_buyers": ("consultations", "next_day_paid", True),
    "lost_buyers": ("consultations", "lost", True),
    "inquiry_conversion": ("consultations", "inquiry", True),
    "next_day_conversion": ("consultations", "inquiry", True),
    "slow_responses": ("questions", "slow", True),
    "unanswered_questions": ("questions", "answered", False),
    "answered_questions": ("questions", "answered", True),
}


@dataclass
class Explanation:
    agent: str
    day: dt.date
    metric: str | None
    value: object
    sections: dict[str, pd.DataFrame]  # fact name -> its rows for the agent and day
    lost_chats: dict[str, pd.DataFrame]  # buyer -> that day's chat, for lost inquiries


def measures_of(metric: str) -> list[str]:
    f = BY_KEY[metric].formula
    if isinstance(f, Sum):
        return [f.measure]
    if isinstance(f, Diff):
        return [f.minuend, f.subtrahend]
    assert isinstance(f, Ratio)
    return [f.numerator, f.denominator]


def focus(metric: str | None, section: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of `section` that make up `metric`'s number (FOCUS); every row for other metrics and sections."""
    if metric not in FOCUS or FOCUS[metric][0] != section or rows.empty:
        return rows
    _, flag, value = FOCUS[metric]
    return rows[rows[flag].astype(bool) == value].reset_index(drop=True)


def explain(
    src: Sources, agent: str, day: dt.date, metric: str | None = None, params: Params = Params()
) -> Explanation:
    if metric is not None and (metric not in BY_KEY or BY_KEY[metric].shop_level):
        raise NotFound(f"unknown agent metric {metric!r}")
    all_facts = facts(src, params)
    wanted = measures_of(metric) if metric else None
    sections = {}
    for name, fact in all_facts.items():
        if wanted is not None and not set(wanted) & set(fact.measures):
            continue
        rows = fact.rows.filter((_.agent == agent) & (fact.rows[fact.ts].date() == day))
        if name == "credited_orders":
            rows = _with_winning_message(rows, src.messages)
        sections[name] = focus(metric, name, rows.select(*SHOWN[name]).order_by(SHOWN[name][:2]).execute())
    value = _value(src, agent, day, metric, params) if metric else None
    lost = sections.get("consultations") if metric in (None, "lost_buyers") else None  # the chats explain 询单流失
    lost_buyers = list(lost.loc[lost["lost"], "buyer"]) if lost is not None else []
    return Explanation(agent, day, metric, value, sections, _chats(src, agent, day, lost_buyers))


def _with_winning_message(orders: ibis.Table, messages: ibis.Table) -> ibis.Table:
    """The message that won each order's credit: the last exchange at credit_ts (D1 order)."""
    msgs = messages.filter(_.sender.isin(("buyer", "agent"))).select(
        m_shop=_.shop, m_buyer=_.buyer, m_agent=_.agent, m_ts=_.ts, credit_sender=_.sender, credit_text=_.text
    )
    joined = orders.left_join(
        msgs,
        [
            orders.shop == msgs.m_shop,
            orders.buyer == msgs.m_buyer,
            orders.agent == msgs.m_agent,
            orders.credit_ts == msgs.m_ts,
        ],
    )
    # Same second: an agent message comes after a buyer message (D1), so it is the last exchange.
    last = ibis.window(
        group_by=["shop", "order_id"], order_by=[ibis.desc(joined.credit_sender == "agent"), ibis.desc("credit_text")]
    )
    return joined.filter(ibis.row_number().over(last) == 0)


def _value(src: Sources, agent: str, day: dt.date, metric: str, params: Params) -> object:
    table = kpi_table(src, ["agent", "day"], params, day, day).filter(_.agent == agent)
    result = table.select(metric).execute()
    return None if result.empty else result.iloc[0, 0]


def _chats(src: Sources, agent: str, day: dt.date, buyers: list[str]) -> dict[str, pd.DataFrame]:
    if not buyers:
        return {}
    chat = src.messages.filter((_.agent == agent) & _.buyer.isin(buyers) & (_.ts.date() == day))
    frame = chat.select("buyer", "ts", "sender", "text").order_by(["buyer", "ts"]).execute()
    return {
        buyer: rows.drop(columns="buyer").reset_index(drop=True) for buyer, rows in frame.groupby("buyer", sort=True)
    }
