"""Check digits of personal numbers as Ibis expressions, so they run in the engine (DuckDB or Spark).

`digits` is a string column of digits (an ID number may end in X). Each
function returns a boolean expression: true when the check digit is right.
The plain-Python twins are the references the tests compare against.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB11643_CHECK = "10X98765432"  # check character for (weighted sum mod 11) = 0 … 10
LUHN_MAX_DIGITS = 19
#: Luhn's doubled digit (2d, minus 9 above 9) is the position of d in this string: 0→0, 1→2, … 5→1, … 9→9.
LUHN_DOUBLED = "0516273849"


def _digit(digits: ir.StringValue, position: int, table: str = "0123456789") -> ir.IntegerValue:
    """The digit at a position looked up in `table` (-1 for any other character: never a cast error).

    A lookup rather than a cast plus arithmetic keeps each term one reference to `digits`,
    so the compiled SQL stays small.
    """
    return ibis.literal(table).find(digits.substr(position, 1))


def luhn_valid(digits: ir.StringValue) -> ir.BooleanValue:
    """Luhn (ISO/IEC 7812) over up to 19 digits: from the right, double every second digit."""
    padded = digits.lpad(LUHN_MAX_DIGITS, "0")  # leading zeros add nothing to the sum
    total = ibis.literal(0, "int64")
    for i in range(LUHN_MAX_DIGITS):  # i-th digit from the right
        total = total + _digit(padded, LUHN_MAX_DIGITS - 1 - i, LUHN_DOUBLED if i % 2 else "0123456789")
    return digits.re_search("^[0-9]{12,19}$") & (total % 10 == 0)


def gb11643_valid(digits: ir.StringValue) -> ir.BooleanValue:
    """GB 11643-1999 resident ID: weighted sum of the first 17 digits mod 11 picks the 18th character."""
    total = ibis.literal(0, "int64")
    for i, weight in enumerate(GB11643_WEIGHTS):
        total = total + _digit(digits, i) * weight
    check = ibis.literal(GB11643_CHECK).substr((total % 11).cast("int64"), 1)
    return digits.re_search("^[0-9]{17}[0-9Xx]$") & (digits.substr(17, 1).upper() == check)


CHECKS = {"luhn": luhn_valid, "gb11643": gb11643_valid}


# -- plain Python references (tests) ------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    if not (digits.isdigit() and 12 <= len(digits) <= LUHN_MAX_DIGITS):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d >= 5 else d * 2
        total += d
    return total % 10 == 0


def gb11643_ok(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] in "Xx"):
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], GB11643_WEIGHTS))
    return number[17].upper() == GB11643_CHECK[total % 11]
