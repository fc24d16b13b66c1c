"""QC speed: `kefu qc run` over the 10 M-message benchmark workspace (target ≤ 20 s on this 2-core machine).

    .venv/bin/python -m bench.qc                 # bench/data/ws-10000000 → bench/qc-results.md (also in `make bench`)
    .venv/bin/python -m bench.qc --size 1000000  # the 1 M workspace (quick check)

The benchmark workspace is never modified: it is copied to a scratch folder
first. The simulator's chats hold no QC-relevant phrases, so the copy gets
realistic violations planted at low rates (one agent message in 1,000 and one
buyer message in 1,000, the default library's own example texts), so that the
token-by-token reading of phrase rules is measured too, not only the
candidate scan. Each run is a child process, so its peak RSS is its own: the
first run stores into empty QC tables; the second replaces the same period
(the usual re-run after editing rules).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from bench.run import child

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "qc-results.md"

RUN = """
import json, time
from pathlib import Path
from kefu.workspace import Workspace
from kefu.qc import engine
ws = Workspace.open(Path({ws!r}))
t = time.perf_counter()
summary = engine.run(ws)
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": round(seconds, 2), "messages": summary.messages, "findings": summary.findings,
                  "replaced": summary.replaced, "by_rule": summary.by_rule}}))
"""


def plant_violations(ws_path: Path) -> dict:
    """Replace the text of one agent and one buyer message in 1,000 by example hits of the default rules."""
    import duckdb

    from kefu.qc.rules import default_rules_text, parse_rules

    rules = parse_rules(default_rules_text()).rules
    agent_hits = [h for r in rules if r.scope == "agent_text" and r.kind == "phrase" for h in r.hits]
    buyer_hits = [h for r in rules if r.scope == "buyer_text" for h in r.hits]
    con = duckdb.connect(str(ws_path / "kefu.duckdb"))
    planted = {}
    for sender, hits in (("agent", agent_hits), ("buyer", buyer_hits)):
        con.execute(
            f"""UPDATE messages SET text = (?::VARCHAR[])[1 + (rowid // 1000) % {len(hits)}]
                        WHERE sender = ? AND rowid % 1000 = 0""",
            [hits, sender],
        )
        planted[sender] = con.execute(
            "SELECT count(*) FROM messages WHERE sender = ? AND rowid % 1000 = 0", [sender]
        ).fetchone()[0]
    con.execute("DROP TABLE IF EXISTS qc_findings")
    con.execute("DROP TABLE IF EXISTS qc_reviews")
    con.execute("DROP TABLE IF EXISTS qc_runs")
    con.close()
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument(
        "--scratch", type=Path, default=None, help="folder for the workspace copy (default: a temp dir)"
    )
    args = parser.parse_args()
    source = ROOT / "data" / f"ws-{args.size}"
    if not (source / "kefu.duckdb").exists():
        sys.exit(f"{source} is missing: run `make bench` (or `python -m bench.run`) to build the benchmark workspaces")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="kefu-bench-qc-"))
    copy = scratch / source.name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    try:
        planted = plant_violations(copy)
        load_before = os.getloadavg()
        first = child(RUN.format(ws=str(copy)))
        second = child(RUN.format(ws=str(copy)))
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    write_results(args.size, planted, first, second, load_before, load_after)
    print(RESULTS.read_text(encoding="utf-8"))


def write_results(size: int, planted: dict, first: dict, second: dict, load_before, load_after) -> None:
    target_met = "met" if max(first["seconds"], second["seconds"]) <= 20 else "NOT met"
    lines = [
        "# QC benchmark (`python -m bench.qc`)",
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (the machine is shared).",
        "",
        f"`kefu qc run` (all days, default rule library) over a copy of bench/data/ws-{size} "
        f"({first['messages']:,} messages), with {planted['agent']:,} agent and {planted['buyer']:,} buyer messages "
        "replaced by rule examples (1 in 1,000). Each run in its own process; seconds are the engine call, wall includes "
        "the interpreter start.",
        "",
        "| run | seconds | wall | peak RSS | findings | replaced |",
        "|---|---|---|---|---|---|",
        f"| first (empty QC tables) | {first['seconds']} s | {first['wall_s']} s | {first['peak_rss_mb']:,} MB | {first['findings']:,} | {first['replaced']:,} |",
        f"| re-run (replaces the period) | {second['seconds']} s | {second['wall_s']} s | {second['peak_rss_mb']:,} MB | {second['findings']:,} | {second['replaced']:,} |",
        "",
        f"Target ≤ 20 s for 10 M messages: **{target_met}**.",
        "",
        "Findings by rule:",
        "",
        "| rule | findings |",
        "|---|---|",
        *(f"| {rule} | {n:,} |" for rule, n in sorted(first["by_rule"].items())),
        "",
        "Raw results:",
        "",
        "```json",
        json.dumps({"size": size, "planted": planted, "first": first, "second": second}, ensure_ascii=False, indent=1),
        "```",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
