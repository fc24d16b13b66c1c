"""Editing one rule without TOML (kefu.qc.rule_form): only that rule's table is rewritten, and the result is the
library the TOML editor would have written — validated by the same save."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from kefu.qc.examples import save_rules
from kefu.qc.rule_form import edit_rule, form_changes, rule_table, toml_value
from kefu.qc.rules import RuleError, default_rules_text, parse_rules
from kefu.workspace import Workspace


def rules_of(text: str) -> list[dict]:
    return [asdict(r) | {"line": 0} for r in parse_rules(text).rules]


@pytest.mark.parametrize("rule_id", [r.id for r in parse_rules(default_rules_text()).rules])
def test_a_rule_written_back_unchanged_parses_to_the_same_library(rule_id):
    text = default_rules_text()
    assert rules_of(edit_rule(text, rule_id, {})) == rules_of(text)


def test_an_edit_changes_that_rule_only_and_keeps_the_rest_of_the_file():
    text = default_rules_text()
    edited = edit_rule(
        text,
        "rude_language",
        {"name": "服务禁语", "points": 7.5, "max_points_per_day": 15.0, "patterns": ("爱买不买", r"说了\s*多少遍")},
    )
    before, after = {r["id"]: r for r in rules_of(text)}, {r["id"]: r for r in rules_of(edited)}
    assert {k for k in after if after[k] != before[k]} == {"rude_language"}
    rude = after["rude_language"]
    assert (rude["name"], rude["points"], rude["max_points_per_day"], rude["patterns"]) == (
        "服务禁语",
        7.5,
        15.0,
        ("爱买不买", r"说了\s*多少遍"),
    )
    assert (
        rude["exceptions"] == before["rude_language"]["exceptions"] and rude["hits"] == before["rude_language"]["hits"]
    )
    start = text.rindex("[[rules]]", 0, text.index('id = "rude_language"'))
    end = text.rindex("[[rules]]", 0, text.index('id = "personal_phone"'))
    assert edited[:start] == text[:start] and edited.endswith(
        text[end:]
    )  # the text around the rule's table is untouched


def test_strings_are_written_so_that_toml_reads_them_back():
    for value in ["a'b", 'say "hi"', r"\d+", "two\nlines", "tab\there", "\\"]:
        back = parse_rules(
            f'[[rules]]\nid = "x"\nname = {toml_value(value)}\nseverity = "low"\nscope = "agent_text"\n'
            f'points = 1\npatterns = [{toml_value("a", regex=True)}]\nhits = ["a"]\nmisses = ["b"]\n'
        ).rules[0]
        assert back.name == value.strip()
    assert toml_value(r"\d+", regex=True) == r"'\d+'" and toml_value(0.5) == "0.5" and toml_value(20.0) == "20"


def test_the_form_fields_become_rule_values():
    assert form_changes(
        {"name": " 禁语 ", "points": "2.5", "max_points_per_day": "", "patterns": "a\n\n b \n", "exceptions": ""}
    ) == {"name": "禁语", "points": 2.5, "max_points_per_day": None, "patterns": ("a", "b"), "exceptions": ()}
    assert form_changes({"points": "lots"})["points"] == "lots"  # left for the validation to name


def test_an_edit_is_validated_like_a_save(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    text = default_rules_text()
    with pytest.raises(RuleError, match=r"qc-rules.toml:\d+: rule rude_language: .*points"):
        save_rules(ws, edit_rule(text, "rude_language", {"points": "lots"}))
    with pytest.raises(RuleError, match="rude_language"):  # a pattern that no longer flags the rule's own hits
        save_rules(ws, edit_rule(text, "rude_language", {"patterns": ("绝不会出现的词",)}))
    with pytest.raises(RuleError, match="no rule 'nope'"):
        edit_rule(text, "nope", {"name": "x"})
    with pytest.raises(RuleError, match="cannot be edited"):
        edit_rule(text, "rude_language", {"hits": ()})
    assert not (tmp_path / "ws" / "qc-rules.toml").exists()
    saved = save_rules(ws, edit_rule(text, "slow_reply", {"severity": "medium", "points": 1.0}))
    assert (saved.get("slow_reply").severity, saved.get("slow_reply").points) == ("medium", 1.0)
    ws.close()


def test_rule_table_leaves_defaults_out():
    rule = parse_rules(default_rules_text()).get("buyer_anger")
    table = rule_table(rule)
    assert table.startswith('[[rules]]\nid = "buyer_anger"\n') and "enabled" not in table and "ignore_case" not in table
