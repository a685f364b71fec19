"""Reading real-world exports: unknown encodings, stray header whitespace/BOMs, CSV or Excel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def detect_encoding(path: Path) -> str:
    """The first encoding that decodes the whole file (latin-1 always does, as a last resort)."""
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def normalise_header(name: str) -> str:
    """'Customer ID', 'CustomerID', ' customer_id ' all become 'customerid'."""
    return "".join(ch for ch in name.replace("\ufeff", "").lower() if ch.isalnum())


def read_table_as_text(path: Path) -> tuple[pd.DataFrame, str]:
    """Every cell as a string (nothing coerced, nothing lost); returns the frame and the encoding used."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        except ImportError as exc:
            raise ValueError(f"{path}: reading Excel needs openpyxl (pip install openpyxl) or a CSV export") from exc
        return frame, "xlsx"
    encoding = detect_encoding(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=False)
    return frame, encoding


def map_columns(frame: pd.DataFrame, aliases: dict[str, tuple[str, ...]], source: Path) -> pd.DataFrame:
    """Rename the frame's columns to canonical names via normalised aliases; fail naming what is missing."""
    found = {normalise_header(c): c for c in frame.columns}
    rename, missing = {}, []
    for canonical, names in aliases.items():
        match = next((found[n] for n in names if n in found), None)
        if match is None:
            missing.append(canonical)
        else:
            rename[match] = canonical
    if missing:
        raise ValueError(
            f"{source}: missing required column(s) {missing}; found columns {list(frame.columns)}"
        )
    return frame.rename(columns=rename)[list(aliases)]
