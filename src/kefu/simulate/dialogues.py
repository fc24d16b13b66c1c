"""Turn planned dialogues (sessions) into chat messages, fully vectorised.

A session is one buyer with the shop on one occasion: optionally a few rounds
with the bot (店小蜜), then a transfer to a human agent, then rounds with that
agent. A round is a burst of buyer messages followed by the replies. Every
message gets a *gap* (seconds since the previous message of its session);
a segmented cumulative sum of the gaps gives the timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import phrases as ph
from .roster import Roster

# sender codes: indices into SENDERS
BUYER, AGENT, BOT, TRANSFER = 0, 1, 2, 3
SENDERS = ("buyer", "agent", "bot", "transfer")

# slot kinds inside a round
_HELLO, _QUESTION, _BURST, _GREET_REPLY, _ANSWER, _ADDON, _BOT_REPLY, _TRANSFER, _GREET = range(9)

SESSION_COLUMNS = (
    "buyer",
    "kind",
    "agent",
    "t0",
    "bot_rounds",
    "transfer",
    "human_rounds",
    "unanswered",
    "hello",
    "closes",
    "busy",
)
"""A sessions frame has these columns:

buyer (int), kind (phrases.PRESALE/AFTERSALE/REFUND), agent (human account
index, -1 when the buyer only talks to the bot), t0 (first message), bot_rounds,
transfer (0 none, 1 after the bot replied, 2 while the buyer waits: "转人工"),
human_rounds, unanswered (the last question never gets a reply), hello (the
buyer opens with 在吗), closes (the last round is "好的,那我拍了"), busy (how
much slower than usual agents answer at that time).
"""


@dataclass
class Messages:
    """Messages as parallel arrays; text is an index into phrases.TEXTS."""

    ts: np.ndarray
    buyer: np.ndarray
    account: np.ndarray
    sender: np.ndarray
    text: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, idx: np.ndarray) -> Messages:
        return Messages(*(getattr(self, f)[idx] for f in _FIELDS))

    @staticmethod
    def concat(parts: list[Messages]) -> Messages:
        return Messages(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("ts", "buyer", "account", "sender", "text")


def _choose(rng: np.random.Generator, probs: list[float], size: int) -> np.ndarray:
    """Small categorical draw (0..len-1), faster than rng.choice for big sizes."""
    return np.searchsorted(np.cumsum(probs), rng.random(size) * sum(probs), side="right")


def _lognormal(rng: np.random.Generator, median, sigma: float, size: int, lo: float, hi: float):
    return np.clip(median * np.exp(sigma * rng.standard_normal(size)), lo, hi)


def _reply_delay(rng, roster: Roster, account: np.ndarray, busy: np.ndarray) -> np.ndarray:
    """Seconds a human agent takes to answer: mostly seconds, a heavy tail of minutes."""
    n = len(account)
    quick = _lognormal(rng, roster.median_reply_s[account] * busy, 0.6, n, 2, 600)
    slow = 60 + rng.exponential(150, n)
    return np.where(rng.random(n) < roster.slow_share[account] * busy, slow, quick)


def _rounds(s: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per round: who answers, how many buyer messages and replies."""
    bot_rounds = s["bot_rounds"].to_numpy().astype(np.int64)
    n_rounds = bot_rounds + s["human_rounds"].to_numpy()
    sess = np.repeat(np.arange(len(s)), n_rounds)
    pos = np.arange(len(sess)) - np.repeat(np.cumsum(n_rounds) - n_rounds, n_rounds)
    n = len(sess)

    kind = s["kind"].to_numpy()[sess]
    is_bot = pos < bot_rounds[sess]
    last_bot = is_bot & (pos == bot_rounds[sess] - 1)
    last = pos == n_rounds[sess] - 1
    to_human = last_bot & (s["agent"].to_numpy()[sess] >= 0)
    transfer = s["transfer"].to_numpy()[sess]
    hello = s["hello"].to_numpy()[sess] & (pos == 0)
    ask_human = to_human & (transfer == 2)

    # Bursts: most questions come alone, some as 2-4 messages before a reply.
    k = 1 + _choose(rng, [0.62, 0.22, 0.11, 0.05], n) + hello
    m = np.where(is_bot, 1, 1 + (rng.random(n) < 0.3))  # the answer, maybe an add-on
    m = np.where(hello & ~is_bot, np.maximum(m, 2), m)  # 亲,在的 + the answer
    # No reply: the buyer asked the bot for a human, or the agent never answered.
    m = np.where(ask_human | (~is_bot & last & s["unanswered"].to_numpy()[sess]), 0, m)
    greet = to_human & ((transfer == 2) | (rng.random(n) < 0.5))

    first_topic = np.array([ph.TOPICS[k][0] for k in sorted(ph.TOPICS)])[kind]
    n_topics = np.array([ph.TOPICS[k][1] for k in sorted(ph.TOPICS)])[kind]
    topic = first_topic + (rng.random(n) * n_topics).astype(np.int64)
    closing = last & ~is_bot & s["closes"].to_numpy()[sess]
    topic = np.where(closing, ph.CLOSING_TOPIC, topic)
    k = np.where(closing, 1 + hello, k)  # "好的,那我拍了" needs no nudging
    return pd.DataFrame(
        {
            "sess": sess,
            "kind": kind,
            "is_bot": is_bot,
            "hello": hello,
            "ask_human": ask_human,
            "k": k,
            "m": m,
            "transfer": np.where(to_human, transfer, 0),
            "greet": greet,
            "topic": topic,
        }
    )


def _slot_kinds(r: pd.DataFrame, msg_round: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The kind of each message slot from its position p inside its round."""
    k = r["k"].to_numpy()[msg_round]
    m = r["m"].to_numpy()[msg_round]
    h = r["hello"].to_numpy()[msg_round].astype(np.int64)
    is_bot = r["is_bot"].to_numpy()[msg_round]
    q = p - k  # position among the replies
    return np.select(
        [p < h, p == h, p < k, (q < m) & is_bot, (q < m) & (q < h), (q < m) & (q == h), q < m, q == m],
        [_HELLO, _QUESTION, _BURST, _BOT_REPLY, _GREET_REPLY, _ANSWER, _ADDON, _TRANSFER],
        _GREET,
    ).astype(np.int8)


def _texts(slot, r, msg_round, kind, rng) -> np.ndarray:
    """Phrase index of every message (0 = no text, for transfers)."""
    u = rng.random(len(slot))
    topic = r["topic"].to_numpy()[msg_round]
    ask_human = r["ask_human"].to_numpy()[msg_round]
    text = np.zeros(len(slot), dtype=np.int32)

    def fill(mask, choose):  # draw only for the rows that need it
        idx = np.flatnonzero(mask)
        text[idx] = choose(idx)

    fill(slot == _HELLO, lambda i: ph.pick(ph.HELLO, u[i]))
    fill((slot == _QUESTION) & ~ask_human, lambda i: ph.TOPIC_QUESTION[topic[i]])
    fill((slot == _QUESTION) & ask_human, lambda i: ph.pick(ph.ASK_HUMAN, u[i]))
    fill(
        slot == _BURST, lambda i: ph.rarely(ph.pick(ph.BURST, u[i]), u[i], ph.BUYER_COMPLAINT_RATE, ph.BUYER_COMPLAINTS)
    )
    fill((slot == _GREET_REPLY) | (slot == _GREET), lambda i: ph.pick(ph.GREET, u[i]))
    fill(slot == _ANSWER, lambda i: ph.answer(topic[i], u[i]))
    fill(
        slot == _ADDON,
        lambda i: ph.rarely(
            ph.pick_by_kind(ph.ADDON, kind[i], u[i]), u[i], ph.AGENT_VIOLATION_RATE, ph.AGENT_VIOLATIONS
        ),
    )
    fill(slot == _BOT_REPLY, lambda i: ph.pick_by_kind(ph.BOT, kind[i], u[i]))
    return text


def _gaps(slot, p, r, msg_round, sess, account, busy, roster, rng) -> np.ndarray:
    """Seconds since the previous message of the same session."""
    n = len(slot)
    transfer = r["transfer"].to_numpy()[msg_round]
    gap = np.zeros(n)
    think = p == 0  # a new round: the buyer read the reply and asks again
    gap[think] = _lognormal(rng, 40, 1.0, int(think.sum()), 3, 1800)
    burst = (slot <= _BURST) & (p > 0)
    gap[burst] = 2 + _lognormal(rng, 6, 0.7, int(burst.sum()), 0, 90)
    typing = (slot == _ADDON) | ((slot == _ANSWER) & (p > r["k"].to_numpy()[msg_round]))
    gap[typing] = 3 + _lognormal(rng, 8, 0.6, int(typing.sum()), 0, 60)
    bot = slot == _BOT_REPLY
    gap[bot] = rng.integers(1, 3, int(bot.sum()), endpoint=True)
    hand_over = slot == _TRANSFER
    gap[hand_over] = np.where(
        transfer[hand_over] == 2,
        rng.integers(1, 4, int(hand_over.sum()), endpoint=True),
        rng.integers(2, 10, int(hand_over.sum()), endpoint=True),
    )
    # A human reply to an open question takes the agent's response time; a
    # greeting after a transfer that came with the bot's answer is quicker.
    first_reply = (slot == _GREET_REPLY) | (slot == _ANSWER) & ~typing | (slot == _GREET) & (transfer == 2)
    gap[first_reply] = _reply_delay(rng, roster, account[first_reply], busy[sess[first_reply]])
    polite = (slot == _GREET) & (transfer != 2)
    gap[polite] = rng.integers(2, 15, int(polite.sum()), endpoint=True)
    return np.rint(gap).astype(np.int64)


def render(s: pd.DataFrame, roster: Roster, rng: np.random.Generator) -> tuple[Messages, np.ndarray]:
    """Messages of all sessions, and the time of each session's last message."""
    r = _rounds(s, rng)
    n_slots = (r["k"] + r["m"] + (r["transfer"] > 0) + r["greet"]).to_numpy().astype(np.int64)
    msg_round = np.repeat(np.arange(len(r)), n_slots)
    p = np.arange(len(msg_round)) - np.repeat(np.cumsum(n_slots) - n_slots, n_slots)
    sess = r["sess"].to_numpy()[msg_round]
    kind = r["kind"].to_numpy()[msg_round]

    slot = _slot_kinds(r, msg_round, p)
    in_bot_dialogue = r["is_bot"].to_numpy()[msg_round] & (slot != _TRANSFER) & (slot != _GREET)
    account = np.where(in_bot_dialogue, roster.bot, s["agent"].to_numpy()[sess]).astype(np.int32)
    sender = np.select([slot <= _BURST, slot == _BOT_REPLY, slot == _TRANSFER], [BUYER, BOT, TRANSFER], AGENT).astype(
        np.int8
    )
    text = _texts(slot, r, msg_round, kind, rng)

    gap = _gaps(slot, p, r, msg_round, sess, account, s["busy"].to_numpy(), roster, rng)
    counts = np.bincount(sess, minlength=len(s))
    first = np.cumsum(counts) - counts
    gap[first[counts > 0]] = 0
    elapsed = np.cumsum(gap)
    ts = s["t0"].to_numpy()[sess] + elapsed - elapsed[first[sess]]
    t_end = ts[first + counts - 1]
    messages = Messages(ts=ts, buyer=s["buyer"].to_numpy()[sess], account=account, sender=sender, text=text)
    return messages, t_end
