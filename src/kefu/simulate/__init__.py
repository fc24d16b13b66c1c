"""Shop simulator: realistic canonical data for demos, tests and benchmarks.

    from kefu.simulate import simulate
    simulate(Path("demo-data"), agents=25, days=30, seed=1)

See docs/simulate.md for what is simulated.
"""

from .shop import FORMATS, simulate

__all__ = ["FORMATS", "simulate"]
