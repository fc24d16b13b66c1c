"""Hand-computed cases for the plain-pandas reference KPIs.

Every expected number is derived in the comments from spec §2-§4 and
docs/decisions.md; the reference is then used to check the real engine on
random data, so these cases pin the reference itself.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from kefu.testing.reference_pandas import (
    OUTPUT_COLUMNS,
    SILENT_COLUMNS,
    RefParams,
    agent_day_kpis,
    shop_day_silent,
)

NAN = None  # expected value of a ratio whose denominator is 0


def ts(s: str) -> pd.Timestamp:
    """'11 10:00:00' -> 2026-11-11 10:00:00; full dates pass through."""
    return pd.Timestamp(s if "-" in s else f"2026-11-{s}")


def msgs(*rows: tuple) -> pd.DataFrame:
    """rows: (ts, sender, agent[, buyer='b1']) in shop 's'."""
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([ts(r[0]) for r in rows]),
            "shop": "s",
            "buyer": [r[3] if len(r) > 3 else "b1" for r in rows],
            "agent": [r[2] for r in rows],
            "sender": [r[1] for r in rows],
            "text": "",
        }
    )


def orders(*rows: tuple) -> pd.DataFrame:
    """rows: (order_id, buyer, created_at, paid_at or None, amount)."""
    return pd.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "shop": "s",
            "buyer": [r[1] for r in rows],
            "created_at": pd.to_datetime([ts(r[2]) for r in rows]),
            "paid_at": pd.to_datetime([ts(r[3]) if r[3] else pd.NaT for r in rows]),
            "amount": [float(r[4]) for r in rows],
            "status": "paid",
        }
    )


NO_ORDERS = orders(("x", "nobody", "2026-01-01 00:00:00", None, 0)).iloc[:0]


def row(out: pd.DataFrame, agent: str, day: str) -> dict:
    hit = out[(out["agent"] == agent) & (out["day"] == f"2026-11-{day}")]
    assert len(hit) == 1, f"expected one row for {agent} on {day}, got\n{out}"
    return hit.iloc[0].to_dict()


def check(r: dict, **expected: object) -> None:
    for key, want in expected.items():
        got = r[key]
        if want is NAN:
            assert got is None or (isinstance(got, float) and math.isnan(got)), (key, got)
        elif isinstance(want, float):
            assert got == pytest.approx(want), (key, got, want)
        else:
            assert got == want, (key, got, want)


# ---------------------------------------------------------------------------
# spec §6


def test_spec_worked_example_every_value() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:00:05", "buyer", "s:ann"),
        ("11 10:00:20", "agent", "s:ann"),
        ("11 10:00:30", "agent", "s:ann"),
        ("11 10:05:00", "buyer", "s:ann"),
        ("11 10:06:40", "agent", "s:ann"),
    )
    o = orders(("o1", "b1", "11 10:07:00", "11 10:08:00", 199.00))
    out = agent_day_kpis(m, o)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert len(out) == 1
    # questions: 10:00:00-10:00:20 (20 s), 10:05:00-10:06:40 (100 s, slow)
    check(
        row(out, "s:ann", "11"),
        shop="s", consult_buyers=1, received_buyers=1, unreplied_buyers=0, reply_rate=1.0,
        buyer_msgs=3, agent_msgs=3, answer_ratio=1.0,
        questions=2, answered_questions=2, unanswered_questions=0,
        avg_response_s=60.0, avg_first_response_s=20.0,  # (20+100)/2; first = 20
        slow_responses=1, slow_response_buyers=1,
        inquiry_buyers=1, converted_buyers=1, inquiry_conversion=1.0,
        next_day_paid_buyers=1, next_day_conversion=1.0, lost_buyers=0,
        # D16: both 20 s and 100 s are within 180 s -> 1.0 (the spec prints 0.5)
        rate_3min=1.0,
        attributed_orders=1, sales_amount=199.0, avg_order_value=199.0,
        ratings=0, satisfaction_rate=NAN, complaints=0,
    )  # fmt: skip
    silent = shop_day_silent(m, o)
    assert list(silent.columns) == SILENT_COLUMNS
    assert silent.to_dict("records") == [
        {"shop": "s", "day": "2026-11-11", "silent_orders": 0, "silent_sales": 0.0,
         "consulted_sales": 199.0, "paid_sales": 199.0, "consulted_sales_share": 1.0}
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# questions (§2, D1, D4, D5, D6)


def test_question_across_midnight_belongs_to_its_open_day() -> None:
    m = msgs(("11 23:59:30", "buyer", "s:ann"), ("12 00:00:30", "agent", "s:ann"))
    out = agent_day_kpis(m, NO_ORDERS)
    # opened 23:59:30 on the 11th, closed 00:00:30 on the 12th: 60 s, not slow (> 60 is slow)
    check(
        row(out, "s:ann", "11"),
        questions=1, answered_questions=1, avg_response_s=60.0, avg_first_response_s=60.0,
        consult_buyers=1, received_buyers=1, slow_responses=0, rate_3min=1.0,
        buyer_msgs=1, agent_msgs=0, answer_ratio=0.0,
        inquiry_buyers=1, lost_buyers=1,  # no order at all
    )  # fmt: skip
    # the 12th only has the reply: a sent message, no question
    check(
        row(out, "s:ann", "12"),
        questions=0, consult_buyers=0, buyer_msgs=0, agent_msgs=1,
        answer_ratio=NAN, reply_rate=NAN, avg_response_s=NAN, rate_3min=NAN, inquiry_conversion=NAN,
    )  # fmt: skip


def test_day_start_opens_a_new_question_while_yesterdays_is_open() -> None:
    m = msgs(
        ("11 23:50:00", "buyer", "s:ann"),
        ("12 09:00:00", "buyer", "s:ann"),
        ("12 09:00:10", "buyer", "s:ann"),
        ("12 09:01:00", "agent", "s:ann"),
    )
    out = agent_day_kpis(m, NO_ORDERS)
    # D4: both questions close at 12 09:01:00.
    # 11th: 23:50:00 -> 12 09:01:00 = 10 min + 9 h 1 min = 33060 s, slow, not within 3 min
    check(
        row(out, "s:ann", "11"),
        questions=1, answered_questions=1, avg_response_s=33060.0, avg_first_response_s=33060.0,
        slow_responses=1, slow_response_buyers=1, rate_3min=0.0, buyer_msgs=1, agent_msgs=0,
    )  # fmt: skip
    # 12th: 09:00:00 -> 09:01:00 = 60 s (09:00:10 opens nothing)
    check(
        row(out, "s:ann", "12"),
        questions=1, answered_questions=1, avg_response_s=60.0, slow_responses=0,
        rate_3min=1.0, buyer_msgs=2, agent_msgs=1, answer_ratio=0.5, consult_buyers=1,
    )  # fmt: skip


def test_transfer_with_a_pending_question_opens_at_the_transfer() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann"),  # ann never answers
        ("11 10:01:00", "transfer", "s:bob"),  # latest buyer msg unreplied -> qualifies
        ("11 10:01:30", "agent", "s:bob"),  # closes bob's question: 30 s
        ("11 10:02:00", "buyer", "s:bob"),
        ("11 10:02:10", "agent", "s:bob"),  # 10 s
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(
        row(out, "s:ann", "11"),
        questions=1, answered_questions=0, unanswered_questions=1, consult_buyers=1,
        received_buyers=0, unreplied_buyers=1, reply_rate=0.0, avg_response_s=NAN,
        avg_first_response_s=NAN, rate_3min=0.0, buyer_msgs=1, agent_msgs=0,
    )  # fmt: skip
    check(
        row(out, "s:bob", "11"),
        questions=2, answered_questions=2, avg_response_s=20.0, avg_first_response_s=30.0,
        consult_buyers=1, received_buyers=1, buyer_msgs=1, agent_msgs=2, answer_ratio=2.0,
    )  # fmt: skip


def test_transfer_without_a_pending_question_opens_nothing() -> None:
    m = msgs(
        ("11 09:00:00", "transfer", "s:bob", "b2"),  # b2 never wrote: does not qualify
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:00:20", "agent", "s:ann"),  # replied
        ("11 10:01:00", "transfer", "s:bob"),  # does not qualify (D5)
        ("11 10:03:00", "buyer", "s:bob"),  # opens bob's question
        ("11 10:03:45", "agent", "s:bob"),  # 45 s
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(row(out, "s:ann", "11"), questions=1, avg_response_s=20.0)
    check(
        row(out, "s:bob", "11"),
        questions=1, consult_buyers=1, avg_response_s=45.0, avg_first_response_s=45.0,
        buyer_msgs=1, agent_msgs=1,
    )  # fmt: skip


def test_transfer_while_already_open_keeps_the_earlier_clock() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:bob"),
        ("11 10:02:00", "transfer", "s:bob"),  # qualifies, but bob's question is open (D5)
        ("11 10:03:00", "agent", "s:bob"),  # 180 s from 10:00:00 (not 60 s from the transfer)
        ("11 11:00:00", "buyer", "s:bob", "b2"),
        ("11 11:03:01", "agent", "s:bob", "b2"),  # 181 s
    )
    out = agent_day_kpis(m, NO_ORDERS)
    # rate_3min: 180 s is within 3 min, 181 s is not -> 1/2
    check(
        row(out, "s:bob", "11"),
        questions=2, answered_questions=2, avg_response_s=180.5, slow_responses=2,
        slow_response_buyers=2, rate_3min=0.5, consult_buyers=2,
    )  # fmt: skip


def test_each_transfer_after_one_unreplied_message_qualifies() -> None:
    # R4: a transfer is not a reply
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:01:00", "transfer", "s:bob"),
        ("11 10:02:00", "transfer", "s:cat"),
        ("11 10:03:00", "agent", "s:cat"),  # cat: 10:02 -> 10:03 = 60 s
        ("11 10:05:00", "agent", "s:bob"),  # bob: 10:01 -> 10:05 = 240 s (cat's reply does not close it)
        ("11 10:06:00", "transfer", "s:dan"),  # replied since 10:00: nothing
    )
    out = agent_day_kpis(m, NO_ORDERS)
    assert out["agent"].tolist() == ["s:ann", "s:bob", "s:cat"]
    check(row(out, "s:ann", "11"), questions=1, unanswered_questions=1)
    check(row(out, "s:bob", "11"), questions=1, avg_response_s=240.0, rate_3min=0.0, buyer_msgs=0)
    check(row(out, "s:cat", "11"), questions=1, avg_response_s=60.0, rate_3min=1.0)


def test_transfer_after_midnight_opens_the_new_days_question() -> None:
    # R5: the transfer is ann's first opening event of the 12th
    m = msgs(
        ("11 23:50:00", "buyer", "s:ann"),
        ("12 00:10:00", "transfer", "s:ann"),  # latest buyer msg (23:50) unreplied
        ("12 00:12:00", "buyer", "s:ann"),  # same segment: opens nothing
        ("12 00:15:00", "agent", "s:ann"),
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(row(out, "s:ann", "11"), questions=1, avg_response_s=1500.0)  # 23:50 -> 00:15
    check(row(out, "s:ann", "12"), questions=1, avg_response_s=300.0, buyer_msgs=1)  # 00:10 -> 00:15


def test_inquiry_is_judged_per_agent_from_its_own_first_question() -> None:
    # R8: b1 asks ann, pays, then asks bob
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:00:30", "agent", "s:ann"),
        ("11 11:00:00", "buyer", "s:bob"),
        ("11 11:00:30", "agent", "s:bob"),
    )
    o = orders(("o1", "b1", "11 10:20:00", "11 10:30:00", 60))
    out = agent_day_kpis(m, o)
    # ann: first_open 10:00, no earlier paid order -> inquiry; o1 in window -> converted; credited
    check(row(out, "s:ann", "11"), inquiry_buyers=1, converted_buyers=1, attributed_orders=1)
    # bob: first_open 11:00, o1 paid 10:30 within 15 days before -> after-sales
    check(row(out, "s:bob", "11"), consult_buyers=1, inquiry_buyers=0, converted_buyers=0, lost_buyers=0)


def test_bot_dialogue_then_transfer() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:bot"),
        ("11 10:00:01", "bot", "s:bot"),  # s:bot sends bot messages -> a bot account (D6)
        ("11 10:00:30", "buyer", "s:bot"),  # "转人工", unreplied
        ("11 10:00:31", "transfer", "s:ann"),  # qualifies: ann's question opens 10:00:31
        ("11 10:00:50", "agent", "s:ann"),  # 19 s
        ("11 10:04:00", "buyer", "s:bot"),  # not an exchange for credit (D13)
        ("11 10:00:00", "buyer", "s:robot", "b2"),  # role bot in the agents table
    )
    agents = pd.DataFrame({"agent": ["s:ann", "s:robot"], "shop": "s", "role": ["presales", "bot"]})
    o = orders(("o1", "b1", "11 10:05:00", "11 10:06:00", 30))
    out = agent_day_kpis(m, o, agents)
    assert out["agent"].tolist() == ["s:ann"]  # bot accounts are never reported
    # credit: last human exchange before 10:05 is ann's 10:00:50 message
    check(
        row(out, "s:ann", "11"),
        questions=1, avg_response_s=19.0, avg_first_response_s=19.0, consult_buyers=1,
        buyer_msgs=0, agent_msgs=1, answer_ratio=NAN, inquiry_buyers=1, converted_buyers=1,
        attributed_orders=1, sales_amount=30.0,
    )  # fmt: skip


def test_bot_reply_before_transfer_means_no_question() -> None:
    m = msgs(
        ("11 10:00:30", "buyer", "s:bot"),
        ("11 10:00:31", "bot", "s:bot"),  # shop-side reply (D6)
        ("11 10:00:32", "transfer", "s:ann"),  # does not qualify
        ("11 10:00:50", "agent", "s:ann"),  # a sent message, opens/answers nothing
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(row(out, "s:ann", "11"), questions=0, consult_buyers=0, agent_msgs=1)


def test_same_second_question_and_reply_is_zero_seconds() -> None:
    # rows given in the "wrong" order: D1 puts transfer, buyer, bot, agent
    m = msgs(
        ("11 10:00:00", "agent", "s:ann"),
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:00:00", "transfer", "s:ann"),  # before the buyer message: nothing pending
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(
        row(out, "s:ann", "11"),
        questions=1, answered_questions=1, avg_response_s=0.0, avg_first_response_s=0.0,
        rate_3min=1.0, received_buyers=1, buyer_msgs=1, agent_msgs=1,
    )  # fmt: skip


def test_proactive_agent_message_opens_nothing() -> None:
    m = msgs(
        ("11 10:00:00", "agent", "s:ann"),  # payment reminder
        ("11 10:05:00", "buyer", "s:ann"),
        ("11 10:05:30", "agent", "s:ann"),  # 30 s from 10:05:00
    )
    out = agent_day_kpis(m, NO_ORDERS)
    check(
        row(out, "s:ann", "11"),
        questions=1, avg_response_s=30.0, agent_msgs=2, buyer_msgs=1, answer_ratio=2.0,
    )  # fmt: skip
    only = agent_day_kpis(m.iloc[:1], NO_ORDERS)
    check(row(only, "s:ann", "11"), questions=0, consult_buyers=0, agent_msgs=1, reply_rate=NAN)


# ---------------------------------------------------------------------------
# inquiry and conversion (§3, D10, D11)


def test_unpaid_order_is_neither_converted_nor_lost() -> None:
    m = msgs(("11 10:00:00", "buyer", "s:ann"), ("11 10:00:10", "agent", "s:ann"))
    o = orders(("o1", "b1", "11 10:10:00", None, 50))
    out = agent_day_kpis(m, o)
    check(
        row(out, "s:ann", "11"),
        inquiry_buyers=1, converted_buyers=0, next_day_paid_buyers=0, lost_buyers=0,
        inquiry_conversion=0.0, next_day_conversion=0.0,
        attributed_orders=0, sales_amount=0.0, avg_order_value=NAN,
    )  # fmt: skip
    assert shop_day_silent(m, o).empty  # no paid order at all


def test_after_sales_consultation_is_not_an_inquiry() -> None:
    # first question of every buyer opens 2026-11-11 10:00:00; 15 days before
    # is 2026-10-27 10:00:00 (D10: [first_open - 15 d, first_open)).
    m = msgs(*[("11 10:00:00", "buyer", "s:ann", b) for b in ("b1", "b2", "b3", "b4")])
    o = orders(
        ("p1", "b1", "2026-11-01 09:00:00", "2026-11-01 09:00:00", 10),  # 10 days before
        ("p2", "b2", "2026-10-27 09:00:00", "2026-10-27 10:00:00", 10),  # exactly 15 d
        ("p3", "b3", "2026-10-27 09:00:00", "2026-10-27 09:59:59", 10),  # 15 d + 1 s
        ("p4", "b4", "11 09:00:00", "11 10:00:00", 10),  # paid in the same second: not before
    )
    out = agent_day_kpis(m, o)
    # b1, b2 after-sales; b3, b4 pre-sale. Their orders were created before
    # first_open, so they are outside the conversion window -> both lost.
    check(
        row(out, "s:ann", "11"),
        consult_buyers=4, inquiry_buyers=2, converted_buyers=0, lost_buyers=2,
        inquiry_conversion=0.0,
        # p4 (order_first): no message before its created_at 09:00, but b4's
        # message is in the same second as its paid_at 10:00:00 -> credited (D2).
        # p1-p3 have no message within 72 h before them: silent.
        attributed_orders=1, sales_amount=10.0,
    )  # fmt: skip
    assert len(out) == 1


def test_conversion_window_and_next_day_payment() -> None:
    m = msgs(*[("11 10:00:00", "buyer", "s:ann", b) for b in ("b1", "b2", "b3", "b4", "b5", "b6")])
    o = orders(
        # created 12 23:00 (window ends 13 00:00), paid 13 00:30: converted, not next-day
        ("o1", "b1", "12 23:00:00", "13 00:30:00", 1),
        # created 13 00:00:00 = end of window: outside -> lost even though paid
        ("o2", "b2", "13 00:00:00", "13 00:00:01", 1),
        # created and paid on the 12th: converted and next-day
        ("o3", "b3", "12 10:00:00", "12 11:00:00", 1),
        # created in the same second as the first question: in the window
        ("o4", "b4", "11 10:00:00", "11 10:00:05", 1),
        # b5: two orders in the window, one unpaid, one paid late -> converted only
        ("o5", "b5", "11 11:00:00", None, 1),
        ("o6", "b5", "12 12:00:00", "15 12:00:00", 1),
        # b6: created at 12 00:00:00 (in the window), paid at 13 00:00:00 = the
        # end of the next day: converted, not next-day
        ("o7", "b6", "12 00:00:00", "13 00:00:00", 1),
    )
    out = agent_day_kpis(m, o)
    # converted: b1 b3 b4 b5 b6; next-day: b3 b4; lost: b2
    check(
        row(out, "s:ann", "11"),
        inquiry_buyers=6, converted_buyers=5, next_day_paid_buyers=2, lost_buyers=1,
        inquiry_conversion=5 / 6, next_day_conversion=2 / 6,
        # every order has ann's 11 10:00 message within 72 h before it, and is
        # counted on its payment day: only o4 was paid on the 11th
        attributed_orders=1, sales_amount=1.0,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# order credit (§4, D2, D13)


def test_attribution_window_is_inclusive_to_the_second() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann", "b1"),
        ("11 10:00:00", "buyer", "s:ann", "b2"),
    )
    o = orders(
        ("o1", "b1", "14 10:00:00", "14 10:00:00", 10),  # exactly 72 h: credited
        ("o2", "b2", "14 10:00:01", "14 10:00:01", 20),  # 72 h + 1 s: silent
    )
    out = agent_day_kpis(m, o)
    check(row(out, "s:ann", "14"), attributed_orders=1, sales_amount=10.0, questions=0)
    # orders created on the 14th are outside both inquiries' windows
    check(row(out, "s:ann", "11"), inquiry_buyers=2, lost_buyers=2, attributed_orders=0)
    silent = shop_day_silent(m, o).iloc[0].to_dict()
    assert silent == {
        "shop": "s", "day": "2026-11-14", "silent_orders": 1, "silent_sales": 20.0,
        "consulted_sales": 10.0, "paid_sales": 30.0, "consulted_sales_share": pytest.approx(1 / 3),
    }  # fmt: skip
    # with a 1-hour window nothing is credited
    out1 = agent_day_kpis(m, o, params=RefParams(attribution_hours=1))
    assert out1["day"].tolist() == ["2026-11-11"]


CREDIT_MSGS = msgs(
    ("11 10:00:00", "buyer", "s:ann"),
    ("11 10:00:10", "agent", "s:ann"),
    ("11 10:08:00", "transfer", "s:bob"),  # ann replied: no question for bob
    ("11 10:15:00", "agent", "s:bob"),  # in the same second as o1's payment (D2: before)
)
CREDIT_ORDERS = orders(
    ("o1", "b1", "11 10:05:00", "11 10:15:00", 100),  # order -> ann, payment -> bob
    ("o2", "b1", "11 09:00:00", "11 10:20:00", 50),  # order -> nobody, payment -> bob
)


@pytest.mark.parametrize(
    ("rule", "ann", "bob", "silent"),
    [
        ("order", (1, 100.0), (0, 0.0), (1, 50.0)),
        ("payment", (0, 0.0), (2, 150.0), (0, 0.0)),
        ("order_first", (1, 100.0), (1, 50.0), (0, 0.0)),
    ],
)
def test_each_credit_rule(rule: str, ann: tuple, bob: tuple, silent: tuple) -> None:
    p = RefParams(credit_rule=rule)
    out = agent_day_kpis(CREDIT_MSGS, CREDIT_ORDERS, params=p)
    check(row(out, "s:ann", "11"), attributed_orders=ann[0], sales_amount=ann[1])
    check(row(out, "s:bob", "11"), attributed_orders=bob[0], sales_amount=bob[1])
    # one buyer -> avg_order_value = sales (or NaN without orders)
    check(row(out, "s:bob", "11"), avg_order_value=bob[1] if bob[0] else NAN)
    s = shop_day_silent(CREDIT_MSGS, CREDIT_ORDERS, params=p).iloc[0]
    assert (s["silent_orders"], s["silent_sales"]) == silent
    assert s["consulted_sales"] + s["silent_sales"] == s["paid_sales"] == 150.0


def test_same_second_exchanges_the_d1_last_one_wins() -> None:
    m = msgs(
        ("11 10:00:00", "agent", "s:bob", "b1"),
        ("11 10:00:00", "agent", "s:ann", "b1"),  # agent rank ties: s:bob sorts after s:ann
        ("11 10:00:00", "agent", "s:ann", "b2"),
        ("11 10:00:00", "buyer", "s:bob", "b2"),  # buyer before agent in the same second
    )
    o = orders(("o1", "b1", "11 10:00:00", "11 10:00:00", 1), ("o2", "b2", "11 10:00:00", "11 10:00:00", 2))
    out = agent_day_kpis(m, o)
    check(row(out, "s:bob", "11"), attributed_orders=1, sales_amount=1.0)
    check(row(out, "s:ann", "11"), attributed_orders=1, sales_amount=2.0)


def test_buyer_with_two_agents_both_convert_money_credited_once() -> None:
    m = msgs(
        ("11 10:00:00", "buyer", "s:ann"),
        ("11 10:00:30", "agent", "s:ann"),
        ("11 11:00:00", "buyer", "s:bob"),
        ("11 11:00:20", "agent", "s:bob"),
    )
    o = orders(("o1", "b1", "11 11:30:00", "11 11:31:00", 88))
    out = agent_day_kpis(m, o)
    both = dict(inquiry_buyers=1, converted_buyers=1, next_day_paid_buyers=1, lost_buyers=0)
    check(row(out, "s:ann", "11"), **both, attributed_orders=0, sales_amount=0.0)
    # last exchange before 11:30 is bob's 11:00:20 message
    check(row(out, "s:bob", "11"), **both, attributed_orders=1, sales_amount=88.0)
    assert out["sales_amount"].sum() == shop_day_silent(m, o)["paid_sales"].sum() == 88.0


def test_order_value_counts_distinct_buyers_and_decimal_amounts() -> None:
    m = msgs(("11 10:00:00", "buyer", "s:ann", "b1"), ("11 10:00:00", "buyer", "s:ann", "b2"))
    o = orders(
        ("o1", "b1", "11 10:01:00", "11 10:02:00", 0),
        ("o2", "b1", "11 10:03:00", "11 10:04:00", 0),
        ("o3", "b2", "11 10:05:00", "11 10:06:00", 0),
    )
    o["amount"] = [Decimal("0.10"), Decimal("0.20"), Decimal("99.99")]
    out = agent_day_kpis(m, o)
    # 0.10 + 0.20 + 99.99 = 100.29 over 2 buyers = 50.145, half a fen rounds up
    check(row(out, "s:ann", "11"), attributed_orders=3, sales_amount=100.29, avg_order_value=50.15)
    assert row(out, "s:ann", "11")["sales_amount"] == 100.29


# ---------------------------------------------------------------------------
# ratings, complaints, output shape


def test_ratings_and_complaints_make_rows_of_their_own() -> None:
    m = msgs(("11 10:00:00", "buyer", "s:ann"), ("11 10:00:00", "bot", "s:bot"))
    r = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-11-12 09:00:00", "2026-11-12 10:00:00", "2026-11-12 11:00:00"]),
            "shop": "s", "buyer": "b1", "agent": ["s:ann", "s:ann", "s:bot"], "score": [5, 3, 1],
        }
    )  # fmt: skip
    c = pd.DataFrame({"ts": pd.to_datetime(["2026-11-13 09:00:00"]), "shop": "s", "agent": "s:cat"})
    out = agent_day_kpis(m, NO_ORDERS, ratings=r, complaints=c)
    assert out[["agent", "day"]].values.tolist() == [
        ["s:ann", "2026-11-11"], ["s:ann", "2026-11-12"], ["s:cat", "2026-11-13"],
    ]  # fmt: skip
    check(row(out, "s:ann", "12"), ratings=2, satisfaction_rate=0.5, complaints=0, questions=0)
    check(row(out, "s:cat", "13"), complaints=1, ratings=0, satisfaction_rate=NAN)


def test_output_types_and_empty_input() -> None:
    out = agent_day_kpis(CREDIT_MSGS, CREDIT_ORDERS)
    assert out["day"].tolist() == ["2026-11-11", "2026-11-11"]
    assert out["agent"].tolist() == ["s:ann", "s:bob"]
    for c in ("consult_buyers", "questions", "attributed_orders", "complaints"):
        assert out[c].dtype == np.int64
    empty = agent_day_kpis(CREDIT_MSGS.iloc[:0], NO_ORDERS)
    assert list(empty.columns) == OUTPUT_COLUMNS and empty.empty
    assert shop_day_silent(CREDIT_MSGS.iloc[:0], NO_ORDERS).empty


# ---------------------------------------------------------------------------
# invariants on random data


def _random(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Small random data on a coarse grid (whole hours plus a few offsets), so
    that same-second ties, midnights and exact window boundaries (hours,
    days) actually happen."""
    rng = np.random.default_rng(seed)
    offsets = np.array([0, 0, 0, 0, 1, 20, 60, 61, 180, 181, 900])
    grid = rng.integers(0, 3 * 24, n) * 3600 + rng.choice(offsets, n)
    buyers = [f"b{i}" for i in range(12)]
    m = pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-11-10") + pd.to_timedelta(grid, "s"),
            "shop": rng.choice(["s", "t"], n, p=[0.8, 0.2]),
            "buyer": rng.choice(buyers, n),
            "agent": rng.choice(["a1", "a2", "a3", "bot"], n),
            "sender": rng.choice(["buyer", "buyer", "agent", "transfer"], n),
            "text": "",
        }
    )
    is_bot = (m["agent"] == "bot").to_numpy()
    m.loc[is_bot, "sender"] = rng.choice(["buyer", "bot", "transfer"], int(is_bot.sum()))
    k = 60
    created = pd.Timestamp("2026-11-09") + pd.to_timedelta(
        rng.integers(0, 5 * 24, k) * 3600 + rng.choice([0, 0, 1], k), "s"
    )
    paid = created + pd.to_timedelta(rng.integers(0, 48, k) * 3600 + rng.choice([0, 0, 1], k), "s")
    o = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(k)],
            "shop": rng.choice(["s", "t"], k, p=[0.8, 0.2]),
            "buyer": rng.choice(buyers, k),
            "created_at": created,
            "paid_at": paid.where(rng.random(k) < 0.7),
            "amount": rng.integers(1, 50_000, k) / 100,
        }
    )
    return m, o


RANDOM_PARAMS = [
    RefParams(),
    RefParams(slow_threshold_s=30, after_sales_days=1, attribution_hours=5, credit_rule="order"),
    RefParams(after_sales_days=2, attribution_hours=10, credit_rule="payment"),
]


def test_fallback_code_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sparse agent-day grid and two-key D1 sort give the same result."""
    from kefu.testing import reference_pandas

    m, o = _random(7)
    fast = agent_day_kpis(m, o)
    monkeypatch.setattr(reference_pandas._Tally, "DENSE_LIMIT", 0)
    monkeypatch.setattr(reference_pandas, "_ONE_KEY_LIMIT", 0)
    pd.testing.assert_frame_equal(agent_day_kpis(m, o), fast)


@pytest.mark.parametrize("seed", range(3))
def test_invariants_on_random_data(seed: int) -> None:
    m, o = _random(seed)
    for p in RANDOM_PARAMS:
        out = agent_day_kpis(m, o, params=p)
        # input row order does not matter
        shuffled = agent_day_kpis(m.sample(frac=1, random_state=seed), o.sample(frac=1, random_state=1), params=p)
        pd.testing.assert_frame_equal(out, shuffled)
        assert "bot" not in set(out["agent"])
        assert (out["received_buyers"] <= out["consult_buyers"]).all()
        assert (out["consult_buyers"] <= out["questions"]).all()
        assert (out["converted_buyers"] + out["lost_buyers"] <= out["inquiry_buyers"]).all()
        assert (out["next_day_paid_buyers"] <= out["converted_buyers"]).all()
        assert (out["slow_response_buyers"] <= out["slow_responses"]).all()
        sil = shop_day_silent(m, o, params=p)
        # each paid order is credited at most once: agents' sales add up
        assert out["sales_amount"].sum() == pytest.approx(sil["consulted_sales"].sum())
        assert out["attributed_orders"].sum() + sil["silent_orders"].sum() == o["paid_at"].notna().sum()
        assert sil["paid_sales"].sum() == pytest.approx(o.loc[o["paid_at"].notna(), "amount"].sum())


# ---------------------------------------------------------------------------
# a loop-per-message oracle, read straight off spec §2-§4, for the vectorised
# tricks of the reference (segments, cumulative maxima, searchsorted windows)

RANK = {"transfer": 0, "buyer": 1, "bot": 2, "agent": 3}


def _oracle(m: pd.DataFrame, o: pd.DataFrame, p: RefParams) -> pd.DataFrame:
    from collections import defaultdict

    sec = lambda x: int(pd.Timestamp(x).timestamp())  # noqa: E731
    day = lambda t: t // 86400  # noqa: E731
    rows = sorted((r.shop, r.buyer, sec(r.ts), RANK[r.sender], r.agent, r.sender) for r in m.itertuples())
    bots = {(r[0], r[4]) for r in rows if r[5] == "bot"}
    human = lambda shop, agent: (shop, agent) not in bots  # noqa: E731
    stats: dict = defaultdict(lambda: defaultdict(int))
    questions = []  # [shop, agent, buyer, open, close]
    by_buyer = defaultdict(list)
    for r in rows:
        by_buyer[(r[0], r[1])].append(r)
    for (shop, buyer), dialogue in by_buyer.items():
        had_buyer_msg, replied = False, False
        open_days: dict = defaultdict(set)  # agent -> days with a question since its last message
        pending: dict = defaultdict(list)  # agent -> open questions
        for _, _, t, _, agent, sender in dialogue:
            if sender in ("agent", "bot"):
                replied = True
                for q in pending.pop(agent, []):
                    q[4] = t
                open_days.pop(agent, None)
                if sender == "agent" and human(shop, agent):
                    stats[(shop, agent, day(t))]["agent_msgs"] += 1
                continue
            opening = sender == "buyer" or (had_buyer_msg and not replied)
            if sender == "buyer":
                had_buyer_msg, replied = True, False
                if human(shop, agent):
                    stats[(shop, agent, day(t))]["buyer_msgs"] += 1
            if opening and human(shop, agent) and day(t) not in open_days[agent]:
                open_days[agent].add(day(t))
                q = [shop, agent, buyer, t, None]
                pending[agent].append(q)
                questions.append(q)
    cons: dict = {}
    for shop, agent, buyer, t, close in questions:
        st = stats[(shop, agent, day(t))]
        rt = None if close is None else close - t
        st["questions"] += 1
        st["answered_questions"] += rt is not None
        st["rt_sum"] += rt or 0
        st["slow_responses"] += rt is not None and rt > p.slow_threshold_s
        st["fast"] += rt is not None and rt <= 180
        c = cons.setdefault((shop, agent, day(t), buyer), {"first_open": t, "first_rt": rt, "any": 0, "slow": 0})
        c["any"] |= rt is not None
        c["slow"] |= rt is not None and rt > p.slow_threshold_s
    orders_ = [
        (
            r.shop,
            r.buyer,
            sec(r.created_at),
            None if pd.isna(r.paid_at) else sec(r.paid_at),
            round(r.amount * 100),
        )
        for r in o.itertuples()
    ]
    for (shop, agent, d, buyer), c in cons.items():
        st = stats[(shop, agent, d)]
        f = c["first_open"]
        mine = [x for x in orders_ if x[0] == shop and x[1] == buyer]
        st["consult_buyers"] += 1
        st["received_buyers"] += c["any"]
        st["slow_response_buyers"] += c["slow"]
        if c["first_rt"] is not None:
            st["first_n"] += 1
            st["first_sum"] += c["first_rt"]
        if any(x[3] is not None and f - p.after_sales_days * 86400 <= x[3] < f for x in mine):
            continue
        window = [x for x in mine if f <= x[2] < (d + 2) * 86400]
        st["inquiry_buyers"] += 1
        st["converted_buyers"] += any(x[3] is not None for x in window)
        st["next_day_paid_buyers"] += any(x[3] is not None and x[3] < (d + 2) * 86400 for x in window)
        st["lost_buyers"] += not window
    exchanges = [r for r in rows if r[5] in ("buyer", "agent") and human(r[0], r[4])]
    for shop, buyer, created, paid, cents in orders_:
        if paid is None:
            continue

        def last(moment: int, key: tuple[str, str] = (shop, buyer)) -> str | None:
            since = moment - p.attribution_hours * 3600
            hits = [r for r in exchanges if r[:2] == key and since <= r[2] <= moment]
            return max(hits)[4] if hits else None  # rows are D1 tuples: max = D1-last

        if p.credit_rule == "order":
            who = last(created)
        elif p.credit_rule == "payment":
            who = last(paid)
        else:
            who = last(created) or last(paid)
        if who is not None:
            st = stats[(shop, who, day(paid))]
            st["attributed_orders"] += 1
            st["cents"] += cents
            st.setdefault("order_buyers", set()).add(buyer)
    out = []

    def ratio(a: float, b: float) -> float:
        return a / b if b else NAN

    for (shop, agent, d), st in sorted(stats.items()):

        def g(k: str, st: dict = st) -> int:
            return st.get(k, 0)

        out.append(
            {
                "shop": shop, "agent": agent, "day": str(np.datetime64(d, "D")),
                "consult_buyers": g("consult_buyers"), "received_buyers": g("received_buyers"),
                "unreplied_buyers": g("consult_buyers") - g("received_buyers"),
                "reply_rate": ratio(g("received_buyers"), g("consult_buyers")),
                "buyer_msgs": g("buyer_msgs"), "agent_msgs": g("agent_msgs"),
                "answer_ratio": ratio(g("agent_msgs"), g("buyer_msgs")),
                "questions": g("questions"), "answered_questions": g("answered_questions"),
                "unanswered_questions": g("questions") - g("answered_questions"),
                "avg_response_s": ratio(g("rt_sum"), g("answered_questions")),
                "avg_first_response_s": ratio(g("first_sum"), g("first_n")),
                "slow_responses": g("slow_responses"), "slow_response_buyers": g("slow_response_buyers"),
                "inquiry_buyers": g("inquiry_buyers"), "converted_buyers": g("converted_buyers"),
                "inquiry_conversion": ratio(g("converted_buyers"), g("inquiry_buyers")),
                "next_day_paid_buyers": g("next_day_paid_buyers"),
                "next_day_conversion": ratio(g("next_day_paid_buyers"), g("inquiry_buyers")),
                "lost_buyers": g("lost_buyers"), "rate_3min": ratio(g("fast"), g("questions")),
                "attributed_orders": g("attributed_orders"), "sales_amount": g("cents") / 100,
                "avg_order_value": _half_up_yuan(g("cents"), len(st.get("order_buyers", ()))),
                "ratings": 0, "satisfaction_rate": NAN, "complaints": 0,
            }
        )  # fmt: skip
    return pd.DataFrame(out, columns=OUTPUT_COLUMNS)


def _half_up_yuan(cents: int, n: int) -> float:
    if not n:
        return NAN
    return float((Decimal(int(cents)) / 100 / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("params", RANDOM_PARAMS, ids=["default", "order", "payment"])
def test_matches_a_loop_per_message_oracle(seed: int, params: RefParams) -> None:
    m, o = _random(100 + seed)
    got = agent_day_kpis(m, o, params=params)
    want = _oracle(m, o, params)
    assert len(got) > 10
    for c in OUTPUT_COLUMNS:
        g, w = got[c].tolist(), want[c].tolist()
        if c in ("shop", "agent", "day") or (c in got.columns and got[c].dtype == np.int64):
            assert g == w, c
        else:
            np.testing.assert_allclose(np.array(g, float), np.array(w, float), rtol=1e-12, err_msg=c)
