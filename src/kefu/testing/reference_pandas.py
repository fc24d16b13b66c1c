"""Plain pandas / numpy reference implementation of the agent x day KPIs.

Written straight from ``shared/spec/data-and-metrics.md`` (sections 2-5) and
``docs/decisions.md`` (D1-D13, D16), independently of the real engine, for two
uses: the benchmark ("a plain pandas implementation of the same
definitions") and differential tests (engine vs. reference on random data).

Everything is vectorised: one global sort of the messages in the total order
D1, cumulative maxima / sums over that order, and ``np.searchsorted`` on
combined ``(shop-buyer, time)`` integer keys for every "last message before"
or "orders in a window" question. There is no Python loop over rows, buyers
or messages.

Decisions of this module beyond docs/decisions.md D1-D16 (R1-R11):

* R1 Ratios whose denominator is 0 are ``NaN``; every ratio column is
  float64, every count column int64, shop / agent / day are strings.
* R2 Timestamps are truncated to whole seconds; days are natural days of the
  naive shop-local timestamp.
* R3 An account is the pair ``(shop, agent)``. It is a bot when the agents
  table gives that pair role ``bot`` (case- and blank-insensitive) or it sent
  a ``bot`` message in that shop (D6); every other account is human, also
  one that only appears in ratings or complaints (then presales, in-house).
* R4 A transfer qualifies (D4) when, in the D1 order of the shop-buyer
  dialogue, the buyer's latest message strictly before the transfer (to any
  account, however long ago) has no later ``agent`` or ``bot`` message (from
  any account of the shop) before the transfer. A transfer with no earlier
  buyer message never qualifies. A transfer is not a reply, so several
  transfers after one unreplied buyer message each qualify.
* R5 D4/D5 as segments: for each (shop, buyer, account X) the events are cut
  at every X message and at every midnight; the first opening event (buyer
  message to X or qualifying transfer to X) of a segment opens a question,
  later ones open nothing. So a qualifying transfer that is X's first
  opening event of a day opens a question even while yesterday's question of
  X is still open: D5's "X already has an open question" means one opened
  the same day since X's last message.
* R6 A question closes at the account's next own message to the buyer,
  however much later (no cap, across any number of midnights); a bot or
  another agent answering does not close it.
* R7 ``rate_3min`` counts answered questions with response time <= 180 s;
  ``slow_responses`` those with response time > ``slow_threshold_s``.
* R8 D10/D11's ``first_open`` is the consultation's first question, i.e. the
  first question of that buyer with *that agent* on that day (D7's unit),
  not the buyer's first question of the day with any agent.
* R9 Money is summed in integer cents (each amount rounded to cents first);
  ``sales_amount`` is that / 100, ``avg_order_value`` = cents / order
  buyers rounded half-up to the cent (0.005 goes up), in integers.
* R10 Ratings and complaints count on the natural day of their ``ts``; those
  of bot accounts are dropped. A rating is satisfied when ``score >= 4``.
* R11 ``shop_day_silent`` has one row per (shop, day of ``paid_at``) with at
  least one paid order; ``consulted_sales_share`` = consulted / paid sales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "COUNT_COLUMNS",
    "OUTPUT_COLUMNS",
    "SILENT_COLUMNS",
    "RefParams",
    "agent_day_kpis",
    "shop_day_silent",
]

DAY_S = 86_400
#: D1 rank of each sender within one second.
SENDERS_IN_ORDER = ["transfer", "buyer", "bot", "agent"]
TRANSFER, BUYER, BOT, AGENT = 0, 1, 2, 3
WITHIN_3MIN_S = 180
#: the D1 sort uses one combined int64 key below this bound, else a lexsort
_ONE_KEY_LIMIT = 2**62

OUTPUT_COLUMNS = [
    "shop", "agent", "day",
    "consult_buyers", "received_buyers", "unreplied_buyers", "reply_rate",
    "buyer_msgs", "agent_msgs", "answer_ratio",
    "questions", "answered_questions", "unanswered_questions",
    "avg_response_s", "avg_first_response_s", "slow_responses", "slow_response_buyers",
    "inquiry_buyers", "converted_buyers", "inquiry_conversion",
    "next_day_paid_buyers", "next_day_conversion", "lost_buyers",
    "rate_3min", "attributed_orders", "sales_amount", "avg_order_value",
    "ratings", "satisfaction_rate", "complaints",
]  # fmt: skip

COUNT_COLUMNS = [
    "consult_buyers", "received_buyers", "unreplied_buyers", "buyer_msgs", "agent_msgs",
    "questions", "answered_questions", "unanswered_questions", "slow_responses",
    "slow_response_buyers", "inquiry_buyers", "converted_buyers", "next_day_paid_buyers",
    "lost_buyers", "attributed_orders", "ratings", "complaints",
]  # fmt: skip

SILENT_COLUMNS = [
    "shop", "day", "silent_orders", "silent_sales", "consulted_sales", "paid_sales",
    "consulted_sales_share",
]  # fmt: skip


@dataclass(frozen=True)
class RefParams:
    slow_threshold_s: int = 60
    after_sales_days: int = 15
    attribution_hours: int = 72
    credit_rule: str = "order_first"  # order | payment | order_first

    def __post_init__(self) -> None:
        if self.credit_rule not in ("order", "payment", "order_first"):
            raise ValueError(f"unknown credit_rule {self.credit_rule!r}")


# ---------------------------------------------------------------------------
# encoding helpers


def _factorize(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) and the distinct values of one column, one hash pass."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), np.asarray(s.cat.categories, dtype=object)
    codes, uniques = pd.factorize(s)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _encode(columns: dict[str, pd.Series | None]) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Encode several string columns against their sorted union, so that code
    order is string order. Returns the vocabulary and one code array each."""
    facts = {name: _factorize(s) for name, s in columns.items() if s is not None}
    parts = [u for _, u in facts.values()]
    vocab = pd.Index(np.concatenate(parts) if parts else [], dtype=object).unique().sort_values()
    out = {}
    for name, (codes, uniques) in facts.items():
        if len(codes) and codes.min() < 0:
            raise ValueError(f"{name}: missing values are not allowed")
        out[name] = vocab.get_indexer(uniques).astype(np.int64)[codes]
    return vocab, out


def _seconds(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whole seconds since the epoch (int64) and a null mask."""
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    na = s.isna().to_numpy()
    v = s.to_numpy().astype("datetime64[s]").astype(np.int64)
    return np.where(na, 0, v), na


def _cents(amount: pd.Series) -> np.ndarray:
    """Amounts (float, Decimal objects or an Arrow decimal) in integer cents."""
    a = amount if pd.api.types.is_float_dtype(amount.dtype) else amount.astype(float)
    return np.round(a.to_numpy(dtype=float) * 100.0).astype(np.int64)


def _group_start(new: np.ndarray) -> np.ndarray:
    """For rows sorted by group (``new`` marks each group's first row): the
    position of each row's group start."""
    pos = np.arange(len(new), dtype=np.int64)
    return np.maximum.accumulate(np.where(new, pos, 0)) if len(new) else pos


def _prefix(x: np.ndarray) -> np.ndarray:
    """prefix[i] = sum(x[:i])."""
    return np.concatenate([[0], np.cumsum(x, dtype=np.int64)])


def _str_days(day: np.ndarray) -> np.ndarray:
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype(str).astype(object)


@dataclass
class _Data:
    shops: pd.Index
    agents: pd.Index
    n_agents: int
    t0: int  # day-aligned origin (s) of the combined keys
    big: int  # multiplier of the shop-buyer code in combined keys
    # messages, sorted in the total order D1
    m_sb: np.ndarray
    m_t: np.ndarray
    m_rank: np.ndarray
    m_acct: np.ndarray
    m_human: np.ndarray
    # orders
    o_sb: np.ndarray
    o_shop: np.ndarray
    o_created: np.ndarray
    o_paid: np.ndarray
    o_is_paid: np.ndarray
    o_cents: np.ndarray
    bot_accts: np.ndarray
    # accounts of the ratings / complaints rows (None without the table)
    extra_acct: dict[str, np.ndarray]

    def key(self, sb: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Combined sort key: shop-buyer first, then time."""
        return sb * self.big + (t - self.t0)

    def is_human(self, acct: np.ndarray) -> np.ndarray:
        return ~np.isin(acct, self.bot_accts)


def _prepare(
    messages: pd.DataFrame,
    orders: pd.DataFrame,
    agents: pd.DataFrame | None,
    ratings: pd.DataFrame | None,
    complaints: pd.DataFrame | None,
) -> _Data:
    def col(df: pd.DataFrame | None, name: str) -> pd.Series | None:
        return None if df is None else df[name]

    shops, sc = _encode(
        {
            "messages.shop": messages["shop"],
            "orders.shop": orders["shop"],
            "agents.shop": col(agents, "shop"),
            "ratings.shop": col(ratings, "shop"),
            "complaints.shop": col(complaints, "shop"),
        }
    )
    agent_cats, ac = _encode(
        {
            "messages.agent": messages["agent"],
            "agents.agent": col(agents, "agent"),
            "ratings.agent": col(ratings, "agent"),
            "complaints.agent": col(complaints, "agent"),
        }
    )
    _, bc = _encode({"messages.buyer": messages["buyer"], "orders.buyer": orders["buyer"]})
    n_agents = max(len(agent_cats), 1)

    def acct_of(table: str) -> np.ndarray:
        return sc[f"{table}.shop"] * n_agents + ac[f"{table}.agent"]

    # -- messages
    m_agent = ac["messages.agent"]
    codes, senders = _factorize(messages["sender"])
    unknown = sorted(set(senders) - set(SENDERS_IN_ORDER))
    if unknown or (len(codes) and codes.min() < 0):
        raise ValueError(f"messages.sender: unknown or missing values {unknown}")
    rank = np.array([SENDERS_IN_ORDER.index(x) for x in senders], dtype=np.int8)[codes]
    m_t, m_na = _seconds(messages["ts"])
    if m_na.any():
        raise ValueError("messages.ts: missing values are not allowed")
    m_acct = acct_of("messages")

    # -- orders
    o_shop = sc["orders.shop"]
    o_created, c_na = _seconds(orders["created_at"])
    if c_na.any():
        raise ValueError("orders.created_at: missing values are not allowed")
    if "paid_at" in orders.columns:
        o_paid, p_na = _seconds(orders["paid_at"])
    else:
        o_paid, p_na = np.zeros(len(orders), np.int64), np.ones(len(orders), bool)
    o_is_paid = ~p_na
    o_cents = _cents(orders["amount"]) if len(orders) else np.zeros(0, np.int64)

    # -- compact shop-buyer codes shared by messages and orders
    n_buyers = int(max((c.max() for c in bc.values() if len(c)), default=0)) + 1
    raw = np.concatenate(
        [sc["messages.shop"] * n_buyers + bc["messages.buyer"], o_shop * n_buyers + bc["orders.buyer"]]
    )
    sb_all = pd.factorize(raw)[0].astype(np.int64)
    m_sb, o_sb = sb_all[: len(m_t)], sb_all[len(m_t) :]
    n_sb = max(int(sb_all.max()) + 1 if len(sb_all) else 1, 1)

    # -- bots (D6): role bot in the agents table, or sender of bot messages
    bot = [np.unique(m_acct[rank == BOT])]
    if agents is not None and len(agents):
        role = agents["role"] if "role" in agents.columns else pd.Series("", index=agents.index)
        is_bot_role = (role.astype(object).fillna("").astype(str).str.strip().str.lower() == "bot").to_numpy()
        bot.append(acct_of("agents")[is_bot_role])
    bot_accts = np.unique(np.concatenate(bot))

    # -- the total order D1: shop-buyer, ts, sender rank, agent account
    #    (text only breaks ties between otherwise identical rows; it never
    #    changes a KPI, so a stable sort is enough).
    times = [m_t, o_created, o_paid[o_is_paid]]
    t_min = min((int(x.min()) for x in times if len(x)), default=0)
    t_max = max((int(x.max()) for x in times if len(x)), default=0)
    t0 = (t_min // DAY_S) * DAY_S
    big = (t_max - t0) + 3 * DAY_S + 1
    if n_sb * big >= 2**62:
        raise ValueError("time span too large for combined keys")

    sb_t = m_sb * big + (m_t - t0)  # (shop-buyer, ts) as one sortable integer
    tie = rank.astype(np.int64) * n_agents + m_agent  # (sender rank, agent)
    if n_sb * big * 4 * n_agents < _ONE_KEY_LIMIT:  # everything fits in one int64 key
        order = np.argsort(sb_t * (4 * n_agents) + tie)
    else:
        order = np.lexsort((tie, sb_t))
    del sb_t, tie
    m_sb, m_t, rank, m_acct = m_sb[order], m_t[order], rank[order], m_acct[order]

    data = _Data(
        shops=shops, agents=agent_cats, n_agents=n_agents, t0=t0, big=big,
        m_sb=m_sb, m_t=m_t, m_rank=rank, m_acct=m_acct, m_human=np.ones(0, bool),
        o_sb=o_sb, o_shop=o_shop, o_created=o_created, o_paid=o_paid,
        o_is_paid=o_is_paid, o_cents=o_cents, bot_accts=bot_accts,
        extra_acct={t: acct_of(t) for t in ("ratings", "complaints") if f"{t}.shop" in sc},
    )  # fmt: skip
    data.m_human = data.is_human(m_acct)
    return data


# ---------------------------------------------------------------------------
# dialogue model (spec §2, D4-D6)


def _questions(d: _Data) -> dict[str, np.ndarray]:
    """One entry per question of a human agent, in (shop-buyer, account, time)
    order: acct, sb, g (= shop-buyer x account), day, open, answered, rt."""
    n = len(d.m_t)
    pos = np.arange(n, dtype=np.int64)
    rank = d.m_rank
    gstart = _group_start(np.r_[True, d.m_sb[1:] != d.m_sb[:-1]] if n else np.zeros(0, bool))

    # Transfer qualification: the buyer's latest message before the transfer
    # (to any account) has had no shop-side (agent or bot) reply yet.
    last_buyer = np.maximum.accumulate(np.where(rank == BUYER, pos, -1)) if n else pos
    last_reply = np.maximum.accumulate(np.where(rank >= BOT, pos, -1)) if n else pos
    qualifies = (rank == TRANSFER) & (last_buyer >= gstart) & (last_reply < last_buyer)

    # Events of human accounts: opening events and the account's own messages.
    is_open = (rank == BUYER) | qualifies
    is_own = rank >= BOT
    sel = np.nonzero(d.m_human & (is_open | is_own))[0]
    # Group by (shop-buyer, account) keeping the D1 order inside each group.
    g = d.m_sb[sel] * (d.n_agents * max(len(d.shops), 1)) + d.m_acct[sel]
    o = np.argsort(g, kind="stable")
    sel, g = sel[o], g[o]
    t = d.m_t[sel]
    own = is_own[sel]
    opening = is_open[sel]
    day = t // DAY_S
    m = len(sel)

    # k = number of the account's own messages before each event, per group.
    new_g = np.r_[True, g[1:] != g[:-1]] if m else np.zeros(0, bool)
    own_before = np.cumsum(own, dtype=np.int64) - own
    k = own_before - own_before[_group_start(new_g)] if m else own_before

    # D4: a question opens at the first opening event of each segment
    # (group, k, day); D5: later opening events of the segment open nothing.
    oi = np.nonzero(opening)[0]
    og, ok, od = g[oi], k[oi], day[oi]
    first = np.ones(len(oi), bool)
    if len(oi):
        first[1:] = (og[1:] != og[:-1]) | (ok[1:] != ok[:-1]) | (od[1:] != od[:-1])
    qi = oi[first]

    # Close: the account's next own message in the same group.
    own_pos = np.nonzero(own)[0]
    j = np.searchsorted(own_pos, qi, side="left")
    has_next = j < len(own_pos)
    jc = np.where(has_next, j, 0)
    answered = has_next & (g[own_pos[jc]] == g[qi]) if len(own_pos) else np.zeros(len(qi), bool)
    close = np.where(answered, t[own_pos[jc]] if len(own_pos) else 0, -1)

    return {
        "acct": d.m_acct[sel[qi]],
        "sb": d.m_sb[sel[qi]],
        "g": g[qi],
        "day": day[qi],
        "open": t[qi],
        "answered": answered,
        "rt": np.where(answered, close - t[qi], 0),
    }


# ---------------------------------------------------------------------------
# order credit (spec §4, D2, D13)


def _credit(d: _Data, params: RefParams) -> tuple[np.ndarray, np.ndarray]:
    """For every order: (credited, acct). Unpaid orders are never credited."""
    ex = np.nonzero(d.m_human & ((d.m_rank == BUYER) | (d.m_rank == AGENT)))[0]
    ekey = d.key(d.m_sb[ex], d.m_t[ex])  # sorted: messages are in D1 order
    e_sb, e_t, e_acct = d.m_sb[ex], d.m_t[ex], d.m_acct[ex]
    window = params.attribution_hours * 3600

    def last_exchange(moment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # last exchange with ts <= moment (D2: the same second counts as
        # before; among same-second messages the D1-last one, hence "right").
        j = np.searchsorted(ekey, d.key(d.o_sb, moment), side="right") - 1
        jc = np.maximum(j, 0)
        if not len(ex):
            return np.zeros(len(moment), bool), np.zeros(len(moment), np.int64)
        found = (j >= 0) & (e_sb[jc] == d.o_sb) & (e_t[jc] >= moment - window)
        return found, e_acct[jc]

    f_order, a_order = last_exchange(d.o_created)
    f_pay, a_pay = last_exchange(d.o_paid)
    if params.credit_rule == "order":
        found, acct = f_order, a_order
    elif params.credit_rule == "payment":
        found, acct = f_pay, a_pay
    else:  # order_first
        found = f_order | f_pay
        acct = np.where(f_order, a_order, a_pay)
    found = found & d.o_is_paid
    return found, np.where(found, acct, -1)


# ---------------------------------------------------------------------------
# inquiry and conversion (spec §3, D10, D11)


def _conversion(d: _Data, sb: np.ndarray, first_open: np.ndarray, params: RefParams) -> dict[str, np.ndarray]:
    """Per consultation (shop-buyer, first question's open time): inquiry,
    converted, next_day, lost."""
    day = first_open // DAY_S

    # D10: prior paid order with paid_at in [first_open - N days, first_open)
    paid_idx = np.nonzero(d.o_is_paid)[0]
    pk = d.key(d.o_sb[paid_idx], d.o_paid[paid_idx])
    po = np.argsort(pk, kind="stable")
    pk, p_sb, p_t = pk[po], d.o_sb[paid_idx][po], d.o_paid[paid_idx][po]
    j = np.searchsorted(pk, d.key(sb, first_open), side="left") - 1
    jc = np.maximum(j, 0)
    if len(pk):
        prior = (j >= 0) & (p_sb[jc] == sb) & (p_t[jc] >= first_open - params.after_sales_days * DAY_S)
    else:
        prior = np.zeros(len(sb), bool)

    # D11: orders with first_open <= created_at < day + 2 days
    ck = d.key(d.o_sb, d.o_created)
    co = np.argsort(ck, kind="stable")
    ck = ck[co]
    c_day = d.o_created[co] // DAY_S
    c_paid = d.o_is_paid[co]
    c_paid_t = d.o_paid[co]
    cum_paid = _prefix(c_paid)
    # next-day paid: paid before (inquiry day + 2). For an order created on
    # the inquiry day that is c_day + 2; created the day after: c_day + 1.
    cum_f0 = _prefix(c_paid & (c_paid_t < (c_day + 2) * DAY_S))
    cum_f1 = _prefix(c_paid & (c_paid_t < (c_day + 1) * DAY_S))
    lo = np.searchsorted(ck, d.key(sb, first_open), side="left")
    mid = np.searchsorted(ck, d.key(sb, (day + 1) * DAY_S), side="left")
    hi = np.searchsorted(ck, d.key(sb, (day + 2) * DAY_S), side="left")
    any_order = hi > lo
    any_paid = (cum_paid[hi] - cum_paid[lo]) > 0
    next_day = ((cum_f0[mid] - cum_f0[lo]) + (cum_f1[hi] - cum_f1[mid])) > 0

    inquiry = ~prior
    return {
        "inquiry": inquiry,
        "converted": inquiry & any_paid,
        "next_day": inquiry & next_day,
        "lost": inquiry & ~any_order,
    }


# ---------------------------------------------------------------------------
# public API


class _Tally:
    """Sums per (account, day). Every KPI is built from per-row contributions
    (a question, a consultation, a message, a credited order, ...); the
    agent-days of the output are exactly the keys that got a contribution."""

    #: largest (account x day) grid indexed densely; beyond it, a sorted search
    DENSE_LIMIT = 1 << 24

    def __init__(self) -> None:
        self._items: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []

    def add(self, name: str, acct: np.ndarray, day: np.ndarray, weight: np.ndarray | None = None) -> None:
        self._items.append((name, acct, day, weight))

    def table(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        days = np.concatenate([[0]] + [d for _, _, d, _ in self._items])
        dmin = int(days[1:].min()) if len(days) > 1 else 0
        nday = int(days[1:].max()) - dmin + 1 if len(days) > 1 else 1
        keys = [a * nday + (d - dmin) for _, a, d, _ in self._items]
        size = max((int(k.max()) + 1 for k in keys if len(k)), default=0)
        dense = size <= self.DENSE_LIMIT
        if dense:  # index the (account, day) grid directly: no search needed
            present = np.zeros(size, bool)
            for k in keys:
                present[k] = True
            uniq = np.flatnonzero(present)
            index, n = keys, size
        else:
            uniq = np.unique(np.concatenate(keys))
            index, n = [np.searchsorted(uniq, k) for k in keys], len(uniq)
        sums: dict[str, np.ndarray] = {}
        for (name, _, _, w), i in zip(self._items, index):
            w = None if w is None else np.asarray(w, dtype=float)
            total = np.bincount(i, weights=w, minlength=n).astype(float)
            sums[name] = sums.get(name, 0) + (total[uniq] if dense else total)
        return uniq // nday, uniq % nday + dmin, sums


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _fen_ratio(fen: np.ndarray, den: np.ndarray) -> np.ndarray:
    """fen / den in yuan, rounded half-up to the fen in exact integers (R9)."""
    safe = np.where(den > 0, den, 1)
    rounded = np.sign(fen) * ((2 * np.abs(fen) + safe) // (2 * safe))
    return np.where(den > 0, rounded / 100.0, np.nan)


def agent_day_kpis(
    messages: pd.DataFrame,
    orders: pd.DataFrame,
    agents: pd.DataFrame | None = None,
    ratings: pd.DataFrame | None = None,
    complaints: pd.DataFrame | None = None,
    params: RefParams = RefParams(),
) -> pd.DataFrame:
    """KPIs per human agent and day (spec §3), one row per (shop, agent, day)
    with any activity, sorted by shop, agent, day. Counts are int64, ratios
    float64 and NaN when their denominator is 0, ``day`` is ``YYYY-MM-DD``."""
    d = _prepare(messages, orders, agents, ratings, complaints)
    tally = _Tally()

    # -- questions (by the day they opened)
    q = _questions(d)
    qa, qd, ans, rt = q["acct"], q["day"], q["answered"], q["rt"]
    slow = ans & (rt > params.slow_threshold_s)
    tally.add("questions", qa, qd)
    tally.add("answered_questions", qa, qd, ans)
    tally.add("rt_sum", qa, qd, np.where(ans, rt, 0))
    tally.add("slow_responses", qa, qd, slow)
    tally.add("within_3min", qa, qd, ans & (rt <= WITHIN_3MIN_S))

    # -- consultations = (buyer, agent, day). Questions come in (shop-buyer,
    #    account, time) order, so a consultation's questions are contiguous
    #    and its first one is the day's first question.
    g = q["g"]
    first = np.ones(len(g), bool)
    first[1:] = (g[1:] != g[:-1]) | (qd[1:] != qd[:-1])
    cid = np.cumsum(first) - 1
    n_cons = int(first.sum())
    ca, cd = qa[first], qd[first]
    f_ans, f_rt = ans[first], rt[first]
    received = np.bincount(cid, weights=ans, minlength=n_cons) > 0
    slow_any = np.bincount(cid, weights=slow, minlength=n_cons) > 0
    conv = _conversion(d, q["sb"][first], q["open"][first], params)
    tally.add("consult_buyers", ca, cd)
    tally.add("received_buyers", ca, cd, received)
    tally.add("first_answered", ca, cd, f_ans)
    tally.add("first_rt_sum", ca, cd, np.where(f_ans, f_rt, 0))
    tally.add("slow_response_buyers", ca, cd, slow_any)
    tally.add("inquiry_buyers", ca, cd, conv["inquiry"])
    tally.add("converted_buyers", ca, cd, conv["converted"])
    tally.add("next_day_paid_buyers", ca, cd, conv["next_day"])
    tally.add("lost_buyers", ca, cd, conv["lost"])

    # -- messages (by ts day); bot accounts are never reported
    for name, r in (("buyer_msgs", BUYER), ("agent_msgs", AGENT)):
        sel = d.m_human & (d.m_rank == r)
        tally.add(name, d.m_acct[sel], d.m_t[sel] // DAY_S)

    # -- credited paid orders (by the day of paid_at)
    credited, c_acct = _credit(d, params)
    oa, od = c_acct[credited], d.o_paid[credited] // DAY_S
    tally.add("attributed_orders", oa, od)
    tally.add("cents", oa, od, d.o_cents[credited])
    buyers = pd.DataFrame({"a": oa, "d": od, "sb": d.o_sb[credited]}).drop_duplicates()
    tally.add("order_buyers", buyers["a"].to_numpy(), buyers["d"].to_numpy())

    # -- ratings, complaints (by ts day; human accounts only)
    for name, df in (("ratings", ratings), ("complaints", complaints)):
        if df is None:
            continue
        acct = d.extra_acct[name]
        t, na = _seconds(df["ts"])
        keep = d.is_human(acct) & ~na
        tally.add(name, acct[keep], t[keep] // DAY_S)
        if name == "ratings":
            good = pd.to_numeric(df["score"]).to_numpy() >= 4
            tally.add("good_ratings", acct[keep], t[keep] // DAY_S, good[keep])

    acct, day, s = tally.table()
    zero = np.zeros(len(acct))
    v = lambda name: s.get(name, zero)  # noqa: E731
    derived = ("unreplied_buyers", "unanswered_questions")
    counts = {c: np.rint(v(c)).astype(np.int64) for c in COUNT_COLUMNS if c not in derived}
    sales = np.round(v("cents") / 100.0, 2)
    cols = {
        # accounts sort as (shop, agent) in string order: both vocabularies are sorted
        "shop": np.asarray(d.shops, dtype=object)[acct // d.n_agents],
        "agent": np.asarray(d.agents, dtype=object)[acct % d.n_agents],
        "day": _str_days(day),
        **counts,
        "unreplied_buyers": counts["consult_buyers"] - counts["received_buyers"],
        "reply_rate": _ratio(counts["received_buyers"], counts["consult_buyers"]),
        "answer_ratio": _ratio(counts["agent_msgs"], counts["buyer_msgs"]),
        "unanswered_questions": counts["questions"] - counts["answered_questions"],
        "avg_response_s": _ratio(v("rt_sum"), counts["answered_questions"]),
        "avg_first_response_s": _ratio(v("first_rt_sum"), v("first_answered")),
        "inquiry_conversion": _ratio(counts["converted_buyers"], counts["inquiry_buyers"]),
        "next_day_conversion": _ratio(counts["next_day_paid_buyers"], counts["inquiry_buyers"]),
        "rate_3min": _ratio(v("within_3min"), counts["questions"]),
        "sales_amount": sales,
        "avg_order_value": _fen_ratio(
            np.rint(v("cents")).astype(np.int64), np.rint(v("order_buyers")).astype(np.int64)
        ),
        "satisfaction_rate": _ratio(v("good_ratings"), counts["ratings"]),
    }
    return pd.DataFrame({c: cols[c] for c in OUTPUT_COLUMNS})


def shop_day_silent(
    messages: pd.DataFrame,
    orders: pd.DataFrame,
    agents: pd.DataFrame | None = None,
    params: RefParams = RefParams(),
) -> pd.DataFrame:
    """Per shop and day of ``paid_at`` (days with >= 1 paid order): silent
    orders (paid, credited to nobody), silent sales, consulted (credited)
    sales, all paid sales and 客服销售占比 = consulted / paid (NaN if 0)."""
    d = _prepare(messages, orders, agents, None, None)
    credited, _ = _credit(d, params)
    paid = d.o_is_paid
    fr = pd.DataFrame(
        {
            "shop": d.o_shop[paid],
            "day": d.o_paid[paid] // DAY_S,
            "silent": ~credited[paid],
            "cents": d.o_cents[paid],
        }
    )
    fr["silent_cents"] = np.where(fr["silent"], fr["cents"], 0)
    fr["consulted_cents"] = fr["cents"] - fr["silent_cents"]
    g = (
        fr.groupby(["shop", "day"], sort=True)
        .agg(
            silent_orders=("silent", "sum"),
            silent_cents=("silent_cents", "sum"),
            consulted_cents=("consulted_cents", "sum"),
            paid_cents=("cents", "sum"),
        )
        .reset_index()
    )
    res = pd.DataFrame(
        {
            "shop": np.asarray(d.shops, dtype=object)[g["shop"].to_numpy()] if len(g) else [],
            "day": _str_days(g["day"].to_numpy()),
            "silent_orders": g["silent_orders"].astype(np.int64),
            "silent_sales": (g["silent_cents"] / 100.0).round(2),
            "consulted_sales": (g["consulted_cents"] / 100.0).round(2),
            "paid_sales": (g["paid_cents"] / 100.0).round(2),
        }
    )
    res["consulted_sales_share"] = _ratio(g["consulted_cents"], g["paid_cents"])
    return res[SILENT_COLUMNS].reset_index(drop=True)
