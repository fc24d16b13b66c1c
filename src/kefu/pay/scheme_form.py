"""Editing a pay scheme without writing TOML (绩效方案 → 表单编辑): form fields ⇄ scheme ⇄ TOML text.

The form is driven by the pydantic models of `kefu.pay.scheme`: every field of every component kind becomes an
input by its type (a number, a choice of its `Literal` values, a KPI, a list of rows of a sub-model …), so a new
component kind gets a form without template code. A form is read as flat HTML names that are the TOML key paths
(`components.0.tiers.1.rate`), turned into the TOML text a power user would write, and that text goes through the
same validation, preview and save as the TOML editor (`parse_scheme`, kefu.web.routers.pay). Each problem of that
validation is put next to the input its key path names. TOML stays the source of truth: comments at the top of
the file are kept; comments further down are not (the form says so).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal, Union

from pydantic import BaseModel

from kefu.pay.scheme import (
    COMPONENT_KINDS,
    AppliesTo,
    Base,
    Condition,
    Limits,
    MeasureKey,
    Scheme,
    ScoredKPI,
    Tier,
    _Component,
)

#: kind tag → component model
KINDS: dict[str, type[BaseModel]] = {typing.get_args(c.model_fields["kind"].annotation)[0]: c for c in COMPONENT_KINDS}
#: the models that are not components, by the scope their labels are looked up in (i18n `pay_f_<scope>_<key>`)
SCOPES: dict[type[BaseModel], str] = {
    Scheme: "scheme",
    AppliesTo: "applies_to",
    Base: "base",
    Limits: "limits",
    Tier: "tier",
    ScoredKPI: "scored_kpi",
    Condition: "condition",
}
#: the keys every component has, written after the kind's own ones (name first)
COMMON = tuple(k for k in _Component.model_fields if k != "name")
UNIONS = (Union, types.UnionType)  # the origins of Union[A, B] and of A | B
SPLIT = re.compile(r"[,，\n]+")  # between the items of a list typed in one input
PROBLEM = re.compile(r"^[^\s:]+(?::\d+)?: (?P<path>\(top level\)|[\w.\[\]]+): (?P<msg>.*)$", re.S)


@dataclass(frozen=True)
class Spec:
    """One field of a model as the form shows it."""

    key: str  # the TOML key
    widget: str  # text, number, target, bool, maybe_bool, choice, measure, list, numbers, rows, section, components
    required: bool
    default: Any
    description: str
    options: tuple[str, ...] = ()
    model: type[BaseModel] | None = None  # of rows and sections

    @property
    def sub(self) -> type[BaseModel]:
        """The model of a rows or section field."""
        if self.model is None:
            raise ValueError(f"{self.key} is a {self.widget} field, not rows or a section")
        return self.model


def scope_of(model: type[BaseModel]) -> str:
    if model in SCOPES:
        return SCOPES[model]
    kind = model.model_fields.get("kind")
    return typing.get_args(kind.annotation)[0] if kind is not None else model.__name__.lower()


@cache
def specs(model: type[BaseModel]) -> tuple[Spec, ...]:
    """The fields of a model, in the order the form shows them and the TOML writes them (a component: kind, name,
    its own fields, then note, cap and floor); fields set by the loader (`exclude`) are not in the form."""
    names = [n for n, f in model.model_fields.items() if not f.exclude]
    if issubclass(model, _Component):
        names = ["kind", "name"] + [n for n in names if n not in ("kind", "name", *COMMON)] + list(COMMON)
    out = []
    for name in names:
        f = model.model_fields[name]
        widget, options, sub = _widget(f.annotation, f.metadata)
        default = None if f.is_required() else f.default
        out.append(Spec(f.alias or name, widget, f.is_required(), default, f.description or "", options, sub))
    return tuple(out)


def _widget(annotation: Any, metadata: list) -> tuple[str, tuple[str, ...], type[BaseModel] | None]:
    """The input for a type: (widget, options, model of the rows or section)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    optional = typing.get_origin(annotation) in UNIONS and len(args) < len(typing.get_args(annotation))
    if optional and len(args) == 1:
        widget, options, sub = _widget(args[0], metadata)
        return ("maybe_bool" if widget == "bool" else widget), options, sub
    if typing.get_origin(annotation) is typing.Annotated:
        return _widget(typing.get_args(annotation)[0], metadata)
    if typing.get_origin(annotation) is Literal:
        return "choice", tuple(typing.get_args(annotation)), None
    if typing.get_origin(annotation) in UNIONS:  # a number or one of some words ("shop", "target")
        words = tuple(w for a in args if typing.get_origin(a) is Literal for w in typing.get_args(a))
        return "target", words, None
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if typing.get_origin(item) is typing.Annotated and typing.get_origin(typing.get_args(item)[0]) in UNIONS:
            return "components", tuple(KINDS), None
        inner, _, sub = _widget(item, [])
        if sub is not None:
            return "rows", (), sub
        return ("numbers" if inner == "number" else "list"), (), None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section", (), annotation
    if annotation is bool:
        return "bool", (), None
    if annotation is Decimal:
        return "number", (), None
    if any(m in typing.get_args(MeasureKey)[1:] for m in metadata):  # Annotated's metadata
        return "measure", (), None
    return "text", (), None


# -- scheme → form ---------------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A decimal as typed: 100000, 0.015, -300 (never an exponent)."""
    return format(value, "f")


def scheme_values(scheme: Scheme) -> dict[str, Any]:
    """The scheme as the form's nested values (strings; lists of rows)."""
    return _values(scheme)


def _values(obj: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in specs(type(obj)):
        value = getattr(obj, _attr(type(obj), s.key))
        if s.widget == "section":
            out[s.key] = _values(value)
        elif s.widget in ("rows", "components"):
            out[s.key] = [_values(row) for row in value or []]
        elif s.widget in ("list", "numbers"):
            out[s.key] = ", ".join(decimal_text(v) if isinstance(v, Decimal) else str(v) for v in value)
        elif s.widget == "bool":
            out[s.key] = "true" if value else ""
        elif s.widget == "maybe_bool":
            out[s.key] = "" if value is None else ("true" if value else "false")
        else:
            out[s.key] = "" if value is None else (decimal_text(value) if isinstance(value, Decimal) else str(value))
    return out


def _attr(model: type[BaseModel], key: str) -> str:
    return next(n for n, f in model.model_fields.items() if (f.alias or n) == key)


def flatten(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested values as the (name, value) pairs an HTML form posts (an unticked box posts nothing)."""
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += flatten(value, name + ".")
        elif isinstance(value, list):
            for i, row in enumerate(value):
                out += flatten(row, f"{name}.{i}.")
        elif value != "":
            out.append((name, value))
    return out


def scheme_fields(scheme: Scheme) -> list[tuple[str, str]]:
    return flatten(scheme_values(scheme))


def not_by_form(scheme: Scheme) -> list[str]:
    """Why the form cannot show this scheme as written (then it is edited as TOML): a list item with a comma or a
    line break would be split in two when the form reads it back."""
    return [
        f"{name}: {str(v)!r} holds a comma or a line break"
        for name, values in _list_fields(scheme)
        for v in values
        if SPLIT.search(str(v))
    ]


def _list_fields(obj: BaseModel, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, values) of every list of words (applies_to.teams, …) in a model."""
    out: list[tuple[str, Any]] = []
    for s in specs(type(obj)):
        value = getattr(obj, _attr(type(obj), s.key))
        if s.widget == "section":
            out += _list_fields(value, f"{prefix}{s.key}.")
        elif s.widget in ("rows", "components"):
            for i, row in enumerate(value or []):
                out += _list_fields(row, f"{prefix}{s.key}.{i}.")
        elif s.widget == "list":
            out.append((prefix + s.key, value))
    return out


# -- form → TOML -------------------------------------------------------------------------------------------


def unflatten(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Posted (name, value) pairs as nested values: numbered parts become lists in the order of their numbers (a
    removed row leaves a gap that closes), every value of a name is kept (ticked boxes of one list)."""
    tree: dict = {}
    for name, value in items:
        parts = name.split(".")
        if not all(parts) or any(p.startswith("__") for p in parts):
            continue  # an unused row template's placeholder, or not a field
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(int(part) if part.isdigit() else part, {})
            if not isinstance(node, dict):
                break
        else:
            leaf = node.setdefault(parts[-1], [])
            if isinstance(leaf, list):
                leaf.append(value)
    return _lists(tree)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_lists(node[k]) for k in sorted(node)]
    return {k: _lists(v) for k, v in node.items() if isinstance(k, str)}


def form_data(values: Mapping[str, Any], model: type[BaseModel] = Scheme) -> dict[str, Any]:
    """The form's nested values as TOML data: numbers as decimals where they are numbers, anything else as typed
    (so that validation names it), empty inputs and defaults left out, rows with nothing typed dropped."""
    out: dict[str, Any] = {}
    for s in specs(model):
        raw = values.get(s.key)
        value: Any
        if s.widget == "section":
            sub = form_data(raw if isinstance(raw, dict) else {}, s.sub)
            value = sub or None
        elif s.widget in ("rows", "components"):
            rows = [r for r in (raw if isinstance(raw, list) else []) if isinstance(r, dict) and _typed(r)]
            value = [_component(r) if s.widget == "components" else form_data(r, s.sub) for r in rows] or None
        else:
            value = _scalar(s, _texts(raw))
        if value is None or (not s.required and _is_default(s, value)):
            continue
        out[s.key] = value
    return out


def _texts(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(v) for v in raw if not isinstance(v, dict | list)]
    return [] if raw is None or isinstance(raw, dict) else [str(raw)]


def _typed(row: Mapping[str, Any]) -> bool:
    """Something was typed in a row (its kind alone is not: a component is kept for its kind)."""
    return "kind" in row or any(
        _typed(v)
        if isinstance(v, dict)
        else any(_typed(r) if isinstance(r, dict) else str(r).strip() for r in v)
        if isinstance(v, list)
        else str(v).strip()
        for v in row.values()
    )


def _component(row: Mapping[str, Any]) -> dict[str, Any]:
    kind = (_texts(row.get("kind")) or [""])[-1].strip()
    model = KINDS.get(kind)
    return {"kind": kind} | (form_data(row, model) if model else {})


def _scalar(s: Spec, texts: list[str]) -> Any:
    last = texts[-1].strip() if texts else ""
    if s.widget == "bool":
        return any(t.strip().lower() in ("true", "on", "1") for t in texts)
    if s.widget in ("list", "numbers"):
        items = [p.strip() for t in texts for p in SPLIT.split(t) if p.strip()]
        return ([_number(p) for p in items] if s.widget == "numbers" else items) or None
    if s.widget == "text":  # as typed, spaces included
        return texts[-1] if texts and texts[-1] else None
    if not last:
        return None
    if s.widget == "maybe_bool":
        return {"true": True, "false": False}.get(last.lower(), last)
    if s.widget == "number" or (s.widget == "target" and last not in s.options):
        return _number(last)
    return last


def _number(text: str) -> Decimal | str:
    """A decimal when the text is one (1,000 too); "1.5%" and anything else stay text for the validation."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _is_default(s: Spec, value: Any) -> bool:
    default = s.default
    if isinstance(default, BaseModel) or s.widget in ("rows", "components"):
        return False
    if isinstance(default, list):
        return value == default
    if s.widget in ("bool", "maybe_bool"):
        return isinstance(value, bool) and value is default
    if isinstance(default, Decimal):
        return isinstance(value, Decimal) and value == default
    return isinstance(value, str) and value == default


def leading_comments(text: str) -> str:
    """The comment lines at the top of a scheme file (kept when the form rewrites it)."""
    head = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        head.append(line)
    while head and not head[-1].strip():
        head.pop()
    return "".join(line + "\n" for line in head)


def scheme_toml(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of scheme data (`form_data`, or a scheme's `model_dump`): top-level keys, then [tables] and
    [[components]]; rows inline, one a line."""
    out = [header.rstrip("\n")] if header.strip() else []
    scalars = [f"{k} = {toml_value(v)}" for k, v in data.items() if not _is_table(v)]
    if scalars:
        out.append("\n".join(scalars))
    for key, value in data.items():
        if isinstance(value, dict):
            out.append("\n".join([f"[{key}]", *_keys(value)]))
        elif _is_table(value):
            out += ["\n".join([f"[[{key}]]", *_keys(row)]) for row in value]
    return "\n\n".join(out) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _keys(table: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in table.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines += [f"{key} = ["] + [f"  {toml_value(v)}," for v in value] + ["]"]
        else:
            lines.append(f"{key} = {toml_value(value)}")
    return lines


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int | float):
        return decimal_text(Decimal(str(value)))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return _string(str(value))


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return (
        '"'
        + "".join(escapes.get(ch) or (f"\\u{ord(ch):04x}" if ord(ch) < 32 or ord(ch) == 127 else ch) for ch in text)
        + '"'
    )


def form_toml(items: Iterable[tuple[str, str]], header: str = "") -> str:
    """The TOML text of a posted form."""
    return scheme_toml(form_data(unflatten(items)), header)


def model_toml(scheme: Scheme, header: str = "") -> str:
    """The TOML text of a valid scheme (defaults left out), as the form writes it."""
    return form_toml(scheme_fields(scheme), header)


# -- the form as the template shows it ------------------------------------------------------------------------


@dataclass
class Input:
    name: str  # the HTML name: the key path (components.0.rate)
    scope: str  # where its label is looked up
    spec: Spec
    value: Any  # text, or for a list with options the chosen values
    options: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    rows: list[Group] = field(default_factory=list)
    blank: Group | None = None  # the empty row `add` clones (its name holds __R__)


@dataclass
class Group:
    """A section ([base]), a component or a row, with its inputs and the problems of it as a whole."""

    name: str
    scope: str
    inputs: list[Input]
    errors: list[str] = field(default_factory=list)
    kind: str = ""


@dataclass
class Form:
    top: Group  # name, effective_from, description
    sections: list[Group]
    components: list[Group]
    blanks: dict[str, Group]  # per kind: the empty component `add` clones (its name holds __C__)
    errors: list[str]  # problems of no one input (two schemes pay one agent, …)

    @property
    def has_errors(self) -> bool:
        groups = [self.top, *self.sections, *self.components]
        return bool(self.errors) or any(g.errors or any(i.errors for i in g.inputs) for g in groups)


def build_form(
    values: Mapping[str, Any], problems: Sequence[str] = (), choices: Mapping[str, Sequence[str]] | None = None
) -> Form:
    """The form for nested values (from a scheme or as posted), with each problem next to the input it names.
    `choices` offers values for list inputs by name (applies_to.roles → the roles), shown as boxes to tick."""
    choices = choices or {}
    top = _group(
        Scheme,
        values,
        "",
        "scheme",
        choices,
        only=("text", "number", "choice", "measure", "target", "bool", "maybe_bool"),
    )
    sections = [
        _group(s.sub, _dict(values.get(s.key)), s.key + ".", scope_of(s.sub), choices)
        for s in specs(Scheme)
        if s.widget == "section"
    ]
    components = [
        _component_group(row, f"components.{i}", choices) for i, row in enumerate(_rows(values.get("components")))
    ]
    blanks = {
        kind: _component_group(_blank(model) | {"kind": kind}, "components.__C__", choices)
        for kind, model in KINDS.items()
    }
    form = Form(top, sections, components, blanks, [])
    _place(form, problems)
    return form


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _blank(model: type[BaseModel]) -> dict[str, Any]:
    """An empty component: one empty row in each list it needs at least one of."""
    return {s.key: [{}] for s in specs(model) if s.widget == "rows" and s.required}


def _component_group(row: Mapping[str, Any], name: str, choices: Mapping[str, Sequence[str]]) -> Group:
    kind = (_texts(row.get("kind")) or [""])[-1]
    model = KINDS.get(kind)
    if model is None:
        return Group(name, "component", [], [f"unknown kind {kind!r}"], kind)
    group = _group(model, row, name + ".", kind, choices, skip=("kind",))
    group.name, group.kind = name, kind
    return group


def _group(
    model: type[BaseModel],
    values: Mapping[str, Any],
    prefix: str,
    scope: str,
    choices: Mapping[str, Sequence[str]],
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> Group:
    inputs = []
    for s in specs(model):
        if s.key in skip or (only and s.widget not in only):
            continue
        name = prefix + s.key
        if s.widget == "rows":
            rows = [
                _group(s.sub, r, f"{name}.{i}.", scope_of(s.sub), choices)
                for i, r in enumerate(_rows(values.get(s.key)))
            ]
            blank = _group(s.sub, {}, f"{name}.__R__.", scope_of(s.sub), choices)
            inputs.append(Input(name, scope, s, "", rows=rows, blank=blank))
            continue
        texts = _texts(values.get(s.key))
        if s.widget == "list" and name in choices:
            chosen = [p.strip() for t in texts for p in SPLIT.split(t) if p.strip()]
            options = tuple(dict.fromkeys([*choices[name], *chosen]))
            inputs.append(Input(name, scope, s, chosen, options))
        else:
            inputs.append(Input(name, scope, s, texts[-1] if texts else "", s.options))
    return Group(prefix.rstrip("."), scope, inputs)


def problem_path(problem: str) -> str | None:
    """The form name a validation problem is about (`x.toml:9: components[2].tiers[1].rate: …` →
    `components.1.tiers.0.rate`), None for a problem of no key."""
    found = PROBLEM.match(problem)
    if not found or found["path"] == "(top level)":
        return None
    return re.sub(r"\[(\d+)\]", lambda m: f".{int(m[1]) - 1}", found["path"])


def _place(form: Form, problems: Sequence[str]) -> None:
    """Each problem on the input or group of the longest part of its key path the form has, the rest on the form.
    A group's problem that starts with one of its keys ("rate 1.5 must be …", "value: …") goes to that input."""
    where: dict[str, Group | Input] = {}

    def index(group: Group) -> None:
        where[group.name] = group
        for i in group.inputs:
            where[i.name] = i
            for row in i.rows:
                index(row)

    for group in (*form.sections, *form.components):
        index(group)
    for i in form.top.inputs:
        where[i.name] = i
    for problem in problems:
        path, found = problem_path(problem), PROBLEM.match(problem)
        parts = path.split(".") if path else []
        target = next(
            (where[".".join(parts[:n])] for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in where), None
        )
        if target is None or found is None:
            form.errors.append(problem)
            continue
        message = found["msg"]
        if isinstance(target, Group):
            first = re.split(r"[\s:]", message, maxsplit=1)[0]
            target = next((i for i in target.inputs if i.spec.key == first), target)
        target.errors.append(message)
