"""The data lake as a Dagster resource: where landing files are and where the lake root is."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from hashiramart_assets.lake import paths


class LakeResource(dg.ConfigurableResource):
    """Lake root URI (folder, file://, hdfs://) and the local landing folder."""

    root: str
    landing_dir: str

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    def raw_table(self, table: str) -> str:
        return paths.raw_table(self.root, table)

    def feature_dir(self, name: str) -> str:
        return paths.feature_dir(self.root, name)
