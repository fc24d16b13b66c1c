"""Load test of the web app: 20 concurrent users on the 30-day, 25-agent demo shop, against localhost.

    .venv/bin/python -m bench.web_load [--users 20] [--seconds 60]

Builds bench/data/web-ws with the simulator (seed 1) unless it exists, starts
`kefu serve`'s app in a separate process (uvicorn, one worker), logs every
virtual user in, and has each one loop over the pages and JSON endpoints a
manager uses (random dates of the last week, random sort keys, random agents).
Writes p50 / p95 / max per endpoint to bench/web-results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
WS = DATA / "web-ws"
RESULTS = ROOT / "web-results.md"
PASSWORD = "load-test-2026"
SORTS = (
    "sales_amount",
    "avg_response_s",
    "reply_rate",
    "inquiry_conversion",
    "consult_buyers",
    "slow_responses",
    "satisfaction_rate",
)


def build() -> None:
    if (WS / "kefu.duckdb").exists():
        return
    from kefu.ingest.pipeline import import_paths
    from kefu.simulate import simulate
    from kefu.workspace import Workspace

    simulate(DATA / "web-demo", agents=25, days=30, seed=1)
    ws = Workspace.open(WS, create=True)
    import_paths(ws, [DATA / "web-demo"])
    ws.close()


def prepare() -> tuple[str, list[str], list[str]]:
    from kefu.users import add_user
    from kefu.workspace import Workspace

    ws = Workspace.open(WS)
    add_user(ws.con, name="bench", role="admin", password=PASSWORD)
    shop = ws.con.execute("SELECT min(shop) FROM messages").fetchone()[0]
    agents = [r[0] for r in ws.con.execute("SELECT agent FROM agents WHERE role <> 'bot' ORDER BY agent").fetchall()]
    last = ws.con.execute("SELECT max(ts)::DATE FROM messages").fetchone()[0]
    days = [(last - dt.timedelta(days=n)).isoformat() for n in range(7)]
    ws.close()
    return shop, agents, days


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    code = (
        "import uvicorn, sys; from pathlib import Path; from kefu.web.app import create_app; "
        f"uvicorn.run(create_app(Path({str(WS)!r}), secure_cookies=False), host='127.0.0.1', port={port}, log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


def requests_for(shop: str, agents: list[str], days: list[str], buyers: dict[str, list[str]]):
    """(label, url) of one random request of a manager's session."""
    s, day, agent = quote(shop), random.choice(days), random.choice(agents)
    last = days[0]
    options = [
        ("page /", f"/?date={day}"),
        ("api /api/overview", f"/api/overview?shop={s}&date={day}"),
        ("page /leaderboard", f"/leaderboard?date_from={day}&date_to={day}&sort={random.choice(SORTS)}"),
        ("api /api/leaderboard", f"/api/leaderboard?date_from={day}&date_to={day}&sort={random.choice(SORTS)}"),
        ("page /agents/{agent}", f"/agents/{quote(agent)}"),
        ("api /api/agents/{agent}/kpis", f"/api/agents/{quote(agent)}/kpis"),
        ("page /agents/{agent}/days/{last day}", f"/agents/{quote(agent)}/days/{last}?metric=slow_responses"),
        ("api /api/agents/{agent}/days/{last day}", f"/api/agents/{quote(agent)}/days/{last}?metric=lost_buyers"),
        ("page /reports/daily", f"/reports/daily?date={day}"),
        ("api /api/reports/daily", f"/api/reports/daily?date={day}"),
        ("page /heatmap", "/heatmap"),
        ("api /api/heatmap", "/api/heatmap"),
        ("page /losses (last day)", f"/losses?date={last}"),
    ]
    if buyers.get(agent):
        options.append(
            (
                "page /chats/{agent}/{last day}/{buyer}",
                f"/chats/{quote(agent)}/{last}/{quote(random.choice(buyers[agent]))}",
            )
        )
    return random.choice(options)


LOAD = {"start": ""}


def run(users: int, seconds: float, think: float) -> dict[str, list[float]]:
    build()
    LOAD["start"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    shop, agents, days = prepare()
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    try:
        admin = login(base)
        buyers = {a: [b["buyer"] for b in admin.get(f"/api/chats/{quote(a)}/{days[0]}").json()[:20]] for a in agents}
        t0 = time.time()
        while not admin.get("/api/health").json()["warm"]:  # the start-up warm-up (shown to signed-in users only)
            time.sleep(0.5)
        print(f"warm-up finished {time.time() - t0:.0f} s after the first login", file=sys.stderr)
        stop = time.time() + seconds

        def user() -> None:
            client = login(base)
            while time.time() < stop:
                label, url = requests_for(shop, agents, days, buyers)
                t0 = time.perf_counter()
                r = client.get(url)
                elapsed = time.perf_counter() - t0
                with lock:
                    timings[label].append(elapsed)
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {url}")
                if think:
                    time.sleep(random.uniform(0.5 * think, 1.5 * think))

        threads = [threading.Thread(target=user) for _ in range(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(10)
    timings["__errors__"] = errors  # type: ignore[assignment]
    return timings


def login(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60)
    c.get("/login")
    r = c.post(
        "/api/session", json={"name": "bench", "password": PASSWORD}, headers={"X-CSRF-Token": c.cookies["kefu_csrf"]}
    )
    r.raise_for_status()
    return c


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def report(timings: dict, users: int, seconds: float, think: float) -> str:
    errors = timings.pop("__errors__")
    every = [v for vs in timings.values() for v in vs]
    lines = [
        f"## {users} users, think time {f'{0.5 * think:g}–{1.5 * think:g} s' if think else 'none (closed loop, stress)'}",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores "
        f"(`uptime` load average {LOAD['start']} before the run, {os.getloadavg()[0]:.2f} at its end: other work on the machine shares the cores) · "
        f"{users} concurrent users for {seconds:.0f} s against 127.0.0.1 (uvicorn, one process; cookies without the Secure flag since the client speaks plain http) · demo shop 25 agents × 30 days, seed 1",
        "",
        f"**All requests: {len(every)} ({len(every) / seconds:.0f}/s), p50 {statistics.median(every) * 1000:.0f} ms, "
        f"p95 {pct(every, 0.95) * 1000:.0f} ms, max {max(every) * 1000:.0f} ms, errors {len(errors)}.**",
        "",
        "| endpoint | requests | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in sorted(timings):
        v = timings[label]
        lines.append(
            f"| {label} | {len(v)} | {statistics.median(v) * 1000:.0f} | {pct(v, 0.95) * 1000:.0f} | {max(v) * 1000:.0f} |"
        )
    return "\n".join(lines + (["", "Errors (first 10):", *[f"- {e}" for e in errors[:10]]] if errors else [])) + "\n"


NOTE = (
    "The server reads an in-memory snapshot of the workspace (it keeps no hold on kefu.duckdb, so the CLI works while "
    "it runs). Engine results (KPI tables) are computed per snapshot at start-up; the latest day's drill-downs follow in "
    "a background thread. Results derived from them (reports, drill-downs, chats, heat maps) and whole rendered pages are "
    "cached until the data changes, per template, URL, language and the user's role and scope; concurrent requests for "
    "the same missing result wait for one computation. A drill-down or chat never opened before still costs one engine "
    "call or query the first time, and those first times are part of these numbers (the random agents, buyers, dates "
    "and sort keys below keep producing new ones). Measured after the start-up warm-up (GET /api/health reports "
    "warm: true); the load generator runs on the same machine and shares its two cores."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's requests (0 = stress)")
    parser.add_argument("--append", action="store_true", help="add to bench/web-results.md instead of replacing it")
    args = parser.parse_args()
    text = report(run(args.users, args.seconds, args.think), args.users, args.seconds, args.think)
    head = "# Web load test (bench/web_load.py)\n\n" + NOTE + "\n\n"
    old = RESULTS.read_text(encoding="utf-8") if args.append and RESULTS.exists() else head
    RESULTS.write_text(old + text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
