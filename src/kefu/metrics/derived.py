"""Tables derived from the canonical ones that no parameter changes, as Ibis expressions.

`questions` (spec §2), `order_contacts` (the last human exchange before each
paid order, spec §4), `consultations` (the parameter-free part of each
consultation, D7) and `message_counts` (messages per buyer, account and hour).
Each expression is the table's declaration: kefu.derive stores them in the
workspace and keeps them up to date inside the import transaction, for the
conversations the import touched, so KPI queries start from them and stay fast.
Spark computes them from the same expressions (kefu.engines.spark). Nothing here
touches a backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import ibis

from kefu.config import Params
from kefu.metrics.consult import consultation_facts
from kefu.metrics.credit import order_contacts
from kefu.metrics.dialogue import message_counts, questions

#: Each derived table from its inputs, in order: a later one may read an earlier one.
STEPS: dict[str, Callable[[Callable[[str], ibis.Table], ibis.Table], ibis.Table]] = {
    "questions": lambda t, bots: questions(t("messages")),
    "order_contacts": lambda t, bots: order_contacts(t("messages"), t("orders"), bots),
    "consultations": lambda t, bots: consultation_facts(t("questions"), t("orders")),
    "message_counts": lambda t, bots: message_counts(t("messages")),
}
DERIVED = tuple(STEPS)
#: The measure cube for the workspace's parameters, and the parameters it was built with (one row).
CUBE, CUBE_PARAMS = "kpi_cube", "kpi_cube_params"
STORED = (*DERIVED, CUBE, CUBE_PARAMS)
PARAM_NAMES = tuple(f.name for f in dataclasses.fields(Params))
#: The canonical tables the KPIs read.
CANONICAL = ("messages", "orders", "agents", "ratings", "complaints")


def derive(messages: ibis.Table, orders: ibis.Table, bots: ibis.Table) -> dict[str, ibis.Table]:
    """The derived tables as expressions over the given tables (for engines that do not store them)."""
    found: dict[str, ibis.Table] = {}
    inputs = {"messages": messages, "orders": orders}
    for name, step in STEPS.items():
        found[name] = step(lambda table: found.get(table, inputs.get(table)), bots)
    return found
