"""The canonical input tables (spec §1), declared once.

Import validation, workspace storage, the simulator's tests and docs/data.md
all read these declarations; nothing else lists a table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "timestamp", "money", "int", "bool"]

TS_FORMAT = "YYYY-MM-DD HH:MM:SS"

#: Storage type of each kind in the workspace (DuckDB SQL).
SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,2)",
    "int": "INTEGER",
    "bool": "BOOLEAN",
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


def table_for_file(stem: str) -> Table | None:
    """The canonical table a file holds, chosen by its name (`messages-11.csv` → messages)."""
    stem = stem.lower()
    for name in sorted(TABLES, key=len, reverse=True):
        if stem == name or stem.startswith((name + "-", name + "_", name + ".")):
            return TABLES[name]
    return None
