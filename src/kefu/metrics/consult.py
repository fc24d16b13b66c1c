"""Consultations: one buyer with one human agent on one day (decision D7).

This is the unit of every buyer count: 咨询人数, 接待人数, 询单人数, 转化 …
Inquiry and conversion follow spec §3 with the windows of decisions D10/D11.

`consultation_facts` holds everything that no parameter changes, so the
workspace keeps it materialised (kefu.metrics.derived); `consultations`
applies the parameters (slow threshold, after-sales days) to it at query time.
"""

from __future__ import annotations

import ibis
from ibis import _

from kefu.config import Params

KEY = ["shop", "agent", "buyer", "day"]


def human_questions(questions: ibis.Table, bots: ibis.Table, params: Params) -> ibis.Table:
    """Questions of human accounts with `answered`, `slow` and `within_3min` flags."""
    answered = _.close_ts.notnull()
    return questions.anti_join(bots, "agent").mutate(
        answered=answered,
        slow=answered & (_.response_s > params.slow_threshold_s),
        within_3min=answered & (_.response_s <= 180),
    )


def consultation_facts(questions: ibis.Table, orders: ibis.Table) -> ibis.Table:
    """One row per consultation of any account (bots included), from `dialogue.questions`:
    first_open, answered, first_response_s (NULL when the first question went unanswered),
    max_response_s (the slowest answered question), the order flags ordered, converted,
    next_day_paid (orders created from first_open to the end of the next day, D10/D11),
    and last_paid_before (the buyer's latest payment before first_open, for the after-sales test)."""
    answered = _.close_ts.notnull()
    per_day = questions.group_by(KEY).aggregate(
        first_open=_.open_ts.min(),
        answered=answered.any(),
        max_response_s=ibis.ifelse(answered, _.response_s, None).max(),
        first_response_s=ibis.ifelse(_.first_of_day & answered, _.response_s, None).max(),
    )
    bought = orders.select("shop", "buyer", o_created=_.created_at, o_paid=_.paid_at)
    joined = per_day.left_join(bought, ["shop", "buyer"])
    window_end = joined.day.cast("timestamp") + ibis.interval(days=2)
    in_window = (joined.o_created >= joined.first_open) & (joined.o_created < window_end)
    flags = {
        "ordered": in_window,
        "converted": in_window & joined.o_paid.notnull(),
        "next_day_paid": in_window & (joined.o_paid < window_end),
    }
    return joined.group_by([*KEY, "first_open", "answered", "max_response_s", "first_response_s"]).aggregate(
        **{name: flag.fill_null(False).any() for name, flag in flags.items()},
        last_paid_before=ibis.ifelse(joined.o_paid < joined.first_open, joined.o_paid, None).max(),
    )


def consultations(facts: ibis.Table, bots: ibis.Table, params: Params) -> ibis.Table:
    """One row per consultation of a human agent with first_open, answered, first_response_s,
    any_slow, and the inquiry flags inquiry, converted, next_day_paid, lost."""
    facts = facts.anti_join(bots, "agent")
    after_sales_from = facts.first_open - ibis.interval(days=params.after_sales_days)
    inquiry = ~(facts.last_paid_before >= after_sales_from).fill_null(False)
    return facts.select(
        *KEY,
        "first_open",
        "answered",
        "first_response_s",
        any_slow=(facts.max_response_s > params.slow_threshold_s).fill_null(False),
        inquiry=inquiry,
        converted=inquiry & facts.converted,
        next_day_paid=inquiry & facts.next_day_paid,
        lost=inquiry & ~facts.ordered,
    )
