"""What both models' hyperparameter records share: defined once, validated, frozen, strict about keys.

``ForecasterParams`` and ``RecommenderParams`` are pydantic models (not dataclasses) so that the Dagster
config of their assets can *be* them: ``ForecasterConfig(ForecasterParams, dg.Config)`` in assets/models.py
inherits every field, default and range check and adds only the asset's own settings (input grains, check
ranges). Nothing here imports Dagster, so the ml/ and serving code (which loads saved models) does not either.
Field types are those Dagster config accepts (lists, not tuples; ``Literal`` choices become enums).

Unknown keys are rejected the same way everywhere (constructor, ``from_dict``, a Dagster run config: its
schema is closed because ``extra="forbid"``): a typo must never fall back to a default. Saved params of an
older version go through ``from_dict``, which maps them explicitly first (see ``LEGACY_*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class ModelParams(BaseModel):
    """Base of the models' parameter records; subclasses declare fields with their defaults and ranges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # How ``from_dict`` reads params saved by an older version (a champion's params.json / MLflow tag):
    # keys since renamed (old -> new), keys since removed (dropped), and the values that keys added since
    # had before they existed (applied when missing, so an old model keeps what it was trained with).
    LEGACY_RENAMED: ClassVar[Mapping[str, str]] = {}
    LEGACY_REMOVED: ClassVar[frozenset[str]] = frozenset()
    LEGACY_VALUES: ClassVar[Mapping[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, values: Any) -> Any:
        if isinstance(values, Mapping):
            unknown = sorted(set(values) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"unknown {cls.__name__} parameter(s) {unknown}; known: {sorted(cls.model_fields)}")
        return values

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able field -> value mapping (params.json, ``mlflow.log_params``); ``from_dict`` reads it."""
        return self.model_dump()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """Inverse of ``to_dict``, also for params saved by older versions (``LEGACY_*``) and MLflow's string
        values (converted to the field types); any other unknown key raises a ValueError naming it."""
        current = {cls.LEGACY_RENAMED.get(key, key): value for key, value in values.items()
                   if key not in cls.LEGACY_REMOVED}
        return cls.model_validate({**cls.LEGACY_VALUES, **current})

    @classmethod
    def of(cls, config: BaseModel) -> Self:
        """This class's fields of ``config`` (an asset config that adds its own settings to the params)."""
        return cls.model_validate(config.model_dump(include=set(cls.model_fields)))

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, validated like a new record."""
        return self.model_validate({**self.model_dump(), **changes})
