"""Performance pay (绩效 / 提成) from declarative schemes, with a full audit trail (docs/pay.md).

Layout: `scheme` (TOML → validated Scheme), `measures` (what a scheme may use),
`inputs` (imported attendance, test scores, prizes), `sources` (the workspace
→ MonthData edge), `components` and `payroll` (pure arithmetic), `explain`,
`compare`, `output` (records), `xlsx` and `slip` (exports), `api` (what the
CLI and the web app call).
"""

from kefu.pay.model import MonthData, Payroll, Slip
from kefu.pay.payroll import PayrollError, compute, raise_hints
from kefu.pay.scheme import Scheme, SchemeError, load_schemes, parse_scheme

__all__ = [
    "MonthData",
    "Payroll",
    "PayrollError",
    "Scheme",
    "SchemeError",
    "Slip",
    "compute",
    "load_schemes",
    "parse_scheme",
    "raise_hints",
]
