"""No byte sequence crashes a parser: it parses (keeping read == rows + rejects)
or raises FormatError naming the file. Property tests plus a seeded fuzz loop."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples

from kefu.ingest.formats import FormatError, detect, parse
from kefu.ingest.formats.encoding import decode

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "exports"
FIXTURES = sorted(p for p in EXPORTS.rglob("*") if p.is_file() and p.suffix != ".py")
FIXTURE_BYTES = {p: p.read_bytes() for p in FIXTURES}
TEXT_FIXTURES = [p for p in FIXTURES if p.suffix != ".xlsx"]
SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
CALLS = ({}, {"shop": "测试旗舰店"}, {"agents": {"测试旗舰店": "测试旗舰店"}})


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def survive(data: bytes, suffix: str, check, scratch: Path) -> None:
    """detect never raises; parse raises only FormatError (naming the file)."""
    path = scratch / f"input{suffix}"
    path.write_bytes(data)
    detect(path)
    for kwargs in CALLS:
        try:
            parsed = parse(path, **kwargs)
        except FormatError as e:
            assert str(path) in str(e)
        else:
            check(parsed)


# Pieces that steer random input into the parsers' interesting branches.
TOKENS = [
    t.encode(enc)
    for t in (
        "测试旗舰店:小王 2026-3-5 10:18:10\n",
        "tb_b2026-13-5 25:61:61\n",
        "\n2026-3-5 1:2:3\n",
        "A --> B 2026-3-5 10:00:00\n",
        " --> ",
        "tb_b 撤回了一条消息\n",
        "已读\n",
        "cntaobao",
        "原因：【离线留言自动分配】\n",
        ":",
        "：",
        '="',
        '"',
        "\t",
        ",",
        "\r",
        "\r\n",
        "1.23457E+18",
        "订单编号,买家会员名,买家实付金额,订单状态,买家下单时间,买家付款时间\n",
        "订单号,下单帐号,下单时间,应付金额,付款确认时间,订单状态\n",
        "0000-00-00 00:00:00",
        "\x00",
        "\ufeff",
        "9999999999999999999",
        "交易成功",
        "锁定",
    )
    for enc in ("utf-8", "gb18030")
]


TEXT_TOKENS = [t.decode("utf-8") for t in TOKENS[::2]]


def mutate_text(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Edits that keep the file decodable, so that the parsers (not the decoder) see them."""
    text, encoding = decode(data, Path("fixture"))
    chars = list(text)
    for _ in range(rounds):
        op = rng.randrange(4)
        pos = rng.randrange(len(chars) + 1)
        if op == 0:
            chars[pos:pos] = rng.choice(TEXT_TOKENS)
        elif op == 1:
            del chars[pos : pos + rng.randrange(1, 40)]
        elif op == 2:
            chars[pos:pos] = [
                chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x4E00, 0x9FFF), rng.randrange(0, 0x110000)]))
                for _ in range(3)
            ]
        else:  # repeat a stretch: a duplicated message, row or header
            end = min(len(chars), pos + rng.randrange(1, 200))
            chars[end:end] = chars[pos:end]
    out = "".join(chars)
    codec = "gb18030" if encoding == "gb18030" else "utf-8"
    prefix = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    return prefix + out.encode(codec, errors="replace")


def mutate(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Byte flips, insertions, deletions and line shuffles, as damaged files have."""
    buf = bytearray(data)
    for _ in range(rounds):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif op == 2:
            del buf[pos : pos + rng.randrange(1, 64)]
        elif op == 3:
            buf[pos:pos] = rng.choice(TOKENS)
        else:  # repeat or drop a whole line
            lines = bytes(buf).split(b"\n")
            i = rng.randrange(len(lines))
            if op == 4:
                lines.insert(rng.randrange(len(lines) + 1), lines[i])
            else:
                del lines[i]
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=SUPPRESS)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".csv", ".xlsx", ""]))
def test_random_bytes(check, scratch, data, suffix):
    survive(data, suffix, check, scratch)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=SUPPRESS)
@given(
    pieces=st.lists(st.sampled_from(TOKENS) | st.binary(max_size=12), max_size=60),
    suffix=st.sampled_from([".txt", ".csv"]),
)
def test_random_token_soup(check, scratch, pieces, suffix):
    survive(b"".join(pieces), suffix, check, scratch)


@settings(max_examples=examples(250), deadline=None, suppress_health_check=SUPPRESS)
@given(fixture=st.sampled_from(FIXTURES), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 12))
def test_mutated_fixtures(check, scratch, fixture, seed, rounds):
    data = mutate(FIXTURE_BYTES[fixture], random.Random(seed), rounds)
    survive(data, fixture.suffix, check, scratch)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=SUPPRESS)
@given(
    text=st.text(
        alphabet=st.sampled_from(list('测试店:小王tb_b 0123456789-/\n\t撤回了一条消息已读-->,="')), max_size=400
    )
)
def test_chat_like_text_keeps_the_invariant(check, scratch, text):
    survive(text.encode("utf-8"), ".txt", check, scratch)


@settings(max_examples=examples(250), deadline=None, suppress_health_check=SUPPRESS)
@given(fixture=st.sampled_from(TEXT_FIXTURES), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 12))
def test_text_edits_of_fixtures(check, scratch, fixture, seed, rounds):
    data = mutate_text(FIXTURE_BYTES[fixture], random.Random(seed), rounds)
    survive(data, fixture.suffix, check, scratch)


def test_fuzz_loop(check, scratch):
    """Seeded mutations of every fixture, reproducible: text edits then byte damage."""
    rng = random.Random(20260305)
    parsed_files = 0
    for i in range(800):
        text_edit = i % 3 != 0
        pool = TEXT_FIXTURES if text_edit else FIXTURES
        fixture = pool[i % len(pool)]
        edit = mutate_text if text_edit else mutate
        data = edit(FIXTURE_BYTES[fixture], rng, rng.randrange(1, 20))
        path = scratch / f"loop{fixture.suffix}"
        path.write_bytes(data)
        detect(path)
        try:
            parsed = parse(path, shop="测试旗舰店")
        except FormatError as e:
            assert str(path) in str(e)
        else:
            check(parsed)
            parsed_files += 1
    assert parsed_files > 250  # the loop reaches the parsers, not only the decoder


def test_unmutated_fixtures_keep_the_invariant(check):
    for fixture in FIXTURES:
        parsed = parse(fixture, shop="测试旗舰店")
        check(parsed)
        assert parsed.read > 0
