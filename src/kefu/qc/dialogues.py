"""Dialogue rules: the agent's first / last message of a dialogue lacks a greeting / closing.

A dialogue is one agent with one buyer on one day (the unit of decision D7).
Its first message(s) are the agent's messages sent in the same second as the
agent's first message of that dialogue; likewise for the last. The rule is
met when any of them contains one of the rule's patterns; so a greeting sent
in the same second as an answer counts, whatever order the export put them in.

The patterns are only tried on those edge messages: one aggregation finds each
dialogue's first and last second, an equality join fetches the messages of
those seconds, and a second aggregation decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis import _

from kefu.qc.rules import Rule

DIALOGUE = ("shop", "agent", "buyer", "day")


def missing_phrase_findings(agent_messages: ir.Table, rules: Sequence[Rule]) -> ir.Table | None:
    """One row per dialogue and rule that is not met: shop, agent, buyer, ts, text, rule, match (''), match_start (0).

    `ts` and `text` are those of the first (missing_at_start) or last (missing_at_end) message;
    among messages of the same second, the first by text (decision D1).
    """
    rules = [r for r in rules if r.kind in ("missing_at_start", "missing_at_end")]
    if not rules:
        return None
    said = agent_messages.select("shop", "agent", "buyer", "ts", "text", day=_.ts.date())
    bounds = said.group_by(list(DIALOGUE)).aggregate(first_ts=_.ts.min(), last_ts=_.ts.max())
    edges = said.join(bounds, list(DIALOGUE)).filter((_.ts == _.first_ts) | (_.ts == _.last_ts))
    at = {r.id: "first_ts" if r.kind == "missing_at_start" else "last_ts" for r in rules}
    # One aggregation for all rules: per rule, whether a message of its edge second has a pattern.
    per_dialogue = edges.group_by(list(DIALOGUE)).aggregate(
        first_ts=edges.first_ts.min(),
        last_ts=edges.last_ts.max(),
        first_text=edges.text.min(where=edges.ts == edges.first_ts),
        last_text=edges.text.min(where=edges.ts == edges.last_ts),
        **{
            f"met_{r.id}": ibis.ifelse(edges.ts == edges[at[r.id]], edges.text.re_search(r.pattern), False).any()
            for r in rules
        },
    )
    return ibis.union(
        *(
            per_dialogue.filter(~per_dialogue[f"met_{r.id}"]).select(
                "shop",
                "agent",
                "buyer",
                ts=per_dialogue[at[r.id]],
                text=per_dialogue[at[r.id].replace("_ts", "_text")],
                rule=ibis.literal(r.id),
                match=ibis.literal(""),
                match_start=ibis.literal(0, "int32"),
            )
            for r in rules
        )
    )
