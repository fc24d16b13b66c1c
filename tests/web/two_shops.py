"""A hand-made workspace of two shops for the security tests: 甲店 (data to 2026-11-11) and 乙店 (data ends 2026-11-05).

甲店's agent `甲店:王/小` and buyer `买家/1` have a "/" in their names; a chat line and a buyer nick of 甲店:安 carry the
marks that cached pages put in place of the viewer's CSRF token and name (kefu.web.common).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kefu.ingest.pipeline import import_paths
from kefu.users import add_user
from kefu.web.common import _CSRF_MARK, _NAME_MARK
from kefu.workspace import Workspace

A, B = "甲店", "乙店"
SLASHED, ANN, BOB = f"{A}:王/小", f"{A}:安", f"{B}:波"
SLASHED_BUYER = "买家/1"
MARKED_TEXT = f"请看 {_CSRF_MARK} 和 {_NAME_MARK} 这两个"  # typed by a buyer: must be shown as typed
MARKED_BUYER = f"nick{_NAME_MARK}"
PASSWORD = "s3cret-pass"
USERS = {
    "root": ("admin", [], None),
    "manager_a": ("manager", [A], None),
    "manager_b": ("manager", [B], None),
    "agent_ann": ("agent", [A], ANN),
}

MESSAGES = [
    ("2026-11-11 10:00:00", A, SLASHED_BUYER, SLASHED, "buyer", "在吗"),
    ("2026-11-11 10:00:20", A, SLASHED_BUYER, SLASHED, "agent", "亲,在的"),
    ("2026-11-11 11:00:00", A, MARKED_BUYER, ANN, "buyer", "有XL吗"),
    ("2026-11-11 11:00:30", A, MARKED_BUYER, ANN, "agent", "有的"),
    ("2026-11-11 14:00:00", A, "b2", ANN, "buyer", "发货了吗"),
    ("2026-11-11 14:00:30", A, "b2", ANN, "agent", "今天发"),
    ("2026-11-11 14:01:00", A, "b2", ANN, "buyer", MARKED_TEXT),
    ("2026-11-11 14:02:00", A, "b2", ANN, "agent", "好的"),
    ("2026-11-05 09:00:00", B, "b3", BOB, "buyer", "有优惠吗"),
    ("2026-11-05 09:02:00", B, "b3", BOB, "agent", "满200减20"),
]
ORDERS = [
    ("o1", A, "b2", "2026-11-11 14:05:00", "2026-11-11 14:06:00", "99.00", "paid"),
    ("o2", B, "b3", "2026-11-05 09:10:00", "2026-11-05 09:11:00", "180.00", "paid"),
]
AGENTS = [
    (SLASHED, "小王", A, "一组", "presales", "in_house", "true"),
    (ANN, "安", A, "二组", "presales", "外包甲", "true"),
    (BOB, "波", B, "三组", "presales", "in_house", "true"),
]
SCHEME = (
    'name = "{name}"\neffective_from = "2026-01"\n\n[applies_to]\nshops = ["{shop}"]\n\n[base]\namount = {amount}\n'
)


def _csv(header: str, rows: list[tuple]) -> str:
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def build(root: Path) -> Path:
    """The workspace (with users and one pay scheme per shop); returns its folder."""
    data = root / "data"
    data.mkdir(parents=True)
    (data / "messages.csv").write_text(_csv("ts,shop,buyer,agent,sender,text", MESSAGES), encoding="utf-8")
    (data / "orders.csv").write_text(
        _csv("order_id,shop,buyer,created_at,paid_at,amount,status", ORDERS), encoding="utf-8"
    )
    (data / "agents.csv").write_text(_csv("agent,name,shop,team,role,employer,active", AGENTS), encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    for name, (role, shops, agent) in USERS.items():
        add_user(ws.con, name=name, role=role, password=PASSWORD, shops=shops, agent=agent)
    ws.close()
    schemes = root / "ws" / "schemes"
    schemes.mkdir()
    (schemes / "a.toml").write_text(SCHEME.format(name="甲店方案", shop=A, amount=3000), encoding="utf-8")
    (schemes / "b.toml").write_text(SCHEME.format(name="乙店方案", shop=B, amount=3100), encoding="utf-8")
    return root / "ws"


def without_lifespan(app):
    """The app for clients that run the ASGI lifespan on every request (schemathesis): start-up and shutdown are
    acknowledged without closing the shared store."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        return await app(scope, receive, send)

    return wrapped
