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

from kefu.config import Params

MOMENTS = {"order": "created_at", "payment": "paid_at"}


def order_contacts(ordered: ibis.Table, orders: ibis.Table, bots: ibis.Table) -> ibis.Table:
    """Paid orders with `order_agent`/`order_contact_ts` and `payment_agent`/`payment_contact_ts`:
    the last message exchanged between the buyer and a human account of the shop at or
    before created_at / paid_at (decisions D2, D13). NULL where there was none."""
    exchanges = ordered.filter(_.sender.isin(("buyer", "agent"))).anti_join(bots, "agent").select(
        "shop", "buyer", "ts", "pos", "agent"
    )
    paid = orders.filter(_.paid_at.notnull())
    moments = ibis.union(
        *(
            paid.select("shop", "buyer", "order_id", ts=paid[column], moment=ibis.literal(moment))
            for moment, column in MOMENTS.items()
        )
    )
    none_int, none_str = ibis.null().cast("int64"), ibis.null().cast("string")
    stream = ibis.union(
        exchanges.select("shop", "buyer", "ts", kind=ibis.literal(0), pos=_.pos.cast("int64"), order_id=none_str, moment=none_str),
        moments.select("shop", "buyer", "ts", kind=ibis.literal(1), pos=none_int, order_id=_.order_id, moment=_.moment),
    )
    # A message in the same second as the moment sorts before it (kind 0 < 1): D2.
    so_far = ibis.window(group_by=["shop", "buyer"], order_by=["ts", "kind", "pos"], preceding=None, following=0)
    stream = stream.mutate(last_pos=ibis.ifelse(_.kind == 0, _.pos, None).max().over(so_far))
    hits = stream.filter(_.kind == 1)
    contact = exchanges.select(c_shop=_.shop, c_buyer=_.buyer, c_pos=_.pos.cast("int64"), c_agent=_.agent, c_ts=_.ts)
    hits = hits.left_join(
        contact, [hits.shop == contact.c_shop, hits.buyer == contact.c_buyer, hits.last_pos == contact.c_pos]
    ).select("order_id", "moment", "c_agent", "c_ts")
    per_order = hits.group_by("order_id").aggregate(
        **{
            f"{moment}_{field}": ibis.ifelse(_.moment == moment, _[f"c_{field}"], None).max()
            for moment in MOMENTS
            for field in ("agent", "ts")
        }
    )
    per_order = per_order.rename(order_contact_ts="order_ts", payment_contact_ts="payment_ts")
    return paid.select("order_id", "shop", "buyer", "created_at", "paid_at", "amount").join(per_order, "order_id")


def credited_orders(contacts: ibis.Table, params: Params) -> ibis.Table:
    """Every paid order with `agent` (NULL = silent order, 静默下单), `credit_moment` and
    `credit_ts` (the winning message)."""
    limit = params.attribution_hours * 3600

    def within(moment: str) -> ibis.Value:
        gap = contacts[MOMENTS[moment]].epoch_seconds() - contacts[f"{moment}_contact_ts"].epoch_seconds()
        return contacts[f"{moment}_agent"].notnull() & (gap <= limit)

    order_ok, payment_ok = within("order"), within("payment")
    use_order = {"order": order_ok, "payment": ibis.literal(False), "order_first": order_ok}[params.credit_rule]
    use_payment = {"order": ibis.literal(False), "payment": payment_ok, "order_first": ~order_ok & payment_ok}[params.credit_rule]
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
