"""A department > category for products that come without one, from keywords in their description.

Online Retail files have no category; a small, documented keyword rule gives the marts and the
forecaster a usable hierarchy. First matching rule wins; anything else is Other > Other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RULES: list[tuple[str, str, str]] = [  # (regex on the upper-cased description, department, category)
    (r"CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER", "Seasonal", "Christmas"),
    (r"EASTER|HALLOWEEN|VALENTINE", "Seasonal", "Holidays"),
    (r"\bBAG\b|BAGS|TOTE|SHOPPER|PURSE", "Bags", "Bags"),
    (r"CANDLE|T-LIGHT|TLIGHT|LANTERN|LIGHT|LAMP", "Home", "Lighting"),
    (r"\bCARD\b|CARDS|WRAP|GIFT TAG|ENVELOPE|STICKER", "Stationery", "Cards & Wrap"),
    (r"NOTEBOOK|PENCIL|\bPEN\b|ERASER|RUBBER|JOURNAL|DIARY", "Stationery", "Writing"),
    (r"MUG|\bCUP\b|CUPS|PLATE|BOWL|TEAPOT|JUG|SPOON|CAKE|BAKING|LUNCH BOX|TIN|BOTTLE", "Kitchen", "Tableware"),
    (r"CUSHION|BLANKET|THROW|DOORMAT|CURTAIN", "Home", "Textiles"),
    (r"FRAME|CLOCK|MIRROR|SIGN|PLAQUE|HOOK|HANGER|HANGING", "Home", "Decor"),
    (r"NECKLACE|BRACELET|EARRING|RING|JEWEL", "Accessories", "Jewellery"),
    (r"TOY|GAME|PUZZLE|DOLL|SPACEBOY|SKITTLES|DOMINO", "Toys", "Toys & Games"),
    (r"GARDEN|PLANT|FLOWER|WATERING", "Garden", "Garden"),
]


def categorise(descriptions: pd.Series) -> pd.DataFrame:
    text = descriptions.fillna("").astype(str).str.upper()
    department = np.full(len(text), "Other", dtype=object)
    category = np.full(len(text), "Other", dtype=object)
    unset = np.ones(len(text), dtype=bool)
    for pattern, dept, cat in RULES:
        hit = unset & text.str.contains(pattern, regex=True).to_numpy()
        department[hit], category[hit] = dept, cat
        unset &= ~hit
    return pd.DataFrame({"department": department, "category": category}, index=descriptions.index)
