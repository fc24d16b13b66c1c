"""The common base of kefu's domain errors: bad input or a request the data cannot answer.

Every such error says what is wrong (`problems`, or its message); the web app turns any of them into a 4xx
answer with that text in one exception handler (kefu.web.app), so an error that escapes a router is never a 500.
"""

from __future__ import annotations


class KefuError(ValueError):
    """A domain error; `status` is the HTTP status the web app answers with."""

    status: int = 422

    def detail(self) -> str | list[str]:
        problems = getattr(self, "problems", None)
        return list(problems) if problems else str(self)
