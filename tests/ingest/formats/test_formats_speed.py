"""Parse speed: a scaled-down run of bench_chat_speed.py and pathological inputs.

The full measurement (10,000 files, 1 M messages) is the benchmark script;
here the bounds are loose enough for a busy CI machine and only catch a
regression in complexity (per-character Python loops, quadratic regexes).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from kefu.ingest.formats import detect, parse

_spec = importlib.util.spec_from_file_location("bench_chat_speed", Path(__file__).with_name("bench_chat_speed.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_folder_of_chat_files_parses_fast(tmp_path):
    bench.generate(tmp_path, files=200, messages=20_000)
    start = time.process_time()
    rows = 0
    for path in sorted(tmp_path.iterdir()):
        assert detect(path) == "qianniu_chat"
        rows += parse(path).tables["messages"].num_rows
    cpu = time.process_time() - start
    assert rows == 20_000
    # ~25 µs per message on the project's 2-core machine; 10x slack for busy CI
    assert cpu < 20_000 * 250e-6, f"{cpu:.1f} s CPU for 20,000 messages"


def test_long_lines_stay_linear(write):
    # Long runs of blanks and digits used to be the classic regex backtracking traps.
    junk = "a" + " " * 200_000 + "2026-3-5" + " " * 100_000 + "x\n"
    text = "tb_b 2026-3-5 10:00:00\n" + junk + "1" * 300_000 + "\n测试旗舰店:小王 2026-3-5 10:00:09\n好\n"
    start = time.process_time()
    parsed = parse(write(text))
    assert time.process_time() - start < 5
    assert parsed.tables["messages"].num_rows == 2
