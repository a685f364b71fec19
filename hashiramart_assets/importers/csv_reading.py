"""Reading real-world exports: unknown encodings, stray header whitespace/BOMs, CSV or Excel.

Every cell is read as text (nothing coerced, nothing lost) so the importer can quarantine a row with
exactly what the file said. Cells are Arrow-backed strings: a 1M-row export costs ~150 MB instead of
~550 MB as Python objects, and the vectorised string operations run in Arrow rather than in Python.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd

# UCI exports are usually ISO-8859-1/cp1252, newer ones UTF-8 (often with a BOM). latin-1 decodes any
# byte sequence, so it is the last resort that always succeeds.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
TEXT = "string[pyarrow]"
CHUNK_BYTES = 1 << 20


def detect_encoding(path: Path) -> str:
    """The first encoding that decodes the whole file, checked in chunks so memory stays flat."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def normalise_header(name: object) -> str:
    """'Customer ID', 'CustomerID', ' customer_id ', '\\ufeffInvoice' -> 'customerid' / 'invoice'."""
    return "".join(ch for ch in str(name).replace("\ufeff", "").lower() if ch.isalnum())


def read_table_as_text(path: Path) -> tuple[pd.DataFrame, str]:
    """Every cell as a string; returns the frame and the encoding used ("xlsx" for workbooks).

    Blank cells (and the missing cells of a short row) stay "" rather than NaN, so nothing reads as
    the text "nan"; a row with *more* cells than the header makes the file unreadable. Excel
    workbooks have every sheet read and stacked in sheet order (Online Retail II ships as one sheet
    per year), so source_row then counts data rows across the sheets.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
        except ImportError as exc:
            raise ValueError(f"{path}: reading Excel needs openpyxl (pip install openpyxl); or export a CSV") from exc
        except ValueError as exc:
            raise ValueError(f"{path}: not a readable workbook ({exc})") from exc
        frame = pd.concat(list(sheets.values()), ignore_index=True) if sheets else pd.DataFrame()
        return frame.astype(TEXT), "xlsx"
    encoding = detect_encoding(path)
    try:
        frame = pd.read_csv(path, dtype=TEXT, keep_default_na=False, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # Skipping a malformed line would break accepted + quarantined == input; refuse the file instead.
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    return frame, encoding


def map_columns(frame: pd.DataFrame, expected: dict[str, tuple[str, ...]], source: Path) -> pd.DataFrame:
    """A frame with the canonical column names, matched case-, space- and underscore-insensitively.

    ``expected`` maps each canonical name to the header spellings the known layouts use; the error
    names the file, the missing columns in those spellings and the columns that were found.
    """
    found = {normalise_header(c): c for c in frame.columns}
    columns, missing = {}, []
    for canonical, spellings in expected.items():
        match = next((found[normalise_header(s)] for s in spellings if normalise_header(s) in found), None)
        if match is None:
            missing.append(" or ".join(repr(s) for s in spellings))
        else:
            columns[canonical] = frame[match]
    if missing:
        raise ValueError(
            f"{source}: missing required column(s) {', '.join(missing)}; found columns {list(frame.columns)}"
        )
    return pd.DataFrame(columns)
