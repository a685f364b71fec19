"""A coarse sales region per country name, as the generator's customers have (Europe, North America ...).

Online Retail names countries in English ("United Kingdom", "EIRE", "RSA", "Channel Islands"); the
table covers every name in both UCI files. Unknown names land in "Other" rather than failing the
import, and "Unspecified" (the file's own word for unknown) becomes region "Unknown".
"""

from __future__ import annotations

import pandas as pd

REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "Europe": (
        "United Kingdom", "EIRE", "Ireland", "Channel Islands", "France", "Germany", "Netherlands", "Belgium",
        "Switzerland", "Spain", "Portugal", "Italy", "Austria", "Norway", "Sweden", "Denmark", "Finland", "Iceland",
        "Poland", "Lithuania", "Czech Republic", "Greece", "Cyprus", "Malta", "European Community",
    ),
    "North America": ("USA", "United States", "Canada", "Bermuda"),
    "Latin America": ("Brazil", "West Indies"),
    "Asia Pacific": ("Australia", "Japan", "Singapore", "Hong Kong", "Korea", "Thailand"),
    "Middle East & Africa": ("Israel", "Bahrain", "Lebanon", "United Arab Emirates", "Saudi Arabia", "RSA", "Nigeria"),
    "Unknown": ("Unspecified",),
}
REGION_OF: dict[str, str] = {
    country.upper(): region for region, countries in REGION_COUNTRIES.items() for country in countries
}


def region_of(countries: pd.Series) -> pd.Series:
    return countries.astype(str).str.strip().str.upper().map(REGION_OF).fillna("Other")
