"""Consultations: one buyer with one human agent on one day (decision D7).

This is the unit of every buyer count: 咨询人数, 接待人数, 询单人数, 转化 …
Inquiry and conversion follow spec §3 with the windows of decisions D10/D11.
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


def consultations(questions: ibis.Table, orders: ibis.Table, params: Params) -> ibis.Table:
    """One row per consultation with first_open, answered, first_response_s (NULL when the
    first question went unanswered), any_slow, and the inquiry flags inquiry, converted,
    next_day_paid, lost. `questions` must come from `human_questions`."""
    per_day = questions.group_by(KEY).aggregate(
        first_open=_.open_ts.min(),
        answered=_.answered.any(),
        any_slow=_.slow.any(),
        first_response_s=ibis.ifelse(_.first_of_day & _.answered, _.response_s, None).max(),
    )
    bought = orders.select("shop", "buyer", o_created=_.created_at, o_paid=_.paid_at)
    joined = per_day.left_join(bought, ["shop", "buyer"])
    window_end = joined.day.cast("timestamp") + ibis.interval(days=2)
    after_sales_from = joined.first_open - ibis.interval(days=params.after_sales_days)
    in_window = (joined.o_created >= joined.first_open) & (joined.o_created < window_end)
    flags = {
        "prior_paid": (joined.o_paid >= after_sales_from) & (joined.o_paid < joined.first_open),
        "ordered": in_window,
        "converted": in_window & joined.o_paid.notnull(),
        "next_day_paid": in_window & (joined.o_paid < window_end),
    }
    flagged = joined.group_by([*KEY, "first_open", "answered", "any_slow", "first_response_s"]).aggregate(
        **{name: flag.fill_null(False).any() for name, flag in flags.items()}
    )
    inquiry = ~flagged.prior_paid
    return flagged.select(
        *KEY,
        "first_open",
        "answered",
        "any_slow",
        "first_response_s",
        inquiry=inquiry,
        converted=inquiry & flagged.converted,
        next_day_paid=inquiry & flagged.next_day_paid,
        lost=inquiry & ~flagged.ordered,
    )
