"""Which stock codes are products, and which are postage, fees, adjustments or tests.

Rule (documented because real files are messy): a code is *not* a product when it is one of the known
service codes, starts with GIFT_ or TEST, or contains no digit at all (POST, DOT, PADS, AMAZONFEE,
BANK CHARGES ...) - except the DCGS... codes, which are real products without digits.
"""

from __future__ import annotations

import pandas as pd

SERVICE_CODES = frozenset(
    {"POST", "DOT", "M", "D", "C2", "C3", "S", "B", "CRUK", "PADS", "BANK CHARGES", "AMAZONFEE", "ADJUST",
     "ADJUST2", "SP1002", "TEST001", "TEST002"}
)
ADJUSTMENT_CODES = frozenset({"B", "ADJUST", "ADJUST2"})


def normalise(codes: pd.Series) -> pd.Series:
    return codes.astype("string").str.strip().str.upper()


def is_adjustment(codes: pd.Series) -> pd.Series:
    return normalise(codes).isin(ADJUSTMENT_CODES)


def is_product(codes: pd.Series) -> pd.Series:
    code = normalise(codes)
    service = code.isin(SERVICE_CODES) | code.str.startswith("GIFT_") | code.str.startswith("TEST")
    no_digit = ~code.str.contains(r"\d", regex=True) & ~code.str.startswith("DCGS")
    return ~(service | no_digit | (code == ""))
