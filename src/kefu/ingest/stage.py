"""Validate a raw table in the engine: type every cell, give each bad row its reasons.

The SQL is generated from the declarations in kefu.schema, so adding a column
or a rule there is all it takes. A row is rejected with *all* its problems
joined by '; ', e.g. `ts: '2026/11/11 10:00' is not a time YYYY-MM-DD HH:MM:SS`.
"""

from __future__ import annotations

import datetime as dt

from kefu.schema import PROVENANCE, TS_FORMAT, Column, Table

#: Columns the pipeline adds to a raw table: source file, line, and order across files.
BOOKKEEPING = ("_file", "_line", "_seq")
# Hours 00-23: DuckDB would read 24:00:00 as the next day's midnight.
TS_PATTERN = r"\d{4}-\d{2}-\d{2} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
MONEY_PATTERN = r"\d{1,16}(\.\d{1,2})?"
INT_PATTERN = r"[+-]?\d{1,9}"
#: What Excel writes for a long number it turned into a float (1.23457E+18): the digits are lost.
#: The one check of order and refund numbers, here and in the exports' parsers.
SCIENTIFIC_PATTERN = r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+"
#: Excel keeps 15 significant digits of a number and pads a longer one with zeros.
EXCEL_DIGITS = 15
#: Plausible times (D17): nothing before 2000, nothing more than a year after the import.
EARLIEST_DAY = dt.date(2000, 1, 1)
TRUE_WORDS = ("true", "1", "yes", "y", "t", "是")
FALSE_WORDS = ("false", "0", "no", "n", "f", "否")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def missing_required(table: Table, present: set[str]) -> list[str]:
    return [c.name for c in table.columns if c.required and c.name not in present]


def staging_sql(table: Table, source: str, present: list[str]) -> str:
    """SELECT that types every canonical column of `source` and adds `_reason` (NULL = accepted)
    and `_raw` (the source row as JSON, for rejected rows only).

    Nested so that each cell is cleaned and typed once: the innermost SELECT adds
    `_c_<col>` (clean text) and `_t_<col>` (typed value); the reasons are read off them.
    """
    clean = {c.name: q("_c_" + c.name) for c in table.columns}
    typed = {c.name: q("_t_" + c.name) for c in table.columns}
    inner = [f"{_cell(c, present)} AS {clean[c.name]}" for c in table.columns]
    inner += [f"{_typed(c, clean[c.name])} AS {typed[c.name]}" for c in table.columns]
    reasons = [r for c in table.columns for r in _reasons(c, clean[c.name], typed[c.name])]
    present = [name for name in present if name not in BOOKKEEPING]
    extras = [name for name in present if name not in table.column_names]
    extra = (
        f"to_json(struct_pack({', '.join(f'{q(n)} := {q(n)}' for n in extras)}))::VARCHAR"
        if extras
        else "NULL::VARCHAR"
    )
    raw = f"to_json(struct_pack({', '.join(f'{q(n)} := {q(n)}' for n in present)}))::VARCHAR"
    return f"""
        SELECT {", ".join(f"{typed[c.name]} AS {q(c.name)}" for c in table.columns)},
               {extra} AS extra, _file AS src_file, _line AS src_line, _seq, _reason,
               CASE WHEN _reason IS NOT NULL THEN {raw} END AS _raw
        FROM (
            SELECT *, NULLIF(concat_ws('; ', {", ".join(reasons)}), '') AS _reason
            FROM (SELECT *, {", ".join(inner)} FROM {source})
        )"""


def _cell(column: Column, present: list[str]) -> str:
    """The cell as trimmed text, NULL when empty or absent, with the column's default."""
    value = f"NULLIF(TRIM({q(column.name)}), '')" if column.name in present else "NULL::VARCHAR"
    if column.default is not None:
        value = f"COALESCE({value}, {lit(column.default)})"
    if column.choices:
        value = f"lower({value})"
    return value


def _typed(column: Column, cell: str) -> str:
    if column.kind == "timestamp":
        return f"CASE WHEN regexp_full_match({cell}, {lit(TS_PATTERN)}) THEN TRY_CAST({cell} AS TIMESTAMP) END"
    if column.kind == "money":
        return f"CASE WHEN regexp_full_match({cell}, {lit(MONEY_PATTERN)}) THEN CAST({cell} AS DECIMAL(18,2)) END"
    if column.kind == "int":
        return f"CASE WHEN regexp_full_match({cell}, {lit(INT_PATTERN)}) THEN CAST({cell} AS INTEGER) END"
    if column.kind == "bool":
        trues = ", ".join(lit(w) for w in TRUE_WORDS)
        falses = ", ".join(lit(w) for w in FALSE_WORDS)
        return f"CASE WHEN lower({cell}) IN ({trues}) THEN true WHEN lower({cell}) IN ({falses}) THEN false END"
    return cell


def latest_day(today: dt.date | None = None) -> dt.date:
    """The last day a timestamp may fall on: a year after today (D17)."""
    return (today or dt.date.today()) + dt.timedelta(days=365)


def _reasons(column: Column, cell: str, typed: str) -> list[str]:
    """SQL expressions that are a reason text when the cell is bad, else NULL."""
    name, shown = column.name, f"'{column.name}: ''' || {cell} || ''' ' || "
    out = []
    if column.required:
        out.append(f"CASE WHEN {cell} IS NULL THEN {lit(name + ': required value is empty')} END")
    expectation = {
        "money": "is not an amount ≥ 0 with at most two decimals",
        "int": "is not a whole number",
        "bool": "is not true/false",
    }.get(column.kind)
    if expectation:
        out.append(f"CASE WHEN {cell} IS NOT NULL AND {typed} IS NULL THEN {shown}{lit(expectation)} END")
    if column.kind == "timestamp":
        out += _timestamp_reasons(cell, typed, shown)
    if column.long_number:
        out.append(
            f"CASE WHEN regexp_full_match({cell}, {lit(SCIENTIFIC_PATTERN)}) "
            f"THEN {shown}{lit('was damaged by Excel (scientific notation): digits lost')} END"
        )
        out.append(_rounded_reason(cell, shown))
    if column.bounds:
        low, high = column.bounds
        out.append(
            f"CASE WHEN {typed} NOT BETWEEN {low} AND {high} THEN {shown}{lit(f'is not between {low} and {high}')} END"
        )
    if column.choices:
        allowed = ", ".join(lit(c) for c in column.choices)
        out.append(
            f"CASE WHEN {cell} IS NOT NULL AND {cell} NOT IN ({allowed}) "
            f"THEN {shown}{lit('is not one of ' + ', '.join(column.choices))} END"
        )
    return out


def _rounded_reason(cell: str, shown: str) -> str:
    """A long number Excel rounded to 15 digits, as the order exports' check (formats.orders.excel_rounded):
    at least 3 long numbers in the file and every one of them ends in zeros after the 15th digit. A genuine
    number ends so with probability 1e-3 to 1e-4, so three of them never happen by chance."""
    long = f"(length({cell}) > {EXCEL_DIGITS} AND regexp_full_match({cell}, '[0-9]+'))"
    zeros = f"(ltrim(substr({cell}, {EXCEL_DIGITS + 1}), '0') = '')"
    whole_file = (
        f"count(*) FILTER ({long}) OVER (PARTITION BY _file) >= 3 "
        f"AND bool_and({zeros}) FILTER ({long}) OVER (PARTITION BY _file)"
    )
    why = f"was rounded by Excel to {EXCEL_DIGITS} digits (all long numbers of this file end in zeros): digits lost"
    return f"CASE WHEN {long} AND {zeros} AND {whole_file} THEN {shown}{lit(why)} END"


def _timestamp_reasons(cell: str, typed: str, shown: str) -> list[str]:
    """Not the format, an impossible date (2026-02-29), or outside the plausible years (D17)."""
    day, last = f"left({cell}, 10)", latest_day()
    return [
        f"""CASE WHEN {cell} IS NOT NULL AND {typed} IS NULL THEN
              CASE WHEN regexp_full_match({cell}, {lit(TS_PATTERN)}) AND TRY_CAST({day} AS DATE) IS NULL
                   THEN {shown}'has no such date ' || {day} ELSE {shown}{lit(f"is not a time {TS_FORMAT}")} END END""",
        f"""CASE WHEN {typed} < TIMESTAMP '{EARLIEST_DAY}' OR {typed} >= TIMESTAMP '{last + dt.timedelta(days=1)}'
              THEN {shown}{lit(f"is not between {EARLIEST_DAY} and {last} (a year from today)")} END""",
    ]


def conflict_sql(table: Table, staged: str) -> str:
    """Accepted rows of a keyed table that repeat an earlier row's key with other values."""
    key = ", ".join(q(k) for k in table.key_columns)
    content = ", ".join(f"{q(c)} := {q(c)}" for c in table.column_names)
    return f"""
        SELECT src_line, {key},
               first_value(src_line) OVER w AS first_line,
               struct_pack({content}) IS DISTINCT FROM first_value(struct_pack({content})) OVER w AS differs
        FROM {staged} WHERE _reason IS NULL
        WINDOW w AS (PARTITION BY {key}, src_file ORDER BY src_line)"""


def stored_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns + PROVENANCE]
