"""Parse speed of a large 千牛 export folder (not collected by pytest).

    python tests/ingest/formats/bench_chat_speed.py [--files 10000] [--messages 1000000] [DIR]

Writes DIR (a temporary folder by default) with FILES chat files holding
MESSAGES messages in total, in the shapes of formats.md (a quarter GBK, headers
with and without a space, multi-line texts, read-status lines, a transfer and a
recall now and then), then times detect() and parse() over the folder.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))

from kefu.ingest.formats import detect, parse  # noqa: E402

TEXTS = [
    "在吗",
    "这个有大码吗",
    "能便宜点吗",
    "亲，在的，有什么可以帮您？",
    "好的亲，今天下午四点前发出",
    "拍了XL的\n备注一下要黑色",
    "亲，帮您查一下\n稍等哦",
    "包邮吗",
    "谢谢亲的支持",
    "什么时候发货",
]


def write_chat(path: Path, buyer: str, n: int, rng: random.Random) -> None:
    agent = f"测试旗舰店:客服{rng.randrange(30)}"
    t = 1_772_000_000 + rng.randrange(86400 * 60)
    lines = []
    for i in range(n):
        t += rng.randrange(1, 90)
        tm = time.gmtime(t)
        stamp = f"{tm.tm_year}-{tm.tm_mon}-{tm.tm_mday} {tm.tm_hour}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        roll = rng.random()
        if roll < 0.01:
            target = f"测试旗舰店:客服{rng.randrange(30)}"
            lines.append(f"{agent} --> {target} {stamp}")
            agent = target
            continue
        sender = buyer if i % 2 == 0 else agent
        sep = "" if roll < 0.2 else " "
        lines.append(f"{sender}{sep}{stamp}")
        lines.append(rng.choice(TEXTS))
        if roll > 0.6:
            lines.append("已读")
        if roll > 0.995:
            lines.append(f"{buyer} 撤回了一条消息")
    encoding = "gbk" if rng.random() < 0.25 else "utf-8"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def generate(folder: Path, files: int, messages: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    per_file = messages // files
    for k in range(files):
        write_chat(folder / f"chat_{k:05d}.txt", f"tb_buyer_{k:05d}", per_file, rng)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="kefu-chat-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        start = time.perf_counter()
        generate(folder, args.files, args.messages)
        print(f"generated {args.files} files in {time.perf_counter() - start:.1f} s: {folder}")
    paths = sorted(folder.glob("*.txt"))

    start, cpu = time.perf_counter(), time.process_time()
    formats = {detect(p) for p in paths}
    detect_s, detect_cpu = time.perf_counter() - start, time.process_time() - cpu

    start, cpu = time.perf_counter(), time.process_time()
    rows = events = rejects = read = 0
    for p in paths:
        parsed = parse(p)
        rows += parsed.tables["messages"].num_rows
        events += parsed.tables["chat_events"].num_rows
        rejects += len(parsed.rejects)
        read += parsed.read
    parse_s, parse_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert read == rows + events + rejects
    print(f"formats {formats}; {len(paths)} files, {rows} message rows, {events} events, {rejects} rejects")
    print(
        f"wall: detect {detect_s:.1f} s, parse {parse_s:.1f} s "
        f"({rows / parse_s:,.0f} messages/s), together {detect_s + parse_s:.1f} s"
    )
    print(
        f"CPU:  detect {detect_cpu:.1f} s, parse {parse_cpu:.1f} s, "
        f"together {detect_cpu + parse_cpu:.1f} s (the wall time includes waiting for a "
        "busy machine)"
    )


if __name__ == "__main__":
    main()
