"""Check digits computed in the engine agree with the plain-Python references, and catch what they must."""

from __future__ import annotations

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples

from kefu.qc.checksum import GB11643_CHECK, GB11643_WEIGHTS, gb11643_ok, gb11643_valid, luhn_ok, luhn_valid

CON = ibis.duckdb.connect()


def engine(check, values: list[str]) -> list[bool]:
    table = ibis.memtable({"i": list(range(len(values))), "digits": values})
    frame = CON.execute(table.select("i", ok=check(table.digits)).order_by("i"))
    return [bool(v) for v in frame["ok"]]


def with_luhn_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def with_gb_check(body: str) -> str:
    return body + GB11643_CHECK[sum(int(c) * w for c, w in zip(body, GB11643_WEIGHTS)) % 11]


def test_known_numbers():
    assert engine(
        luhn_valid, ["5105105105105100", "4111111111111111", "6222021234567890128", "5105105105105101", "41111111"]
    ) == [True, True, True, False, False]
    assert engine(
        gb11643_valid,
        ["11010519491231002X", "11010519491231002x", "440304199001011233", "110105194912310021", "1101051949123100"],
    ) == [True, True, True, False, False]


@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.text("0123456789", min_size=10, max_size=21), min_size=1, max_size=40))
def test_luhn_in_the_engine_equals_the_reference(values):
    assert engine(luhn_valid, values) == [luhn_ok(v) for v in values]


@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.text("0123456789X", min_size=16, max_size=19), min_size=1, max_size=40))
def test_gb11643_in_the_engine_equals_the_reference(values):
    assert engine(gb11643_valid, values) == [gb11643_ok(v) for v in values]


@settings(max_examples=examples(25), deadline=None)
@given(st.text("0123456789", min_size=15, max_size=18), st.data())
def test_luhn_catches_every_single_digit_error(body, data):
    number = with_luhn_digit(body)
    i = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    typo = number[:i] + wrong + number[i + 1 :]
    assert engine(luhn_valid, [number, typo]) == [True, False]


@settings(max_examples=examples(25), deadline=None)
@given(st.text("0123456789", min_size=17, max_size=17), st.data())
def test_gb11643_catches_every_single_digit_error(body, data):
    number = with_gb_check(body)
    i = data.draw(st.integers(0, 16))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    typo = number[:i] + wrong + number[i + 1 :]
    assert engine(gb11643_valid, [number, typo]) == [True, False]


@pytest.mark.parametrize("value", ["", "abc", "1234x5678901234567", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨"])
def test_anything_else_is_simply_not_valid(value):
    assert engine(luhn_valid, [value]) == [False] and engine(gb11643_valid, [value]) == [False]
