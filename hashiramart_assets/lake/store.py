"""Reading and writing Parquet on the lake through pyarrow's filesystems.

Why pyarrow.fs: the same calls work on a local folder (embedded default), ``hdfs://`` (production,
via libhdfs) and ``s3://``, so the raw layer does not care where the lake is.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


@dataclass(frozen=True)
class WrittenFile:
    """A Parquet file written to the lake: where, how many rows, and a content hash (data version)."""

    uri: str
    rows: int
    content_hash: str


def _fs_and_path(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    return pafs.FileSystem.from_uri(uri)


def frame_hash(df: pd.DataFrame) -> str:
    """A stable hash of a frame's content (values and column names), independent of file encoding."""
    digest = hashlib.sha256()
    digest.update("|".join(map(str, df.columns)).encode())
    if len(df):
        digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def write_parquet(df: pd.DataFrame, uri: str) -> WrittenFile:
    """Write atomically (temp file then move) so a reader never sees half a partition."""
    fs, path = _fs_and_path(uri)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    buffer = io.BytesIO()
    # Microsecond timestamps: Spark cannot read Parquet nanosecond timestamps.
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, buffer, coerce_timestamps="us", allow_truncated_timestamps=True)
    tmp = f"{path}.tmp"
    with fs.open_output_stream(tmp) as out:
        out.write(buffer.getvalue())
    fs.move(tmp, path)
    return WrittenFile(uri=uri, rows=len(df), content_hash=frame_hash(df))


def read_parquet(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    fs, path = _fs_and_path(uri)
    return pq.read_table(path, filesystem=fs, columns=columns).to_pandas()


def exists(uri: str) -> bool:
    fs, path = _fs_and_path(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def row_count(uri: str) -> int:
    """Rows in a Parquet file from its footer, without reading the data."""
    fs, path = _fs_and_path(uri)
    with fs.open_input_file(path) as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def delete(uri: str) -> None:
    fs, path = _fs_and_path(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        fs.delete_file(path)
    elif info.type == pafs.FileType.Directory:
        fs.delete_dir(path)


def list_partition_days(table_uri: str) -> list[str]:
    """Days present as ``date=YYYY-MM-DD`` folders under a table, sorted."""
    fs, path = _fs_and_path(table_uri)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    names = [i.base_name for i in infos if i.type == pafs.FileType.Directory]
    return sorted(n.removeprefix("date=") for n in names if n.startswith("date="))


def modified_times(uris: list[str]) -> dict[str, float]:
    """Modification time (epoch seconds) of each file that exists, in one listing call per filesystem."""
    if not uris:
        return {}
    fs, _ = _fs_and_path(uris[0])
    infos = fs.get_file_info([_fs_and_path(u)[1] for u in uris])
    return {u: i.mtime.timestamp() for u, i in zip(uris, infos, strict=True)
            if i.type == pafs.FileType.File and i.mtime is not None}


def write_text(text: str, uri: str) -> str:
    """Write a small text file (a report) to the lake, atomically like the Parquet writes."""
    fs, path = _fs_and_path(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = f"{path}.tmp"
    with fs.open_output_stream(tmp) as out:
        out.write(text.encode())
    fs.move(tmp, path)
    return uri


def read_texts(dir_uri: str) -> list[str]:
    """The contents of every file directly in a folder (small status files), or [] if there is none."""
    fs, path = _fs_and_path(dir_uri)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    texts = []
    for info in sorted(infos, key=lambda i: i.base_name):
        if info.type == pafs.FileType.File and not info.base_name.endswith(".tmp"):
            with fs.open_input_stream(info.path) as handle:
                texts.append(handle.read().decode())
    return texts
