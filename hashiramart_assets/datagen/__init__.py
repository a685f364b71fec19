"""Seeded, vectorised sample data for HashiraMart, written in the landing zone's layout."""

from hashiramart_assets.datagen.config import CORRUPTIONS, GeneratorConfig
from hashiramart_assets.datagen.generate import GenerationSummary, generate, taste_clusters

__all__ = ["CORRUPTIONS", "GenerationSummary", "GeneratorConfig", "generate", "taste_clusters"]
