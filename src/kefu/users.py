"""Users of the web app, their roles, and the audit log (审计日志).

Stored in tables of the workspace's kefu.duckdb, created on demand:
`web_users` (one row per login name) and `web_audit` (who viewed or exported what).
Passwords are hashed with Argon2id (argon2-cffi); the hash is all that is stored.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Roles, and what each one sees (enforced by kefu.web.permissions).
ROLES = {
    "admin": "everything, and manages users",
    "manager": "all agents of their shops: dashboards, reports, targets, chats, exports",
    "qc": "chats of the agents of their shops (quality inspection)",
    "agent": "their own numbers and chats; the team ranking (other names hidden if the shop chooses)",
    "vendor": "only the agents of their own outsourcing company (employer)",
}

DDL = (
    """CREATE TABLE IF NOT EXISTS web_users (
        name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, shops VARCHAR[] NOT NULL,
        agent VARCHAR, employer VARCHAR, password_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, disabled BOOLEAN NOT NULL DEFAULT false)""",
    """CREATE TABLE IF NOT EXISTS web_audit (
        ts TIMESTAMP NOT NULL, user_name VARCHAR, action VARCHAR NOT NULL, object VARCHAR, ip VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS web_shop_settings (
        shop VARCHAR PRIMARY KEY, hide_names_in_ranking BOOLEAN NOT NULL DEFAULT false)""",
)

_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    shops: tuple[str, ...]
    agent: str | None = None  # role agent: the account (shop:name) whose numbers this user sees
    employer: str | None = None  # role vendor: the outsourcing company


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in DDL:
        con.execute(ddl)


def validate(*, role: str, shops: list[str], agent: str | None, employer: str | None) -> list[str]:
    """Every problem with a user definition (all of them, not just the first)."""
    problems = []
    if role not in ROLES:
        problems.append(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if role != "admin" and not shops:
        problems.append(f"a {role} needs at least one --shop")
    if role == "agent" and not agent:
        problems.append("an agent user needs --agent (the account, e.g. 店铺:小萍)")
    if role == "vendor" and not employer:
        problems.append("a vendor user needs --employer (the outsourcing company as in agents.employer)")
    return problems


def add_user(
    con: duckdb.DuckDBPyConnection, *, name: str, role: str, password: str | None = None,
    shops: list[str] = (), agent: str | None = None, employer: str | None = None,
) -> str:
    """Create or replace a user; returns the password (generated when not given)."""
    shops = list(shops)
    if role == "agent" and agent and ":" not in agent and shops:
        agent = f"{shops[0]}:{agent}"
    problems = validate(role=role, shops=shops, agent=agent, employer=employer)
    if not name.strip():
        problems.append("the user name is empty")
    if password is not None and len(password) < 8:
        problems.append("the password must have at least 8 characters")
    if problems:
        raise UserError("; ".join(problems))
    password = password or generate_password()
    ensure_tables(con)
    con.execute("DELETE FROM web_users WHERE name = ?", [name])
    con.execute(
        "INSERT INTO web_users VALUES (?, ?, ?, ?, ?, ?, ?, false)",
        [name, role, shops, agent, employer, _hasher.hash(password), dt.datetime.now()],
    )
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    ensure_tables(con)
    rows = con.execute("SELECT name, role, shops, agent, employer FROM web_users WHERE NOT disabled ORDER BY name").fetchall()
    return [User(n, r, tuple(s or ()), a, e) for n, r, s, a, e in rows]


def get_user(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    return next((u for u in list_users(con) if u.name == name), None)


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User | None:
    """The user when the password is right, else None (same work either way, against timing probes)."""
    ensure_tables(con)
    row = con.execute("SELECT password_hash FROM web_users WHERE name = ? AND NOT disabled", [name]).fetchone()
    stored = row[0] if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return get_user(con, name) if row else None


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def audit(con: duckdb.DuckDBPyConnection, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
    con.execute("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?)", [dt.datetime.now(), user, action, obj, ip])


def audit_log(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    ensure_tables(con)
    rows = con.execute("SELECT ts, user_name, action, object, ip FROM web_audit ORDER BY ts DESC LIMIT ?", [limit]).fetchall()
    return [{"ts": t.strftime("%Y-%m-%d %H:%M:%S"), "user": u, "action": a, "object": o, "ip": i} for t, u, a, o, i in rows]


def hide_names(con: duckdb.DuckDBPyConnection, shop: str) -> bool:
    ensure_tables(con)
    row = con.execute("SELECT hide_names_in_ranking FROM web_shop_settings WHERE shop = ?", [shop]).fetchone()
    return bool(row and row[0])


def set_hide_names(con: duckdb.DuckDBPyConnection, shop: str, hide: bool) -> None:
    ensure_tables(con)
    con.execute("DELETE FROM web_shop_settings WHERE shop = ?", [shop])
    con.execute("INSERT INTO web_shop_settings VALUES (?, ?)", [shop, hide])
