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
REPLY_RANKS = tuple(SENDER_RANK[s] for s in SHOP_SIDE)


def coded_messages(
    messages: ibis.Table, convs: ibis.Table | None = None, accts: ibis.Table | None = None
) -> ibis.Table:
    """Messages as integers: `conv` (shop, buyer), `acct` (agent, numbered in name order), `rank`, `ts`.

    Windows partitioned and sorted by integers are several times faster than
    by the strings they stand for; names are joined back onto the (fewer) results.
    """
    convs = conversations(messages) if convs is None else convs
    accts = accounts(messages) if accts is None else accts
    coded = messages.join(convs, ["shop", "buyer"]).join(accts, "agent")
    return coded.select("conv", "acct", "ts", rank=_.sender.cases(*SENDER_RANK.items(), else_=9))


def conversations(messages: ibis.Table) -> ibis.Table:
    pairs = messages.select("shop", "buyer").distinct()
    return pairs.mutate(conv=ibis.row_number().over(order_by=["shop", "buyer"]))


def accounts(messages: ibis.Table) -> ibis.Table:
    return messages.select("agent").distinct().mutate(acct=ibis.row_number().over(order_by="agent"))


def questions(messages: ibis.Table) -> ibis.Table:
    """One row per question: shop, buyer, agent, day, open_ts, close_ts (NULL = unanswered),
    response_s, opened_by ('buyer' | 'transfer'), open_pos, first_of_day.

    A question opens at the first opening event for an account after its previous
    message to the buyer or after the start of the day (D4); it closes at the
    account's next message to that buyer. Two sorts in all: the buyer's
    conversation (D1 order), then each account's thread within it.
    """
    convs, accts = conversations(messages), accounts(messages)
    coded = coded_messages(messages, convs, accts)
    # D1 order. Rows equal in (ts, rank, acct) differ only in text, and their order changes nothing here.
    conversation = dict(group_by="conv", order_by=["ts", "rank", "acct"])
    so_far = ibis.window(**conversation, preceding=None, following=0)
    # Replies in the same second as a buyer message come after it (D1), so equal times mean "replied".
    last_buyer = ibis.ifelse(_.rank == SENDER_RANK["buyer"], _.ts, None).max().over(so_far)
    last_reply = ibis.ifelse(_.rank.isin(REPLY_RANKS), _.ts, None).max().over(so_far)
    pending = last_buyer.notnull() & (last_reply.isnull() | (last_reply < last_buyer))
    coded = coded.mutate(
        pos=ibis.row_number().over(ibis.window(**conversation)),
        opens_by_transfer=(_.rank == SENDER_RANK["transfer"]) & pending,
    )
    # Per account: its openers (buyer messages, qualifying transfers) and its replies.
    events = coded.filter((_.rank == SENDER_RANK["buyer"]) | _.opens_by_transfer | _.rank.isin(REPLY_RANKS))
    events = events.mutate(is_reply=_.rank.isin(REPLY_RANKS), day=_.ts.date())
    thread = dict(group_by=["conv", "acct"], order_by="pos")
    marked = events.mutate(
        prev_is_reply=_.is_reply.lag().over(ibis.window(**thread)),
        prev_day=_.day.lag().over(ibis.window(**thread)),
        close_ts=ibis.ifelse(_.is_reply, _.ts, None).min().over(ibis.window(**thread, preceding=0, following=None)),
        # The first opener of a day is the first non-reply of that day in the thread.
        prev_opener_ts=ibis.ifelse(_.is_reply, None, _.ts).max().over(ibis.window(**thread, rows=(None, -1))),
    )
    opens = ~_.is_reply & (_.prev_is_reply.isnull() | _.prev_is_reply | (_.prev_day != _.day))
    found = marked.filter(opens).join(convs, "conv").join(accts, "acct")
    return found.select(
        "shop",
        "buyer",
        "agent",
        "day",
        open_ts=_.ts,
        close_ts=_.close_ts,
        response_s=(_.close_ts.epoch_seconds() - _.ts.epoch_seconds()).cast("int64"),
        opened_by=ibis.ifelse(_.rank == SENDER_RANK["transfer"], "transfer", "buyer"),
        open_pos=_.pos,
        first_of_day=_.prev_opener_ts.isnull() | (_.prev_opener_ts.date() < _.day),
    )


def message_counts(messages: ibis.Table) -> ibis.Table:
    """Messages per (shop, buyer, account, hour) by sender: buyer_msgs, agent_msgs, bot_msgs.

    The message counts of the KPIs, and the bot accounts, summed from about a
    tenth as many rows as there are messages.
    """

    def sent_by(sender: str) -> ibis.Value:
        return _.sender.count(where=_.sender == sender)  # a count is int64 everywhere; DuckDB sums into int128

    return messages.group_by("shop", "buyer", "agent", hour=_.ts.truncate("h")).aggregate(
        buyer_msgs=sent_by("buyer"), agent_msgs=sent_by("agent"), bot_msgs=sent_by("bot")
    )


def bot_accounts(messages: ibis.Table, agents: ibis.Table, counts: ibis.Table | None = None) -> ibis.Table:
    """Accounts whose questions are never reported (D6): role bot, or sender of bot messages
    (read from `message_counts` when given: the same accounts, from fewer rows)."""
    by_role = agents.filter(_.role == "bot").select("agent")
    by_use = counts.filter(_.bot_msgs > 0) if counts is not None else messages.filter(_.sender == "bot")
    return by_role.union(by_use.select("agent"), distinct=True)
