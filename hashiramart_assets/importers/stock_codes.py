"""Which stock codes are products, and which are postage, fees, adjustments, samples or tests.

Rule (documented because real files are messy). After normalising (strip, upper-case) a code is
*not* a product when it
  - is a known service code: POST, DOT (postage), C2/C3 (carriage), D (discount), M (manual),
    S (samples), PADS, CRUK (charity commission), BANK CHARGES, AMAZONFEE, B/ADJUST/ADJUST2 (adjustments);
  - starts with GIFT_ (gift vouchers: money, not goods) or TEST (test lines); or
  - contains no digit at all - except the DCGS... codes (dotcom gift shop items such as DCGSSGIRL),
    which are real goods sold without a numeric code.
Everything else (85123A, 22423, 79323P, SP1002, DCGS0069 ...) is a product.
"""

from __future__ import annotations

import pandas as pd

SERVICE_CODES = frozenset(
    {"POST", "DOT", "C2", "C3", "D", "M", "S", "PADS", "CRUK", "BANK CHARGES", "AMAZONFEE", "B", "ADJUST", "ADJUST2"}
)
ADJUSTMENT_CODES = frozenset({"B", "ADJUST", "ADJUST2"})
SERVICE_PREFIXES = ("GIFT_", "TEST")
DIGITLESS_PRODUCT_PREFIXES = ("DCGS",)


def normalise(codes: pd.Series) -> pd.Series:
    """The product id of a stock code: "85123a " and "85123A" are the same product."""
    return codes.fillna("").astype("string[pyarrow]").str.strip().str.upper()


def is_adjustment(codes: pd.Series) -> pd.Series:
    return normalise(codes).isin(sorted(ADJUSTMENT_CODES))


def is_product(codes: pd.Series) -> pd.Series:
    code = normalise(codes)
    service = code.isin(sorted(SERVICE_CODES))
    for prefix in SERVICE_PREFIXES:
        service |= code.str.startswith(prefix)
    digitless_product = pd.Series(False, index=code.index)
    for prefix in DIGITLESS_PRODUCT_PREFIXES:
        digitless_product |= code.str.startswith(prefix)
    no_digit = ~code.str.contains(r"\d", regex=True) & ~digitless_product
    return (~(service | no_digit | (code == ""))).astype(bool)
