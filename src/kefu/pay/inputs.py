"""Monthly pay inputs imported from files: attendance (出勤), product-knowledge test
scores (产品知识考试) and prizes (奖励, e.g. a ranking prize decided outside kefu).

`kefu pay import WS FILE --month 2026-11 --kind attendance` reads a CSV (UTF-8
or GBK) or XLSX with a header row, checks every row — each problem names the
file, the line and the reason — and, only when all rows are good, replaces that
month's rows of that kind in the workspace table `pay_<kind>` in one
transaction. Every stored row keeps its file and line, shown on the payslip.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from kefu.errors import KefuError
from kefu.pay.model import AgentInfo, Attendance, Prize
from kefu.pay.scheme import MONTH_RE


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # agent, days, score, money, text
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class InputKind:
    name: str
    zh: str
    fields: tuple[Field, ...]
    #: columns that may appear once per month (None: any number of rows per agent)
    unique: tuple[str, ...] | None

    @property
    def table(self) -> str:
        return f"pay_{self.name}"


AGENT = Field(
    "agent", "agent", True, ("客服", "账号", "客服账号", "子账号"), "account `店铺:名字`, or the name when it is unique"
)
KINDS: dict[str, InputKind] = {
    k.name: k
    for k in (
        InputKind(
            "attendance",
            "出勤",
            (
                AGENT,
                Field("working_days", "days", True, ("出勤天数", "出勤"), "days worked in the month (halves allowed)"),
                Field("leave_days", "days", False, ("请假天数", "请假"), "days of leave"),
                Field(
                    "scheduled_days",
                    "days",
                    False,
                    ("应出勤天数", "应出勤"),
                    "days the agent should have worked (needed to prorate the base)",
                ),
            ),
            unique=("agent",),
        ),
        InputKind(
            "test_scores",
            "产品知识考试",
            (
                AGENT,
                Field("score", "score", True, ("成绩", "分数", "得分"), "0–100"),
                Field("test", "text", False, ("考试", "考试名称"), "which test; several tests a month are averaged"),
            ),
            unique=("agent", "test"),
        ),
        InputKind(
            "prizes",
            "奖励",
            (
                AGENT,
                Field("amount", "money", True, ("金额", "奖金"), "yuan; negative for a penalty decided outside kefu"),
                Field("reason", "text", True, ("原因", "事由", "奖项"), "shown on the payslip"),
            ),
            unique=None,
        ),
    )
}

SQL_TYPES = {
    "agent": "VARCHAR",
    "days": "DECIMAL(6,1)",
    "score": "DECIMAL(6,2)",
    "money": "DECIMAL(18,2)",
    "text": "VARCHAR",
}


class InputError(KefuError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for kind in KINDS.values():
        cols = ", ".join(f'"{f.name}" {SQL_TYPES[f.kind]}' for f in kind.fields)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {kind.table} (month VARCHAR NOT NULL, {cols}, "
            "src_file VARCHAR, src_line INTEGER, imported_at TIMESTAMP)"
        )


# -- reading a file ---------------------------------------------------------------------------


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, row) pairs of a CSV or XLSX with a header row; line numbers are the file's own."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        header = [_cell(h) for h in rows[0]]
        return [
            (i, dict(zip(header, map(_cell, r)))) for i, r in enumerate(rows[1:], start=2) if any(_cell(x) for x in r)
        ]
    from kefu.ingest.formats.encoding import decode

    text, _ = decode(path.read_bytes(), path)
    reader = csv.DictReader(io.StringIO(text))
    out = []
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            out.append((reader.line_num, {k: v for k, v in row.items() if k is not None}))
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# -- checking rows ----------------------------------------------------------------------------


def parse(
    rows: list[tuple[int, dict[str, str]]], kind: InputKind, agents: dict[str, AgentInfo], source: str
) -> list[dict]:
    """Typed rows, or InputError listing every problem (file, line, reason)."""
    if not rows:
        raise InputError([f"{source}: no rows (a header row, then one row per agent)"])
    columns = _columns(rows[0][1].keys(), kind, source)
    out, problems = [], []
    seen: dict[tuple, int] = {}  # unique key -> its line
    for line, raw in rows:
        where = f"{source} line {line}"
        record, found = {"src_line": line}, []
        for f in kind.fields:
            text = (raw.get(columns[f.name]) or "").strip() if f.name in columns else ""
            value, problem = _value(f, text, agents)
            if problem:
                found.append(f"{f.name} {problem}")
            record[f.name] = value
        if found:
            problems.append(f"{where}: " + "; ".join(found))
            continue
        if kind.unique:
            key = tuple(record.get(c) for c in kind.unique)
            if key in seen:
                problems.append(
                    f"{where}: {record['agent']} is already on line {seen[key]}"
                    + (f" for test {record.get('test')!r}" if "test" in kind.unique else "")
                )
                continue
            seen[key] = line
        out.append(record)
    if problems:
        raise InputError(problems)
    return out


def _columns(header, kind: InputKind, source: str) -> dict[str, str]:
    """Field name -> the header cell that holds it (English name or a Chinese alias)."""
    found = {}
    for cell in header:
        name = (cell or "").strip().lstrip("\ufeff")
        for f in kind.fields:
            if name.lower() == f.name or name in f.aliases:
                found[f.name] = cell
    missing = [f.name for f in kind.fields if f.required and f.name not in found]
    if missing:
        wanted = ", ".join(f"{f.name} ({'/'.join(f.aliases[:2])})" for f in kind.fields if f.name in missing)
        raise InputError(
            [
                f"{source} line 1: missing column {wanted}; columns of {kind.name}: "
                + ", ".join(f.name for f in kind.fields)
            ]
        )
    return found


def _value(f: Field, text: str, agents: dict[str, AgentInfo]):
    if not text:
        return (None, "is empty") if f.required else (Decimal(0) if f.kind == "days" else None, None)
    if f.kind == "agent":
        return resolve_agent(text, agents)
    if f.kind == "text":
        return text, None
    try:
        number = Decimal(text.replace(",", "").replace("¥", ""))
    except InvalidOperation:
        return None, f"{text!r} is not a number"
    if not number.is_finite():
        return None, f"{text!r} is not a number"
    if f.kind == "days" and not (0 <= number <= 31 and (number * 2) == (number * 2).to_integral_value()):
        return None, f"{text} is not a number of days 0–31 (halves allowed)"
    if f.kind == "score" and not 0 <= number <= 100:
        return None, f"{text} is not a score 0–100"
    if f.kind == "money" and number != number.quantize(Decimal("0.01")):
        return None, f"{text} has more than two decimals"
    return number, None


def resolve_agent(text: str, agents: dict[str, AgentInfo]) -> tuple[str | None, str | None]:
    """An account from `店铺:名字` or a unique name."""
    if text in agents:
        return text, None
    if ":" in text:
        return None, f"{text!r} is not a known account"
    matches = sorted(a for a, i in agents.items() if i.name == text or a.split(":", 1)[-1] == text)
    if len(matches) == 1:
        return matches[0], None
    if matches:
        return None, f"{text!r} is ambiguous ({', '.join(matches)}); write 店铺:名字"
    return None, f"{text!r} is not a known agent"


# -- storing and loading ----------------------------------------------------------------------


def import_file(con: duckdb.DuckDBPyConnection, path: Path, month: str, kind: str, agents: dict[str, AgentInfo]) -> int:
    """Check every row, then replace the month's rows of this kind (nothing changes when a row is wrong)."""
    if not MONTH_RE.fullmatch(month):
        raise InputError([f"--month {month!r} is not YYYY-MM"])
    if kind not in KINDS:
        raise InputError([f"--kind {kind!r}: choose {', '.join(KINDS)}"])
    spec, path = KINDS[kind], Path(path)
    from kefu.ingest.formats.common import FormatError

    try:
        rows = read_rows(path)
    except FormatError as exc:
        raise InputError([str(exc)]) from None
    except (OSError, ValueError, KeyError) as exc:  # missing file, a damaged XLSX
        raise InputError([f"{path}: cannot read: {exc}"]) from None
    records = parse(rows, spec, agents, path.name)
    ensure_tables(con)
    names = [f.name for f in spec.fields]
    now = dt.datetime.now().replace(microsecond=0)
    con.execute("BEGIN")
    try:
        con.execute(f"DELETE FROM {spec.table} WHERE month = ?", [month])
        con.executemany(
            f"INSERT INTO {spec.table} (month, {', '.join(names)}, src_file, src_line, imported_at) "
            f"VALUES ({', '.join(['?'] * (len(names) + 4))})",
            [[month, *(r[n] for n in names), path.name, r["src_line"], now] for r in records],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(records)


def _stored(con, kind: str, month: str) -> list[dict]:
    table = KINDS[kind].table
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0]
    if not exists:
        return []
    cur = con.execute(f"SELECT * FROM {table} WHERE month = ? ORDER BY agent, src_line", [month])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _where(r: dict) -> str:
    return f"{r['src_file']}:{r['src_line']}"


def attendance(con, month: str) -> dict[str, Attendance]:
    return {
        r["agent"]: Attendance(r["working_days"], r["leave_days"] or Decimal(0), r["scheduled_days"] or None, _where(r))
        for r in _stored(con, "attendance", month)
    }


def test_scores(con, month: str) -> dict[str, list[tuple[Decimal, str, str]]]:
    found: dict[str, list] = {}
    for r in _stored(con, "test_scores", month):
        found.setdefault(r["agent"], []).append((r["score"], r["test"] or "", _where(r)))
    return found


def prizes(con, month: str) -> dict[str, tuple[Prize, ...]]:
    found: dict[str, list[Prize]] = {}
    for r in _stored(con, "prizes", month):
        found.setdefault(r["agent"], []).append(Prize(r["amount"], r["reason"], _where(r)))
    return {a: tuple(p) for a, p in found.items()}


def reference_markdown() -> str:
    """The input files' columns, for docs/pay.md (checked by a test)."""
    out = []
    for k in KINDS.values():
        once = f"one row per {' and '.join(k.unique)}" if k.unique else "any number of rows per agent"
        out += [
            f"`--kind {k.name}` ({k.zh}, table `{k.table}`, {once}):",
            "",
            "| column | also accepted | required | note |",
            "|---|---|---|---|",
        ]
        out += [f"| `{f.name}` | {', '.join(f.aliases)} | {'yes' if f.required else ''} | {f.doc} |" for f in k.fields]
        out.append("")
    return "\n".join(out)


__all__ = [
    "KINDS",
    "InputError",
    "attendance",
    "ensure_tables",
    "import_file",
    "parse",
    "prizes",
    "read_rows",
    "resolve_agent",
    "test_scores",
]
