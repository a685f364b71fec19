"""Run a Pandera schema and turn its verdict into what the raw layer and the asset checks need.

Why not ``schema.validate`` alone: we need the failing *rows* (to quarantine them with a reason and
count them) and a short, readable failure summary (for the check's metadata), not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa

SAMPLE_ROWS = 5


@dataclass
class Verdict:
    """The outcome of one schema over one frame."""

    name: str
    family: str  # "rules", "keys" or "references": which asset check this verdict feeds
    rows: int
    failing_index: pd.Index = field(default_factory=lambda: pd.Index([]))
    failures_by_check: dict[str, int] = field(default_factory=dict)
    table_errors: list[str] = field(default_factory=list)  # failures not tied to a row
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    row_reasons: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))

    @property
    def passed(self) -> bool:
        return not self.table_errors and len(self.failing_index) == 0

    @property
    def failing_rows(self) -> int:
        return len(self.failing_index)

    def message(self) -> str:
        if self.passed:
            return f"{self.name}: {self.rows} rows passed"
        parts = list(self.table_errors)
        parts += [f"{check}: {count} rows" for check, count in sorted(self.failures_by_check.items())]
        return f"{self.name}: {self.failing_rows} of {self.rows} rows failed ({'; '.join(parts)})"


def run_schema(schema: pa.DataFrameSchema, df: pd.DataFrame, family: str) -> Verdict:
    verdict = Verdict(name=schema.name or family, family=family, rows=len(df))
    try:
        schema.validate(df, lazy=True)
        return verdict
    except pa_errors.SchemaErrors as errors:
        cases = errors.failure_cases
    row_cases = cases[cases["index"].notna()]
    table_cases = cases[cases["index"].isna()]
    for _, case in table_cases.iterrows():
        where = case["column"] if pd.notna(case["column"]) else "table"
        verdict.table_errors.append(f"{where}: {case['check']} (found {case['failure_case']})")
    if len(row_cases):
        labels = row_cases["check"].astype(str)
        columns = row_cases["column"].fillna("").astype(str)
        keyed = (columns.where(columns == "", columns + ".") + labels).to_numpy()
        verdict.failures_by_check = pd.Series(keyed).value_counts().astype(int).to_dict()
        index = pd.Index(row_cases["index"].unique())
        verdict.failing_index = index.intersection(df.index)
        verdict.sample = df.loc[verdict.failing_index[:SAMPLE_ROWS]]
        by_row = pd.Series(keyed, index=row_cases["index"].to_numpy())
        by_row = by_row[by_row.index.isin(df.index)]
        verdict.row_reasons = (
            by_row.groupby(level=0).agg(lambda s: f"{family}: " + ", ".join(sorted(set(s)))).astype("string")
        )
    return verdict


def reasons_by_row(verdicts: list[Verdict]) -> pd.Series:
    """For every failing row, the rule families it broke ("rules; keys"), indexed like the input."""
    pieces = [v.row_reasons for v in verdicts if v.failing_rows]
    if not pieces:
        return pd.Series(dtype="string")
    combined = pd.concat(pieces)
    return combined.groupby(level=0).agg("; ".join).astype("string")


def sample_markdown(df: pd.DataFrame, limit: int = SAMPLE_ROWS) -> str:
    if df.empty:
        return "(no rows)"
    return df.head(limit).astype(str).to_markdown(index=False)
