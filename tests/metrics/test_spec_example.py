"""Spec §6, the public worked example: every value as printed (rate_3min as defined, D16)."""

from shops import msg, one, order, shop

EXPECTED = {
    "consult_buyers": 1,
    "received_buyers": 1,
    "reply_rate": 1.0,
    "buyer_msgs": 3,
    "agent_msgs": 3,
    "answer_ratio": 1.0,
    "questions": 2,
    "avg_response_s": 60.0,
    "avg_first_response_s": 20.0,
    "slow_responses": 1,
    "slow_response_buyers": 1,
    "inquiry_buyers": 1,
    "converted_buyers": 1,
    "inquiry_conversion": 1.0,
    "next_day_paid_buyers": 1,
    "lost_buyers": 0,
    # The spec prints 0.5, but 20 s and 100 s are both within 180 s (decisions D16).
    "rate_3min": 1.0,
    "attributed_orders": 1,
    "sales_amount": 199.00,
}


def example_shop(tmp_path):
    return shop(
        tmp_path,
        [
            msg("10:00:00", "buyer", text="在吗"),
            msg("10:00:05", "buyer", text="这款有XL吗"),
            msg("10:00:20", "agent", text="亲,在的"),
            msg("10:00:30", "agent", text="XL有货哦"),
            msg("10:05:00", "buyer", text="那我拍了"),
            msg("10:06:40", "agent", text="好的亲"),
        ],
        [order("o1", "10:07:00", "10:08:00", "199.00")],
    )


def test_every_value_of_the_worked_example(tmp_path):
    row = one(example_shop(tmp_path), slow_threshold_s=60)
    assert {key: row[key] for key in EXPECTED} == EXPECTED


def test_undefined_ratios_are_null_not_zero(tmp_path):
    row = one(example_shop(tmp_path))
    assert row["ratings"] == 0 and row["satisfaction_rate"] is None
