"""互查 reports that name the colleague through a chat (docs/qc-review.md).

A shop that hides names from agents (kefu.users.hide_names) lists no colleagues in the report form, so an agent
points at a chat of their own instead: the buyer and the day, or the chat's link (/chats/<agent>/<day>/<buyer>).
The colleague is the other agent who wrote to that buyer that day (at the given time, when several did); the
answer is their account id, for the report only: nothing here is shown to the reporter.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote, urlsplit

import duckdb

from kefu.qc.ledger import ReportError
from kefu.workspace import scalar


def chat_of_link(link: str) -> tuple[str, dt.date, str]:
    """(agent, day, buyer) of a chat link as the chat pages write it (names quoted, so a "/" in them is %2F)."""
    parts = urlsplit(link.strip()).path.split("/")
    try:
        if len(parts) != 5 or parts[:2] != ["", "chats"]:
            raise ValueError
        return unquote(parts[2]), dt.date.fromisoformat(parts[3]), unquote(parts[4])
    except ValueError:
        raise ReportError(f"{link!r} is not the link of a chat (/chats/<agent>/<day>/<buyer>)") from None


def colleague_of_chat(
    con: duckdb.DuckDBPyConnection,
    *,
    shop: str,
    reporter: str,
    chat: str | None = None,
    buyer: str | None = None,
    day: dt.date | None = None,
    ts: dt.datetime | None = None,
) -> tuple[str, dt.date, str]:
    """(colleague, day, buyer) for a report the `reporter` files about a chat of theirs: by its link, or by the
    buyer and the day (`ts`: the time of the colleague's message, needed when several colleagues wrote that day)."""
    if chat:
        agent, day, buyer = chat_of_link(chat)
        if agent != reporter:
            raise ReportError("the link is not of a chat of yours: open the chat from your own chat list")
    if ts is not None:
        day = ts.date()
    if not (buyer and day):
        raise ReportError("name the chat: the buyer and the day, or the chat's link")
    window = [shop, buyer, day, day + dt.timedelta(days=1)]
    mine = scalar(
        con,
        "SELECT count(*) FROM messages WHERE shop = ? AND buyer = ? AND ts >= ? AND ts < ? AND agent = ?",
        window + [reporter],
    )
    if not mine:  # only chats the reporter can see: nothing is learnt about other buyers
        raise ReportError(f"you have no chat with {buyer} on {day}")
    at = " AND ts = ?" if ts is not None else ""
    found = [
        a
        for (a,) in con.execute(
            f"""SELECT DISTINCT agent FROM messages
            WHERE shop = ? AND buyer = ? AND ts >= ? AND ts < ? AND sender = 'agent' AND agent <> ?{at}
              AND agent NOT IN (SELECT agent FROM agents WHERE role = 'bot')
              AND agent NOT IN (SELECT agent FROM messages WHERE shop = ? AND sender = 'bot')
            ORDER BY agent""",
            window + [reporter] + ([ts] if ts is not None else []) + [shop],
        ).fetchall()
    ]
    if not found:
        when = f" at {ts:%H:%M:%S}" if ts is not None else ""
        raise ReportError(f"no colleague wrote to {buyer} on {day}{when}")
    if len(found) > 1:
        raise ReportError(
            f"{len(found)} colleagues wrote to {buyer} on {day}: give the time of the message with the error"
        )
    return found[0], day, buyer
