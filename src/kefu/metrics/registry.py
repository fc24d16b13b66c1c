"""Every KPI, declared once: key, 中文名, English name, unit, direction, formula, definition (English, 中文).

The engine computes each metric from additive *measures* (sums over the rows
of one grouping), so a week or a team is computed from its rows, never by
averaging daily ratios. The CLI, the docs (docs/metrics.md, checked by a test)
and every export read this registry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sum:
    measure: str


@dataclass(frozen=True)
class Ratio:
    numerator: str
    denominator: str  # NULL when this is 0


@dataclass(frozen=True)
class Diff:
    minuend: str
    subtrahend: str


Formula = Sum | Ratio | Diff


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    unit: str  # buyers, messages, questions, orders, ratings, complaints, s, ratio, yuan
    higher_is_better: bool | None
    formula: Formula
    doc: str
    #: the definition in Chinese: the Chinese UI's tooltips and docs/metrics.md (what a 客服主管 reads)
    doc_zh: str
    #: reported only when the grouping has no agent, team or employer
    shop_level: bool = False
    #: days after the day itself during which later rows can still change the figure
    #: (the conversion window runs to the end of the next day): provisional until then
    settles_days: int = 0
    #: the agent roles the metric means something for (None: every role); selling is pre-sales work,
    #: so a refund agent is neither ranked nor shown on 客服销售额
    roles: frozenset[str] | None = None


def _m(key, zh, en, unit, better, formula, doc, doc_zh, **kw) -> Metric:
    return Metric(key, zh, en, unit, better, formula, doc, doc_zh, **kw)


#: Roles that sell (schema.ROLES).
PRESALES = frozenset({"presales"})

METRICS: tuple[Metric, ...] = (
    _m(
        "consult_buyers",
        "咨询人数",
        "Consulting buyers",
        "buyers",
        None,
        Sum("consult_buyers"),
        "Distinct buyers with at least one question for the agent that day.",
        "当天向该客服提出过至少一个提问的买家数（同一买家只计一次）。",
    ),
    _m(
        "received_buyers",
        "接待人数",
        "Received buyers",
        "buyers",
        True,
        Sum("received_buyers"),
        "Of the consulting buyers, those with at least one of that day's questions answered.",
        "咨询买家中，当天至少有一个提问得到该客服回复的买家数。",
    ),
    _m(
        "unreplied_buyers",
        "未回复人数",
        "Unreplied buyers",
        "buyers",
        False,
        Diff("consult_buyers", "received_buyers"),
        "consult_buyers − received_buyers.",
        "咨询人数 − 接待人数：当天的提问一个也没有得到回复的买家数。",
    ),
    _m(
        "reply_rate",
        "回复率",
        "Reply rate",
        "ratio",
        True,
        Ratio("received_buyers", "consult_buyers"),
        "received_buyers / consult_buyers.",
        "接待人数 / 咨询人数。",
    ),
    _m(
        "buyer_msgs",
        "买家消息数",
        "Buyer messages",
        "messages",
        None,
        Sum("buyer_msgs"),
        "Buyer messages to the agent with ts on that day.",
        "当天（按消息时间）买家发给该客服的消息条数。",
    ),
    _m(
        "agent_msgs",
        "客服消息数",
        "Agent messages",
        "messages",
        None,
        Sum("agent_msgs"),
        "The agent's own messages with ts on that day (follow-ups and reminders included).",
        "当天（按消息时间）该客服本人发出的消息条数，含跟进、催付等主动发出的消息。",
    ),
    _m(
        "answer_ratio",
        "答问比",
        "Answer ratio",
        "ratio",
        True,
        Ratio("agent_msgs", "buyer_msgs"),
        "agent_msgs / buyer_msgs.",
        "客服消息数 / 买家消息数。",
    ),
    _m(
        "questions",
        "提问数",
        "Questions",
        "questions",
        None,
        Sum("questions"),
        "Questions opened that day (spec §2).",
        "当天开启的提问数：买家在该客服上一条消息之后（或当天第一次）发来消息，开启一个提问；"
        "转接给该客服时，若买家最后一条消息还没有客服或机器人回复，从转接时刻开启。",
    ),
    _m(
        "answered_questions",
        "已回复提问数",
        "Answered questions",
        "questions",
        True,
        Sum("answered_questions"),
        "Questions opened that day that were closed by the agent's reply (whenever it came).",
        "当天开启、并由该客服的回复关闭的提问数（回复在次日也算）。",
    ),
    _m(
        "unanswered_questions",
        "未回复提问数",
        "Unanswered questions",
        "questions",
        False,
        Diff("questions", "answered_questions"),
        "Questions opened that day that never closed.",
        "当天开启、始终没有得到回复的提问数。",
    ),
    _m(
        "avg_response_s",
        "平均响应时间(平响)",
        "Average response time",
        "s",
        False,
        Ratio("response_s_sum", "answered_questions"),
        "Mean response time (close − open) of that day's answered questions.",
        "当天开启的已回复提问的平均响应时间（响应时间 = 回复时刻 − 提问时刻）。",
    ),
    _m(
        "avg_first_response_s",
        "平均首次响应时间(首响)",
        "Average first response time",
        "s",
        False,
        Ratio("first_response_s_sum", "first_responses"),
        "Mean, over buyers, of the response time of the buyer's first question of the day, where that question was answered.",
        "每位买家当天第一个提问的响应时间的平均值，只计这个提问得到回复的买家。",
    ),
    _m(
        "slow_responses",
        "慢响应次数",
        "Slow responses",
        "questions",
        False,
        Sum("slow_responses"),
        "Answered questions with response time > slow_threshold_s.",
        "响应时间超过慢响应阈值（默认 60 秒，可在工作区设置中修改）的已回复提问数。",
    ),
    _m(
        "slow_response_buyers",
        "慢响应人数",
        "Buyers with a slow response",
        "buyers",
        False,
        Sum("slow_response_buyers"),
        "Distinct buyers with at least one slow response.",
        "至少有一次慢响应的买家数（同一买家只计一次）。",
    ),
    _m(
        "inquiry_buyers",
        "询单人数",
        "Inquiring buyers",
        "buyers",
        None,
        Sum("inquiry_buyers"),
        "Consulting buyers with no order of the shop paid in the after_sales_days days before the day's first question opened.",
        "售前咨询的买家数：当天第一个提问之前的售后期（默认 15 天）内，在本店没有已付款订单的咨询买家。",
        roles=PRESALES,
    ),
    _m(
        "converted_buyers",
        "询单→最终付款人数",
        "Converted buyers",
        "buyers",
        True,
        Sum("converted_buyers"),
        "Inquiring buyers who created an order from the first question's opening until the end of the next day, and paid it.",
        "询单买家中，从当天第一个提问起到次日结束前在本店下单、并且付款的人数。",
        settles_days=1,
        roles=PRESALES,
    ),
    _m(
        "inquiry_conversion",
        "询单→最终付款转化率",
        "Inquiry conversion",
        "ratio",
        True,
        Ratio("converted_buyers", "inquiry_buyers"),
        "converted_buyers / inquiry_buyers.",
        "询单→最终付款人数 / 询单人数。",
        settles_days=1,
        roles=PRESALES,
    ),
    _m(
        "next_day_paid_buyers",
        "询单→次日付款人数",
        "Paid by next day",
        "buyers",
        True,
        Sum("next_day_paid_buyers"),
        "Converted buyers whose payment also came before the end of the day after the inquiry.",
        "询单→最终付款的买家中，付款也在询单次日结束前完成的人数。",
        settles_days=1,
        roles=PRESALES,
    ),
    _m(
        "next_day_conversion",
        "询单→次日付款成功率",
        "Next-day conversion",
        "ratio",
        True,
        Ratio("next_day_paid_buyers", "inquiry_buyers"),
        "next_day_paid_buyers / inquiry_buyers.",
        "询单→次日付款人数 / 询单人数。",
        settles_days=1,
        roles=PRESALES,
    ),
    _m(
        "lost_buyers",
        "询单流失人数",
        "Lost inquiries",
        "buyers",
        False,
        Sum("lost_buyers"),
        "Inquiring buyers who created no order in the conversion window (询单流失).",
        "询单买家中，在转化期（当天第一个提问起到次日结束）内没有在本店下单的人数（询单流失）。",
        settles_days=1,
        roles=PRESALES,
    ),
    _m(
        "rate_3min",
        "3分钟人工响应率",
        "Answered within 3 min",
        "ratio",
        True,
        Ratio("within_3min", "questions"),
        "Questions answered within 180 s / questions (an unanswered question is not within).",
        "180 秒内得到回复的提问数 / 提问数（未回复的提问不算 3 分钟内回复）。",
    ),
    _m(
        "attributed_orders",
        "客服销售量",
        "Credited orders",
        "orders",
        True,
        Sum("attributed_orders"),
        "Paid orders credited to the agent (落实客服, spec §4), on the day of payment.",
        "按落实客服规则归属给该客服的已付款订单数，计入付款当天。默认规则：下单前最后与买家互发消息的客服"
        "（下单前找不到时看付款前），只看此前 72 小时内的消息。",
        roles=PRESALES,
    ),
    _m(
        "sales_amount",
        "客服销售额",
        "Credited sales",
        "yuan",
        True,
        Sum("sales_amount"),
        "Sum of the amounts of the credited orders.",
        "落实给该客服的已付款订单的实付金额合计。",
        roles=PRESALES,
    ),
    _m(
        "avg_order_value",
        "客单价",
        "Average order value",
        "yuan",
        True,
        Ratio("sales_amount", "order_buyers"),
        "sales_amount / distinct buyers of the credited orders.",
        "客服销售额 / 这些落实订单的买家数（同一买家只计一次）。",
        roles=PRESALES,
    ),
    _m(
        "ratings",
        "评价数",
        "Ratings",
        "ratings",
        None,
        Sum("ratings"),
        "Satisfaction ratings of the agent that day.",
        "当天买家对该客服的满意度评价数。",
    ),
    _m(
        "satisfaction_rate",
        "满意率",
        "Satisfaction rate",
        "ratio",
        True,
        Ratio("satisfied_ratings", "ratings"),
        "Share of ratings with score ≥ 4 (满意 or 很满意).",
        "评分 4 分及以上（满意、很满意）的评价占评价数的比例。",
    ),
    _m(
        "complaints",
        "投诉数",
        "Complaints",
        "complaints",
        False,
        Sum("complaints"),
        "Complaints against the agent that day.",
        "当天针对该客服的投诉数。",
    ),
    _m(
        "silent_orders",
        "静默下单数",
        "Silent orders",
        "orders",
        None,
        Sum("silent_orders"),
        "Paid orders credited to nobody, on the day of payment.",
        "没有落实给任何客服的已付款订单数（静默下单），计入付款当天。",
        shop_level=True,
    ),
    _m(
        "silent_sales",
        "静默销售额",
        "Silent sales",
        "yuan",
        None,
        Sum("silent_sales"),
        "Sum of the amounts of the silent orders.",
        "静默订单的实付金额合计。",
        shop_level=True,
    ),
    _m(
        "consulted_sales_share",
        "客服销售占比",
        "Consulted sales share",
        "ratio",
        True,
        Ratio("sales_amount", "paid_sales"),
        "Credited (consulted) sales / all paid sales.",
        "客服销售额（经客服接待的订单）/ 全店已付款订单的销售额。",
        shop_level=True,
    ),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
AGENT_METRICS = tuple(m for m in METRICS if not m.shop_level)
SHOP_METRICS = tuple(m for m in METRICS if m.shop_level)

#: Measures that hold money (summed as decimals, not counts).
MONEY_MEASURES = frozenset({"sales_amount", "silent_sales", "paid_sales"})


def applies(key: str, role: str | None) -> bool:
    """Whether metric `key` means something for an agent of `role` (None: unknown role, every metric applies)."""
    roles = BY_KEY[key].roles
    return roles is None or role is None or role in roles
