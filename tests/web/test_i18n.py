"""Every label a template asks for is in the catalogue, in both languages."""

import re
from pathlib import Path

from kefu.i18n import LANGS, MESSAGES

TEMPLATES = Path(__file__).parents[2] / "src" / "kefu" / "web" / "templates"


def test_every_template_label_is_in_the_catalogue():
    used = set()
    for f in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*'([a-z_]+)'\s*\)""", f.read_text(encoding="utf-8")))
    assert used, "no labels found: the pattern is wrong"
    assert sorted(used - set(MESSAGES)) == []


def test_every_message_has_every_language():
    assert all(len(v) == len(LANGS) and all(v) for v in MESSAGES.values())


def test_english_page(clients):
    r = clients["manager"].get("/leaderboard", params={"lang": "en"})
    assert "Leaderboard" in r.text and "Reply rate" in r.text and "客服排行" not in r.text
