"""千牛 / 旺旺 chat export (one shop account with one buyer per file).

Two passes. ``scan`` cuts the text into blocks (a header and the text that
follows it); ``resolve`` decides who is the shop side and who is the buyer,
which account each buyer message was addressed to, and turns every block into
exactly one row (messages / chat_events) or one Reject, so that
``read == rows + rejects`` holds by construction.

Speed matters (a folder of 10,000 files and a million messages): headers are
found by one regex pass over the whole file, and the text between two headers
is cleaned as one string, never line by line in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .common import EVENT_COLUMNS, MESSAGE_COLUMNS, Reject, file_error, make_table, ts_from_date_time, ts_problem

FORMAT = "qianniu_chat"

# A header ends with the time: "小王 2026-3-5 10:18:10", "tb_buyer_012026-3-5 10:18:40",
# or (older copies) the time alone on the line after the sender. The regex finds
# the time at the end of a line; the sender is what precedes it on that line, or
# the previous line when nothing does. Being anchored at the line end and
# starting with 19xx/20xx + dash, it splits a nick ending in digits correctly and
# runs in linear time (no lazy name to backtrack over).
# A time without seconds ("tb_buyer_05 2026-3-5 10:19", an edited copy) is a header only
# when its sender also writes headers with seconds in the file (a buyer typing "明天
# 2026-3-6 10:00" is text); such a header is rejected, never merged into the message before.
TS_AT_LINE_END_RE = re.compile(
    r"(?P<date>(?:19|20)\d\d[-/]\d{1,2}[-/]\d{1,2})[ \t]+(?P<time>\d{1,2}:\d{1,2})(?P<sec>:\d{1,2})?$", re.M
)
# Blanks at line ends carry nothing (CRLF files, copy-paste padding).
LINE_END_BLANKS = " \t\r\u3000\xa0"
TRAILING_BLANKS_RE = re.compile(f"[{LINE_END_BLANKS}]+$", re.M)
TRANSFER_RE = re.compile(r"(?P<src>\S+)[ \t]*-->[ \t]*(?P<dst>\S+)")
RECALL_SUFFIX = "撤回了一条消息"
RECALL_LINE_RE = re.compile(rf"^[ \t]*(?P<name>\S+?)[ \t]*{RECALL_SUFFIX}$", re.M)
# An account name: Taobao nicks and sub-accounts never contain spaces or
# sentence punctuation; this keeps text lines such as "付款时间：2026-3-5 10:00:00"
# or "好的，2026-3-5 10:00:00 发货" from being read as headers.
ACCOUNT_RE = re.compile(r"[^\s，。！？；、“”,?!/：]{1,80}")
STATUS_LINES = frozenset({"已读", "未读", "发送中"})
# Read-status lines and service notices (formats.md) carry no message: whole
# lines, newline included, are dropped from the text.
DROPPED_LINE_RE = re.compile(
    r"^[ \t]*(?:已读|未读|发送中|由 [^\n]+ 转交给[^\n]*|原因[：:]【[^】\n]*】[^\n]*|当前用户来自[^\n]*)"
    r"(?:\n|\Z)",
    re.M,
)
SITE_PREFIX = "cntaobao"  # wangwang's site prefix in front of nicks

# Block layout (lists, not objects: a million of them must stay cheap):
# [kind, line, name, ts, text, start, ts_raw]; kind is one of the four below;
# a transfer's name is (source, target); ts is canonical or None when the
# header's time is not a real time; start is the block's offset in the text.
MSG, TRANSFER, RECALL, ORPHAN = "msg", "transfer", "recall", "orphan"


def _account(name: str) -> str | None:
    """Clean account name, or None when the text cannot be an account."""
    if not ACCOUNT_RE.fullmatch(name):
        return None
    if name.startswith(SITE_PREFIX) and len(name) > len(SITE_PREFIX):
        name = name[len(SITE_PREFIX) :]
    if ":" in name:
        shop, _, agent = name.partition(":")
        if not shop or not agent or ":" in agent:
            return None  # "付款时间:" is a label in text, not a sub-account
    return name


def _parse_name(name: str) -> tuple | None:
    """(kind, account or (source, target)) of a header's name, None if it is no account."""
    name = name.strip()
    if "-->" in name:
        m = TRANSFER_RE.fullmatch(name)
        if m is None:
            return None
        src, dst = _account(m["src"]), _account(m["dst"])
        return None if src is None or dst is None else (TRANSFER, (src, dst))
    if name in STATUS_LINES:
        return None
    account = _account(name)
    return None if account is None else (MSG, account)


def scan(text: str) -> list[list]:
    """Cut the text (after strip_line_ends) into blocks with their texts and lines.

    One loop over the header matches; the text between two headers is handed
    to the block before it in one piece.
    """
    blocks: list[list] = []
    names: dict[str, tuple | None] = {}  # a file repeats two or three names
    current = None  # block receiving the text; None before the first header
    position, line = 0, 1  # end of the last header, and its line number
    matches = list(TS_AT_LINE_END_RE.finditer(text))
    short_names = _short_time_senders(text, matches, names)
    for m in matches:
        start, name, two_lines = _sender(text, m.start())
        if start < position:
            continue
        if name in names:
            parsed = names[name]
        else:
            parsed = names[name] = _parse_name(name)
        if parsed is None or (m.start("sec") < 0 and name not in short_names):
            continue
        chunk = text[position:start]
        if current is None or RECALL_SUFFIX in chunk:
            _add_text(blocks, current, text, position, start, line)
        elif chunk:
            current[4] = DROPPED_LINE_RE.sub("", chunk).strip("\n")
        line += chunk.count("\n")
        date, time = m.group("date", "time")
        ts = ts_from_date_time(date, time + m["sec"]) if m.start("sec") >= 0 else None
        time += m["sec"] or ""
        current = [parsed[0], line, parsed[1], ts, "", start, "" if ts else f"{date} {time}"]
        blocks.append(current)
        line += two_lines
        position = m.end()
    _add_text(blocks, current, text, position, len(text), line)
    return blocks


def _short_time_senders(text: str, matches: list[re.Match], names: dict) -> set[str]:
    """Sender texts of times without seconds whose account also writes headers with seconds."""
    if all(m.start("sec") >= 0 for m in matches):
        return set()

    def sender(m: re.Match) -> tuple[str, str | None]:
        name = _sender(text, m.start())[1]
        if name not in names:
            names[name] = _parse_name(name)
        return name, names[name] and names[name][1]

    with_seconds = {account for m in matches if m.start("sec") >= 0 for _, account in [sender(m)]}
    return {
        name
        for m in matches
        if m.start("sec") < 0
        for name, account in [sender(m)]
        if account is not None and account in with_seconds
    }


def strip_line_ends(text: str) -> str:
    """Remove blanks at line ends; the str checks skip the slower regex in the usual case."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text[-1:] in tuple(LINE_END_BLANKS) or any(c + "\n" in text for c in LINE_END_BLANKS):
        text = TRAILING_BLANKS_RE.sub("", text)
    return text


def _sender(text: str, ts_start: int) -> tuple[int, str, bool]:
    """(line start, sender text, on the previous line?) of the time at ts_start."""
    start = text.rfind("\n", 0, ts_start) + 1
    name = text[start:ts_start]
    if name and not name.isspace():
        return start, name, False
    if start == 0:
        return 0, "", False
    start = text.rfind("\n", 0, start - 1) + 1  # time alone on its line: sender above
    return start, text[start:ts_start].rstrip(), True


def has_header(text: str) -> bool:
    """Is there a message header in text? (stops at the first one: used for detection)"""
    return any(
        m.start("sec") >= 0 and _parse_name(_sender(text, m.start())[1]) is not None
        for m in TS_AT_LINE_END_RE.finditer(text)
    )


def _add_text(blocks: list[list], block: list | None, text: str, a: int, b: int, line: int) -> None:
    """Give text[a:b] (starting on `line`) to block; recall lines in it start new blocks."""
    chunk = text[a:b]
    if RECALL_SUFFIX in chunk:
        done = 0
        for m in RECALL_LINE_RE.finditer(chunk):
            name = _account(m["name"])
            if name is None:
                continue
            _set_text(blocks, block, text, a + done, a + m.start(), line + chunk.count("\n", 0, done))
            block = [RECALL, line + chunk.count("\n", 0, m.start()), name, None, m.group(0).strip(), a + m.start(), ""]
            blocks.append(block)
            done = m.end()
        a += done
        line += chunk.count("\n", 0, done)
    _set_text(blocks, block, text, a, b, line)


def _set_text(blocks: list[list], block: list | None, text: str, a: int, b: int, line: int) -> None:
    cleaned = DROPPED_LINE_RE.sub("", text[a:b]).strip("\n")
    if block is not None:
        if cleaned:
            block[4] = f"{block[4]}\n{cleaned}" if block[4] else cleaned
        return
    if cleaned.strip():  # text before the first header: a record that will be rejected
        first = next(
            (
                offset
                for offset, raw_line in _lines(text, a, b)
                if raw_line.strip() and not DROPPED_LINE_RE.fullmatch(raw_line)
            ),
            a,
        )
        blocks.append([ORPHAN, line + text.count("\n", a, first), None, None, cleaned, first, ""])


def _lines(text: str, a: int, b: int):
    """(offset, line) of text[a:b]."""
    offset = a
    for raw_line in text[a:b].split("\n"):
        yield offset, raw_line
        offset += len(raw_line) + 1


class _Parties:
    """Who is the shop side, who is the buyer, and each account's shop."""

    def __init__(self, blocks: list[list], path: Path, shop: str | None, agents: Mapping[str, str]) -> None:
        self.path, self.shop, self.agents = path, shop, agents
        senders: dict[str, None] = {}  # ordered set
        self.transfer_accounts: set[str] = set()
        for block in blocks:
            if block[0] == MSG:
                senders.setdefault(block[2])
            elif block[0] == TRANSFER:
                self.transfer_accounts.update(block[2])
        # A name equal to the shop part of a sub-account is that shop's main account.
        self.shop_names = {s.partition(":")[0] for s in (*senders, *self.transfer_accounts) if ":" in s}
        self.side = {name: self._shop_side(name) for name in senders}
        self.first_account: str | None = None  # the file's shop account
        for block in blocks:
            if block[0] == TRANSFER or (block[0] == MSG and self.side[block[2]]):
                self.first_account = block[2] if block[0] == MSG else block[2][0]
                break
        buyers = [name for name, shop_side in self.side.items() if not shop_side]
        if len(buyers) > 1:
            raise file_error(
                path,
                (
                    f"cannot tell the buyer: {', '.join(buyers[:4])} are neither sub-accounts "
                    "(店铺:客服) nor accounts of the agents table; add the shop's main account "
                    "to the agents table (or import with shop=<its name>)"
                ),
            )
        self.buyer = buyers[0] if buyers else None
        if self.first_account is None and not shop:
            raise file_error(
                path,
                (
                    "the shop is unknown: no shop account (店铺:客服 sub-account or main account of "
                    "the agents table) wrote in this file and no shop was given"
                ),
            )
        self._shops: dict[str, str] = {}

    def _shop_side(self, name: str) -> bool:
        return (
            ":" in name
            or name in self.agents
            or name in self.shop_names
            or name in self.transfer_accounts
            or name == self.shop
        )

    def is_shop_side(self, name: str) -> bool:
        side = self.side.get(name)
        return self._shop_side(name) if side is None else side

    def shop_of(self, account: str) -> str:
        shop = self._shops.get(account)
        if shop is None:
            if ":" in account:
                shop = account.partition(":")[0]
            elif account in self.agents:
                shop = self.agents[account]
            elif account in self.shop_names:
                shop = account
            else:
                shop = self.shop
            if not shop:
                raise file_error(
                    self.path,
                    (
                        f"the shop of account {account} is unknown: it is not a sub-account "
                        "店铺:客服, not in the agents table, and no shop was given"
                    ),
                )
            self._shops[account] = shop
        return shop


def resolve(blocks: list[list], text: str, path: Path, shop: str | None, agents: Mapping[str, str]):
    """Blocks -> (message rows, event rows, rejects)."""
    parties = _Parties(blocks, path, shop, agents)
    buyer = parties.buyer
    side = parties.side
    holder = parties.first_account  # account the buyer is currently talking to
    messages: list[tuple] = []
    events: list[tuple] = []
    rejects: list[Reject] = []
    last_ts: str | None = None
    waiting_recalls: list[int] = []  # indexes of recalls seen before any timed message

    def reject(index: int, reason: str) -> None:
        end = blocks[index + 1][5] if index + 1 < len(blocks) else len(text)
        raw = text[blocks[index][5] : min(end, blocks[index][5] + 1000)].rstrip("\n")
        rejects.append(Reject(blocks[index][1], reason, raw))

    for index, block in enumerate(blocks):
        kind, line_no, name, ts = block[0], block[1], block[2], block[3]
        if kind == MSG:
            if side[name]:
                agent = holder = name
                sender = "agent"
            else:
                agent, sender = holder, "buyer"
            body = block[4]
        elif kind == TRANSFER:
            agent = holder = name[1]
            sender = "transfer"
            body = f"{name[0]} --> {name[1]}"
            if block[4]:
                body = f"{body}\n{block[4]}"
        elif kind == RECALL:
            agent = name if parties.is_shop_side(name) else holder
            block[2] = agent
            if buyer is None or agent is None:
                reject(index, _missing_party(buyer, agent))
            elif last_ts is None:
                waiting_recalls.append(index)
            else:
                events.append((last_ts, parties.shop_of(agent), buyer, agent, "recall", block[4], line_no))
            continue
        else:
            reject(index, "text before the first message header (no sender and time)")
            continue
        if ts is None:
            reject(index, _time_problem(block[6]))
        elif buyer is None or agent is None:
            reject(index, _missing_party(buyer, agent))
        else:
            messages.append((ts, parties.shop_of(agent), buyer, agent, sender, body, line_no))
            last_ts = ts
            for waiting in waiting_recalls:  # best known time: the first message after it
                recall = blocks[waiting]
                events.append((ts, parties.shop_of(recall[2]), buyer, recall[2], "recall", recall[4], recall[1]))
            waiting_recalls.clear()
    for waiting in waiting_recalls:
        reject(waiting, "recall with no time: the file has no timed message")
    return messages, events, rejects


def _time_problem(raw: str) -> str:
    if raw.count(":") == 1:
        return (
            f"message time '{raw}' has no seconds (the header was edited or re-formatted): re-export the chat from 千牛"
        )
    return f"message time {ts_problem(raw)}"


def _missing_party(buyer: str | None, agent: str | None) -> str:
    if buyer is None:
        return "no buyer in this file: only shop accounts wrote, so the buyer is unknown"
    return "no shop account in this file: cannot tell which account the buyer wrote to"


def parse_text(text: str, path: Path, shop: str | None, agents: Mapping[str, str]):
    """Decoded file text -> (tables, rejects, read)."""
    text = strip_line_ends(text)
    blocks = scan(text)
    if not any(b[0] == MSG or b[0] == TRANSFER for b in blocks):
        raise file_error(path, "no chat message header (sender followed by a time) found")
    messages, events, rejects = resolve(blocks, text, path, shop, agents)
    tables = {
        "messages": make_table(MESSAGE_COLUMNS, messages),
        "chat_events": make_table(EVENT_COLUMNS, events),
    }
    # Every block is a record: one row or one reject (orphan text included).
    return tables, rejects, len(blocks)
