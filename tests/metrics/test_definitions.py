"""Hand-computed edge cases of the dialogue model (spec §2), inquiry (§3) and credit (§4).

Each expectation is worked out in the comment above it. Every case is a shop of its own in one workspace
(tests/shops.py: @case), and every test runs on DuckDB and on Spark (tests/conftest.py: BACKENDS).
"""

from shops import at, case, msg, order

NEXT = "2026-11-12"


# 23:59:00 asked, 00:01:00 answered: 120 s, on the 11th; the 12th only has the reply.
@case([msg("23:59:00", "buyer"), msg(at("00:01:00", NEXT), "agent")])
def test_question_across_midnight_belongs_to_its_opening_day(kpi):
    day1, day2 = kpi.one(), kpi.one(day=NEXT)
    assert (day1["questions"], day1["avg_response_s"], day1["received_buyers"]) == (1, 120.0, 1)
    assert (day2["questions"], day2["consult_buyers"], day2["agent_msgs"]) == (0, 0, 1)


# D4: 23:50 opens (11th), 00:10 opens again (12th); both close at 00:15.
@case([msg("23:50:00", "buyer"), msg(at("00:10:00", NEXT), "buyer"), msg(at("00:15:00", NEXT), "agent")])
def test_first_message_of_a_new_day_opens_a_question_even_if_yesterdays_is_open(kpi):
    assert kpi.one()["avg_response_s"] == 25 * 60
    assert kpi.one(day=NEXT)["avg_response_s"] == 5 * 60


# Bot answers 10:00:01; the buyer asks again 10:00:30, still unanswered when transferred at 10:00:40.
# ann replies at 10:01:00: one question for ann, 20 s, opened by the transfer. The bot is never reported.
@case(
    [
        msg("10:00:00", "buyer", agent="s:bot"),
        msg("10:00:01", "bot", agent="s:bot"),
        msg("10:00:30", "buyer", agent="s:bot", text="转人工"),
        msg("10:00:40", "transfer", agent="s:ann"),
        msg("10:01:00", "agent"),
    ]
)
def test_transfer_while_the_buyer_waits_starts_the_clock_at_the_transfer(kpi):
    rows = kpi.rows()
    assert set(rows) == {("s", "s:ann", "2026-11-11")}
    ann = rows[("s", "s:ann", "2026-11-11")]
    assert (ann["questions"], ann["avg_response_s"], ann["consult_buyers"], ann["buyer_msgs"]) == (1, 20.0, 1, 0)


# The buyer's latest message (10:00:00) got a bot reply at 10:00:05: the transfer is not a question.
@case(
    [
        msg("10:00:00", "buyer", agent="s:bot"),
        msg("10:00:05", "bot", agent="s:bot"),
        msg("10:00:10", "transfer", agent="s:ann"),
        msg("10:00:30", "agent", text="您好"),
    ]
)
def test_transfer_after_the_bot_replied_opens_nothing(kpi):
    ann = kpi.one()
    assert (ann["questions"], ann["consult_buyers"], ann["agent_msgs"]) == (0, 0, 1)


# D5: ann was asked at 10:00:00; a transfer to ann at 10:00:30 opens nothing new; reply 10:01:00 → 60 s.
@case([msg("10:00:00", "buyer"), msg("10:00:30", "transfer"), msg("10:01:00", "agent")])
def test_transfer_to_an_agent_already_asked_keeps_the_earlier_clock(kpi):
    ann = kpi.one()
    assert (ann["questions"], ann["avg_response_s"]) == (1, 60.0)


# Same second: buyer sorts before agent, so the reply closes the question at 0 s.
@case([msg("10:00:00", "agent", text="亲"), msg("10:00:00", "buyer", text="在吗")])
def test_reply_in_the_same_second_takes_zero_seconds(kpi):
    ann = kpi.one()
    assert (ann["questions"], ann["answered_questions"], ann["avg_response_s"]) == (1, 1, 0.0)


@case([msg("10:00:00", "agent", text="亲,记得付款哦")])
def test_proactive_agent_message_opens_nothing(kpi):
    ann = kpi.one()
    assert (ann["agent_msgs"], ann["questions"], ann["consult_buyers"], ann["answer_ratio"]) == (1, 0, 0, None)


@case([msg("10:00:00", "buyer"), msg("10:00:10", "buyer"), msg("10:00:20", "buyer"), msg("10:00:50", "agent")])
def test_burst_of_buyer_messages_is_one_question(kpi):
    ann = kpi.one()
    assert (ann["questions"], ann["buyer_msgs"], ann["avg_response_s"], ann["answer_ratio"]) == (1, 3, 50.0, 1 / 3)


# 10:00 answered after 30 s; 11:00 never answered.
@case([msg("10:00:00", "buyer"), msg("10:00:30", "agent"), msg("11:00:00", "buyer")])
def test_unanswered_question(kpi):
    ann = kpi.one()
    assert (ann["questions"], ann["answered_questions"], ann["unanswered_questions"]) == (2, 1, 1)
    assert (ann["rate_3min"], ann["avg_response_s"], ann["received_buyers"]) == (0.5, 30.0, 1)


@case([msg("10:00:00", "buyer")])
def test_buyer_never_answered_is_unreplied(kpi):
    ann = kpi.one()
    assert (ann["consult_buyers"], ann["received_buyers"], ann["unreplied_buyers"], ann["reply_rate"]) == (1, 0, 1, 0.0)
    assert ann["avg_first_response_s"] is None and ann["rate_3min"] == 0.0


# First question 10:00 → 10 s; second 10:05 → 100 s. 首响 10, 平响 55.
@case([msg("10:00:00", "buyer"), msg("10:00:10", "agent"), msg("10:05:00", "buyer"), msg("10:06:40", "agent")])
def test_first_response_only_counts_the_first_question(kpi):
    ann = kpi.one()
    assert (ann["avg_first_response_s"], ann["avg_response_s"]) == (10.0, 55.0)


@case([msg("10:00:00", "buyer"), msg("10:00:10", "agent")], [order("o1", "10:30:00", None)])
def test_unpaid_order_is_neither_converted_nor_lost(kpi):
    ann = kpi.one()
    counts = (ann["inquiry_buyers"], ann["converted_buyers"], ann["lost_buyers"], ann["attributed_orders"])
    assert counts == (1, 0, 0, 0)


@case([msg("10:00:00", "buyer"), msg("10:00:10", "agent")])
def test_no_order_is_a_lost_inquiry(kpi):
    assert kpi.one()["lost_buyers"] == 1


# Created on the 12th (within the window), paid on the 13th: converted, not next-day paid.
@case(
    [msg("10:00:00", "buyer"), msg("10:00:10", "agent")],
    [order("o1", at("09:00:00", NEXT), at("09:00:00", "2026-11-13"))],
)
def test_order_the_next_day_paid_two_days_later_converts_but_not_by_next_day(kpi):
    ann = kpi.one()
    assert (ann["converted_buyers"], ann["next_day_paid_buyers"], ann["lost_buyers"]) == (1, 0, 0)


@case(
    [msg("10:00:00", "buyer"), msg("10:00:10", "agent")],
    [order("o1", "2026-11-13 00:00:00", "2026-11-13 00:01:00")],
)
def test_order_created_two_days_later_is_outside_the_window(kpi):
    ann = kpi.one()
    assert (ann["converted_buyers"], ann["lost_buyers"]) == (0, 1)


# Paid 5 days before asking: after-sales with the default 15 days, an inquiry with 3.
@case(
    [msg("10:00:00", "buyer", text="到哪了"), msg("10:00:10", "agent")],
    [order("o0", "2026-11-06 09:00:00", "2026-11-06 09:01:00")],
)
def test_after_sales_consultation_is_not_an_inquiry(kpi):
    assert kpi.one()["inquiry_buyers"] == 0
    assert kpi.one(after_sales_days=3)["inquiry_buyers"] == 1


# 0.10 + 0.20 + 99.99 = 100.29 over 2 buyers = 50.145 → 50.15; 672.31 over 2 = 336.155 → 336.16,
# which the float 336.155 (336.15499…) would round down.
@case(
    [
        msg("10:00:00", "buyer"),
        msg("10:00:00", "buyer", buyer="b2"),
        msg("10:00:00", "buyer", agent="s:bob", buyer="b3"),
        msg("10:00:00", "buyer", agent="s:bob", buyer="b4"),
    ],
    [
        order("o1", "10:01:00", "10:02:00", "0.10"),
        order("o2", "10:03:00", "10:04:00", "0.20"),
        order("o3", "10:05:00", "10:06:00", "99.99", buyer="b2"),
        order("o4", "10:05:00", "10:06:00", "336.15", buyer="b3"),
        order("o5", "10:05:00", "10:06:00", "336.16", buyer="b4"),
    ],
)
def test_order_value_rounds_half_a_fen_up(kpi):
    rows = kpi.rows()
    ann, bob = rows[("s", "s:ann", "2026-11-11")], rows[("s", "s:bob", "2026-11-11")]
    assert (ann["sales_amount"], ann["avg_order_value"]) == (100.29, 50.15)
    assert (bob["sales_amount"], bob["avg_order_value"]) == (672.31, 336.16)


# Last exchange at 10:00:00 on the 8th. o1 created exactly 72 h later → credited; o2 72 h + 1 s → silent
# (o2 is created one second after o1, so its nearest exchange is still the 8th).
@case(
    [msg("2026-11-08 10:00:00", "buyer", text="在吗"), msg("2026-11-08 10:00:00", "agent", text="在")],
    [order("o1", "10:00:00", "10:00:00", "10.00"), order("o2", "10:00:01", "10:00:01", "20.00", buyer="b1")],
)
def test_attribution_window_is_inclusive(kpi):
    ann = kpi.one()
    assert (ann["attributed_orders"], ann["sales_amount"]) == (1, 10.0)
    silent = kpi.rows("shop,day")[("s", "2026-11-11")]
    assert (silent["silent_orders"], silent["silent_sales"], silent["consulted_sales_share"]) == (1, 20.0, 10 / 30)


CREDIT_CHAT = [
    msg("10:00:00", "buyer", agent="s:ann"),
    msg("10:00:10", "agent", agent="s:ann"),
    msg("12:00:00", "buyer", agent="s:bob"),
    msg("12:00:10", "agent", agent="s:bob"),
]


# o1 created 10:05 (last exchange: ann), paid 12:10 (last exchange: bob).
# o2 created 09:00 before any chat, paid 12:30 (bob): order_first falls back to payment.
@case(CREDIT_CHAT, [order("o1", "10:05:00", "12:10:00", "100.00"), order("o2", "09:00:00", "12:30:00", "50.00")])
def test_credit_rules(kpi):
    def sales(rule):
        rows = kpi.rows(credit_rule=rule)
        return {agent: rows[("s", agent, "2026-11-11")]["sales_amount"] for agent in ("s:ann", "s:bob")}

    assert sales("order") == {"s:ann": 100.0, "s:bob": 0.0}
    assert sales("payment") == {"s:ann": 0.0, "s:bob": 150.0}
    assert sales("order_first") == {"s:ann": 100.0, "s:bob": 50.0}
    assert kpi.rows("shop,day", credit_rule="order")[("s", "2026-11-11")]["silent_orders"] == 1


# D2: bob's message at exactly 10:05:00 is "before" the order created 10:05:00.
@case(
    [msg("10:00:00", "buyer", agent="s:ann"), msg("10:05:00", "agent", agent="s:bob")],
    [order("o1", "10:05:00", "10:06:00")],
)
def test_message_in_the_same_second_as_the_order_counts(kpi):
    assert kpi.one(agent="s:bob")["attributed_orders"] == 1


# D1/D13: at 10:05:00 the buyer writes to bob, and ann and bob both write to the buyer.
# Order in that second: buyer (rank 1) before agents (rank 3), then accounts by name: s:ann < s:bob.
# The last exchange before the order (10:06:00) is bob's, whatever the file order or the texts.
@case(
    [
        msg("10:05:00", "agent", agent="s:bob", text="a"),
        msg("10:05:00", "agent", agent="s:ann", text="z"),
        msg("10:05:00", "buyer", agent="s:bob", text="zz"),
    ],
    [order("o1", "10:06:00", "10:07:00")],
)
def test_same_second_exchanges_credit_the_last_in_d1_order(kpi):
    assert kpi.rows()[("s", "s:bob", "2026-11-11")]["attributed_orders"] == 1
    assert kpi.rows()[("s", "s:ann", "2026-11-11")]["attributed_orders"] == 0


@case(CREDIT_CHAT, [order("o1", "12:05:00", "12:06:00", "300.00")])
def test_buyer_with_two_agents_converts_for_both_and_pays_once(kpi):
    rows = kpi.rows()
    ann, bob = rows[("s", "s:ann", "2026-11-11")], rows[("s", "s:bob", "2026-11-11")]
    assert (ann["converted_buyers"], bob["converted_buyers"]) == (1, 1)
    assert (ann["sales_amount"], bob["sales_amount"]) == (0.0, 300.0)
    shop_day = kpi.rows("shop,day")[("s", "2026-11-11")]
    assert (shop_day["consult_buyers"], shop_day["converted_buyers"], shop_day["sales_amount"]) == (2, 2, 300.0)


@case([msg("23:00:00", "buyer"), msg("23:00:10", "agent")], [order("o1", "23:30:00", at("00:30:00", NEXT))])
def test_order_credited_on_its_payment_day(kpi):
    assert kpi.one()["attributed_orders"] == 0
    assert kpi.one(day=NEXT)["attributed_orders"] == 1


# Day 1: 1 question of 10 s. Day 2: 3 questions of 100 s each.
# Mean of daily means = 55; the week's mean over its 4 questions = 77.5.
@case(
    [msg("10:00:00", "buyer"), msg("10:00:10", "agent")]
    + [
        m
        for h in ("10", "11", "12")
        for m in (msg(at(f"{h}:00:00", NEXT), "buyer"), msg(at(f"{h}:01:40", NEXT), "agent"))
    ]
)
def test_weekly_figures_come_from_the_rows_not_from_daily_averages(kpi):
    week = kpi.rows("agent,week")[("s", "s:ann", "2026-W46")]
    assert (week["questions"], week["avg_response_s"], week["consult_buyers"]) == (4, 77.5, 2)


@case(
    [msg("10:00:00", "buyer"), msg("10:00:10", "agent")],
    ratings=[
        {"ts": at(f"10:0{i}:00"), "shop": "s", "buyer": f"b{i}", "agent": "s:ann", "score": str(score)}
        for i, score in enumerate((5, 4, 3, 1))
    ],
    complaints=[{"ts": at("11:00:00"), "shop": "s", "agent": "s:ann", "buyer": "b1", "kind": "态度"}],
)
def test_ratings_and_complaints(kpi):
    ann = kpi.one()
    assert (ann["ratings"], ann["satisfaction_rate"], ann["complaints"]) == (4, 0.5, 1)


@case(
    CREDIT_CHAT,
    agents=[
        {"agent": "s:ann", "shop": "s", "team": "售前一组", "employer": "in_house"},
        {"agent": "s:bob", "shop": "s", "team": "售前一组", "employer": "宿迁云客服"},
    ],
)
def test_teams_and_employers_come_from_the_agents_table(kpi):
    team = kpi.rows("team,day")[("s", "售前一组", "2026-11-11")]
    assert (team["consult_buyers"], team["questions"]) == (2, 2)
    assert set(kpi.rows("employer,day")) == {("in_house", "2026-11-11"), ("宿迁云客服", "2026-11-11")}


@case(CREDIT_CHAT + [msg("12:59:59", "buyer", agent="s:bob"), msg("13:00:30", "agent", agent="s:bob")])
def test_hours_add_up_to_the_day(kpi):
    hours = kpi.rows("agent,day,hour")
    bob = {k[3]: v for k, v in hours.items() if k[1] == "s:bob"}
    assert {h: r["agent_msgs"] for h, r in bob.items()} == {12: 1, 13: 1}
    day = kpi.one(agent="s:bob")
    for key in ("questions", "buyer_msgs", "agent_msgs", "consult_buyers"):
        assert sum(r[key] for r in bob.values()) == day[key]
