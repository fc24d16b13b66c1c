"""A hand-made November 2026 of shop `s`, small enough to compute every yuan by hand.

Agents: ann and bob (pre-sales, in-house, team A), cat and dan (after-sales,
team B), eve (pre-sales, vendor v1), mgr (a manager: no scheme pays him).

KPIs of November (worked out from the messages below, spec §2–§4):

    ann  consult 4 (b1 11-02, b2 11-03, b3 11-03 never answered, b4 11-04), received 3 → reply_rate 0.75
         answered questions 10 s, 20 s, 30 s → avg_response_s 20
         inquiry 4, converted 2 (b1 → o1, b4 → o2) → inquiry_conversion 0.5
         credited sales o1 1,000.00 + o2 150,000.00 = 151,000.00 (o0 was paid in October)
    bob  consult 2 (b5, b6), both answered (5 s, 45 s) → reply_rate 1.0, avg_response_s 25
         inquiry 2, converted 1 (b5 → o3) → 0.5; sales 300.00; complaints 3
    eve  b7 answered in 60 s, lost → conversion 0, avg_response_s 60; no sales
    cat  b1 on 11-06 (after-sales: b1 paid o1 on 11-02), answered in 30 s
    dan  b5 on 11-07 (after-sales), answered in 60 s; complaints 1
    shop inquiry_conversion = (2 + 1 + 0) / (4 + 2 + 1) = 3/7 (decision D7)

Refunds (decision P3: counted in the month the refund finished, for the agent the order is credited to):

    r1 o1 200.00 success, finished 11-20            → ann −200.00
    r2 o0 300.00 success, finished 11-05 (o0 paid in October, credited to ann) → ann −300.00
    r3 o2 5,000.00 closed                            → not counted (not refunded)
    r4 o1 100.00 processing, not finished            → not counted
    r5 o1 900.00 success, finished 11-25: o1 is 1,000.00 and r1 took 200.00 → counted 800.00
    r6 o3 50.00 success, finished 12-01              → December, not November
    ann refunds 200 + 300 + 800 = 1,300.00 → net sales 149,700.00

QC (the qc_findings / qc_reviews contract): cat has 2 confirmed findings in November,
1 dismissed, 1 open, and 1 confirmed in October.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from shops import write_table

from kefu.ingest.pipeline import import_paths
from kefu.pay import inputs
from kefu.pay.sources import known_agents
from kefu.qc import store as qc_store
from kefu.workspace import Workspace

MONTH = "2026-11"


def m(ts: str, sender: str, agent: str, buyer: str) -> dict:
    return {"ts": ts, "shop": "s", "buyer": buyer, "agent": f"s:{agent}", "sender": sender, "text": sender}


MESSAGES = [
    m("2026-10-30 10:00:00", "buyer", "ann", "b0"),
    m("2026-10-30 10:00:05", "agent", "ann", "b0"),
    m("2026-11-02 10:00:00", "buyer", "ann", "b1"),
    m("2026-11-02 10:00:10", "agent", "ann", "b1"),
    m("2026-11-03 09:00:00", "buyer", "ann", "b2"),
    m("2026-11-03 09:00:20", "agent", "ann", "b2"),
    m("2026-11-03 09:10:00", "buyer", "ann", "b3"),
    m("2026-11-04 12:00:00", "buyer", "ann", "b4"),
    m("2026-11-04 12:00:30", "agent", "ann", "b4"),
    m("2026-11-02 14:00:00", "buyer", "bob", "b5"),
    m("2026-11-02 14:00:05", "agent", "bob", "b5"),
    m("2026-11-03 15:00:00", "buyer", "bob", "b6"),
    m("2026-11-03 15:00:45", "agent", "bob", "b6"),
    m("2026-11-05 10:00:00", "buyer", "eve", "b7"),
    m("2026-11-05 10:01:00", "agent", "eve", "b7"),
    m("2026-11-06 10:00:00", "buyer", "cat", "b1"),
    m("2026-11-06 10:00:30", "agent", "cat", "b1"),
    m("2026-11-07 11:00:00", "buyer", "dan", "b5"),
    m("2026-11-07 11:01:00", "agent", "dan", "b5"),
]


def o(order_id: str, buyer: str, created: str, paid: str, amount: str) -> dict:
    return {
        "order_id": order_id,
        "shop": "s",
        "buyer": buyer,
        "created_at": created,
        "paid_at": paid,
        "amount": amount,
        "status": "paid",
    }


ORDERS = [
    o("o0", "b0", "2026-10-30 10:10:00", "2026-10-30 10:11:00", "500.00"),
    o("o1", "b1", "2026-11-02 10:05:00", "2026-11-02 10:06:00", "1000.00"),
    o("o2", "b4", "2026-11-04 12:10:00", "2026-11-04 12:11:00", "150000.00"),
    o("o3", "b5", "2026-11-02 14:30:00", "2026-11-02 14:31:00", "300.00"),
]


def r(refund_id: str, order_id: str, amount: str, status: str, finished: str) -> dict:
    return {
        "refund_id": refund_id,
        "order_id": order_id,
        "shop": "s",
        "applied_at": "2026-11-01 09:00:00",
        "finished_at": finished,
        "amount": amount,
        "status": status,
        "reason": "test",
        "agent": "s:cat",
    }


REFUNDS = [
    r("r1", "o1", "200.00", "success", "2026-11-20 10:00:00"),
    r("r2", "o0", "300.00", "success", "2026-11-05 10:00:00"),
    r("r3", "o2", "5000.00", "closed", "2026-11-10 10:00:00"),
    r("r4", "o1", "100.00", "processing", ""),
    r("r5", "o1", "900.00", "success", "2026-11-25 10:00:00"),
    r("r6", "o3", "50.00", "success", "2026-12-01 10:00:00"),
]

AGENTS = [
    {"agent": "s:ann", "name": "安", "shop": "s", "team": "A", "role": "presales", "employer": "in_house"},
    {"agent": "s:bob", "name": "波", "shop": "s", "team": "A", "role": "presales", "employer": "in_house"},
    {"agent": "s:cat", "name": "猫", "shop": "s", "team": "B", "role": "aftersales", "employer": "in_house"},
    {"agent": "s:dan", "name": "丹", "shop": "s", "team": "B", "role": "aftersales", "employer": "in_house"},
    {"agent": "s:eve", "name": "伊", "shop": "s", "team": "C", "role": "presales", "employer": "v1"},
    {"agent": "s:mgr", "name": "主管", "shop": "s", "team": "", "role": "manager", "employer": "in_house"},
]

COMPLAINTS = [
    {"ts": "2026-11-02 16:00:00", "shop": "s", "agent": "s:bob", "buyer": "b5", "kind": "态度", "detail": "x"},
    {"ts": "2026-11-03 16:00:00", "shop": "s", "agent": "s:bob", "buyer": "b6", "kind": "态度", "detail": "y"},
    {"ts": "2026-11-04 16:00:00", "shop": "s", "agent": "s:bob", "buyer": "b6", "kind": "回复慢", "detail": "z"},
    {"ts": "2026-11-08 16:00:00", "shop": "s", "agent": "s:dan", "buyer": "b5", "kind": "态度", "detail": "w"},
]

QC_FINDINGS = [
    ("f1", "s:cat", "2026-11-06 10:00:30", "confirmed"),
    ("f2", "s:cat", "2026-11-06 10:00:30", "confirmed"),
    ("f3", "s:cat", "2026-11-06 10:00:30", "dismissed"),
    ("f4", "s:cat", "2026-11-06 10:00:30", None),
    ("f5", "s:cat", "2026-10-30 10:00:00", "confirmed"),
]

ATTENDANCE = "agent,working_days,leave_days,scheduled_days\ns:cat,22,0,22\n丹,20,2,22\n"
TEST_SCORES = "客服,成绩\ns:ann,90\n"
PRIZES = "agent,amount,reason\ns:ann,200.00,双11 先锋\n"

# The mixed pre-sales scheme; the expected amounts are worked out in tests/pay/test_month.py.
PRESALES = textwrap.dedent("""\
    name = "售前"
    effective_from = "2026-01"
    [applies_to]
    roles = ["presales"]
    employers = ["in_house"]
    [base]
    amount = 3000
    [[components]]
    kind = "commission"
    name = "销售提成"
    net_of_refunds = true
    tiers = [{ from = 0, rate = "1%" }, { from = 100000, rate = "1.5%" }, { from = 200000, rate = "2%" }]
    [[components]]
    kind = "kpi_score"
    name = "KPI 考核"
    amount = 1000
    kpis = [
      { kpi = "reply_rate", worst = "90%", best = "100%", weight = 30 },
      { kpi = "avg_response_s", worst = 30, best = 5, weight = 30 },
      { kpi = "inquiry_conversion", worst = "20%", best = "50%", weight = 40 },
    ]
    [[components]]
    kind = "threshold"
    name = "达标奖"
    percent_of_base = 20
    when = [
      { kpi = "avg_response_s", op = "<=", value = 25 },
      { kpi = "inquiry_conversion", op = ">=", value = "shop" },
      { kpi = "complaints", op = "==", value = 0 },
    ]
    [[components]]
    kind = "threshold"
    name = "投诉扣罚"
    percent_of_base = -10
    when = [{ kpi = "complaints", op = ">=", value = 3 }]
    [[components]]
    kind = "kpi_score"
    name = "产品知识考试"
    amount = 200
    kpis = [{ kpi = "test_score", worst = 60, best = 100, weight = 1 }]
    [[components]]
    kind = "ranking"
    name = "销售排名奖"
    kpi = "sales_amount"
    prizes = [800, 500]
    when = [{ kpi = "consult_buyers", op = ">=", value = 3 }]
    [[components]]
    kind = "prizes"
    name = "其他奖励"
    [limits]
    cap = 3000
    """)

AFTERSALES = textwrap.dedent("""\
    name = "售后"
    effective_from = "2026-01"
    [applies_to]
    roles = ["aftersales"]
    [base]
    amount = 3200
    prorate = true
    [[components]]
    kind = "pool"
    name = "售后绩效池"
    pool = 5000
    per_qc_error = 50
    per_complaint = 100
    """)

VENDOR = textwrap.dedent("""\
    name = "外包"
    effective_from = "2026-01"
    [applies_to]
    employers = ["v1"]
    [base]
    amount = 4500
    [[components]]
    kind = "commission"
    name = "销售提成"
    rate = "0.8%"
    [[components]]
    kind = "threshold"
    name = "慢响应扣罚"
    amount = -300
    when = [{ kpi = "avg_response_s", op = ">", value = 40 }]
    [limits]
    floor = 0
    """)

SCHEMES = {"presales.toml": PRESALES, "aftersales.toml": AFTERSALES, "vendor.toml": VENDOR}


def build(root: Path, *, with_inputs: bool = True) -> Path:
    """The workspace folder of the month, with its schemes in `schemes/`."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("messages", MESSAGES),
        ("orders", ORDERS),
        ("refunds", REFUNDS),
        ("agents", AGENTS),
        ("complaints", COMPLAINTS),
    ):
        write_table(data, name, rows)
    path = root / "ws"
    ws = Workspace.open(path, create=True)
    try:
        reports = import_paths(ws, [data])
        assert all(rep.rejected == 0 and not rep.error for rep in reports), [
            rep.problems or rep.error for rep in reports
        ]
        qc_store.ensure_tables(ws.con)  # the QC contract's tables (docs/qc.md)
        for fid, agent, ts, status in QC_FINDINGS:
            ws.con.execute(
                "INSERT INTO qc_findings VALUES (?, 's', ?, 'b1', ?, ?::TIMESTAMP::DATE, 'r', '规则', 'medium', 5, 'agent_text', 't', 'm', 0, now(), NULL, 1, '')",
                [fid, agent, ts, ts],
            )
            if status:
                ws.con.execute("INSERT INTO qc_reviews VALUES (?, ?, '质检员', '', now())", [fid, status])
        if with_inputs:
            for kind, text in (("attendance", ATTENDANCE), ("test_scores", TEST_SCORES), ("prizes", PRIZES)):
                file = root / f"{kind}.csv"
                file.write_text(text, encoding="utf-8")
                inputs.import_file(ws.con, file, MONTH, kind, known_agents(ws))
    finally:
        ws.close()
    (path / "schemes").mkdir(exist_ok=True)
    for name, text in SCHEMES.items():
        (path / "schemes" / name).write_text(text, encoding="utf-8")
    return path
