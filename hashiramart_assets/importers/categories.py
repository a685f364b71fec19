"""A department > category for products that come without one, from keywords in their description.

Online Retail files have no category; a small, documented keyword rule gives the marts and the
forecaster a usable hierarchy. Rules are regexes over the upper-cased name, tried in order; the first
match wins, anything else is Other > Other. Seasonal comes first on purpose: a "CHRISTMAS LIGHTS"
item sells like Christmas stock, not like a lamp. Words are matched whole where a substring would
mislead ("DESIGN" is not a SIGN, "KNITTING" is not a TIN, "STRING" is not a RING).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RULES: list[tuple[str, str, str]] = [  # (regex on the upper-cased name, department, category)
    (r"CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|SNOWFLAKE", "Seasonal", "Christmas"),
    (r"EASTER|HALLOWEEN|VALENTINE", "Seasonal", "Holidays"),
    (r"\bBAGS?\b|\bTOTE\b|SHOPPER|PURSE", "Bags", "Bags"),
    (r"CANDLE|T-LIGHT|TLIGHT|LANTERN|\bLIGHTS?\b|\bLAMP", "Home", "Lighting"),
    (r"\bCARDS?\b|\bWRAP|GIFT TAG|ENVELOPE|STICKER", "Stationery", "Cards & Wrap"),
    (r"NOTEBOOK|PENCIL|\bPENS?\b|ERASER|JOURNAL|DIARY|WRITING", "Stationery", "Writing"),
    (r"\bMUGS?\b|\bCUPS?\b|\bPLATES?\b|\bBOWLS?\b|TEAPOT|\bJUG\b|SPOON|CAKE|BAKING|LUNCH BOX|\bTINS?\b|TEA SET",
     "Kitchen", "Tableware"),
    (r"CUSHION|BLANKET|\bTHROW\b|DOORMAT|CURTAIN|HOT WATER BOTTLE|HOTTIE", "Home", "Textiles"),
    (r"FRAME|CLOCK|MIRROR|\bSIGNS?\b|PLAQUE|\bHOOKS?\b|HANGER|HANGING|ORNAMENT", "Home", "Decor"),
    (r"NECKLACE|BRACELET|EARRING|\bRINGS?\b|JEWEL", "Accessories", "Jewellery"),
    (r"\bTOYS?\b|\bGAMES?\b|PUZZLE|\bDOLL|SPACEBOY|SKITTLES|DOMINO|PLAYHOUSE", "Toys", "Toys & Games"),
    (r"GARDEN|\bPLANT|FLOWER|WATERING", "Garden", "Garden"),
]


def categorise(names: pd.Series) -> pd.DataFrame:
    """department and category per name (same index), by the first RULES match."""
    text = names.fillna("").astype(str).str.upper()
    department = np.full(len(text), "Other", dtype=object)
    category = np.full(len(text), "Other", dtype=object)
    unset = np.ones(len(text), dtype=bool)
    for pattern, dept, cat in RULES:
        hit = unset & text.str.contains(pattern, regex=True).to_numpy(dtype=bool)
        department[hit], category[hit] = dept, cat
        unset &= ~hit
    return pd.DataFrame({"department": department, "category": category}, index=names.index)
