"""Save a fitted hybrid to a plain directory and load it back (no pickles, so any version can read it).

Layout: ``params.json`` and ``meta.json``; ``customer_ids.npy`` and ``product_ids.json`` (the id maps);
``user_factors.npy`` / ``item_factors.npy`` (ALS); ``history.npz`` / ``purchase_days.npz`` (sparse
purchase histories); ``popularity.npy`` and ``repeat_rate.npy``; ``recent_popularity.npy`` when the model has it
(older saves do not: they load without it and score with ``popularity``). The ALS input matrix is not
needed for scoring and is not saved.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from hashiramart_assets.ml.recommender.data import TrainingData
from hashiramart_assets.ml.recommender.model import HybridRecommender
from hashiramart_assets.ml.recommender.params import RecommenderParams

FORMAT_VERSION = 1


def save_model(model: HybridRecommender, directory: str | Path) -> Path:
    """Write ``model`` into ``directory`` (created if needed); returns the directory."""
    data = model.fitted
    assert model.user_factors is not None and model.item_factors is not None
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "params.json").write_text(json.dumps(model.params.to_dict(), indent=2, sort_keys=True))
    meta = {"format_version": FORMAT_VERSION, "model": "hybrid", "as_of": data.as_of.isoformat(),
            "n_customers": len(data.customer_ids), "n_products": len(data.product_ids)}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    np.save(out / "customer_ids.npy", data.customer_ids.astype(np.int64))
    (out / "product_ids.json").write_text(json.dumps([str(p) for p in data.product_ids]))
    np.save(out / "user_factors.npy", model.user_factors)
    np.save(out / "item_factors.npy", model.item_factors)
    sp.save_npz(out / "history.npz", data.history.tocsr())
    sp.save_npz(out / "purchase_days.npz", data.purchase_days.tocsr())
    np.save(out / "popularity.npy", data.popularity)
    np.save(out / "repeat_rate.npy", data.repeat_rate)
    if data.recent_popularity is not None:
        np.save(out / "recent_popularity.npy", data.recent_popularity)
    return out


def load_model(directory: str | Path) -> HybridRecommender:
    """Inverse of ``save_model``: a hybrid that recommends exactly what the saved one did."""
    src = Path(directory)
    meta = json.loads((src / "meta.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported recommender format {meta.get('format_version')!r} in {src}")
    model = HybridRecommender(RecommenderParams.from_dict(json.loads((src / "params.json").read_text())))
    customer_ids = np.load(src / "customer_ids.npy", allow_pickle=False)
    product_ids = np.array(json.loads((src / "product_ids.json").read_text()), dtype=object)
    model.data = TrainingData(
        customer_ids=customer_ids,
        product_ids=product_ids,
        weights=sp.csr_matrix((len(customer_ids), len(product_ids)), dtype=np.float32),
        purchase_days=sp.load_npz(src / "purchase_days.npz").tocsr(),
        history=sp.load_npz(src / "history.npz").tocsr(),
        popularity=np.load(src / "popularity.npy", allow_pickle=False),
        repeat_rate=np.load(src / "repeat_rate.npy", allow_pickle=False),
        as_of=date.fromisoformat(meta["as_of"]),
        recent_popularity=(np.load(src / "recent_popularity.npy", allow_pickle=False)
                           if (src / "recent_popularity.npy").exists() else None),
    )
    model.user_factors = np.load(src / "user_factors.npy", allow_pickle=False)
    model.item_factors = np.load(src / "item_factors.npy", allow_pickle=False)
    return model
