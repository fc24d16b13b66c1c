"""Users of the web app, their roles, passwords, and the audit log (审计日志).

Stored in tables of the workspace's kefu.duckdb, created on demand:
`web_users` (one row per login name) and `web_audit` (who viewed or exported what).
Passwords are hashed with Argon2id (argon2-cffi); the hash is all that is stored.
A change of password, a reset or disabling a user sets `sessions_from`: every
session of that user started earlier stops working (also in a running server,
which re-reads the users when the file changes).

Functions taking `con` work on any DuckDB connection: the workspace file
(CLI, the server's `Store.write`) or the server's in-memory snapshot (reads).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kefu.errors import KefuError
from kefu.schema import WEB_TABLES
from kefu.workspace import ensure_tables as ensure_declared
from kefu.workspace import scalar

#: Roles, and what each one sees (enforced by kefu.web.permissions).
ROLES = {
    "admin": "everything, and manages users",
    "manager": "all agents of their shops: dashboards, reports, targets, chats, exports",
    "qc": "chats of the agents of their shops (quality inspection)",
    "agent": "their own numbers and chats; the team ranking (other names hidden if the shop chooses)",
    "vendor": "only the agents of their own outsourcing company (employer)",
}

#: The password rule, in words (shown on the password pages and in errors).
PASSWORD_RULE = (
    "at least 10 characters, with at least two of: letters, digits, other characters; not containing the user name"
)
MIN_PASSWORD = 10

COLUMNS = "name, role, shops, agent, employer, disabled, sessions_from, created_at"

_hasher = PasswordHasher()


class UserError(KefuError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    shops: tuple[str, ...]
    agent: str | None = None  # role agent: the account (shop:name) whose numbers this user sees
    employer: str | None = None  # role vendor: the outsourcing company
    disabled: bool = False
    sessions_from: dt.datetime | None = None  # sessions started before this no longer count
    created_at: dt.datetime | None = None

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "role": self.role,
            "shops": list(self.shops),
            "agent": self.agent,
            "employer": self.employer,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(sep=" ", timespec="seconds") if self.created_at else None,
        }


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create web_users, web_audit and web_shop_settings (kefu.schema) when missing, with the columns added since."""
    ensure_declared(con, WEB_TABLES)


# -- rules --------------------------------------------------------------------------


def validate(*, role: str, shops: list[str], agent: str | None, employer: str | None) -> list[str]:
    """Every problem with the shape of a user definition (all of them, not just the first)."""
    problems = []
    if role not in ROLES:
        problems.append(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if role == "admin" and shops:
        problems.append("an admin sees every shop: leave the shops out")
    if role not in ("admin",) and role in ROLES and not shops:
        problems.append(f"a {role} needs at least one shop (--shop)")
    if role == "agent" and not agent:
        problems.append("an agent user needs the account (--agent, e.g. 店铺:小萍)")
    if role != "agent" and agent:
        problems.append("--agent only applies to role agent")
    if role == "vendor" and not employer:
        problems.append("a vendor user needs the outsourcing company (--employer, as in agents.employer)")
    if role != "vendor" and employer:
        problems.append("--employer only applies to role vendor")
    return problems


def scope_problems(
    *, role: str, shops: list[str], agent: str | None, employer: str | None, roster: Mapping[str, Mapping]
) -> list[str]:
    """What a user definition names that the workspace does not have (roster: human account -> shop, employer)."""
    known_shops = sorted({r["shop"] for r in roster.values()})
    problems = []
    for shop in shops:
        if shop not in known_shops:
            problems.append(
                f"no shop {shop!r} in this workspace (shops: {', '.join(known_shops) or 'none yet: import data first'})"
            )
    if role == "agent" and agent:
        info = roster.get(agent)
        if info is None:
            problems.append(f"no agent account {agent!r} (accounts are written 店铺:名字, as in the chats)")
        elif info["shop"] not in shops:
            problems.append(
                f"agent account {agent!r} belongs to shop {info['shop']!r}, which is not among the user's shops"
            )
    if role == "vendor" and employer:
        employers = sorted(
            {
                r["employer"]
                for r in roster.values()
                if r["shop"] in shops and r.get("employer") not in (None, "in_house")
            }
        )
        if employer not in employers:
            problems.append(
                f"no outsourcing company {employer!r} among the agents of {', '.join(shops)} "
                f"(companies: {', '.join(employers) or 'none'})"
            )
    return problems


def password_problems(password: str, name: str = "") -> list[str]:
    """Why a password is too weak (empty when it is fine)."""
    kinds = sum(
        (any(c.isalpha() for c in password), any(c.isdigit() for c in password), any(not c.isalnum() for c in password))
    )
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"the password must have at least {MIN_PASSWORD} characters")
    if kinds < 2:
        problems.append("the password must mix at least two of: letters, digits, other characters")
    if len(name) >= 3 and name.lower() in password.lower():
        problems.append("the password must not contain the user name")
    return problems


def generate_password() -> str:
    """16 random characters that meet the password rule."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password_problems(password):
            return password


def roster(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Human accounts of the workspace (listed in `agents` or answering in `messages`): account -> shop, team, role, employer."""
    rows = con.execute("""
        SELECT agent, shop, team, coalesce(role, 'presales') AS role, coalesce(employer, 'in_house') AS employer FROM agents
        UNION ALL
        SELECT DISTINCT agent, shop, NULL, 'presales', 'in_house' FROM messages
        WHERE sender = 'agent' AND agent NOT IN (SELECT agent FROM agents)""").fetchall()
    bots = {r[0] for r in con.execute("SELECT DISTINCT agent FROM messages WHERE sender = 'bot'").fetchall()}
    return {
        a: {"shop": s, "team": t, "role": r, "employer": e} for a, s, t, r, e in rows if r != "bot" and a not in bots
    }


def _full_agent(agent: str | None, shops: list[str]) -> str | None:
    if agent and ":" not in agent and shops:
        return f"{shops[0]}:{agent}"  # a bare name means the account of the user's (first) shop
    return agent


# -- reading ----------------------------------------------------------------------------


def _user(row) -> User:
    n, r, s, a, e, d, f, c = row
    return User(n, r, tuple(s or ()), a, e, bool(d), f, c)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether a table exists (readers check instead of creating: they may hold a read-only connection)."""
    return bool(
        scalar(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?",
            [table],
        )
    )


def list_users(con: duckdb.DuckDBPyConnection, *, include_disabled: bool = False) -> list[User]:
    if not _has(con, "web_users"):
        return []
    where = "" if include_disabled else "WHERE NOT disabled"
    return [_user(r) for r in con.execute(f"SELECT {COLUMNS} FROM web_users {where} ORDER BY name").fetchall()]


def find_user(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    """The user, enabled or not."""
    row = con.execute(f"SELECT {COLUMNS} FROM web_users WHERE name = ?", [name]).fetchone()
    return _user(row) if row else None


def get_user(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    """The user if they exist and are enabled (who may be logged in)."""
    found = find_user(con, name)
    return found if found and not found.disabled else None


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User | None:
    """The user when the password is right, else None (same work either way, against timing probes)."""
    row = con.execute("SELECT password_hash FROM web_users WHERE name = ? AND NOT disabled", [name]).fetchone()
    stored = row[0] if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return get_user(con, name) if row else None


def needs_rehash(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the stored hash uses weaker Argon2 parameters than the current ones (rehash at the next login)."""
    row = con.execute("SELECT password_hash FROM web_users WHERE name = ?", [name]).fetchone()
    return row is not None and _hasher.check_needs_rehash(row[0])


_DUMMY_HASH = _hasher.hash("not-a-real-password")


# -- changing ---------------------------------------------------------------------------


def add_user(
    con: duckdb.DuckDBPyConnection,
    *,
    name: str,
    role: str,
    password: str | None = None,
    shops: Sequence[str] = (),
    agent: str | None = None,
    employer: str | None = None,
    replace: bool = True,
) -> str:
    """Create (or, with `replace`, replace) a user; returns the password (generated when not given)."""
    shops = list(shops)
    agent = _full_agent(agent, shops)
    problems = validate(role=role, shops=shops, agent=agent, employer=employer)
    if not name.strip():
        problems.append("the user name is empty")
    if password is not None:
        problems += password_problems(password, name)
    if problems:
        raise UserError("; ".join(problems))
    ensure_tables(con)
    if not replace and find_user(con, name):
        raise UserError(f"user {name!r} exists already; change it instead")
    password = password or generate_password()
    con.execute(
        "INSERT OR REPLACE INTO web_users (name, role, shops, agent, employer, password_hash, created_at, disabled, sessions_from) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, false, ?)",
        [name, role, shops, agent, employer, _hasher.hash(password), dt.datetime.now(), dt.datetime.now()],
    )
    return password


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> User:
    ensure_tables(con)
    found = find_user(con, name)
    if found is None:
        raise UserError(f"no user {name!r}")
    return found


def _keep_an_admin(con: duckdb.DuckDBPyConnection, user: User, *, role: str, disabled: bool) -> None:
    """Refuse a change that would leave the workspace without an enabled admin."""
    if user.role == "admin" and not user.disabled and (role != "admin" or disabled):
        others = scalar(
            con, "SELECT count(*) FROM web_users WHERE role = 'admin' AND NOT disabled AND name <> ?", [user.name]
        )
        if not others:
            raise UserError(f"{user.name} is the last admin: make another admin first")


def update_user(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    role: str | None = None,
    shops: list[str] | None = None,
    agent: str | None = None,
    employer: str | None = None,
) -> User:
    """Change a user's role and scope (None keeps a field; agent and employer follow the role). Returns the new user."""
    user = _existing(con, name)
    role = role or user.role
    shops = list(user.shops if shops is None else shops)
    agent = _full_agent(agent if agent is not None else (user.agent if role == "agent" else None), shops) or None
    employer = (employer if employer is not None else (user.employer if role == "vendor" else None)) or None
    problems = validate(role=role, shops=shops, agent=agent, employer=employer)
    if problems:
        raise UserError("; ".join(problems))
    _keep_an_admin(con, user, role=role, disabled=user.disabled)
    con.execute(
        "UPDATE web_users SET role = ?, shops = ?, agent = ?, employer = ? WHERE name = ?",
        [role, shops, agent, employer, name],
    )
    return _existing(con, name)


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str | None = None) -> str:
    """Set (or, without `password`, generate) a new password; ends every earlier session of the user. Returns it."""
    _existing(con, name)
    if password is not None and (problems := password_problems(password, name)):
        raise UserError("; ".join(problems))
    password = password or generate_password()
    con.execute(
        "UPDATE web_users SET password_hash = ?, sessions_from = ? WHERE name = ?",
        [_hasher.hash(password), dt.datetime.now(), name],
    )
    return password


def change_own_password(con: duckdb.DuckDBPyConnection, name: str, current: str, new: str, again: str) -> None:
    """A user's change of their own password: the current one must be right and the new one typed twice."""
    if authenticate(con, name, current) is None:
        raise UserError("the current password is wrong")
    problems = [] if new == again else ["the two new passwords differ"]
    if new == current:
        problems.append("the new password is the current one")
    problems += password_problems(new, name)
    if problems:
        raise UserError("; ".join(problems))
    set_password(con, name, new)


def rehash(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    """Store a fresh hash of a just-verified password (current Argon2 parameters); sessions stay."""
    con.execute("UPDATE web_users SET password_hash = ? WHERE name = ?", [_hasher.hash(password), name])


def set_disabled(con: duckdb.DuckDBPyConnection, name: str, disabled: bool) -> User:
    """Disable (every session ends, logging in is refused) or enable a user."""
    user = _existing(con, name)
    _keep_an_admin(con, user, role=user.role, disabled=disabled)
    if disabled:
        con.execute("UPDATE web_users SET disabled = true, sessions_from = ? WHERE name = ?", [dt.datetime.now(), name])
    else:
        con.execute("UPDATE web_users SET disabled = false WHERE name = ?", [name])
    return _existing(con, name)


# -- audit and shop settings --------------------------------------------------------------


def audit(con: duckdb.DuckDBPyConnection, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
    con.execute("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?)", [dt.datetime.now(), user, action, obj, ip])


def audit_log(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    if not _has(con, "web_audit"):
        return []
    rows = con.execute(
        "SELECT ts, user_name, action, object, ip FROM web_audit ORDER BY ts DESC LIMIT ?", [limit]
    ).fetchall()
    return [
        {"ts": t.strftime("%Y-%m-%d %H:%M:%S"), "user": u, "action": a, "object": o, "ip": i} for t, u, a, o, i in rows
    ]


def hide_names(con: duckdb.DuckDBPyConnection, shop: str) -> bool:
    if not _has(con, "web_shop_settings"):
        return False
    row = con.execute("SELECT hide_names_in_ranking FROM web_shop_settings WHERE shop = ?", [shop]).fetchone()
    return bool(row and row[0])


def set_hide_names(con: duckdb.DuckDBPyConnection, shop: str, hide: bool) -> None:
    ensure_tables(con)
    con.execute("INSERT OR REPLACE INTO web_shop_settings VALUES (?, ?)", [shop, hide])
