"""The scheme form (kefu.pay.scheme_form): a valid scheme → form fields → TOML → the same scheme (hypothesis, every
component kind); the shipped examples round-trip; what a form posts (gaps, empty rows, ticked boxes, text where a
number belongs) becomes the TOML a power user would write; each validation problem lands next to its input;
every input has a Chinese and an English label."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples

from kefu.i18n import MESSAGES
from kefu.pay.measures import KPI_KEYS, MEASURES
from kefu.pay.scheme import Scheme, SchemeError, parse_scheme
from kefu.pay.scheme_form import (
    KINDS,
    Group,
    build_form,
    form_toml,
    leading_comments,
    model_toml,
    not_by_form,
    scheme_fields,
    scope_of,
    specs,
    unflatten,
)
from kefu.schema import ROLES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "schemes"


def same(a: Scheme, b: Scheme) -> bool:
    return a.model_copy(update={"source": "", "digest": ""}) == b.model_copy(update={"source": "", "digest": ""})


# -- a random valid scheme ------------------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
word = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Z"), blacklist_characters=",，"), min_size=1, max_size=8
)
money = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
amount = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)
rate = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
percent = st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False).map(
    lambda d: f"{d}%"
)
ranked = [k for k, m in MEASURES.items() if m.higher_is_better is not None]


def value_for(key: str):
    if MEASURES[key].unit == "ratio":
        return st.one_of(rate, percent)
    return st.decimals(min_value=0, max_value=1000, places=1, allow_nan=False, allow_infinity=False)


@st.composite
def condition(draw, standard: bool = True):
    key = draw(st.sampled_from(list(MEASURES)))
    values = [value_for(key)] + ([st.sampled_from(["shop", "target"])] if standard and key in KPI_KEYS else [])
    return {"kpi": key, "op": draw(st.sampled_from([">=", "<=", ">", "<", "=="])), "value": draw(st.one_of(*values))}


@st.composite
def scored(draw):
    key = draw(st.sampled_from(list(MEASURES)))
    worst, best = draw(st.lists(value_for(key), min_size=2, max_size=2, unique_by=lambda v: parse_value(v)))
    return {"kpi": key, "worst": worst, "best": best, "weight": draw(st.integers(1, 100))}


def parse_value(v):
    return Decimal(v[:-1]) / 100 if isinstance(v, str) else v


def limits(draw, out: dict) -> dict:
    if draw(st.booleans()):
        out["cap"] = draw(st.decimals(min_value=1000, max_value=9999, places=2, allow_nan=False))
    if draw(st.booleans()):
        out["floor"] = draw(st.decimals(min_value=-999, max_value=999, places=2, allow_nan=False))
    if draw(st.booleans()):
        out["note"] = draw(text)
    return out


@st.composite
def component(draw, kind: str, name: str):
    c: dict = {"kind": kind, "name": name}
    if kind == "commission":
        if draw(st.booleans()):
            c["rate"] = draw(st.one_of(rate, percent))
        else:
            starts = sorted(set(draw(st.lists(st.integers(1, 10**6), max_size=3))))
            c["tiers"] = [{"from": f, "rate": draw(rate)} for f in [0, *starts]]
        c["net_of_refunds"] = draw(st.booleans())
    elif kind == "kpi_score":
        c |= {"amount": draw(amount), "kpis": draw(st.lists(scored(), min_size=1, max_size=3))}
    elif kind == "threshold":
        c["when"] = draw(st.lists(condition(), min_size=1, max_size=3))
        c |= {"percent_of_base": draw(st.integers(-50, 50))} if draw(st.booleans()) else {"amount": draw(money)}
    elif kind == "pool":
        c |= {
            "pool": draw(amount),
            "shared_within": draw(st.sampled_from(["scheme", "shop", "team"])),
            "per_qc_error": draw(amount),
            "per_complaint": draw(amount),
        }
    elif kind == "ranking":
        key = draw(st.sampled_from(list(MEASURES)))
        c |= {
            "kpi": key,
            "prizes": draw(st.lists(amount, min_size=1, max_size=3)),
            "within": draw(st.sampled_from(["scheme", "shop", "team"])),
            "when": draw(st.lists(condition(), max_size=2)),
        }
        if key not in ranked or draw(st.booleans()):
            c["higher_is_better"] = draw(st.booleans())
    return limits(draw, c)


@st.composite
def schemes(draw) -> Scheme:
    kinds = draw(st.lists(st.sampled_from([k for k in KINDS if k != "mutual_fund"]), max_size=4))
    kinds += ["mutual_fund"] if draw(st.booleans()) else []
    names = draw(
        st.lists(text.filter(lambda n: n != "基本工资"), min_size=len(kinds), max_size=len(kinds), unique=True)
    )
    applies = {"roles": draw(st.lists(st.sampled_from([r for r in ROLES if r != "bot"]), min_size=1, unique=True))}
    for key in ("teams", "agents", "employers", "shops"):
        if draw(st.booleans()):
            applies[key] = draw(st.lists(word, min_size=1, max_size=3))
    data = {
        "name": draw(text),
        "effective_from": f"{draw(st.integers(2000, 2099))}-{draw(st.integers(1, 12)):02d}",
        "description": draw(st.one_of(st.just(""), text)),
        "applies_to": applies,
        "base": {"amount": draw(amount), "prorate": draw(st.booleans())},
        "components": [draw(component(k, n)) for k, n in zip(kinds, names)],
        "limits": {},
    }
    if data["components"] and draw(st.booleans()):
        data["limits"] = {"cap": draw(st.decimals(min_value=0, max_value=9999, places=2, allow_nan=False))}
    return Scheme.model_validate(data)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemes())
def test_a_valid_scheme_round_trips_through_the_form(scheme):
    fields = scheme_fields(scheme)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields)
    back = parse_scheme(form_toml(fields))
    assert same(back, scheme)
    assert not_by_form(scheme) == []
    assert not build_form(unflatten(fields)).has_errors


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_the_shipped_examples_round_trip_with_their_top_comments(path):
    text = path.read_text(encoding="utf-8")
    written = model_toml(parse_scheme(text), leading_comments(text))
    assert same(parse_scheme(written), parse_scheme(text))
    assert written.startswith(leading_comments(text)) and leading_comments(text).startswith("# ")
    assert model_toml(parse_scheme(written), leading_comments(written)) == written  # stable


def test_what_a_form_posts_becomes_the_toml_a_power_user_writes():
    posted = [
        ("name", "售前"),
        ("effective_from", "2026-11"),
        ("applies_to.roles", "presales"),
        ("applies_to.shops", "云裳女装旗舰店"),
        ("applies_to.shops", "s, t"),
        ("base.amount", "3,000"),
        ("base.prorate", "true"),
        # a removed component (1) and a removed tier row (1) leave gaps that close; an empty row is dropped
        ("components.0.kind", "commission"),
        ("components.0.name", "提成"),
        ("components.0.net_of_refunds", "true"),
        ("components.0.tiers.0.from", "0"),
        ("components.0.tiers.0.rate", "1%"),
        ("components.0.tiers.2.from", "100000"),
        ("components.0.tiers.2.rate", "0.015"),
        ("components.0.tiers.3.from", ""),
        ("components.0.tiers.3.rate", " "),
        ("components.2.kind", "ranking"),
        ("components.2.name", "排名"),
        ("components.2.kpi", "sales_amount"),
        ("components.2.prizes", "800, 500，300"),
        ("components.2.within", "scheme"),
        ("components.2.higher_is_better", ""),
        ("components.2.floor", ""),
        ("limits.cap", "8000"),
        ("csrf_token", "x"),
        ("components.__C__.name", "a template's placeholder"),
    ]
    assert form_toml(posted) == (
        'name = "售前"\neffective_from = "2026-11"\n\n'
        '[applies_to]\nroles = ["presales"]\nshops = ["云裳女装旗舰店", "s", "t"]\n\n'
        "[base]\namount = 3000\nprorate = true\n\n"
        '[[components]]\nkind = "commission"\nname = "提成"\ntiers = [\n  { from = 0, rate = "1%" },\n'
        "  { from = 100000, rate = 0.015 },\n]\nnet_of_refunds = true\n\n"
        '[[components]]\nkind = "ranking"\nname = "排名"\nkpi = "sales_amount"\nprizes = [800, 500, 300]\n\n'
        "[limits]\ncap = 8000\n"
    )
    parse_scheme(form_toml(posted))  # valid


def test_text_where_a_number_belongs_is_refused_next_to_its_input():
    posted = [
        ("name", "x"),
        ("effective_from", "2026-13"),
        ("applies_to.roles", "presales"),
        ("base.amount", "三千"),
        ("components.0.kind", "threshold"),
        ("components.0.name", "达标"),
        ("components.0.when.0.kpi", "reply_rate"),
        ("components.0.when.0.op", ">="),
        ("components.0.when.0.value", "95"),
        ("components.1.kind", "kpi_score"),
        ("components.1.name", "达标"),
        ("components.1.amount", "100"),
    ]
    with pytest.raises(SchemeError) as exc:
        parse_scheme(form_toml(posted), "schemes/x.toml")
    form = build_form(unflatten(posted), exc.value.problems)
    inputs = {i.name: i for i in form.top.inputs}
    assert inputs["effective_from"].errors == ["month '2026-13' is not YYYY-MM"]
    base = {i.name: i for i in form.sections[1].inputs}
    assert (
        base["base.amount"].errors == ["'三千' is not a number (write 0.9 or \"90%\")"]
        and base["base.amount"].value == "三千"
    )
    threshold, score = form.components
    when = next(i for i in threshold.inputs if i.name == "components.0.when")
    value = next(i for i in when.rows[0].inputs if i.spec.key == "value")
    assert value.errors == ['value: reply_rate is a rate; write 0.95 or "95%", not 95']  # on the input it starts with
    kpis = next(i for i in score.inputs if i.name == "components.1.kpis")
    assert kpis.errors == ["missing"] and not form.errors


def test_a_problem_of_a_whole_component_or_scheme_is_shown_on_it():
    posted = [
        ("name", "x"),
        ("effective_from", "2026-11"),
        ("applies_to.roles", "presales"),
        ("components.0.kind", "threshold"),
        ("components.0.name", "达标"),
        ("components.0.when.0.kpi", "complaints"),
        ("components.0.when.0.op", "=="),
        ("components.0.when.0.value", "0"),
        ("components.1.kind", "prizes"),
        ("components.1.name", "奖励"),
        ("components.1.cap", "10"),
        ("components.1.floor", "20"),
    ]
    with pytest.raises(SchemeError) as exc:
        parse_scheme(form_toml(posted), "schemes/x.toml")
    form = build_form(unflatten(posted), exc.value.problems)
    threshold, prizes = form.components
    assert threshold.errors == ["give either percent_of_base or amount"]
    cap = next(i for i in prizes.inputs if i.spec.key == "cap")
    assert cap.errors == ["cap 10 is below floor 20"] and not prizes.errors
    twice = posted[:8] + [
        ("components.0.amount", "100"),
        ("components.1.kind", "prizes"),
        ("components.1.name", "达标"),
    ]
    with pytest.raises(SchemeError) as exc:
        parse_scheme(form_toml(twice), "schemes/x.toml")
    form = build_form(unflatten(twice), exc.value.problems)
    assert form.errors == ["schemes/x.toml: (top level): component names must be unique: 达标"]  # of no one input
    assert form.has_errors


def test_a_scheme_with_a_comma_in_a_list_item_is_edited_as_toml():
    scheme = parse_scheme('name = "x"\neffective_from = "2026-01"\n[applies_to]\nteams = ["A,B"]\n')
    assert not_by_form(scheme) == ["applies_to.teams: 'A,B' holds a comma or a line break"]


def test_ticked_boxes_and_blank_components():
    form = build_form(
        {"applies_to": {"roles": ["presales", "aftersales"]}},
        choices={"applies_to.roles": ["presales", "aftersales", "qc"]},
    )
    roles = form.sections[0].inputs[0]
    assert roles.options == ("presales", "aftersales", "qc") and roles.value == ["presales", "aftersales"]
    assert set(form.blanks) == set(KINDS)
    kpis = next(i for i in form.blanks["kpi_score"].inputs if i.spec.key == "kpis")
    assert len(kpis.rows) == 1 and kpis.rows[0].name == "components.__C__.kpis.0"  # one row to fill in
    assert kpis.blank.name == "components.__C__.kpis.__R__"


def all_inputs(model, seen=None) -> set[tuple[str, str]]:
    """(scope, key) of every input of a model and its rows and sections."""
    seen = set() if seen is None else seen
    for s in specs(model):
        seen.add((scope_of(model), s.key))
        if s.model is not None:
            all_inputs(s.model, seen)
    return seen


def test_every_input_has_a_label_in_both_languages():
    pairs = set().union(*(all_inputs(m) for m in (Scheme, *KINDS.values())))
    missing = sorted(
        f"{scope}.{key}"
        for scope, key in pairs
        if key != "kind" and f"pay_f_{scope}_{key}" not in MESSAGES and f"pay_f_{key}" not in MESSAGES
    )
    assert missing == []
    assert all(f"pay_kind_{k}" in MESSAGES for k in KINDS)
    options = {
        o
        for m in (Scheme, *KINDS.values())
        for s in specs(m)
        if s.widget == "choice" and s.key != "kind"
        for o in s.options
        if o[0].isalpha()
    }
    assert sorted(o for o in options | {r for r in ROLES if r != "bot"} if f"pay_opt_{o}" not in MESSAGES) == []


def test_a_new_component_kind_gets_inputs_from_its_fields():
    # the form reads the models: every field of every kind is an input of its component, in declaration order
    for kind, model in KINDS.items():
        keys = [s.key for s in specs(model)]
        assert keys[:2] == ["kind", "name"] and set(keys) == {f.alias or n for n, f in model.model_fields.items()}
        group = build_form({"components": [{"kind": kind}]}).components[0]
        assert isinstance(group, Group) and [i.spec.key for i in group.inputs] == keys[1:]
