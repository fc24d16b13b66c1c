"""The server's one DuckDB connection to the workspace, and a cache of engine results.

KPIs only change when data is imported, and an import needs the workspace
file, which this server holds open; so engine results are cached for the
life of the process. Engine calls share the one connection and are
serialised by a lock; plain SQL reads use a cursor per call; writes (users,
targets, audit) go through `write`, under the same lock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from ibis import _

from kefu import api
from kefu.metrics.derived import workspace_sources
from kefu.metrics.explain import Explanation
from kefu.metrics.kpis import facts
from kefu.users import ensure_tables
from kefu.targets import ensure_table as ensure_targets
from kefu.workspace import Workspace


class Store:
    def __init__(self, path: Path):
        self.ws = Workspace.open(Path(path), create=False)
        self.lock = threading.RLock()  # engine calls on the one connection
        self.write_lock = threading.Lock()  # small writes (users, targets, audit) through a cursor
        self.ready = threading.Event()  # set once warm_details has run
        self._users: dict[str, Any] = {}
        self.targets_version = 0  # bumped on every change of targets, part of cache keys of what shows them
        self._audit: list[tuple] = []  # buffered audit rows, flushed by flush_audit (every second, and on close)
        self._audit_lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._flush_loop, name="kefu-audit", daemon=True).start()
        self._cache: dict[tuple, Any] = {}
        self._explained: OrderedDict[tuple, Explanation] = OrderedDict()
        with self.lock:
            ensure_tables(self.ws.con)
            ensure_targets(self.ws.con)

    def close(self) -> None:
        self._stop.set()
        self.flush_audit()
        with self.lock:  # not in the middle of an engine call (the warm-up thread)
            self.ws.close()

    # -- users and audit -----------------------------------------------------------

    def user(self, name: str):
        """The user (cached; `forget_users` after any change to users)."""
        from kefu.users import get_user

        if name not in self._users:
            self._users[name] = self.con_read(lambda cur: get_user(cur, name))
        return self._users[name]

    def forget_users(self) -> None:
        self._users.clear()

    def audit(self, user: str | None, action: str, obj: str = "", ip: str | None = None) -> None:
        with self._audit_lock:
            self._audit.append((dt.datetime.now(), user, action, obj, ip))

    def flush_audit(self) -> None:
        with self._audit_lock:
            rows, self._audit = self._audit, []
        if rows:
            self.write(lambda cur: cur.executemany("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?)", rows))

    def _flush_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.flush_audit()
            except Exception:  # the connection is closing
                return

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """Cache any result derived from engine results (they never change while the server runs)."""
        return self._cached(("derived",) + key, compute)

    @property
    def params(self):
        return self.ws.config.params

    # -- engine results (cached) ------------------------------------------------

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key in self._cache:
            return self._cache[key]
        with self.lock:
            if key not in self._cache:
                self._cache[key] = compute()
        return self._cache[key]

    def kpis(self, by: tuple[str, ...], date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
        return self._cached(("kpis", by, date_from, date_to), lambda: api.kpis(self.ws, list(by), date_from=date_from, date_to=date_to))

    def explain(self, agent: str, day: dt.date) -> Explanation:
        key = (agent, day)
        if key in self._explained:
            return self._explained[key]
        with self.lock:
            if key not in self._explained:
                self._explained[key] = api.explain_agent_day(self.ws, agent, day)
                while len(self._explained) > 256:
                    self._explained.popitem(last=False)
        return self._explained[key]

    def agents(self) -> dict[str, dict]:
        """Every human account that has figures or is listed in `agents`: id -> shop, name, team, employer, role."""
        def compute():
            listed = self.read("SELECT agent, name, shop, team, role, employer FROM agents")
            found = {r["agent"]: r for r in listed.to_dict("records")}
            for rec in self.kpis(("agent", "day")):
                found.setdefault(rec["agent"], {"agent": rec["agent"], "name": None, "shop": rec["shop"], "team": None,
                                                "role": "presales", "employer": "in_house"})
            out = {}
            for a, r in found.items():
                r = {k: (None if pd.isna(v) else v) for k, v in r.items()}
                r["name"] = r.get("name") or a.split(":", 1)[-1]
                r["employer"] = r.get("employer") or "in_house"
                r["role"] = r.get("role") or "presales"
                if r["role"] != "bot":
                    out[a] = r
            return out
        return self._cached(("agents",), compute)

    def shops(self) -> list[str]:
        return self._cached(("shops",), lambda: sorted({r["shop"] for r in self.kpis(("shop", "day"))}))

    def days(self) -> list[dt.date]:
        return self._cached(("days",), lambda: sorted({dt.date.fromisoformat(r["day"]) for r in self.kpis(("shop", "day"))}))

    def lost(self, shop: str, day: dt.date) -> pd.DataFrame:
        """Lost inquiries (询单流失) of a shop and day: agent, buyer, first question, answered."""
        def compute():
            rows = facts(workspace_sources(self.ws), self.params)["consultations"].rows
            rows = rows.filter(_.lost & (_.shop == shop) & (_.first_open.date() == day))
            return rows.select("shop", "agent", "buyer", "first_open", "answered", "first_response_s").order_by(["agent", "first_open"]).execute()
        return self._cached(("lost", shop, day), compute)

    def section_measures(self) -> dict[str, set[str]]:
        """Fact name -> the measures it adds (which drill-down sections explain a metric)."""
        return self._cached(("sections",), lambda: {n: set(f.measures) for n, f in facts(workspace_sources(self.ws), self.params).items()})

    # -- plain SQL ----------------------------------------------------------------

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        cur = self.ws.con.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def chats(self, shop: str, buyers: list[str], day: dt.date) -> pd.DataFrame:
        """Messages of several buyers with the shop on a day, in one query (buyer, ts, agent, sender, text)."""
        if not buyers:
            return pd.DataFrame(columns=["buyer", "ts", "agent", "sender", "text"])
        return self.read(
            """SELECT buyer, ts, agent, sender, text FROM messages
               WHERE shop = ? AND ts >= ? AND ts < ? AND buyer IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY buyer, ts, CASE sender WHEN 'transfer' THEN 0 WHEN 'buyer' THEN 1 WHEN 'bot' THEN 2 ELSE 3 END, agent, text""",
            [shop, day, day + dt.timedelta(days=1), buyers],
        )

    def chat(self, shop: str, buyer: str, day: dt.date) -> pd.DataFrame:
        """The buyer's messages with the shop on a day (every account), in the engine's order (D1)."""
        return self.read(
            """SELECT ts, agent, sender, text FROM messages WHERE shop = ? AND buyer = ? AND ts >= ? AND ts < ?
               ORDER BY ts, CASE sender WHEN 'transfer' THEN 0 WHEN 'buyer' THEN 1 WHEN 'bot' THEN 2 ELSE 3 END, agent, text""",
            [shop, buyer, day, day + dt.timedelta(days=1)],
        )

    def write(self, fn: Callable[[Any], Any]) -> Any:
        """Writes go one at a time through their own cursor, so they never wait for an engine computation."""
        with self.write_lock:
            cur = self.ws.con.cursor()
            try:
                return fn(cur)
            finally:
                cur.close()

    def con_read(self, fn: Callable[[Any], Any]) -> Any:
        cur = self.ws.con.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    def warm_details(self) -> None:
        """Explanations and loss lists of the latest day (the drill-downs managers open first); run in the background."""
        days = self.days()
        steps = [lambda d=d, by=by: self.kpis(by, d.replace(day=1), d) for d in days[-7:] for by in (("shop",), ("agent",))]
        steps += [lambda s=s: self.lost(s, days[-1]) for s in self.shops()]
        steps += [lambda a=a: self.explain(a, days[-1]) for a in sorted(self.agents())]
        try:
            for step in steps:
                with self.lock:
                    if self._stop.is_set():
                        return
                    step()
        finally:
            self.ready.set()

    def warm(self) -> None:
        """Compute what every page needs at start-up, so the first users do not wait."""
        self.agents()
        self.days()
        days = self.days()
        if days:
            last = days[-1]
            self.kpis(("shop", "day"))
            self.kpis(("shop", "day", "hour"))
            self.kpis(("shop",), last.replace(day=1), last)
            self.kpis(("agent",), last.replace(day=1), last)
