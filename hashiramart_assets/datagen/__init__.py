"""Seeded, vectorised sample data for HashiraMart, written in the landing zone's layout.

Modules, one job each: ``config`` (what to generate), ``catalogue`` / ``taste`` / ``customers`` (the
fixed world), ``calendar`` (seasonality, promotions, prices), ``world`` (one day's market), ``orders``
and ``events`` (one day's rows), ``corrupt`` (bad input on purpose), ``generate`` (writing it all).
"""

from hashiramart_assets.datagen.config import CORRUPTIONS, GeneratorConfig
from hashiramart_assets.datagen.generate import GenerationSummary, generate, taste_clusters

__all__ = ["CORRUPTIONS", "GenerationSummary", "GeneratorConfig", "generate", "taste_clusters"]
