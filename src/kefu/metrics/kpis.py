"""KPI tables for any grouping: facts → additive measures → metrics (kefu.metrics.registry).

Each fact table contributes measures at its own timestamp (a question at its
opening, an order at its payment, … decision D8); the facts are stacked,
summed per group and the metrics derived from the sums. Backend-neutral Ibis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
from ibis import _

from kefu.config import Params
from kefu.metrics.consult import consultations, human_questions
from kefu.metrics.credit import credited_orders, order_contacts
from kefu.metrics.dialogue import bot_accounts, questions
from kefu.metrics.registry import AGENT_METRICS, METRICS, MONEY_MEASURES, Diff, Metric, Ratio, Sum

WHO = ("shop", "agent", "team", "employer")
WHEN = ("day", "week", "month", "hour")
DIMENSIONS = WHO + WHEN


class GroupingError(ValueError):
    pass


@dataclass(frozen=True)
class Sources:
    """The canonical tables of one backend, plus the derived ones when materialised."""

    messages: ibis.Table
    orders: ibis.Table
    agents: ibis.Table
    ratings: ibis.Table
    complaints: ibis.Table
    questions: ibis.Table | None = None
    order_contacts: ibis.Table | None = None

    @property
    def bots(self) -> ibis.Table:
        return bot_accounts(self.messages, self.agents)

    def derived_questions(self) -> ibis.Table:
        return self.questions if self.questions is not None else questions(self.messages)

    def derived_contacts(self) -> ibis.Table:
        if self.order_contacts is not None:
            return self.order_contacts
        return order_contacts(self.messages, self.orders, self.bots)


def group_keys(by: list[str]) -> list[str]:
    """Output key columns of a grouping: agents and teams belong to a shop, so `shop` joins them."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:
        raise GroupingError(f"cannot group by {', '.join(unknown) or 'nothing'}; choose from {', '.join(DIMENSIONS)}")
    who = [d for d in WHO if d in by]
    if ("agent" in who or "team" in who) and "shop" not in who:
        who.insert(0, "shop")
    return who + [d for d in by if d in WHEN]


def is_shop_grouping(keys: list[str]) -> bool:
    return not {"agent", "team", "employer"} & set(keys)


def metrics_for(keys: list[str]) -> tuple[Metric, ...]:
    return METRICS if is_shop_grouping(keys) else AGENT_METRICS


@dataclass(frozen=True)
class Fact:
    """Rows that add measures to a group at the time in `ts` (decision D8)."""

    rows: ibis.Table  # carries shop, and agent for agent facts
    ts: str
    measures: dict[str, ibis.Deferred | ibis.Value]


def facts(src: Sources, params: Params, *, shop_level: bool = False) -> dict[str, Fact]:
    """Every fact behind the metrics, by name. `kefu explain` shows these same rows."""
    bots = src.bots
    asked = human_questions(src.derived_questions(), bots, params)
    credited = credited_orders(src.derived_contacts(), params)
    to_agents = credited.filter(_.agent.notnull())
    # 客单价 divides by distinct buyers per agent and payment day (D9): count each buyer's first order.
    buyer_day = ibis.window(group_by=["shop", "agent", "buyer", _.paid_at.date()], order_by=["paid_at", "order_id"])
    to_agents = to_agents.mutate(first_of_buyer=ibis.row_number().over(buyer_day) == 0)

    def count(flag: ibis.Deferred) -> ibis.Deferred:
        return flag.cast("int64")

    found = {
        "consultations": Fact(consultations(asked, src.orders, params), "first_open", {
            "consult_buyers": ibis.literal(1),
            "received_buyers": count(_.answered),
            "slow_response_buyers": count(_.any_slow),
            "inquiry_buyers": count(_.inquiry),
            "converted_buyers": count(_.converted),
            "next_day_paid_buyers": count(_.next_day_paid),
            "lost_buyers": count(_.lost),
            "first_response_s_sum": _.first_response_s.fill_null(0),
            "first_responses": count(_.first_response_s.notnull()),
        }),
        "questions": Fact(asked, "open_ts", {
            "questions": ibis.literal(1),
            "answered_questions": count(_.answered),
            "response_s_sum": _.response_s.fill_null(0),
            "slow_responses": count(_.slow),
            "within_3min": count(_.within_3min),
        }),
        "messages": Fact(src.messages.anti_join(bots, "agent").filter(_.sender.isin(("buyer", "agent"))), "ts", {
            "buyer_msgs": count(_.sender == "buyer"),
            "agent_msgs": count(_.sender == "agent"),
        }),
        "credited_orders": Fact(to_agents, "paid_at", {
            "attributed_orders": ibis.literal(1),
            "sales_amount": _.amount,
            "order_buyers": count(_.first_of_buyer),
        }),
        "ratings": Fact(src.ratings.anti_join(bots, "agent"), "ts", {
            "ratings": ibis.literal(1),
            "satisfied_ratings": count(_.score >= 4),
        }),
        "complaints": Fact(src.complaints.anti_join(bots, "agent"), "ts", {"complaints": ibis.literal(1)}),
    }
    if shop_level:
        found["paid_orders"] = Fact(credited.mutate(silent=_.agent.isnull()), "paid_at", {
            "silent_orders": count(_.silent),
            "silent_sales": ibis.ifelse(_.silent, _.amount, 0),
            "paid_sales": _.amount,
        })
    return found


def kpi_table(
    src: Sources,
    by: list[str],
    params: Params = Params(),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> ibis.Table:
    """One row per group with the group keys and every metric of the grouping, sorted by the keys."""
    keys = group_keys(by)
    found = facts(src, params, shop_level=is_shop_grouping(keys)).values()
    measures = sorted({name for fact in found for name in fact.measures})
    stacked = ibis.union(*(_stack(fact, measures, keys, src.agents, date_from, date_to) for fact in found))
    sums = stacked.group_by(keys).aggregate(**{name: stacked[name].sum() for name in measures})
    return sums.select(*keys, **{m.key: _metric(sums, m) for m in metrics_for(keys)}).order_by(keys)


def _stack(fact: Fact, all_measures, keys, agents, date_from, date_to) -> ibis.Table:
    table, ts_column, measures = fact.rows, fact.ts, fact.measures
    ts = table[ts_column]
    if date_from:
        table = table.filter(ts.date() >= date_from)
    if date_to:
        table = table.filter(table[ts_column].date() <= date_to)
    if {"team", "employer"} & set(keys):
        roster = agents.select(roster_agent=_.agent, team=_.team, employer=_.employer)
        table = table.left_join(roster, table.agent == roster.roster_agent).drop("roster_agent")
    ts = table[ts_column]
    dims = {
        "shop": table.shop,
        "agent": table.agent if "agent" in table.columns else ibis.null().cast("string"),
        "team": table.team if "team" in table.columns else ibis.null().cast("string"),
        "employer": (table.employer if "employer" in table.columns else ibis.null().cast("string")).fill_null("in_house"),
        "day": ts.date(),
        "week": (ts.date() - ts.day_of_week.index().cast("int32").as_interval("D")).cast("date"),
        "month": ts.truncate("M").date(),
        "hour": ts.hour().cast("int32"),
    }
    values = {}
    for name in all_measures:
        value = measures.get(name, ibis.literal(0))
        values[name] = value.cast("decimal(18, 2)") if name in MONEY_MEASURES else value.cast("int64")
    return table.select(**{k: dims[k] for k in keys}, **values)


def _metric(sums: ibis.Table, metric: Metric) -> ibis.Value:
    f = metric.formula
    if isinstance(f, Sum):
        return sums[f.measure]
    if isinstance(f, Diff):
        return sums[f.minuend] - sums[f.subtrahend]
    assert isinstance(f, Ratio)
    denominator = sums[f.denominator]
    if metric.unit == "yuan":
        ratio = _fen_half_up(sums[f.numerator], denominator).cast("float64") / 100
    else:
        ratio = sums[f.numerator].cast("float64") / denominator.cast("float64")
    return ibis.ifelse(denominator == 0, ibis.null().cast("float64"), ratio)


def _fen_half_up(money: ibis.Value, count: ibis.Value) -> ibis.Value:
    """money / count in whole fen, half a fen rounded away from zero, in integers so every backend agrees.

    Rounding the float quotient would not: 336.155 is 336.15499… as a double.
    """
    fen = (money * 100).cast("int64")
    count = ibis.ifelse(count == 0, 1, count).cast("int64")
    return fen.sign() * ((2 * fen.abs() + count) // (2 * count))


__all__ = ["Sources", "Fact", "facts", "kpi_table", "group_keys", "DIMENSIONS", "GroupingError"]
