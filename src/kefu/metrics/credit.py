"""Order credit, 落实客服 (spec §4): which human agent a paid order is credited to.

`order_contacts` (parameter-free, materialised in the workspace) finds for
each paid order the last human exchange before its creation and before its
payment. `credited_orders` then applies `attribution_hours` and the
`credit_rule`: the last exchange before a moment is the only candidate, since
every earlier one is further away.
"""

from __future__ import annotations

import ibis
from ibis import _

from kefu.config import CreditRule, Params
from kefu.metrics.dialogue import accounts, coded_messages, conversations

MOMENTS = {"order": "created_at", "payment": "paid_at"}
#: Packing (epoch seconds, sender rank, account number) into one int64 whose maximum is the latest exchange.
ACCOUNT_SPAN = 1 << 24  # up to 16 million accounts
ORDER_SPAN = 4 * ACCOUNT_SPAN  # sender ranks 0-3


def order_contacts(messages: ibis.Table, orders: ibis.Table, bots: ibis.Table) -> ibis.Table:
    """Paid orders with `order_agent`/`order_contact_ts` and `payment_agent`/`payment_contact_ts`:
    the last message exchanged between the buyer and a human account of the shop at or
    before created_at / paid_at (decisions D2, D13). NULL where there was none.

    One sort: the buyer's exchanges and order moments in time order. The last exchange
    is the greatest (ts, sender rank, account) so far (D1 order), packed into one integer.
    """
    humans = messages.filter(_.sender.isin(("buyer", "agent"))).anti_join(bots, "agent")
    convs, accts = conversations(messages), accounts(messages)
    exchanges = coded_messages(humans, convs, accts)
    paid = orders.filter(_.paid_at.notnull())
    moments = paid.join(convs, ["shop", "buyer"]).select(
        "conv", "shop", "order_id", created_at="created_at", paid_at="paid_at"
    )
    none_int, none_str = ibis.null().cast("int64"), ibis.null().cast("string")
    stream = ibis.union(
        exchanges.select(
            "conv",
            "ts",
            kind=ibis.literal(0),
            last=_.ts.epoch_seconds().cast("int64") * ORDER_SPAN
            + _.rank.cast("int64") * ACCOUNT_SPAN
            + _.acct.cast("int64"),
            shop=none_str,
            order_id=none_str,
            moment=none_str,
        ),
        *(
            moments.select(
                "conv",
                ts=moments[column],
                kind=ibis.literal(1),
                last=none_int,
                shop=_.shop,
                order_id=_.order_id,
                moment=ibis.literal(moment),
            )
            for moment, column in MOMENTS.items()
        ),
    )
    # A message in the same second as the moment sorts before it (kind 0 < 1): D2.
    so_far = ibis.window(group_by="conv", order_by=["ts", "kind"], preceding=None, following=0)
    stream = stream.mutate(
        last=_.last.max().over(so_far), last_ts=ibis.ifelse(_.kind == 0, _.ts, None).max().over(so_far)
    )
    hits = stream.filter((_.kind == 1) & _.last.notnull()).mutate(acct=_.last % ACCOUNT_SPAN).join(accts, "acct")
    per_order = hits.group_by("shop", "order_id").aggregate(  # an order id is unique within its shop
        **{
            f"{moment}_{field}": ibis.ifelse(_.moment == moment, _[column], None).max()
            for moment in MOMENTS
            for field, column in (("agent", "agent"), ("contact_ts", "last_ts"))
        }
    )
    orders_ = paid.select("order_id", "shop", "buyer", "created_at", "paid_at", "amount")
    return orders_.left_join(per_order, ["shop", "order_id"]).drop("shop_right", "order_id_right")


def credited_orders(contacts: ibis.Table, params: Params) -> ibis.Table:
    """Every paid order with `agent` (NULL = silent order, 静默下单), `credit_moment` and
    `credit_ts` (the winning message)."""
    limit = params.attribution_hours * 3600

    def within(moment: str) -> ibis.Value:
        gap = contacts[MOMENTS[moment]].epoch_seconds() - contacts[f"{moment}_contact_ts"].epoch_seconds()
        return contacts[f"{moment}_agent"].notnull() & (gap <= limit)

    order_ok, payment_ok = within("order"), within("payment")
    rule, never = CreditRule(params.credit_rule), ibis.literal(False)
    use_order = {CreditRule.order: order_ok, CreditRule.payment: never, CreditRule.order_first: order_ok}[rule]
    use_payment = {
        CreditRule.order: never,
        CreditRule.payment: payment_ok,
        CreditRule.order_first: ~order_ok & payment_ok,
    }[rule]
    return contacts.select(
        "order_id",
        "shop",
        "buyer",
        "created_at",
        "paid_at",
        "amount",
        agent=ibis.cases((use_order, _.order_agent), (use_payment, _.payment_agent), else_=ibis.null().cast("string")),
        credit_moment=ibis.cases((use_order, "order"), (use_payment, "payment"), else_=ibis.null().cast("string")),
        credit_ts=ibis.cases(
            (use_order, _.order_contact_ts), (use_payment, _.payment_contact_ts), else_=ibis.null().cast("timestamp")
        ),
    )
