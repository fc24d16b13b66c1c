"""The rule library: every default rule flags its positive examples and not its near misses (judged by the
engine itself), and a wrong library is refused with every problem named by file, line and rule."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from kefu.qc.examples import example_outcomes, example_problems, save_rules
from kefu.qc.rules import RULE_KEYS, RULES_FILE, RuleError, default_rules_text, load_rules, parse_rules

DEFAULT = parse_rules(default_rules_text(), "default_rules.toml")
TEXT_RULES = [r for r in DEFAULT.rules if not r.is_timing]

#: More examples than the library carries, written for these tests: (hits, near misses).
MORE = {
    "off_platform_contact": (
        ["有问题加我微信详聊", "直接转账给我,我给您便宜", "扫我二维码下单", "WX联系 abc_12345"],
        ["支付宝和花呗都可以的哦", "微信支付不能用哦,用支付宝吧", "不要私下转账,谨防被骗"],
    ),
    "review_manipulation": (
        ["给五星好评返5元红包", "麻烦把中评删了吧"],
        ["好评是对我们最大的鼓励", "差评的原因我们已经记录"],
    ),
    "rude_language": (["你是不是傻", "关我什么事"], ["这款打滚也不会皱", "您看一下尺码表,有问题随时找我"]),
    "personal_phone": (["13900001111", "电话 138 0013 8000,请联系"], ["订单号11390000111122", "138-0013"]),
    "personal_id_card": (
        ["32050219851212456X", "号码32050219851212456x"],
        ["32050219851212456", "320502198512124561", "运单号32050219851212456X"],
    ),
    "personal_bank_card": (
        ["6214830123456789020000"[:18], "5105105105105100"],
        ["6214830123456789021", "5105105105105101", "流水号5105105105105100"],
    ),
    "missing_greeting": (["在这里拍就行"], ["早上好,请问需要什么", "Hello,亲"]),
    "missing_closing": (["已经发货了"], ["谢谢亲", "祝您购物愉快,生活愉快"]),
    "buyer_complaint_intent": (["我去消协告你们", "找小二"], ["不会投诉的放心", "你们家衣服挺好"]),
    "buyer_anger": (["气死我了", "为什么一直不回"], ["好的我再等等", "垃圾分类怎么弄"]),
}


@pytest.fixture(scope="module")
def outcomes():
    """Each default rule with its own examples plus MORE, judged by the engine in one run."""
    rules = [replace(r, hits=r.hits + tuple(MORE[r.id][0]), misses=r.misses + tuple(MORE[r.id][1])) for r in TEXT_RULES]
    by_rule: dict[str, list[dict]] = {}
    for o in example_outcomes(replace(DEFAULT, rules=tuple(rules))):
        by_rule.setdefault(o["rule"], []).append(o)
    return by_rule


def test_every_text_rule_has_examples_both_ways():
    assert set(MORE) == {r.id for r in TEXT_RULES}
    for rule in TEXT_RULES:
        assert len(rule.hits) >= 2 and len(rule.misses) >= 2, rule.id


@pytest.mark.parametrize("rule_id", [r.id for r in TEXT_RULES])
def test_rule_flags_its_hits_and_not_its_near_misses(outcomes, rule_id):
    wrong = [(o["kind"], o["text"], o["match"]) for o in outcomes[rule_id] if o["flagged"] != (o["kind"] == "hit")]
    assert wrong == []


def test_the_match_of_a_number_is_the_number_itself(outcomes):
    matches = {
        o["text"]: o["match"] for o in outcomes["personal_phone"] + outcomes["personal_bank_card"] if o["flagged"]
    }
    assert matches["电话 138 0013 8000,请联系"] == "138 0013 8000"
    assert matches["5105105105105100"] == "5105105105105100"


def test_the_default_library_has_every_kind_the_issue_asks_for():
    kinds = {(r.scope, r.kind) for r in DEFAULT.rules}
    assert {
        ("timing", "slow_reply"),
        ("timing", "unanswered"),
        ("timing", "long_silence"),
        ("agent_text", "missing_at_start"),
        ("agent_text", "missing_at_end"),
    } <= kinds
    assert {r.checksum for r in DEFAULT.rules} >= {"luhn", "gb11643"}
    assert all(r.points == 0 for r in DEFAULT.rules if r.scope == "buyer_text")


def problems_of(text: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        parse_rules(text, "ws/qc-rules.toml")
    return caught.value.problems


RULE = """
[[rules]]
id = "r1"
name = "禁语"
severity = "high"
scope = "agent_text"
points = 5
patterns = ['滚']
"""


def test_a_minimal_rule_parses():
    rule = parse_rules(RULE).rules[0]
    assert (rule.id, rule.kind, rule.ignore_case, rule.enabled, rule.line) == ("r1", "phrase", True, True, 2)


def test_not_toml_names_the_line():
    assert problems_of(RULE + "points = \n")[0].startswith("ws/qc-rules.toml:9: not valid TOML")
    assert problems_of("a = [\n1,\n,]")[0].startswith("ws/qc-rules.toml:3: not valid TOML")


def test_every_problem_is_reported_with_its_line_and_rule():
    text = (
        RULE
        + """
[[rules]]
id = "r2"
name = "x"
severity = "urgent"
scope = "agent_text"
points = -1
colour = "red"
patterns = ['(?<=a)b', 'a*']

[[rules]]
id = "r1"
name = "again"
severity = "low"
scope = "timing"
kind = "unanswered"
points = 1
patterns = ['x']
"""
    )
    known = ", ".join(RULE_KEYS)
    assert problems_of(text) == [
        f"ws/qc-rules.toml:16: rule r2: unknown key 'colour' (known: {known})",
        "ws/qc-rules.toml:13: rule r2: severity must be one of low, medium, high, critical, got 'urgent'",
        "ws/qc-rules.toml:15: rule r2: points must be a number from 0 to 100, got -1",
        "ws/qc-rules.toml:17: rule r2: pattern '(?<=a)b': look-around is not supported (RE2)",
        "ws/qc-rules.toml:17: rule r2: pattern 'a*': matches the empty text (every message would match)",
        "ws/qc-rules.toml:20: rule r1: id used twice (first at line 2)",
        "ws/qc-rules.toml:26: rule r1: patterns has no meaning for a unanswered rule",
    ]


def test_a_duplicate_id_names_the_first_one():
    assert problems_of(RULE + RULE) == ["ws/qc-rules.toml:11: rule r1: id used twice (first at line 2)"]


@pytest.mark.parametrize(
    "extra, reason",
    [
        ("kind = 'missing_at_start'\nexceptions = ['x']", "exceptions has no meaning for a missing_at_start rule"),
        ("checksum = 'crc'", "checksum must be one of luhn, gb11643, got 'crc'"),
        ("threshold_s = 30", "threshold_s is for timing rules"),
        ("exceptions = ['(unclosed']", "exception '(unclosed': not a valid regular expression"),
        ("span = '(?i)x'", "span '(?i)x': write inline flags as (?i:…) around a part, not (?i) alone"),
        ("max_points_per_day = 'ten'", "max_points_per_day must be a number from 0 to 100, got 'ten'"),
        ("max_points_per_day = 101", "max_points_per_day must be a number from 0 to 100, got 101"),
    ],
)
def test_rule_level_problems(extra, reason):
    problems = problems_of(RULE + extra + "\n")
    assert len(problems) == 1 and reason in problems[0] and problems[0].startswith("ws/qc-rules.toml:"), problems


def test_no_rules_at_all():
    assert problems_of("version = 1\n") == ["ws/qc-rules.toml:1: no rules: declare each rule as a [[rules]] table"]


def test_a_workspace_library_replaces_the_default(tmp_path):
    ws = SimpleNamespace(path=tmp_path)
    assert load_rules(ws).rules == DEFAULT.rules
    saved = save_rules(ws, RULE)
    assert (tmp_path / RULES_FILE).read_text(encoding="utf-8") == RULE
    assert [r.id for r in load_rules(ws).rules] == [r.id for r in saved.rules] == ["r1"]


def test_saving_refuses_a_rule_whose_own_examples_fail(tmp_path):
    ws = SimpleNamespace(path=tmp_path)
    with pytest.raises(RuleError) as caught:
        save_rules(ws, RULE + "hits = ['你好']\nmisses = ['滚开']\n")
    assert caught.value.problems == [
        f"{tmp_path / RULES_FILE}:2: rule r1: example hit '你好' is not flagged",
        f"{tmp_path / RULES_FILE}:2: rule r1: example miss '滚开' is flagged (match '滚')",
    ]
    assert not (tmp_path / RULES_FILE).exists()


def test_default_library_passes_its_own_examples():
    assert example_problems(DEFAULT) == []
