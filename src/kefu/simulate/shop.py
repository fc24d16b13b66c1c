"""Simulate one shop's customer service: the public entry point `simulate()`.

The steps, each in its own module:

1. roster.py    agents with hidden speed / skill (in-house vs vendor)
2. load.py      buyers per day and hour (evening peak, Double 11)
3. sessions.py  pre-sale dialogues; dialogues.py renders them as messages
4. commerce.py  orders of the chatting buyers, silent orders, after-sales
                and refund dialogues, payment reminders
5. feedback.py  ratings and complaints
6. output.py    CSV / Parquet files
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import commerce, feedback, output
from .dialogues import SENDERS, Messages, render
from .load import DAY, epoch_seconds, presale_load
from .phrases import TEXTS
from .roster import Roster, build_roster, role_counts
from .sessions import PRESALE_PER_AGENT_DAY, plan_presales

Progress = Callable[[str, float], None]
FORMATS = ("csv", "parquet")
_TABLES = ("messages", "orders", "ratings", "refunds", "complaints")  # + agents.csv
PILOT_SESSIONS = 40_000  # enough dialogues to measure messages per dialogue within ~1 %
_BUYER_PREFIXES = ["tb", "tb", "tb", "tb", "tb", "lily", "momo", "糖糖", "小鹿", "喵喵"]


@dataclass
class World:
    """Everything simulated, before it is written (times are int64 seconds)."""

    roster: Roster
    messages: Messages  # sorted by ts
    orders: pd.DataFrame  # order_id, buyer, created, paid (-1 = unpaid), cents, status
    refunds: pd.DataFrame  # refund_id, order, applied, finished, cents, status, reason, agent
    ratings: pd.DataFrame  # ts, buyer, agent, score
    complaints: pd.DataFrame  # ts, agent, buyer, kind, detail
    n_buyers: int


def simulate(
    out: Path,
    *,
    agents: int = 25,
    days: int = 30,
    start: date = date(2026, 10, 20),
    seed: int = 1,
    messages: int | None = None,
    fmt: str = "csv",
    shop: str = "云裳女装旗舰店",
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a simulated shop's canonical tables into folder `out`.

    `agents` human accounts (plus the bot 店小蜜) over `days` days from `start`.
    `messages=None` gives the shop's natural volume; `messages=N` scales the
    number of buyers so the messages file has N rows (within ±10 %).
    Same arguments, same bytes. Returns the row count of every table.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    if agents < 1 or days < 1:
        raise ValueError("agents and days must be at least 1")
    report = progress or (lambda stage, fraction: None)
    scale = 1.0
    if messages is not None:
        report("calibrating volume", 0.0)
        scale = _scale_for(messages, agents=agents, days=days, start=start, seed=seed, shop=shop)
    world = generate(
        agents=agents,
        days=days,
        start=start,
        seed=seed,
        scale=scale,
        shop=shop,
        progress=lambda stage, f: report(stage, 0.05 + 0.45 * f),
    )
    counts = write(
        world, Path(out), fmt=fmt, shop=shop, seed=seed, progress=lambda stage, f: report(stage, 0.5 + 0.5 * f)
    )
    report("done", 1.0)
    return counts


def _scale_for(messages: int, *, agents, days, start, seed, shop) -> float:
    """Buyer-volume factor that yields `messages` rows, from a quick pilot run."""
    n_presales = role_counts(agents)[0]
    natural_sessions = PRESALE_PER_AGENT_DAY * n_presales * presale_load(start, days).sum()
    pilot = min(1.0, PILOT_SESSIONS / natural_sessions)
    # Same seed: the same roster (agents' skills drive the volume of orders
    # and after-sales chats), only the number of buyers changes afterwards.
    world = generate(agents=agents, days=days, start=start, seed=seed, scale=pilot, shop=shop)
    return pilot * messages / max(len(world.messages), 1)


def generate(
    *, agents: int, days: int, start: date, seed: int, scale: float, shop: str, progress: Progress | None = None
) -> World:
    """Simulate everything in memory."""
    report = progress or (lambda stage, fraction: None)
    rng = np.random.default_rng(seed)
    start_s = epoch_seconds(start)
    end_s = start_s + days * DAY  # the export covers [start, end): later events are cut
    roster = build_roster(shop, agents, days, rng)
    load = presale_load(start, days)
    event_day = load.sum(axis=1) >= 2.0

    report("pre-sale dialogues", 0.0)
    pre, buys = plan_presales(load, start_s, scale, roster, rng)
    pre_msgs, pre_end = render(pre, roster, rng)
    n_chat_buyers = len(buys)

    report("orders", 0.4)
    chat = commerce.chat_orders(pre, pre_end, buys, start_s, event_day, rng)
    silent = commerce.silent_orders(load, int((chat["paid"] >= 0).sum()), start_s, n_chat_buyers, event_day, rng)
    orders = _export_cut(pd.concat([chat, silent], ignore_index=True), end_s)

    report("after-sales dialogues", 0.6)
    after = commerce.aftersale_sessions(orders, start_s, end_s, load, roster, rng)
    refunds, refund_chats = commerce.refunds(orders, start_s, end_s, load, event_day, roster, rng)
    post = pd.concat([after, refund_chats], ignore_index=True)
    post_msgs, post_end = render(post, roster, rng)
    nudges = commerce.nudges(pre, pre_end, orders, n_chat_buyers, end_s, rng)

    report("ratings and complaints", 0.8)
    sessions = pd.concat([pre, post], ignore_index=True)
    t_end = np.concatenate([pre_end, post_end])
    ratings = feedback.ratings(sessions, t_end, roster, end_s, rng)
    complaints = feedback.complaints(sessions, t_end, end_s, rng)

    msgs = Messages.concat([pre_msgs, post_msgs, nudges])
    order = np.argsort(msgs.ts, kind="stable")
    msgs = msgs.take(order[: np.count_nonzero(msgs.ts < end_s)])  # the export ends at end_s

    orders["status"] = commerce.order_status(orders, refunds, end_s)
    orders.insert(0, "order_id", _ids(rng, 4_100_000_000_000_000_000, len(orders)))
    refunds.insert(0, "refund_id", _ids(rng, 230_000_000_000_000_000, len(refunds)))
    report("simulated", 1.0)
    return World(roster, msgs, orders, refunds, ratings, complaints, n_buyers=n_chat_buyers + len(silent))


def _export_cut(orders: pd.DataFrame, end_s: int) -> pd.DataFrame:
    """Orders as the export at the end of the period sees them, oldest first."""
    orders = orders[orders["created"] < end_s].copy()
    orders.loc[orders["paid"] >= end_s, "paid"] = -1
    return orders.sort_values("created", kind="stable").reset_index(drop=True)


def _ids(rng: np.random.Generator, base: int, n: int) -> np.ndarray:
    """Unique, increasing, platform-looking numeric ids (18-19 digits)."""
    return base + np.cumsum(rng.integers(1, 100_000_000, n, dtype=np.int64))


def _buyer_nicks(n: int, seed: int) -> pa.Array:
    """Buyer nicks like tb482938271: the digits are a bijection of the buyer
    number (3**18 is coprime with 10**9), so nicks are unique."""
    rng = np.random.default_rng([seed, 2])
    number = np.arange(n, dtype=np.int64)
    digits = (number * 387_420_489 + int(rng.integers(0, 10**9))) % 10**9
    prefix = output.lookup(_BUYER_PREFIXES, rng.integers(0, len(_BUYER_PREFIXES), n))
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(digits), pa.string()), "")


def write(
    world: World, out: Path, *, fmt: str, shop: str, seed: int, progress: Progress | None = None
) -> dict[str, int]:
    """Write all tables; agents always as CSV."""
    report = progress or (lambda stage, fraction: None)
    out.mkdir(parents=True, exist_ok=True)
    # A folder simulated before in the other format would hold both versions
    # of a table, and an import would read both.
    for name in _TABLES:
        for other in FORMATS:
            if other != fmt:
                (out / f"{name}.{other}").unlink(missing_ok=True)
    agent_ids = world.roster.ids()
    nicks = _buyer_nicks(world.n_buyers, seed)
    agents = pa.Table.from_pydict(
        {c: pa.array(world.roster.table[c].to_numpy(), pa.string()) for c in world.roster.table.columns}
    )
    counts = {"agents": output.write_table(out / "agents.csv", [agents], "csv")}

    m = world.messages
    texts = pa.array([t or None for t in TEXTS], pa.string())  # a transfer has no text

    def message_chunks():
        for i in range(0, max(len(m), 1), output.CHUNK_ROWS):
            part = slice(i, i + output.CHUNK_ROWS)
            yield pa.table(
                {
                    "ts": output.timestamps(m.ts[part]),
                    "shop": output.repeat(shop, len(m.ts[part])),
                    "buyer": nicks.take(pa.array(m.buyer[part])),
                    "agent": output.coded(agent_ids, m.account[part]),
                    "sender": output.coded(list(SENDERS), m.sender[part]),
                    "text": texts.take(pa.array(m.text[part])),
                }
            )

    report("writing messages", 0.0)
    counts["messages"] = output.write_table(
        out / f"messages.{fmt}",
        message_chunks(),
        fmt,
        progress=lambda rows: report("writing messages", 0.9 * rows / max(len(m), 1)),
    )

    report("writing orders, refunds, ratings, complaints", 0.9)
    for name, table in _small_tables(world, shop, agent_ids, nicks).items():
        counts[name] = output.write_table(out / f"{name}.{fmt}", [table], fmt)
    return counts


def _small_tables(world: World, shop: str, agent_ids: np.ndarray, nicks: pa.Array) -> dict[str, pa.Table]:
    o, r, ra, c = world.orders, world.refunds, world.ratings, world.complaints
    order_ids = pc.cast(pa.array(o["order_id"].to_numpy()), pa.string())
    return {
        "orders": pa.table(
            {
                "order_id": order_ids,
                "shop": output.repeat(shop, len(o)),
                "buyer": nicks.take(pa.array(o["buyer"].to_numpy())),
                "created_at": output.timestamps(o["created"].to_numpy()),
                "paid_at": output.timestamps(o["paid"].to_numpy()),
                "amount": output.money(o["cents"].to_numpy()),
                "status": pa.array(o["status"].to_numpy(), pa.string()),
            }
        ),
        "ratings": pa.table(
            {
                "ts": output.timestamps(ra["ts"].to_numpy()),
                "shop": output.repeat(shop, len(ra)),
                "buyer": nicks.take(pa.array(ra["buyer"].to_numpy())),
                "agent": output.lookup(agent_ids, ra["agent"].to_numpy()),
                "score": pa.array(ra["score"].to_numpy(), pa.int64()),
            }
        ),
        "refunds": pa.table(
            {
                "refund_id": pc.cast(pa.array(r["refund_id"].to_numpy()), pa.string()),
                "order_id": order_ids.take(pa.array(r["order"].to_numpy())),
                "shop": output.repeat(shop, len(r)),
                "applied_at": output.timestamps(r["applied"].to_numpy()),
                "finished_at": output.timestamps(r["finished"].to_numpy()),
                "amount": output.money(r["cents"].to_numpy()),
                "status": pa.array(r["status"].to_numpy(), pa.string()),
                "reason": pa.array(r["reason"].to_numpy(), pa.string()),
                "agent": output.lookup(agent_ids, r["agent"].to_numpy()),
            }
        ),
        "complaints": pa.table(
            {
                "ts": output.timestamps(c["ts"].to_numpy()),
                "shop": output.repeat(shop, len(c)),
                "agent": output.lookup(agent_ids, c["agent"].to_numpy()),
                "buyer": nicks.take(pa.array(c["buyer"].to_numpy())),
                "kind": pa.array(c["kind"].to_numpy(), pa.string()),
                "detail": pa.array(c["detail"].to_numpy(), pa.string()),
            }
        ),
    }
