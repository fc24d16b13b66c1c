"""Every table of a workspace, declared once, and the DDL generated from the declarations.

The canonical input tables (spec §1) come first: import validation, workspace
storage, the simulator's tests and docs/data.md read them. Then the tables kefu
keeps beside them (the import ledger, quality inspection, the web app's users
and targets). Nothing else lists a stored table's columns, and no other module
writes `CREATE TABLE` (tests/test_tables_declared.py): the tables whose columns
are computed are declared by what computes them — the derived tables and the
KPI cube by their Ibis expressions (kefu.metrics.derived, kefu.metrics.kpis),
the cube's parameter row by `Params` (kefu.derive), the pay inputs by their
fields (kefu.pay.inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["str", "timestamp", "date", "money", "int", "bigint", "float", "bool", "strs", "days", "score"]

TS_FORMAT = "YYYY-MM-DD HH:MM:SS"

#: Storage type of each kind in the workspace (DuckDB SQL). Input tables use the first five.
SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,2)",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "date": "DATE",
    "bigint": "BIGINT",
    "float": "DOUBLE",
    "strs": "VARCHAR[]",
    "days": "DECIMAL(6,1)",  # a number of days, halves allowed
    "score": "DECIMAL(6,2)",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    required: bool = False
    doc: str = ""
    choices: tuple[str, ...] = ()
    #: value stored when the cell is empty (applied before validation)
    default: str | None = None
    #: inclusive bounds for int columns
    bounds: tuple[int, int] | None = None
    #: a platform's long order/refund number: one that Excel wrote in scientific notation is rejected
    long_number: bool = False
    #: storage constraints (the DDL's NOT NULL and DEFAULT, an SQL expression)
    not_null: bool = False
    sql_default: str | None = None


@dataclass(frozen=True)
class Lifecycle:
    """How a record that changes over time moves forward (operations.md §1): when both versions carry
    the source's modification time the newest wins; else the later `status` in `ranks` wins (states in
    one tuple rank equal; a missing or unknown status says nothing); on a tie the later import wins.
    A known value of an optional column is never erased by a version that lacks it."""

    status: str
    ranks: tuple[tuple[str, ...], ...]
    modified: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    #: natural key: a later row with the same key updates the stored one (by `lifecycle`, if any).
    #: None: the table is a multiset of whole rows (D14).
    key: tuple[str, ...] | None = None
    required: bool = False
    zh: str = ""
    lifecycle: Lifecycle | None = None
    #: the DDL's PRIMARY KEY (input tables have none: their `key` is kept by the import, D14)
    primary_key: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def dedup_columns(self) -> tuple[str, ...]:
        return self.key or self.column_names

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The natural key, for code that handles keyed tables only."""
        if self.key is None:
            raise ValueError(f"table {self.name} has no natural key")
        return self.key


ROLES = ("presales", "aftersales", "refund", "review", "qc", "trainer", "manager", "bot")
SENDERS = ("buyer", "agent", "bot", "transfer")
#: The platform's order lifecycle, once: an order only moves to a later state. `refunding` (退款中) comes
#: after shipping (a refund is asked for a paid or shipped order) and before the end states; a refund that
#: is withdrawn leaves it there until 交易成功 / 交易关闭 (or a newer modification time) moves it on.
ORDER_LIFECYCLE = (("unpaid",), ("paid",), ("shipped",), ("refunding",), ("success",), ("closed",))
ORDER_STATUSES = tuple(status for rank in ORDER_LIFECYCLE for status in rank)
REFUND_LIFECYCLE = (("pending", "processing"), ("success", "rejected", "closed"))

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "agents",
            "One customer-service account (子账号).",
            (
                Column("agent", required=True, doc="account id, usually `店铺:客服`"),
                Column("name", doc="display name"),
                Column("shop", required=True),
                Column("team"),
                Column("role", choices=ROLES, default="presales"),
                Column("employer", default="in_house", doc="`in_house` or the vendor's name"),
                Column("active", "bool", default="true"),
            ),
            key=("agent",),
            zh="客服账号",
        ),
        Table(
            "messages",
            "One chat message or event between `buyer` and the shop account `agent`.",
            (
                Column("ts", "timestamp", required=True),
                Column("shop", required=True),
                Column("buyer", required=True),
                Column("agent", required=True),
                Column("sender", required=True, choices=SENDERS),
                Column("text", default=""),
            ),
            required=True,
            zh="聊天记录",
        ),
        Table(
            "orders",
            "One order; `paid_at` empty = never paid; `amount` = what the buyer paid. An order id is unique within its shop.",
            (
                Column("order_id", required=True, long_number=True),
                Column("shop", required=True),
                Column("buyer", required=True),
                Column("created_at", "timestamp", required=True),
                Column("paid_at", "timestamp"),
                Column("amount", "money", required=True),
                Column("status", choices=ORDER_STATUSES),
                Column(
                    "updated_at",
                    "timestamp",
                    doc="when the platform last changed the order (修改时间), where the source says",
                ),
            ),
            key=("shop", "order_id"),
            required=True,
            zh="订单",
            lifecycle=Lifecycle("status", ORDER_LIFECYCLE, modified="updated_at"),
        ),
        Table(
            "ratings",
            "One satisfaction rating of an agent (5 很满意 … 1 很不满意).",
            (
                Column("ts", "timestamp", required=True),
                Column("shop", required=True),
                Column("buyer", required=True),
                Column("agent", required=True),
                Column("score", "int", required=True, bounds=(1, 5)),
            ),
            zh="评价",
        ),
        Table(
            "refunds",
            "One refund / return request and the account that handled it.",
            (
                Column("refund_id", required=True, long_number=True),
                Column("order_id", required=True, long_number=True),
                Column("shop", required=True),
                Column("applied_at", "timestamp", required=True),
                Column("finished_at", "timestamp"),
                Column("amount", "money", required=True),
                Column("status"),
                Column("reason"),
                Column("agent"),
            ),
            key=("shop", "refund_id"),
            zh="退款",
            lifecycle=Lifecycle("status", REFUND_LIFECYCLE),
        ),
        Table(
            "complaints",
            "One complaint against an agent (投诉).",
            (
                Column("ts", "timestamp", required=True),
                Column("shop", required=True),
                Column("agent", required=True),
                Column("buyer"),
                Column("kind"),
                Column("detail"),
            ),
            zh="投诉",
        ),
        Table(
            "chat_events",
            "Chat events that are not messages (a recalled message, 撤回), from chat exports.",
            (
                Column("ts", "timestamp", required=True),
                Column("shop", required=True),
                Column("buyer", required=True),
                Column("agent", required=True),
                Column("kind", required=True),
                Column("text", default=""),
            ),
            zh="聊天事件",
        ),
    )
}

#: Columns every stored row carries besides its canonical ones: where it came from.
PROVENANCE = (
    Column("extra", doc="unknown extra columns of the source row, as JSON"),
    Column("src_file", doc="file the row was imported from"),
    Column("src_line", "int", doc="line (CSV/chat) or row (Parquet/XLSX) in that file"),
)


#: Tables with a lifecycle keep every replaced version in `<name>_history`: its stored columns and the
#: import that replaced it (operations.md §1).
HISTORY_COLUMNS = (Column("import_id", "int", doc="the import that replaced this version"),)
HISTORY: dict[str, str] = {name: f"{name}_history" for name, t in TABLES.items() if t.lifecycle}


# -- the tables kefu keeps beside the canonical ones ------------------------------------------------------------


def _stored(table: Table) -> Table:
    return replace(table, columns=table.columns + PROVENANCE)


def _history(table: Table) -> Table:
    return Table(
        HISTORY[table.name],
        f"Every replaced version of a `{table.name}` record.",
        table.columns + PROVENANCE + HISTORY_COLUMNS,
        zh=f"{table.zh}历史",
    )


IMPORTS = Table(
    "imports",
    "The import ledger: one row per file and table an import read (`read` empty: the file was skipped).",
    (
        Column("import_id", "int"),
        Column("file"),
        Column("sha256"),
        Column("format"),
        Column("encoding"),
        Column("tbl"),
        Column("read", "bigint"),
        Column("accepted", "bigint"),
        Column("rejected", "bigint"),
        Column("added", "bigint"),
        Column("imported_at", "timestamp", sql_default="current_timestamp"),
        Column("updated", "bigint"),
        Column("changed", doc="how many updated records each column changed in, e.g. `paid_at 3, status 5`"),
    ),
    zh="导入记录",
)
REJECTS = Table(
    "rejects",
    "Every rejected row with its file, line and every reason.",
    (
        Column("import_id", "int"),
        Column("file"),
        Column("line", "bigint"),
        Column("tbl"),
        Column("reason"),
        Column("raw"),
    ),
    zh="拒收行",
)

#: The tables every workspace has from the start: the canonical ones with their provenance, the history of
#: the ones with a lifecycle, and the import ledger.
CORE: tuple[Table, ...] = (
    *map(_stored, TABLES.values()),
    *(_history(TABLES[name]) for name in HISTORY),
    IMPORTS,
    REJECTS,
)

# finding_id is unique by construction (kefu.qc.engine.describe) and carries no index: DuckDB
# builds an index over 1.5 M such ids in about 20 s, the whole budget of a 10 M-message run (docs/qc.md).
QC_FINDINGS = Table(
    "qc_findings",
    "The findings of quality inspection, rebuilt per period by `kefu qc run` (kefu.qc.store).",
    (
        Column("finding_id", not_null=True),
        Column("shop"),
        Column("agent"),
        Column("buyer"),
        Column("ts", "timestamp"),
        Column("day", "date"),
        Column("rule"),
        Column("rule_name"),
        Column("severity"),
        Column("points", "float"),
        Column("scope"),
        Column("text"),
        Column("match"),
        Column("match_start", "int"),
        Column("run_at", "timestamp"),
        Column("max_points_per_day", "float"),
        Column("occurrences", "int"),
        Column("evidence"),
    ),
    zh="质检结果",
)
QC_REVIEWS = Table(
    "qc_reviews",
    "A person's review of a finding, keyed by its deterministic id: re-running QC never loses one.",
    (
        Column("finding_id"),
        Column("status"),
        Column("reviewer"),
        Column("comment"),
        Column("reviewed_at", "timestamp"),
    ),
    zh="质检复核",
    primary_key=("finding_id",),
)
QC_RUNS = Table(
    "qc_runs",
    "Which days QC has checked (empty bounds: all data): a day no run covered has no QC figures.",
    (
        Column("run_at", "timestamp"),
        Column("date_from", "date"),
        Column("date_to", "date"),
        Column("findings", "bigint"),
    ),
    zh="质检运行",
)
QC_DIALOGUES = Table(
    "qc_dialogues",
    "The dialogues (agent × buyer × day) a run inspected per human agent-day: the QC score's denominator.",
    (Column("shop"), Column("agent"), Column("day", "date"), Column("dialogues", "bigint")),
    zh="质检对话数",
)
QC_PEER_REPORTS = Table(
    "qc_peer_reports",
    "The 互查 ledger: errors peers report and a supervisor decides (kefu.qc.ledger).",
    (
        Column("report_id"),
        Column("shop", not_null=True),
        Column("reporter", not_null=True),
        Column("agent", not_null=True),
        Column("finding_id"),
        Column("ts", "timestamp"),
        Column("day", "date", not_null=True),
        Column("description", not_null=True),
        Column("status", not_null=True),
        Column("decided_by"),
        Column("decided_at", "timestamp"),
        Column("buyer"),
        Column("reported_at", "timestamp", not_null=True),
    ),
    zh="互查",
    primary_key=("report_id",),
)
WEB_USERS = Table(
    "web_users",
    "One user of the web app per login name; the password only as its Argon2id hash (kefu.users).",
    (
        Column("name"),
        Column("role", not_null=True),
        Column("shops", "strs", not_null=True),
        Column("agent"),
        Column("employer"),
        Column("password_hash", not_null=True),
        Column("created_at", "timestamp", not_null=True),
        Column("disabled", "bool", not_null=True, sql_default="false"),
        Column("sessions_from", "timestamp", doc="sessions started earlier no longer count"),
    ),
    zh="用户",
    primary_key=("name",),
)
WEB_AUDIT = Table(
    "web_audit",
    "The audit log (审计日志): who viewed or exported what.",
    (
        Column("ts", "timestamp", not_null=True),
        Column("user_name"),
        Column("action", not_null=True),
        Column("object"),
        Column("ip"),
    ),
    zh="审计日志",
)
WEB_SHOP_SETTINGS = Table(
    "web_shop_settings",
    "A shop's choices in the web app.",
    (Column("shop"), Column("hide_names_in_ranking", "bool", not_null=True, sql_default="false")),
    zh="店铺设置",
    primary_key=("shop",),
)
WEB_TARGETS = Table(
    "web_targets",
    "Monthly targets (月度目标) per shop, team or agent (kefu.targets).",
    (
        Column("month", not_null=True),
        Column("shop", not_null=True),
        Column("scope", not_null=True),
        Column("subject", not_null=True),
        Column("metric", not_null=True),
        Column("value", "float", not_null=True),
    ),
    zh="月度目标",
    primary_key=("month", "shop", "scope", "subject", "metric"),
)
#: The conversations a running import added or replaced messages or orders of (a temp table, kefu.derive).
TOUCHED = Table("touched", "(shop, buyer) of each conversation the import touched.", (Column("shop"), Column("buyer")))

QC_TABLES = (QC_FINDINGS, QC_REVIEWS, QC_RUNS, QC_DIALOGUES)
WEB_TABLES = (WEB_USERS, WEB_AUDIT, WEB_SHOP_SETTINGS)
#: Every table of fixed columns a workspace may hold: the core ones, and those made when first written.
WORKSPACE_TABLES: dict[str, Table] = {t.name: t for t in (*CORE, *QC_TABLES, QC_PEER_REPORTS, *WEB_TABLES, WEB_TARGETS)}
ON_DEMAND = tuple(t for t in WORKSPACE_TABLES.values() if t not in CORE)


# -- DDL, generated (the only place that writes CREATE TABLE) ---------------------------------------------------


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_sql(column: Column) -> str:
    """A column's definition: name, type and constraints."""
    return (
        f"{_name(column.name)} {SQL_TYPES[column.kind]}"
        + (" NOT NULL" if column.not_null else "")
        + (f" DEFAULT {column.sql_default}" if column.sql_default is not None else "")
    )


def create_sql(table: Table, *, replace: bool = False, temp: bool = False) -> str:
    """`CREATE TABLE` for a declared table: if it does not exist yet, or (`replace`) instead of the one there."""
    parts = [column_sql(c) for c in table.columns]
    if table.primary_key:
        parts.append(f"PRIMARY KEY ({', '.join(map(_name, table.primary_key))})")
    how = "OR REPLACE " if replace else ""
    return f"CREATE {how}{'TEMP ' if temp else ''}TABLE {'' if replace else 'IF NOT EXISTS '}{_name(table.name)} ({', '.join(parts)})"


def add_column_sql(table: str, column: Column) -> str:
    """The column an earlier kefu's table lacks: its stored rows hold the default, else nothing (NOT NULL
    cannot be added to a table with rows)."""
    default = f" DEFAULT {column.sql_default}" if column.sql_default is not None else ""
    return f"ALTER TABLE {_name(table)} ADD COLUMN {_name(column.name)} {SQL_TYPES[column.kind]}{default}"


def create_as_sql(name: str, select_sql: str, *, temp: bool = False) -> str:
    """A table computed by a query (its columns are the query's), replacing the one there: a derived table,
    or (`temp`) a work table of this connection, such as the import's staged rows."""
    return f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {_name(name)} AS {select_sql}"


def table_for_file(stem: str) -> Table | None:
    """The canonical table a file holds, chosen by its name (`messages-11.csv` → messages)."""
    stem = stem.lower()
    for name in sorted(TABLES, key=len, reverse=True):
        if stem == name or stem.startswith((name + "-", name + "_", name + ".")):
            return TABLES[name]
    return None
