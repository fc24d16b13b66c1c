"""Phrase rules: find the first real match of each rule in each message, in the engine.

How a message is read (docs/qc.md): left to right; at each position a rule's
exceptions are tried before its patterns, and text an exception matches is
skipped. A pattern match whose number fails the rule's checksum, or equals
one of the shop's order ids, is skipped the same way. The first match that is
not skipped is the finding: one finding per rule and message.

All of it is Ibis regex on the backend (RE2 on DuckDB, java.util.regex on
Spark). One cheap pass over the scope's messages with every pattern at once
picks the candidates; only those are read token by token. Each step reads
one token of every unresolved (message, rule) pair with the regex
`^(prefix)(?:(exceptions)|(patterns))`; the rare pairs whose token was
skipped go round again, so a message is read to its end however many
exceptions it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import ibis
import ibis.expr.types as ir
from ibis import _

from kefu.qc.checksum import CHECKS
from kefu.qc.rules import Rule, count_groups

#: Safety stop: at most this many skipped tokens (exceptions, wrong check digits) per message and rule.
MAX_STEPS = 64
MESSAGE_COLUMNS = ("shop", "agent", "buyer", "ts", "text")


def token_regex(rule: Rule) -> tuple[str, int]:
    """The regex reading one token of a rule, and the group number of the pattern branch.

    Group 1 is the text before the token, group 2 the exception branch (when the
    rule has exceptions); user patterns may hold groups of their own, hence the count.
    """
    prefix = "^((?s:.*?))"
    if not rule.exceptions:
        return f"{prefix}({rule.pattern})", 2
    return f"{prefix}(?:({rule.exception})|({rule.pattern}))", 3 + count_groups(rule.exception)


def any_pattern(rules: Sequence[Rule]) -> str:
    return "|".join(r.pattern for r in rules)


def phrase_findings(
    scopes: Sequence[tuple[ir.Table, Sequence[Rule]]], orders: ir.Table | None, scratch: ExitStack
) -> ir.Table | None:
    """One row per (message, rule) with a real match: shop, agent, buyer, ts, text, rule, match, match_start.

    `scopes` pairs each scope's messages (columns MESSAGE_COLUMNS) with its rules: one candidate
    pass per scope, then one reading pipeline for all. Returns None when nothing matched.
    Runs queries (a few per reading step), so the tables must be bound to a backend; the
    intermediate tables it keeps on the backend are released when `scratch` closes.
    """
    scopes = [(messages, [r for r in rules if r.kind == "phrase"]) for messages, rules in scopes]
    scopes = [(messages, rules) for messages, rules in scopes if rules]
    rules = [r for _messages, scope_rules in scopes for r in scope_rules]
    if not rules:
        return None

    def keep(table: ir.Table) -> ir.Table:
        return scratch.enter_context(table.cache())

    candidates = [
        messages.select(*MESSAGE_COLUMNS).filter(_.text.re_search(any_pattern(scope_rules)))
        for messages, scope_rules in scopes
    ]
    # The candidates of all scopes, each tagged with the scope's index, in one small table.
    tagged = keep(ibis.union(*(c.mutate(scope=ibis.literal(i, "int8")) for i, c in enumerate(candidates))))
    pairs = keep(
        ibis.union(
            *(
                tagged.filter((_.scope == i) & _.text.re_search(r.pattern)).select(
                    *MESSAGE_COLUMNS, rule=ibis.literal(r.id), offset=ibis.literal(0, "int64")
                )
                for i, (_messages, scope_rules) in enumerate(scopes)
                for r in scope_rules
            )
        )
    )
    if pairs.count().execute() == 0:
        return None
    order_ids = _order_ids(orders) if orders is not None and any(r.skip_order_ids for r in rules) else None
    found: list[ir.Table] = []
    for _step in range(MAX_STEPS):
        # Two small materialised stages: the second reads the first one's columns by name, where
        # one expression would repeat the token regexes in every place the checksums use them.
        tokens = keep(_read_token(pairs, rules))
        step = _judge_token(keep(_check_number(_match_of(tokens, rules), rules, order_ids)))
        found.append(step.filter(_.resolved).select(*MESSAGE_COLUMNS, "rule", match=_.match, match_start=_.match_start))
        pairs = step.filter(_.skip).select(*MESSAGE_COLUMNS, "rule", offset=_.next_offset)
        if step.filter(_.skip).count().execute() == 0:
            break
    return ibis.union(*found)


def _read_token(pairs: ir.Table, rules: Sequence[Rule]) -> ir.Table:
    """The next token of each pair: prefix (text before it), excepted (exception text) or hit (pattern text)."""
    rest = pairs.text.substr(pairs.offset)
    regex = {r.id: token_regex(r) for r in rules}

    def per_rule(value) -> ir.Value:
        """A value computed with each pair's own rule (a CASE over the rule ids)."""
        return ibis.cases(*((pairs.rule == r.id, value(r)) for r in rules), else_=ibis.null("string")).fill_null("")

    return pairs.mutate(
        prefix=per_rule(lambda r: rest.re_extract(regex[r.id][0], 1)),
        excepted=per_rule(lambda r: rest.re_extract(regex[r.id][0], 2) if r.exceptions else ibis.literal("")),
        hit=per_rule(lambda r: rest.re_extract(regex[r.id][0], regex[r.id][1])),
    )


def _match_of(tokens: ir.Table, rules: Sequence[Rule]) -> ir.Table:
    """The reported match inside a hit (the rule's span; the hit itself without one) and its digits."""
    spans = [(tokens.rule == r.id, tokens.hit.re_extract(r.span_pattern, 0)) for r in rules if r.span]
    match = (ibis.cases(*spans, else_=tokens.hit) if spans else tokens.hit).fill_null("")
    return tokens.mutate(match=match, digits=match.re_replace("[^0-9Xx]", ""))


def _check_number(read: ir.Table, rules: Sequence[Rule], order_ids: ir.Table | None) -> ir.Table:
    """Add number_ok: false when the match fails its rule's checksum or is one of the shop's order ids."""
    checks = [(read.rule == r.id, CHECKS[r.checksum](read.digits)) for r in rules if r.checksum]
    number_ok = ibis.cases(*checks, else_=True) if checks else ibis.literal(True)
    if order_ids is None:
        return read.mutate(number_ok=number_ok)
    skip_ids = [r.id for r in rules if r.skip_order_ids]
    joined = read.left_join(order_ids, [read.shop == order_ids.o_shop, read.digits == order_ids.o_id])
    number_ok = number_ok & ~(joined.rule.isin(skip_ids) & joined.o_id.notnull())
    return joined.mutate(number_ok=number_ok).drop("o_shop", "o_id")


def _judge_token(read: ir.Table) -> ir.Table:
    """Whether the token is a finding (resolved) or is skipped, its match_start and where reading goes on."""
    valid = (read.hit != "") & (read.match != "") & read.number_ok
    token_len = read.excepted.length() + read.hit.length()
    return read.mutate(
        resolved=valid,
        skip=~valid & (token_len > 0),
        match_start=(read.offset + read.prefix.length() + read.hit.find(read.match)).cast("int32"),
        next_offset=read.offset + read.prefix.length() + token_len,
    )


def _order_ids(orders: ir.Table) -> ir.Table:
    return orders.select(o_shop=_.shop, o_id=_.order_id).distinct()
