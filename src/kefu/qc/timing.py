"""Timing rules over the engine's questions (kefu.metrics.dialogue, spec §2): nothing re-implemented here.

- slow_reply: an answered question with response time > threshold_s (default
  kefu.toml slow_threshold_s, so the findings equal the KPI 慢响应次数);
- unanswered: a question never answered (the KPI's unanswered_questions);
- long_silence: an answered question the buyer waited more than threshold_s
  for (default 600 s) — the long gap inside an open dialogue.

A question's buyer messages are the buyer's messages to the agent from its
opening up to its reply (or the end of its day). When every one of them
matches one of the rule's exceptions (好的, 谢谢, a sticker), nothing needed
an answer and the question is exempt. Only questions whose opening second
holds acknowledgements alone are looked at further, so the range join runs
on few rows.

The flagged questions are then summarised: one finding per dialogue (shop, agent,
buyer, the question's day) and rule, carrying `occurrences` (how many questions)
and the worst of them — the longest wait (slow_reply, long_silence) or the first
question left open (unanswered) — as its time (the opening), text (the opening
message) and match (the response time, '95s'; '' when unanswered). `evidence`
lists every question's opening time and response, in time order
('10:00:05 120s, 10:30:00 95s'; an unanswered one without a response).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import ibis
import ibis.expr.types as ir
from ibis import _

from kefu.config import Params
from kefu.qc.rules import Rule

QUESTION = ("shop", "agent", "buyer", "open_ts")


def flagged(questions: ir.Table, rule: Rule, params: Params) -> ir.Table:
    answered = questions.close_ts.notnull()
    if rule.kind == "unanswered":
        condition = ~answered
    else:
        threshold = rule.threshold_s if rule.threshold_s is not None else params.slow_threshold_s
        condition = answered & (questions.response_s > threshold)
    return questions.filter(condition).select(*QUESTION, "day", "close_ts", "response_s", rule=ibis.literal(rule.id))


def timing_findings(
    questions: ir.Table, buyer_messages: ir.Table, rules: Sequence[Rule], params: Params, scratch: ExitStack
) -> ir.Table | None:
    """One row per dialogue and rule with flagged questions: shop, agent, buyer, ts, text, rule, match,
    match_start (0), occurrences, evidence (see the module's docstring).

    `questions` are human questions (bots removed) of the period; `buyer_messages` the
    buyer messages (sender 'buyer') of the period with shop, agent, buyer, ts, text.
    The flagged questions are materialised (released when `scratch` closes), so that the
    exemption check runs only when there are candidates, and on exactly those.
    """
    rules = [r for r in rules if r.is_timing]
    if not rules:
        return None
    found = ibis.union(*(flagged(questions, r, params) for r in rules))
    said = buyer_messages.select(m_shop=_.shop, m_agent=_.agent, m_buyer=_.buyer, m_ts=_.ts, m_text=_.text)
    exempt_rules = [r for r in rules if r.exceptions]

    def is_ack(table: ir.Table) -> ir.BooleanValue:
        """The buyer message matches an exception of the row's rule (an acknowledgement)."""
        cases = [(table.rule == r.id, table.m_text.re_search(r.exception)) for r in exempt_rules]
        return ibis.cases(*cases, else_=False) if cases else ibis.literal(False)

    # The opening second's messages (an equality join): the finding's text, and whether they are
    # all acknowledgements, which only then makes the question a candidate for exemption.
    opening = found.left_join(
        said,
        [
            found.shop == said.m_shop,
            found.agent == said.m_agent,
            found.buyer == said.m_buyer,
            found.open_ts == said.m_ts,
        ],
    )
    # (day, close_ts and response_s depend on the question: aggregated rather than grouped by, fewer keys to hash)
    opening = (
        opening.mutate(ack=is_ack(opening))
        .group_by([*QUESTION, "rule"])
        .aggregate(
            day=_.day.min(),
            close_ts=_.close_ts.min(),
            response_s=_.response_s.min(),
            text=_.m_text.min(),
            said=_.m_ts.count(),
            said_ack=_.ack.sum(),
        )
    )
    opening = scratch.enter_context(opening.cache())
    candidates = scratch.enter_context(opening.filter((_.said > 0) & (_.said_ack == _.said)).cache())
    if candidates.count().execute() == 0:
        return _finding(opening)
    # Exempt: every buyer message of the question — opening to reply, or to the end of its day — is one.
    # Only the candidates' dialogues: a semi join builds on the few candidates, not on every buyer message.
    theirs = said.semi_join(
        candidates, [said.m_shop == candidates.shop, said.m_agent == candidates.agent, said.m_buyer == candidates.buyer]
    )
    rest = candidates.join(
        theirs,
        [candidates.shop == theirs.m_shop, candidates.agent == theirs.m_agent, candidates.buyer == theirs.m_buyer],
    )
    rest = rest.filter(
        (_.m_ts >= _.open_ts) & (_.m_ts.date() == _.day) & (_.close_ts.isnull() | (_.m_ts <= _.close_ts))
    )
    not_ack = rest.mutate(ack=is_ack(rest)).filter(~_.ack).select(*QUESTION, "rule").distinct()
    exempt = candidates.select(*QUESTION, "rule").anti_join(not_ack, [*QUESTION, "rule"])
    return _finding(opening.anti_join(exempt, [*QUESTION, "rule"]))


def _finding(kept: ir.Table) -> ir.Table:
    """One finding per dialogue and rule: the worst question shown, every question counted and listed."""
    dialogue = ["shop", "agent", "buyer", "day", "rule"]
    kept = kept.mutate(
        response=ibis.ifelse(_.response_s.isnull(), "", _.response_s.cast("int64").cast("string").concat("s"))
    )
    # Worst first: the longest answered wait; unanswered questions (no response) by time, the first left open.
    worst_first = ibis.window(group_by=dialogue, order_by=[ibis.desc(_.response_s.fill_null(0)), _.open_ts])
    worst = kept.mutate(rank=ibis.row_number().over(worst_first)).filter(_.rank == 0)
    item = (
        kept.open_ts.cast("string")
        .substr(11, 8)
        .concat(ibis.ifelse(kept.response == "", "", ibis.literal(" ").concat(kept.response)))
    )
    listed = (
        kept.mutate(item=item)
        .group_by(dialogue)
        .aggregate(occurrences=_.open_ts.count().cast("int32"), evidence=_.item.collect().sort().join(", "))
    )
    summary = worst.join(listed, dialogue)
    return summary.select(
        "shop",
        "agent",
        "buyer",
        ts=_.open_ts,
        text=_.text.fill_null(""),
        rule=_.rule,
        match=_.response,
        match_start=ibis.literal(0, "int32"),
        occurrences=_.occurrences,
        evidence=_.evidence,
    )
