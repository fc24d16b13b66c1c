"""Hypothesis profiles: `default` for `make test`, `thorough` for the nightly `make test-full`.

A test states how many examples it wants relative to hypothesis's usual 100 (`examples(40)`); the profile
scales that: a quarter by default (the suite stays within minutes on two cores), four times in the thorough
run. Examples that fail are kept in .hypothesis/ and replayed first by either profile.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = {"default": 25, "thorough": 400}  # max_examples of a test that asks for none

for name, max_examples in PROFILES.items():
    settings.register_profile(
        name, max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def load(name: str) -> None:
    settings.load_profile(name)


def examples(n: int) -> int:
    """`n` examples on hypothesis's usual scale, scaled by the active profile (never fewer than 4)."""
    return max(4, round(n * settings().max_examples / 100))
