"""Reading real-world exports: unknown encodings, compression, delimiters, stray header whitespace/BOMs,
CSV or Excel.

Every cell is read as text (nothing coerced, nothing lost) so the importer can quarantine a row with
exactly what the file said. Cells are Arrow-backed strings: a 1M-row export costs ~150 MB instead of
~550 MB as Python objects, and the vectorised string operations run in Arrow rather than in Python.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path

import numpy as np
import pandas as pd

# UCI exports are usually ISO-8859-1/cp1252, newer ones UTF-8 (often with a BOM). latin-1 decodes any
# byte sequence, so it is the last resort that always succeeds.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
TEXT = "string[pyarrow]"
CHUNK_BYTES = 1 << 20
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
# Compressed CSVs are recognised by their first bytes, not their name: (magic, opener, pandas' name).
COMPRESSIONS: tuple[tuple[bytes, Callable[[Path], BufferedIOBase], str], ...] = (
    (b"\x1f\x8b", gzip.open, "gzip"),
    (b"BZh", bz2.open, "bz2"),
    (b"\xfd7zXZ\x00", lzma.open, "xz"),
)
# The delimiter is the candidate found most often in the header line (ties: the earlier one).
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class TextTable:
    """A file's cells as text, and where each row came from.

    ``sheets`` is empty for a CSV; for a workbook it lists (sheet name, data rows) in the order the sheets
    are stacked in ``frame``, so a row's sheet and its data row number within that sheet can be told.
    """

    frame: pd.DataFrame
    encoding: str  # the text encoding the file decoded with ("xlsx" for workbooks)
    delimiter: str = ""  # the CSV delimiter ("" for workbooks)
    compression: str = ""  # "gzip", "bz2", "xz" or "" (plain)
    sheets: tuple[tuple[str, int], ...] = ()

    def sheet_codes(self) -> np.ndarray:
        """Per row, the index of its sheet in ``sheets`` (all 0 for a CSV)."""
        if not self.sheets:
            return np.zeros(len(self.frame), dtype=np.int64)
        return np.repeat(np.arange(len(self.sheets)), [rows for _, rows in self.sheets])

    def source_rows(self) -> np.ndarray:
        """Per row, its 1-based data row number in its file or sheet (header excluded)."""
        if not self.sheets:
            return np.arange(1, len(self.frame) + 1, dtype=np.int64)
        return np.concatenate([np.arange(1, rows + 1, dtype=np.int64) for _, rows in self.sheets])

    def source_names(self, path: Path) -> np.ndarray:
        """Per row, the file it came from: the path, or ``path#sheet`` for a workbook's sheet."""
        if not self.sheets:
            return np.full(len(self.frame), str(path), dtype=object)
        names = np.array([f"{path}#{name}" for name, _ in self.sheets], dtype=object)
        return names[self.sheet_codes()]


def compression_of(path: Path) -> str:
    """'gzip' / 'bz2' / 'xz' when the file starts with that format's magic bytes, else ''."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((name for magic, _, name in COMPRESSIONS if head.startswith(magic)), "")


def _open_bytes(path: Path, compression: str) -> BufferedIOBase:
    opener = next((open_ for _, open_, name in COMPRESSIONS if name == compression), None)
    return opener(path) if opener else path.open("rb")


def detect_encoding(path: Path, compression: str = "") -> str:
    """The first encoding that decodes the whole (decompressed) file, checked in chunks so memory stays flat."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _open_bytes(path, compression) as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def detect_delimiter(path: Path, encoding: str, compression: str = "") -> str:
    """The delimiter of a CSV: the candidate of DELIMITERS found most often in its header line."""
    with _open_bytes(path, compression) as handle:
        header = handle.readline().decode(encoding, errors="replace")
    counts = {sep: header.count(sep) for sep in DELIMITERS}
    return max(DELIMITERS, key=lambda sep: counts[sep])  # max keeps the first on ties: "," for one column


def normalise_header(name: object) -> str:
    """'Customer ID', 'CustomerID', ' customer_id ', '\\ufeffInvoice' -> 'customerid' / 'invoice'."""
    return "".join(ch for ch in str(name).replace("\ufeff", "").lower() if ch.isalnum())


def _read_workbook(path: Path) -> TextTable:
    """Every sheet with data, stacked in sheet order; the sheets must share one header (compared as
    normalise_header does) so no column is silently read from another column's cells."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    except ImportError as exc:
        raise ValueError(f"{path}: no Excel reader for this workbook ({exc}); or export a CSV") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable workbook ({exc})") from exc
    sheets = {name: frame for name, frame in sheets.items() if len(frame.columns)}  # skip blank sheets
    if not sheets:
        return TextTable(pd.DataFrame(), "xlsx")
    (first_name, first), *others = sheets.items()
    header = [normalise_header(c) for c in first.columns]
    for name, frame in others:
        if [normalise_header(c) for c in frame.columns] != header:
            raise ValueError(
                f"{path}: sheet {name!r} has columns {list(frame.columns)}, but sheet {first_name!r} has "
                f"{list(first.columns)}; every sheet must hold the same columns"
            )
        frame.columns = first.columns  # same names modulo case/spaces: stack them as one column
    frame = pd.concat(list(sheets.values()), ignore_index=True)
    return TextTable(frame.astype(TEXT), "xlsx", sheets=tuple((name, len(f)) for name, f in sheets.items()))


def read_table_as_text(path: Path, delimiter: str | None = None) -> TextTable:
    """Every cell as a string, with how the file was read.

    CSVs may be compressed (gzip, bz2, xz: recognised by content) and delimited by any of DELIMITERS
    (detected from the header unless ``delimiter`` is given). Blank cells (and the missing cells of a
    short row) stay "" rather than NaN, so nothing reads as the text "nan"; a row with *more* cells
    than the header makes the file unreadable. Excel workbooks have every sheet read and stacked in
    sheet order (Online Retail II ships as one sheet per year); TextTable says which row is in which sheet.
    """
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_workbook(path)
    try:
        compression = compression_of(path)
        encoding = detect_encoding(path, compression)
        sep = delimiter or detect_delimiter(path, encoding, compression)
        frame = pd.read_csv(path, dtype=TEXT, keep_default_na=False, encoding=encoding, sep=sep,
                            compression=compression or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, OSError) as exc:
        # Skipping a malformed line would break accepted + quarantined == input; refuse the file instead.
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    return TextTable(frame, encoding, sep, compression)


def match_headers(frame: pd.DataFrame, expected: dict[str, tuple[str, ...]], source: Path) -> dict[str, str]:
    """canonical name -> the file's header for it, matched case-, space- and underscore-insensitively.

    ``expected`` maps each canonical name to the header spellings the known layouts use; the error
    names the file, the missing columns in those spellings and the columns that were found.
    """
    found = {normalise_header(c): c for c in frame.columns}
    headers, missing = {}, []
    for canonical, spellings in expected.items():
        match = next((found[normalise_header(s)] for s in spellings if normalise_header(s) in found), None)
        if match is None:
            missing.append(" or ".join(repr(s) for s in spellings))
        else:
            headers[canonical] = match
    if missing:
        raise ValueError(
            f"{source}: missing required column(s) {', '.join(missing)}; found columns {list(frame.columns)}"
        )
    return headers


def map_columns(frame: pd.DataFrame, expected: dict[str, tuple[str, ...]], source: Path) -> pd.DataFrame:
    """A frame with the canonical column names (see ``match_headers``)."""
    headers = match_headers(frame, expected, source)
    return pd.DataFrame({canonical: frame[header] for canonical, header in headers.items()})
