"""The common base of kefu's domain errors: bad input or a request the data cannot answer.

Every such error says what is wrong (`problems`, or its message). Each front end turns any of them into an
answer in one place: the web app into a 4xx with that text (kefu.web.app), so an error that escapes a router is
never a 500; the CLI into `error: …` lines and exit code 2 (kefu.cli.common.App). Every exception class of kefu
derives from KefuError (tests/test_one_declaration.py), but for the few that are internal signals.
"""

from __future__ import annotations


class KefuError(ValueError):
    """A domain error; `status` is the HTTP status the web app answers with."""

    status: int = 422

    def detail(self) -> str | list[str]:
        problems = getattr(self, "problems", None)
        return list(problems) if problems else str(self)


class NotFound(KefuError, KeyError):
    """What was asked for does not exist (an agent of the month, a metric); a KeyError too, for the callers that
    look things up."""

    status = 404

    def __str__(self) -> str:  # the message as written, not quoted as a KeyError's key is
        return Exception.__str__(self)
