"""The shop simulator writes valid canonical files whose data look like a real shop.

Each realism test measures one property on the generated files (read back
from disk, as the importer will), not on the simulator's internals.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kefu.simulate import simulate

SHOP = "云裳女装旗舰店"
TABLES = ("agents", "messages", "orders", "ratings", "refunds", "complaints")
COLUMNS = {
    "agents": ["agent", "name", "shop", "team", "role", "employer", "active"],
    "messages": ["ts", "shop", "buyer", "agent", "sender", "text"],
    "orders": ["order_id", "shop", "buyer", "created_at", "paid_at", "amount", "status"],
    "ratings": ["ts", "shop", "buyer", "agent", "score"],
    "refunds": ["refund_id", "order_id", "shop", "applied_at", "finished_at", "amount", "status", "reason", "agent"],
    "complaints": ["ts", "shop", "agent", "buyer", "kind", "detail"],
}
TIME_COLUMNS = {
    "messages": ["ts"],
    "orders": ["created_at", "paid_at"],
    "ratings": ["ts"],
    "refunds": ["applied_at", "finished_at"],
    "complaints": ["ts"],
}
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
START, DAYS = date(2026, 10, 20), 30
END = pd.Timestamp(START) + pd.Timedelta(days=DAYS)


def read(folder: Path, name: str) -> pd.DataFrame:
    """A table as strings ('' = empty), the way the importer sees it."""
    if name != "agents" and (folder / f"{name}.parquet").exists():
        df = pd.read_parquet(folder / f"{name}.parquet")
        return df.astype(str).where(df.notna(), "")
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def shop_dir(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("shop")
    return out, simulate(out, agents=10, days=DAYS, start=START, seed=7)


@pytest.fixture(scope="module")
def raw(shop_dir) -> dict[str, pd.DataFrame]:
    """All tables as written: strings."""
    folder, _ = shop_dir
    return {name: read(folder, name) for name in TABLES}


@pytest.fixture(scope="module")
def t(raw) -> dict[str, pd.DataFrame]:
    """All tables, timestamps parsed (strictly: any other format raises)."""
    tables = {name: df.copy() for name, df in raw.items()}
    for name, cols in TIME_COLUMNS.items():
        for col in cols:
            text = tables[name][col]
            tables[name][col] = pd.to_datetime(text.where(text != ""), format=TS_FORMAT)
    for name in ("orders", "refunds"):
        tables[name]["amount"] = tables[name]["amount"].astype(float)
    tables["ratings"]["score"] = tables["ratings"]["score"].astype(int)
    return tables


@pytest.fixture(scope="module")
def human(t) -> pd.DataFrame:
    """Buyer and agent messages with human accounts, with the account's role/employer."""
    agents = t["agents"].set_index("agent")
    m = t["messages"]
    is_human = (agents.loc[m["agent"], "role"] != "bot").to_numpy()
    m = m[m["sender"].isin(["buyer", "agent"]) & is_human]
    m = m.join(agents[["role", "employer"]], on="agent")
    rank = m["sender"].map({"buyer": 1, "agent": 3})
    return m.assign(rank=rank).sort_values(["buyer", "ts", "rank"], kind="stable")


@pytest.fixture(scope="module")
def questions(human) -> pd.DataFrame:
    """Questions as in the spec §2, simplified (buyer messages only open them):
    a question opens at the first buyer message after the agent's previous
    message and closes at the agent's next message."""
    m = human.copy()
    is_agent = (m["sender"] == "agent").astype(int)
    m["epoch"] = is_agent.groupby([m["buyer"], m["agent"]]).cumsum() - is_agent
    opens = (
        m[m["sender"] == "buyer"]
        .groupby(["buyer", "agent", "epoch"])
        .agg(open=("ts", "min"), n_msgs=("ts", "size"), employer=("employer", "first"), role=("role", "first"))
        .reset_index()
    )
    closes = m[m["sender"] == "agent"].groupby(["buyer", "agent", "epoch"])["ts"].min().rename("close").reset_index()
    q = opens.merge(closes, on=["buyer", "agent", "epoch"], how="left")
    q["response_s"] = (q["close"] - q["open"]).dt.total_seconds()
    return q


# ---------------------------------------------------------------- files and formats


def test_returned_counts_are_the_rows_written(shop_dir, t):
    _, counts = shop_dir
    assert set(counts) == set(TABLES)
    for name in TABLES:
        assert counts[name] == len(t[name]), name


def test_every_table_has_the_canonical_header(shop_dir):
    folder, _ = shop_dir
    for name in TABLES:
        with open(folder / f"{name}.csv", encoding="utf-8") as f:
            assert f.readline().rstrip("\n").split(",") == COLUMNS[name]


def test_timestamps_are_exactly_the_canonical_format(raw):
    pattern = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    for name, cols in TIME_COLUMNS.items():
        df = raw[name]
        for col in cols:
            values = df[col][df[col] != ""]
            assert values.str.match(pattern).all(), (name, col)
            pd.to_datetime(values, format=TS_FORMAT)  # real calendar times


def test_all_events_lie_in_the_simulated_period(t):
    for name, cols in TIME_COLUMNS.items():
        for col in cols:
            assert (t[name][col].dropna() < END).all(), (name, col)
    assert t["messages"]["ts"].min() >= pd.Timestamp(START)


def test_ids_are_unique_platform_numbers(t):
    orders, refunds = t["orders"], t["refunds"]
    assert orders["order_id"].str.fullmatch(r"\d{18,19}").all()
    assert orders["order_id"].is_unique and refunds["refund_id"].is_unique
    assert refunds["refund_id"].str.fullmatch(r"\d+").all()
    assert refunds["order_id"].isin(orders["order_id"]).all()


def test_money_has_two_decimals(raw):
    for name in ("orders", "refunds"):
        assert raw[name]["amount"].str.fullmatch(r"\d+\.\d{2}").all()


def test_every_account_used_is_in_agents(t):
    known = set(t["agents"]["agent"])
    for name in ("messages", "ratings", "refunds", "complaints"):
        assert set(t[name]["agent"].unique()) <= known, name


def test_agents_table(t):
    a = t["agents"]
    assert a["agent"].is_unique and a["name"].is_unique
    assert (a["agent"] == SHOP + ":" + a["name"]).all()
    assert (a["shop"] == SHOP).all()
    assert a["name"].str.contains(r"[\u4e00-\u9fff]").all()  # Chinese names
    assert set(a["role"]) == {"presales", "aftersales", "refund", "bot"}
    bots = a[a["role"] == "bot"]
    assert list(bots["agent"]) == [f"{SHOP}:店小蜜"]
    assert set(a["active"]) == {"true", "false"}
    assert 1 <= (a["active"] == "false").sum() <= 2
    assert "in_house" in set(a["employer"]) and len(set(a["employer"])) >= 2
    assert set(a["team"]) >= {"售前一组", "售前二组", "售后组"}


def test_column_values(t):
    assert set(t["messages"]["sender"].unique()) == {"buyer", "agent", "bot", "transfer"}
    assert set(t["orders"]["status"]) <= {"unpaid", "paid", "shipped", "success", "closed"}
    assert set(t["refunds"]["status"]) <= {"success", "closed", "processing"}
    assert t["ratings"]["score"].between(1, 5).all()
    for name in ("messages", "orders", "ratings", "refunds", "complaints"):
        assert list(t[name]["shop"].unique()) == [SHOP]


def test_parquet_holds_the_same_values_as_csv(tmp_path, raw):
    counts = simulate(tmp_path, agents=10, days=DAYS, start=START, seed=7, fmt="parquet")
    assert (tmp_path / "agents.csv").exists() and not (tmp_path / "agents.parquet").exists()
    for name in TABLES[1:]:
        assert (tmp_path / f"{name}.parquet").exists() and not (tmp_path / f"{name}.csv").exists()
        from_parquet = read(tmp_path, name)
        pd.testing.assert_frame_equal(from_parquet, raw[name], check_dtype=False)
        assert counts[name] == len(from_parquet)


def test_switching_format_leaves_one_version_of_each_table(tmp_path):
    simulate(tmp_path, agents=3, days=3, fmt="csv")
    simulate(tmp_path, agents=3, days=3, fmt="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["agents.csv"] + [f"{name}.parquet" for name in TABLES[1:]]
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_arguments_give_identical_bytes(tmp_path, fmt):
    a, b = tmp_path / "a", tmp_path / "b"
    kwargs = dict(agents=6, days=25, start=START, seed=3, fmt=fmt)
    assert simulate(a, **kwargs) == simulate(b, **kwargs)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir()) and len(files) == 6
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_another_seed_gives_other_data(tmp_path):
    simulate(tmp_path / "a", agents=4, days=5, seed=1)
    simulate(tmp_path / "b", agents=4, days=5, seed=2)
    assert (tmp_path / "a/messages.csv").read_bytes() != (tmp_path / "b/messages.csv").read_bytes()


@pytest.mark.parametrize("target,agents,days", [(20_000, 5, 30), (100_000, 25, 30), (200_000, 8, 10)])
def test_message_target_is_met_within_ten_percent(tmp_path, target, agents, days):
    counts = simulate(tmp_path, agents=agents, days=days, messages=target, fmt="parquet")
    assert abs(counts["messages"] - target) <= 0.1 * target


@pytest.mark.parametrize("agents", [1, 2, 3])
def test_tiny_shops_still_write_valid_files(tmp_path, agents):
    counts = simulate(tmp_path, agents=agents, days=3, start=date(2026, 3, 2), seed=5)
    a = read(tmp_path, "agents")
    assert len(a) == agents + 1 and counts["messages"] > 0
    assert set(read(tmp_path, "messages")["agent"]) <= set(a["agent"])
    assert set(read(tmp_path, "refunds")["agent"]) <= set(a["agent"])


def test_progress_is_reported(tmp_path):
    seen = []
    simulate(tmp_path, agents=3, days=3, progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert len(seen) >= 3 and fractions == sorted(fractions)
    assert fractions[0] >= 0 and fractions[-1] == 1.0


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        simulate(tmp_path, fmt="xlsx")
    with pytest.raises(ValueError):
        simulate(tmp_path, agents=0)


# ---------------------------------------------------------------- load over time


def test_evening_peak_and_quiet_night(t):
    m = t["messages"]
    normal = m[~m["ts"].dt.strftime("%m-%d").isin(["11-10", "11-11", "11-12"])]
    per_hour = normal["ts"].dt.hour.value_counts()
    assert per_hour[21] > 10 * per_hour[4]
    assert per_hour.idxmax() in (20, 21, 22, 23)


def test_double_11_is_by_far_the_busiest_day(t):
    per_day = t["messages"]["ts"].dt.date.value_counts()
    assert per_day.idxmax() == date(2026, 11, 11)
    assert per_day.iloc[0] > 2.5 * per_day.iloc[1]
    # a smaller peak on the days before
    assert per_day[date(2026, 11, 10)] > 1.5 * per_day.median()
    assert per_day[date(2026, 11, 5)] > per_day[date(2026, 10, 21)]


def test_double_11_rush_hours_are_the_busiest_hours(t):
    per_hour = t["messages"]["ts"].dt.floor("h").value_counts()
    top4 = set(per_hour.index[:4])
    d11 = pd.Timestamp("2026-11-11")
    assert top4 == {d11, d11 + pd.Timedelta(hours=1), d11 + pd.Timedelta(hours=22), d11 + pd.Timedelta(hours=23)}
    # the pre-sale rush of the eve and the tail after midnight stand out too
    typical = per_hour[per_hour.index.hour.isin([22, 23, 0, 1])].median()
    for ts in ("2026-11-10 22:00", "2026-11-10 23:00", "2026-11-12 00:00"):
        assert per_hour[pd.Timestamp(ts)] > 1.5 * typical, ts


# ---------------------------------------------------------------- dialogues


def test_bot_answers_first_then_transfers(t):
    m = t["messages"].sort_values(["buyer", "ts"], kind="stable")
    bot = f"{SHOP}:店小蜜"
    assert (m.loc[m["sender"] == "bot", "agent"] == bot).all()
    transfers = m[m["sender"] == "transfer"]
    assert (transfers["agent"] != bot).all() and (transfers["text"] == "").all()
    # the message before each transfer: the bot's answer, or the buyer still waiting
    before = m.groupby("buyer")["sender"].shift()[transfers.index]
    assert set(before) == {"bot", "buyer"}
    assert 0.2 < (before == "buyer").mean() < 0.8
    bot_buyers = m.loc[m["agent"] == bot, "buyer"].nunique()
    assert 0.15 < bot_buyers / m["buyer"].nunique() < 0.6
    assert transfers["buyer"].nunique() < bot_buyers  # some stay with the bot


def test_response_times_seconds_with_a_heavy_tail(questions):
    answered = questions.dropna(subset=["response_s"])
    assert answered["response_s"].median() < 60
    assert 0.05 < (answered["response_s"] > 60).mean() < 0.4
    assert answered["response_s"].max() > 600


def test_vendor_agents_answer_slower(questions):
    median = questions.groupby(questions["employer"] == "in_house")["response_s"].median()
    assert median[False] > 1.5 * median[True]


def test_some_questions_are_never_answered(questions):
    assert 0.005 < questions["close"].isna().mean() < 0.15


def test_buyers_send_bursts_before_a_reply(questions):
    assert 0.15 < (questions["n_msgs"] >= 2).mean() < 0.6
    assert questions["n_msgs"].max() >= 4


def test_agents_send_reminders_that_answer_nothing(human, t):
    m = human
    previous = m.groupby(["buyer", "agent"])["sender"].shift()
    reminders = m[(m["sender"] == "agent") & m["text"].str.contains("还没付款|还未付款|及时付款")]
    assert len(reminders) > 20
    assert (previous[reminders.index] == "agent").mean() > 0.9
    # a reminder goes to a buyer with an order not paid yet at that time
    o = t["orders"].sort_values("created_at")
    r = pd.merge_asof(
        reminders.sort_values("ts"),
        o[["buyer", "created_at", "paid_at"]],
        left_on="ts",
        right_on="created_at",
        by="buyer",
    )
    assert (r["created_at"].notna() & ~(r["paid_at"] <= r["ts"])).all()


def test_some_buyers_talk_to_two_agents_a_day(human):
    pre = human[human["role"] == "presales"]
    agents_per_day = pre.groupby(["buyer", pre["ts"].dt.date])["agent"].nunique()
    assert 0.02 < (agents_per_day >= 2).mean() < 0.2


def test_chat_text_is_plausible_chinese(t):
    m = t["messages"]
    texts = m.loc[m["sender"] != "transfer", "text"]
    assert (texts != "").all()
    assert texts.str.contains(r"[\u4e00-\u9fff]").mean() > 0.95
    for phrase in ("在吗", "这款有XL吗", "亲,在的", "发什么快递", "能便宜点吗", "亲,已经为您备注"):
        assert (texts == phrase).any() or texts.str.startswith(phrase).any(), phrase


# ---------------------------------------------------------------- roles and sales


def _paid_before(t, chats: pd.DataFrame, days: int = 15) -> pd.Series:
    """Whether each chat's buyer had an order paid in the `days` days before it."""
    paid = t["orders"].dropna(subset=["paid_at"]).sort_values("paid_at")
    c = chats.reset_index().sort_values("ts")
    hit = pd.merge_asof(
        c,
        paid[["buyer", "paid_at"]],
        left_on="ts",
        right_on="paid_at",
        by="buyer",
        tolerance=pd.Timedelta(days=days),
        allow_exact_matches=False,
    )
    return hit.set_index("index")["paid_at"].notna().reindex(chats.index)


def test_presales_talk_to_new_buyers_and_aftersales_to_customers(t, human):
    first = human.groupby(["buyer", "agent"]).head(1)
    had_order = _paid_before(t, first)
    assert had_order[first["role"] == "presales"].mean() < 0.05
    assert had_order[first["role"].isin(["aftersales", "refund"])].mean() > 0.97


def test_inquiry_conversion_between_40_and_70_percent(t, human):
    """Spec §3: inquiry buyers who create an order from the first question up
    to the end of the next day, and pay it."""
    pre = human[(human["role"] == "presales") & (human["sender"] == "buyer")]
    inquiries = pre.groupby(["agent", "buyer", pre["ts"].dt.normalize().rename("day")])["ts"].min()
    inquiries = inquiries.reset_index()  # ts = the first question of the day
    inquiries = inquiries[~_paid_before(t, inquiries)]
    o = t["orders"]
    j = inquiries.merge(o[["buyer", "created_at", "paid_at"]], on="buyer", how="left")
    in_window = (j["created_at"] >= j["ts"]) & (j["created_at"] < j["day"] + pd.Timedelta(days=2))
    j["converted"] = in_window & j["paid_at"].notna()
    converted = j.groupby(["agent", "buyer", "day"])["converted"].any()
    per_agent = converted.groupby("agent").agg(["mean", "size"])
    busy = per_agent[per_agent["size"] >= 200]
    assert len(busy) >= 4
    assert busy["mean"].between(0.35, 0.75).all(), busy
    assert 0.4 <= busy["mean"].mean() <= 0.7
    assert busy["mean"].max() - busy["mean"].min() > 0.05  # agents differ in skill


def test_orders_follow_chats_by_minutes_to_hours(t, human):
    o = t["orders"].sort_values("created_at")
    last_chat = pd.merge_asof(
        o,
        human[["buyer", "ts"]].sort_values("ts"),
        left_on="created_at",
        right_on="ts",
        by="buyer",
        tolerance=pd.Timedelta(days=2),
    )
    delay = (last_chat["created_at"] - last_chat["ts"]).dropna().dt.total_seconds()
    assert 60 <= delay.median() <= 3600
    assert (delay > 2 * 3600).mean() > 0.03


def test_payment_now_next_day_or_never(t):
    o = t["orders"]
    paid = o.dropna(subset=["paid_at"])
    assert (paid["paid_at"] >= paid["created_at"]).all()
    next_day = paid["paid_at"].dt.date > paid["created_at"].dt.date
    assert 0.01 < next_day.mean() < 0.15
    assert 0.03 < o["paid_at"].isna().mean() < 0.2
    assert set(o.loc[o["paid_at"].isna(), "status"]) <= {"unpaid", "closed"}
    assert "unpaid" not in set(paid["status"])


def test_silent_orders_are_30_to_50_percent_of_paid_orders(t, human):
    """Spec §4 (order_first): a paid order is silent when no human exchange
    with its buyer happened in the 72 h before it was created or paid."""
    chats = human[["buyer", "ts"]].sort_values("ts")
    paid = t["orders"].dropna(subset=["paid_at"])
    credited = pd.Series(False, index=paid.index)
    for moment in ("created_at", "paid_at"):
        p = paid.reset_index().sort_values(moment)
        hit = pd.merge_asof(p, chats, left_on=moment, right_on="ts", by="buyer", tolerance=pd.Timedelta(hours=72))
        credited |= hit.set_index("index")["ts"].notna().reindex(paid.index)
    assert 0.3 <= 1 - credited.mean() <= 0.5


def test_ratings_for_a_share_of_chats_mostly_satisfied(t, human):
    r = t["ratings"]
    consultations = human.groupby(["buyer", "agent"]).ngroups
    assert 0.1 < len(r) / consultations < 0.4
    assert 0.75 < (r["score"] >= 4).mean() < 0.97
    assert set(r["score"]) == {1, 2, 3, 4, 5}
    roles = t["agents"].set_index("agent")["role"]
    assert (roles[r["agent"]] != "bot").all()


def test_a_few_complaints(t):
    c = t["complaints"]
    assert 1 <= len(c) <= 0.005 * t["messages"]["buyer"].nunique()
    assert (c["kind"] != "").all() and (c["detail"] != "").all()


def test_refunds_on_paid_orders_by_refund_or_aftersales_agents(t):
    r = t["refunds"].merge(t["orders"], on="order_id", suffixes=("", "_order"))
    assert len(r) == len(t["refunds"])
    assert 0.03 < len(r) / t["orders"]["paid_at"].notna().sum() < 0.2
    assert (r["applied_at"] > r["paid_at"]).all()
    assert (r["amount"] <= r["amount_order"]).all() and (r["amount"] > 0).all()
    done = r["finished_at"].notna()
    assert (r.loc[done, "finished_at"] >= r.loc[done, "applied_at"]).all()
    assert set(r.loc[~done, "status"]) <= {"processing"}
    roles = t["agents"].set_index("agent")["role"]
    assert set(roles[r["agent"]]) <= {"refund", "aftersales"}
    assert r["reason"].str.contains(r"[\u4e00-\u9fff]").all()


def test_agents_who_left_stop_writing(t):
    a = t["agents"].set_index("agent")
    last = t["messages"].groupby("agent")["ts"].max()
    left = a.index[a["active"] == "false"]
    assert (last[left] < END - pd.Timedelta(days=3)).all()
    staying = a.index[(a["active"] == "true") & (a["role"] != "bot")]
    assert (last[staying] >= END - pd.Timedelta(days=1)).all()


def test_a_period_without_sales_events_has_no_spike(tmp_path):
    simulate(tmp_path, agents=6, days=14, start=date(2026, 3, 2), seed=2)
    m = read(tmp_path, "messages")
    per_day = pd.to_datetime(m["ts"], format=TS_FORMAT).dt.date.value_counts()
    assert per_day.max() < 1.6 * per_day.median()
