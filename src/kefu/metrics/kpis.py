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
from kefu.errors import KefuError
from kefu.metrics.consult import consultation_facts, consultations, human_questions
from kefu.metrics.credit import credited_orders, order_contacts
from kefu.metrics.dialogue import bot_accounts, message_counts, questions
from kefu.metrics.registry import AGENT_METRICS, METRICS, MONEY_MEASURES, Diff, Metric, Ratio, Sum

WHO = ("shop", "agent", "team", "employer")
WHEN = ("day", "week", "month", "hour")
DIMENSIONS = WHO + WHEN


class GroupingError(KefuError):
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
    consultations: ibis.Table | None = None
    message_counts: ibis.Table | None = None
    #: Every measure summed per (shop, account, hour) for one set of parameters (`measure_cube`).
    cube: ibis.Table | None = None
    cube_params: Params | None = None

    @property
    def bots(self) -> ibis.Table:
        return bot_accounts(self.messages, self.agents, self.message_counts)

    def derived_questions(self) -> ibis.Table:
        return self.questions if self.questions is not None else questions(self.messages)

    def derived_contacts(self) -> ibis.Table:
        if self.order_contacts is not None:
            return self.order_contacts
        return order_contacts(self.messages, self.orders, self.bots)

    def derived_consultations(self) -> ibis.Table:
        if self.consultations is not None:
            return self.consultations
        return consultation_facts(self.derived_questions(), self.orders)

    def derived_message_counts(self) -> ibis.Table:
        return self.message_counts if self.message_counts is not None else message_counts(self.messages)


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
    #: The same measures already summed over fewer rows (a derived table): what kpi_table adds up,
    #: while `kefu explain` lists `rows`.
    totals: Fact | None = None

    @property
    def summed(self) -> Fact:
        return self.totals or self


def facts(src: Sources, params: Params, *, shop_level: bool = False) -> dict[str, Fact]:
    """Every fact behind the metrics, by name. `kefu explain` shows these same rows."""
    bots = src.bots
    asked = human_questions(src.derived_questions(), bots, params)
    credited = credited_orders(src.derived_contacts(), params)
    to_agents = _first_of_buyer(credited.filter(_.agent.notnull()))

    def count(flag: ibis.Deferred) -> ibis.Deferred:
        return flag.cast("int64")

    found = {
        "consultations": Fact(
            consultations(src.derived_consultations(), bots, params),
            "first_open",
            {
                "consult_buyers": ibis.literal(1),
                "received_buyers": count(_.answered),
                "slow_response_buyers": count(_.any_slow),
                "inquiry_buyers": count(_.inquiry),
                "converted_buyers": count(_.converted),
                "next_day_paid_buyers": count(_.next_day_paid),
                "lost_buyers": count(_.lost),
                "first_response_s_sum": _.first_response_s.fill_null(0),
                "first_responses": count(_.first_response_s.notnull()),
            },
        ),
        "questions": Fact(
            asked,
            "open_ts",
            {
                "questions": ibis.literal(1),
                "answered_questions": count(_.answered),
                "response_s_sum": _.response_s.fill_null(0),
                "slow_responses": count(_.slow),
                "within_3min": count(_.within_3min),
            },
        ),
        "messages": Fact(
            src.messages.anti_join(bots, "agent").filter(_.sender.isin(("buyer", "agent"))),
            "ts",
            {
                "buyer_msgs": count(_.sender == "buyer"),
                "agent_msgs": count(_.sender == "agent"),
            },
            totals=Fact(
                src.derived_message_counts().anti_join(bots, "agent").filter(_.buyer_msgs + _.agent_msgs > 0),
                "hour",
                {
                    "buyer_msgs": _.buyer_msgs,
                    "agent_msgs": _.agent_msgs,
                },
            ),
        ),
        "credited_orders": Fact(
            to_agents,
            "paid_at",
            {
                "attributed_orders": ibis.literal(1),
                "sales_amount": _.amount,
                "order_buyers": count(_.first_of_buyer),
            },
        ),
        "ratings": Fact(
            src.ratings.anti_join(bots, "agent"),
            "ts",
            {
                "ratings": ibis.literal(1),
                "satisfied_ratings": count(_.score >= 4),
            },
        ),
        "complaints": Fact(src.complaints.anti_join(bots, "agent"), "ts", {"complaints": ibis.literal(1)}),
    }
    if shop_level:
        found["paid_orders"] = Fact(
            credited.mutate(silent=_.agent.isnull()),
            "paid_at",
            {
                "silent_orders": count(_.silent),
                "silent_sales": ibis.ifelse(_.silent, _.amount, 0),
                "paid_sales": _.amount,
            },
        )
    return found


def _first_of_buyer(orders: ibis.Table) -> ibis.Table:
    """Flag one order per (agent, buyer, payment day), the earliest paid: 客单价 divides by distinct
    buyers per agent and payment day (D9). Among orders paid in the same second any one may carry
    the flag; every count is the same. (A group-by and a join: a window over these keys is 4× slower.)"""
    firsts = orders.group_by("shop", "agent", "buyer", day=_.paid_at.date()).aggregate(
        first_order=_.order_id.argmin(_.paid_at)
    )
    firsts = firsts.select(first_shop=_.shop, first_order=_.first_order)
    flagged = orders.left_join(firsts, (orders.shop == firsts.first_shop) & (orders.order_id == firsts.first_order))
    return flagged.mutate(first_of_buyer=flagged.first_order.notnull()).drop("first_shop", "first_order")


def uses_cube(src: Sources, params: Params) -> bool:
    """Whether a KPI query sums the KPI cube: it exists and was built with these parameters."""
    return src.cube is not None and src.cube_params == params


def kpi_table(
    src: Sources,
    by: list[str],
    params: Params = Params(),
    date_from: dt.date | ibis.Scalar | None = None,
    date_to: dt.date | ibis.Scalar | None = None,
) -> ibis.Table:
    """One row per group with the group keys and every metric of the grouping, sorted by the keys.

    The first and last day may be dates or Ibis date parameters (`ibis.param`, kefu.metrics.compiled)."""
    keys = group_keys(by)
    shop_level = is_shop_grouping(keys)
    if uses_cube(src, params):
        assert src.cube is not None  # uses_cube: the cube is there and was built with these parameters
        cube = src.cube if shop_level else src.cube.filter(~_.shop_only)
        found = [Fact(cube, "slot", {name: cube[name] for name in cube.columns if name not in CUBE_KEYS})]
    else:
        found = [fact.summed for fact in facts(src, params, shop_level=shop_level).values()]
    sums = _sums(found, keys, src.agents, date_from, date_to)
    return sums.select(*keys, **{m.key: _metric(sums, m) for m in metrics_for(keys)}).order_by(keys)


#: The cube's keys: shop, account, the hour (a timestamp), and whether the row holds shop-only measures.
CUBE_KEYS = ("shop", "agent", "slot", "shop_only")


def measure_cube(src: Sources, params: Params) -> ibis.Table:
    """Every measure summed per (shop, account, hour) for these parameters.

    Every measure is additive and counted at one moment (D8), so any grouping by
    who and when, and any range of days, is a sum of these rows. Silent orders
    and all paid sales are rows of their own (`shop_only`, agent NULL).
    """
    found = facts(src, params, shop_level=True)
    shop_only = [found.pop("paid_orders").summed]
    by_agent = _sums([fact.summed for fact in found.values()], ["shop", "agent", "slot"], src.agents, None, None)
    by_shop = _sums(shop_only, ["shop", "slot"], src.agents, None, None)
    measures = sorted({*by_agent.columns, *by_shop.columns} - set(CUBE_KEYS))
    return ibis.union(
        *(
            part.select(
                "shop",
                agent=part.agent if "agent" in part.columns else ibis.null().cast("string"),
                slot=part.slot,
                shop_only=ibis.literal(flag),
                **_padded(part, measures),
            )
            for part, flag in ((by_agent, False), (by_shop, True))
        )
    )


def _sums(found: list[Fact], keys, agents, date_from, date_to) -> ibis.Table:
    """The facts' measures summed per group: each fact on its own first (a few columns over many
    rows), then the small results stacked and added up."""
    measures = sorted({name for fact in found for name in fact.measures})
    partial = [_sum_fact(fact, keys, agents, date_from, date_to) for fact in found]
    stacked = ibis.union(*(p.select(*keys, **_padded(p, measures)) for p in partial))
    return stacked.group_by(keys).aggregate(
        **{name: stacked[name].sum().cast(_measure_type(name)) for name in measures}
    )


def _measure_type(measure: str) -> str:
    return "decimal(18, 2)" if measure in MONEY_MEASURES else "int64"


def _padded(table: ibis.Table, measures: list[str]) -> dict[str, ibis.Value]:
    """Every measure, in order: the table's own, zero for the others (so tables can be stacked)."""
    return {m: table[m] if m in table.columns else ibis.literal(0).cast(_measure_type(m)) for m in measures}


def _sum_fact(fact: Fact, keys, agents, date_from, date_to) -> ibis.Table:
    rows = _stack(fact, keys, agents, date_from, date_to)
    return rows.group_by(keys).aggregate(**{name: rows[name].sum().cast(_measure_type(name)) for name in fact.measures})


def _stack(fact: Fact, keys, agents, date_from, date_to) -> ibis.Table:
    table, ts_column, measures = fact.rows, fact.ts, fact.measures
    ts = table[ts_column]
    if date_from is not None:
        table = table.filter(ts.date() >= date_from)
    if date_to is not None:
        table = table.filter(table[ts_column].date() <= date_to)
    if {"team", "employer"} & set(keys):
        roster = agents.select(roster_agent=_.agent, team=_.team, employer=_.employer)
        table = table.left_join(roster, table.agent == roster.roster_agent).drop("roster_agent")
    ts = table[ts_column]
    dims = {
        "shop": lambda: table.shop,
        "agent": lambda: table.agent if "agent" in table.columns else ibis.null().cast("string"),
        "team": lambda: table.team if "team" in table.columns else ibis.null().cast("string"),
        "employer": lambda: (table.employer if "employer" in table.columns else ibis.null().cast("string")).fill_null(
            "in_house"
        ),
        "day": lambda: ts.date(),
        "week": lambda: (ts.date() - ts.day_of_week.index().cast("int32").as_interval("D")).cast("date"),
        "month": lambda: ts.truncate("M").date(),
        "hour": lambda: ts.hour().cast("int32"),
        "slot": lambda: ts.truncate("h"),
    }
    values = {name: value.cast(_measure_type(name)) for name, value in measures.items()}
    return table.select(**{k: dims[k]() for k in keys}, **values)


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


__all__ = [
    "CUBE_KEYS",
    "DIMENSIONS",
    "Fact",
    "GroupingError",
    "Sources",
    "facts",
    "group_keys",
    "kpi_table",
    "measure_cube",
    "uses_cube",
]
