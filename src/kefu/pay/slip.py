"""The printable payslip (工资条): one A4 page per agent, in Chinese, from an explanation
(kefu.pay.api.explain). The web app's print view and `kefu pay slip --html` render the
same template, `web/templates/pay_slip_print.html`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kefu.formatting import yuan

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
DIGITS = "零壹贰叁肆伍陆柒捌玖"
UNITS = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")


def rmb_upper(value: Decimal | float) -> str:
    """人民币大写, as on a Chinese payslip or cheque: 4071.25 → 肆仟零柒拾壹元贰角伍分."""
    cents = int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign, cents = ("负" if cents < 0 else ""), abs(cents)
    whole, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    text = (_integer(whole) + "元") if whole else ""
    if jiao == 0 and fen == 0:
        return sign + text + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text


def _integer(n: int) -> str:
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    text, gap = "", False
    for i in reversed(range(len(groups))):
        g = groups[i]
        if g == 0:
            gap = bool(text)
            continue
        if text and (gap or g < 1000):
            text += "零"
        text += _four(g) + GROUPS[i]
        gap = False
    return text


def _four(n: int) -> str:
    out, zero = "", False
    for pos in (3, 2, 1, 0):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
        else:
            if zero:
                out += "零"
                zero = False
            out += DIGITS[d] + UNITS[pos]
    return out


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["yuan"] = yuan
    env.globals["rmb_upper"] = rmb_upper
    return env


def render_slip(explanation: dict[str, Any], lang: str = "zh") -> str:
    """The standalone printable page (inline CSS, no scripts)."""
    from kefu.i18n import translator

    return environment().get_template("pay_slip_print.html").render(e=explanation, t=translator(lang), lang=lang)
