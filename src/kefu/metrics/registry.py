"""Every KPI, declared once: key, 中文名, English name, unit, direction, formula, definition.

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
    #: reported only when the grouping has no agent, team or employer
    shop_level: bool = False
    #: days after the day itself during which later rows can still change the figure
    #: (the conversion window runs to the end of the next day): provisional until then
    settles_days: int = 0
    #: the agent roles the metric means something for (None: every role); selling is pre-sales work,
    #: so a refund agent is neither ranked nor shown on 客服销售额
    roles: frozenset[str] | None = None


def _m(key, zh, en, unit, better, formula, doc, **kw) -> Metric:
    return Metric(key, zh, en, unit, better, formula, doc, **kw)


#: Roles that sell (schema.ROLES).
PRESALES = frozenset({"presales"})

METRICS: tuple[Metric, ...] = (
    _m("consult_buyers", "咨询人数", "Consulting buyers", "buyers", None, Sum("consult_buyers"),
       "Distinct buyers with at least one question for the agent that day."),
    _m("received_buyers", "接待人数", "Received buyers", "buyers", True, Sum("received_buyers"),
       "Of the consulting buyers, those with at least one of that day's questions answered."),
    _m("unreplied_buyers", "未回复人数", "Unreplied buyers", "buyers", False, Diff("consult_buyers", "received_buyers"),
       "consult_buyers − received_buyers."),
    _m("reply_rate", "回复率", "Reply rate", "ratio", True, Ratio("received_buyers", "consult_buyers"),
       "received_buyers / consult_buyers."),
    _m("buyer_msgs", "买家消息数", "Buyer messages", "messages", None, Sum("buyer_msgs"),
       "Buyer messages to the agent with ts on that day."),
    _m("agent_msgs", "客服消息数", "Agent messages", "messages", None, Sum("agent_msgs"),
       "The agent's own messages with ts on that day (follow-ups and reminders included)."),
    _m("answer_ratio", "答问比", "Answer ratio", "ratio", True, Ratio("agent_msgs", "buyer_msgs"),
       "agent_msgs / buyer_msgs."),
    _m("questions", "提问数", "Questions", "questions", None, Sum("questions"),
       "Questions opened that day (spec §2)."),
    _m("answered_questions", "已回复提问数", "Answered questions", "questions", True, Sum("answered_questions"),
       "Questions opened that day that were closed by the agent's reply (whenever it came)."),
    _m("unanswered_questions", "未回复提问数", "Unanswered questions", "questions", False,
       Diff("questions", "answered_questions"), "Questions opened that day that never closed."),
    _m("avg_response_s", "平均响应时间(平响)", "Average response time", "s", False,
       Ratio("response_s_sum", "answered_questions"), "Mean response time (close − open) of that day's answered questions."),
    _m("avg_first_response_s", "平均首次响应时间(首响)", "Average first response time", "s", False,
       Ratio("first_response_s_sum", "first_responses"),
       "Mean, over buyers, of the response time of the buyer's first question of the day, where that question was answered."),
    _m("slow_responses", "慢响应次数", "Slow responses", "questions", False, Sum("slow_responses"),
       "Answered questions with response time > slow_threshold_s."),
    _m("slow_response_buyers", "慢响应人数", "Buyers with a slow response", "buyers", False, Sum("slow_response_buyers"),
       "Distinct buyers with at least one slow response."),
    _m("inquiry_buyers", "询单人数", "Inquiring buyers", "buyers", None, Sum("inquiry_buyers"),
       "Consulting buyers with no order of the shop paid in the after_sales_days days before the day's first question opened.", roles=PRESALES),
    _m("converted_buyers", "询单→最终付款人数", "Converted buyers", "buyers", True, Sum("converted_buyers"),
       "Inquiring buyers who created an order from the first question's opening until the end of the next day, and paid it.",
       settles_days=1, roles=PRESALES),
    _m("inquiry_conversion", "询单→最终付款转化率", "Inquiry conversion", "ratio", True,
       Ratio("converted_buyers", "inquiry_buyers"), "converted_buyers / inquiry_buyers.", settles_days=1, roles=PRESALES),
    _m("next_day_paid_buyers", "询单→次日付款人数", "Paid by next day", "buyers", True, Sum("next_day_paid_buyers"),
       "Converted buyers whose payment also came before the end of the day after the inquiry.", settles_days=1, roles=PRESALES),
    _m("next_day_conversion", "询单→次日付款成功率", "Next-day conversion", "ratio", True,
       Ratio("next_day_paid_buyers", "inquiry_buyers"), "next_day_paid_buyers / inquiry_buyers.", settles_days=1, roles=PRESALES),
    _m("lost_buyers", "询单流失人数", "Lost inquiries", "buyers", False, Sum("lost_buyers"),
       "Inquiring buyers who created no order in the conversion window (询单流失).", settles_days=1, roles=PRESALES),
    _m("rate_3min", "3分钟人工响应率", "Answered within 3 min", "ratio", True, Ratio("within_3min", "questions"),
       "Questions answered within 180 s / questions (an unanswered question is not within)."),
    _m("attributed_orders", "客服销售量", "Credited orders", "orders", True, Sum("attributed_orders"),
       "Paid orders credited to the agent (落实客服, spec §4), on the day of payment.", roles=PRESALES),
    _m("sales_amount", "客服销售额", "Credited sales", "yuan", True, Sum("sales_amount"),
       "Sum of the amounts of the credited orders.", roles=PRESALES),
    _m("avg_order_value", "客单价", "Average order value", "yuan", True, Ratio("sales_amount", "order_buyers"),
       "sales_amount / distinct buyers of the credited orders.", roles=PRESALES),
    _m("ratings", "评价数", "Ratings", "ratings", None, Sum("ratings"), "Satisfaction ratings of the agent that day."),
    _m("satisfaction_rate", "满意率", "Satisfaction rate", "ratio", True, Ratio("satisfied_ratings", "ratings"),
       "Share of ratings with score ≥ 4 (满意 or 很满意)."),
    _m("complaints", "投诉数", "Complaints", "complaints", False, Sum("complaints"), "Complaints against the agent that day."),
    _m("silent_orders", "静默下单数", "Silent orders", "orders", None, Sum("silent_orders"),
       "Paid orders credited to nobody, on the day of payment.", shop_level=True),
    _m("silent_sales", "静默销售额", "Silent sales", "yuan", None, Sum("silent_sales"),
       "Sum of the amounts of the silent orders.", shop_level=True),
    _m("consulted_sales_share", "客服销售占比", "Consulted sales share", "ratio", True, Ratio("sales_amount", "paid_sales"),
       "Credited (consulted) sales / all paid sales.", shop_level=True),
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
