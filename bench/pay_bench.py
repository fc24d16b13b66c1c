"""Speed of performance pay on benchmark workspaces (read only), with the example schemes.

    .venv/bin/python -m bench.pay_bench [--ws bench/data/web-ws] [--ws bench/data/ws-1000000]

Per workspace and its latest month: gathering the month (KPIs per agent and month,
the shop's month, credited sales, refunds, QC, inputs), computing the payroll, the
XLSX, one explanation with its rows and raise hints, and a what-if comparison.
Writes bench/pay-results.md. Each step runs once after a warm-up of the engine.
"""

from __future__ import annotations

import argparse
import io
import platform
import time
from pathlib import Path

from kefu.pay import api as pay
from kefu.pay import compare
from kefu.pay.payroll import compute
from kefu.pay.scheme import load_schemes, parse_scheme
from kefu.pay.xlsx import write_payroll_xlsx
from kefu.workspace import Workspace

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT.parent / "examples" / "schemes"
RESULTS = ROOT / "pay-results.md"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def measure(path: Path) -> list[tuple[str, float, str]]:
    schemes = load_schemes([EXAMPLES])
    rows = []
    with Workspace.open(path, read_only=True) as ws:
        messages = ws.count("messages")
        month = ws.con.execute("SELECT strftime(max(ts), '%Y-%m') FROM messages").fetchone()[0]
        data, t = timed(lambda: pay.month_data(ws, month))
        rows.append(("gather the month (engine queries)", t, f"{len(data.agents)} agents"))
        result, t = timed(lambda: compute(data, schemes))
        rows.append(("compute the payroll", t, f"{len(result.slips)} slips"))
        _, t = timed(lambda: write_payroll_xlsx(result, io.BytesIO()))
        rows.append(("payroll XLSX", t, ""))
        busiest = max(result.slips, key=lambda s: data.value(s.agent.agent, "attributed_orders") or 0).agent.agent
        e, t = timed(lambda: pay.explain(ws, month, busiest, schemes, data=data))
        rows.append(
            ("explain one agent (rows, daily KPIs, hints)", t, f"{len(e['rows']['credited_orders'])} credited orders")
        )
        draft = [
            parse_scheme(
                (EXAMPLES / "presales.toml").read_text(encoding="utf-8").replace("amount = 3000", "amount = 3200"),
                "draft",
            )
        ]
        others = [s for s in schemes if s.name != "售前"]
        _, t = timed(lambda: compare.compare(compute(data, schemes), compute(data, others + draft)))
        rows.append(("what-if comparison", t, ""))
    return [(f"{path.name} ({messages:,} messages, {month})", 0.0, "")] + rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ws", action="append", type=Path, default=None)
    args = parser.parse_args()
    paths = args.ws or [ROOT / "data" / "web-ws"]
    lines = [
        "# Performance pay: speed",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}; `python -m bench.pay_bench` "
        f"{' '.join(f'--ws {p}' for p in paths)}; example schemes.",
        "",
    ]
    for path in paths:
        found = measure(path)
        lines += [f"## {found[0][0]}", "", "| step | seconds | |", "|---|---|---|"]
        lines += [f"| {step} | {seconds:.3f} | {note} |" for step, seconds, note in found[1:]]
        lines.append("")
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
