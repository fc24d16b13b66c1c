"""The dialogue model (spec §2): questions, when they open and close.

Everything here depends on messages only, not on any parameter, so the
workspace keeps `questions` materialised (kefu.metrics.derived) and KPI
queries start from it. Backend-neutral Ibis: the same code runs on DuckDB and
Spark.
"""

from __future__ import annotations

import ibis
from ibis import _

#: Within one second: transfer, buyer, bot, agent (so a same-second reply takes 0 s).
SENDER_RANK = {"transfer": 0, "buyer": 1, "bot": 2, "agent": 3}
SHOP_SIDE = ("agent", "bot")


def ordered_messages(messages: ibis.Table) -> ibis.Table:
    """Messages with `pos`, their place in the buyer's conversation with the shop (decision D1)."""
    rank = _.sender.cases(*SENDER_RANK.items(), else_=9)
    ranked = messages.select("ts", "shop", "buyer", "agent", "sender", "text", rank=rank)
    conversation = ibis.window(group_by=["shop", "buyer"], order_by=["ts", "rank", "agent", "text"])
    return ranked.mutate(pos=ibis.row_number().over(conversation), day=_.ts.date())


def mark_qualifying_transfers(ordered: ibis.Table) -> ibis.Table:
    """Add `opens_by_transfer`: a transfer made while the buyer's latest message had no shop-side reply."""
    so_far = ibis.window(group_by=["shop", "buyer"], order_by="pos", preceding=None, following=0)
    last_buyer = ibis.ifelse(_.sender == "buyer", _.pos, None).max().over(so_far)
    last_reply = ibis.ifelse(_.sender.isin(SHOP_SIDE), _.pos, None).max().over(so_far)
    pending = last_buyer.notnull() & (last_reply.isnull() | (last_reply < last_buyer))
    return ordered.mutate(opens_by_transfer=(_.sender == "transfer") & pending)


def questions(messages: ibis.Table) -> ibis.Table:
    """One row per question: shop, buyer, agent, day, open_ts, close_ts (NULL = unanswered),
    response_s, opened_by ('buyer' | 'transfer'), open_pos, first_of_day.

    A question opens at the first opening event for an account after its previous
    message to the buyer or after the start of the day (D4); it closes at the
    account's next message to that buyer.
    """
    events = mark_qualifying_transfers(ordered_messages(messages))
    # Per account: its openers (buyer messages, qualifying transfers) and its replies.
    events = events.filter((_.sender == "buyer") | _.opens_by_transfer | _.sender.isin(SHOP_SIDE))
    thread = ibis.window(group_by=["shop", "buyer", "agent"], order_by="pos")
    rest_of_thread = ibis.window(group_by=["shop", "buyer", "agent"], order_by="pos", preceding=0, following=None)
    is_reply = _.sender.isin(SHOP_SIDE)
    marked = events.mutate(
        is_reply=is_reply,
        prev_is_reply=is_reply.lag().over(thread),
        prev_day=_.day.lag().over(thread),
        close_ts=ibis.ifelse(is_reply, _.ts, None).min().over(rest_of_thread),
    )
    opens = ~marked.is_reply & (marked.prev_is_reply.isnull() | marked.prev_is_reply | (marked.prev_day != marked.day))
    found = marked.filter(opens).select(
        "shop",
        "buyer",
        "agent",
        "day",
        open_ts=_.ts,
        close_ts=_.close_ts,
        response_s=(_.close_ts.epoch_seconds() - _.ts.epoch_seconds()).cast("int64"),
        opened_by=ibis.ifelse(_.sender == "transfer", "transfer", "buyer"),
        open_pos=_.pos,
    )
    first = ibis.window(group_by=["shop", "agent", "buyer", "day"], order_by="open_pos")
    return found.mutate(first_of_day=ibis.row_number().over(first) == 0)


def bot_accounts(messages: ibis.Table, agents: ibis.Table) -> ibis.Table:
    """Accounts whose questions are never reported (D6): role bot, or sender of bot messages."""
    by_role = agents.filter(_.role == "bot").select("agent")
    by_use = messages.filter(_.sender == "bot").select("agent")
    return by_role.union(by_use, distinct=True)
