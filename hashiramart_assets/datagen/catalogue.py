"""HashiraMart's product catalogue: a department > category tree of Japanese pop-culture goods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

# department -> [(category, typical price in EUR, consumable: re-bought often)]
TREE: dict[str, list[tuple[str, float, bool]]] = {
    "Manga": [("Shonen", 9.0, False), ("Shojo", 9.0, False), ("Seinen", 12.0, False), ("Art Books", 35.0, False)],
    "Figures": [("Scale Figures", 120.0, False), ("Nendoroid", 55.0, False), ("Gachapon", 6.0, True)],
    "Model Kits": [("Gunpla HG", 25.0, False), ("Gunpla MG", 60.0, False), ("Tools & Paints", 12.0, True)],
    "Snacks & Ramen": [("Instant Ramen", 3.5, True), ("Pocky & Sweets", 2.5, True), ("Rice Crackers", 4.0, True)],
    "Tea & Kitchen": [("Green Tea", 14.0, True), ("Matcha", 22.0, True), ("Bento & Tableware", 28.0, False)],
    "Stationery": [("Washi Tape", 4.0, True), ("Notebooks", 8.0, True), ("Pens & Brushes", 6.0, True)],
    "Apparel": [("T-Shirts", 25.0, False), ("Hoodies", 55.0, False), ("Socks", 9.0, False)],
    "Home & Zen": [("Incense", 10.0, True), ("Bonsai & Garden", 40.0, False), ("Noren & Textiles", 30.0, False)],
}
NEW_CATEGORY = ("Idol Merch", [("Light Sticks", 35.0, False), ("Photo Cards", 5.0, True)])

ADJECTIVES = ["Sakura", "Kitsune", "Tengu", "Hashira", "Moonlit", "Shogun", "Neon", "Ronin", "Koi", "Fuji",
              "Kaze", "Yuki", "Hoshi", "Tora", "Ryu", "Momiji", "Umi", "Kumo", "Hana", "Sora"]
NOUNS = {
    "Manga": ["Vol. 1", "Vol. 2", "Omnibus", "Box Set", "Deluxe"],
    "Figures": ["Figure", "Statue", "Mini", "Chibi", "Bust"],
    "Model Kits": ["Kit", "Set", "Frame", "Builder Pack", "Starter"],
    "Snacks & Ramen": ["Pack", "Bowl", "Box", "Assortment", "Bag"],
    "Tea & Kitchen": ["Tin", "Set", "Bowl", "Whisk Set", "Pot"],
    "Stationery": ["Roll", "Pad", "Set", "Pen", "Kit"],
    "Apparel": ["Tee", "Hoodie", "Pair", "Cap", "Scarf"],
    "Home & Zen": ["Sticks", "Tree", "Curtain", "Cushion", "Mat"],
    "Idol Merch": ["Light Stick", "Card Pack", "Banner", "Keychain", "Pin"],
}


@dataclass(frozen=True)
class Catalogue:
    """Products as a frame plus arrays the order simulation indexes by product position."""

    products: pd.DataFrame
    category_index: np.ndarray  # product position -> category number
    consumable: np.ndarray  # bool per product
    popularity: np.ndarray  # within-category popularity weight per product
    launch_ordinal: np.ndarray  # launch day as date ordinal
    is_new_category: np.ndarray  # bool per product
    n_categories: int


def _tree(with_new: bool) -> list[tuple[str, str, float, bool]]:
    rows = [(dept, cat, price, cons) for dept, cats in TREE.items() for cat, price, cons in cats]
    if with_new:
        rows += [(NEW_CATEGORY[0], cat, price, cons) for cat, price, cons in NEW_CATEGORY[1]]
    return rows


def build_catalogue(seed: int, n_products: int, start: date, new_category_from: date | None) -> Catalogue:
    """Regular products depend only on (seed, n_products, start); the drift category is appended after."""
    rng = np.random.default_rng([seed, 1])
    regular = _tree(False)
    n_cat = len(regular)
    cat = np.concatenate([np.arange(n_cat), rng.integers(0, n_cat, n_products - n_cat)])
    launch = start.toordinal() - rng.integers(30, 900, n_products)
    late = rng.random(n_products) < 0.12  # some products launch during the first year
    launch = np.where(late, start.toordinal() + rng.integers(0, 365, n_products), launch)
    price_noise = rng.lognormal(0.0, 0.35, n_products)
    popularity = rng.pareto(1.5, n_products) + 0.05
    adjective = rng.integers(0, len(ADJECTIVES), n_products)
    noun = rng.integers(0, 5, n_products)
    new = np.zeros(n_products, dtype=bool)
    tree = regular
    if new_category_from is not None:
        tree = _tree(True)
        extra_rng = np.random.default_rng([seed, 2])
        n_new = max(6, n_products // 15)
        cat = np.concatenate([cat, n_cat + extra_rng.integers(0, len(tree) - n_cat, n_new)])
        launch = np.concatenate([launch, np.full(n_new, new_category_from.toordinal())])
        price_noise = np.concatenate([price_noise, extra_rng.lognormal(0.0, 0.3, n_new)])
        popularity = np.concatenate([popularity, extra_rng.pareto(1.5, n_new) + 0.5])
        adjective = np.concatenate([adjective, extra_rng.integers(0, len(ADJECTIVES), n_new)])
        noun = np.concatenate([noun, extra_rng.integers(0, 5, n_new)])
        new = np.concatenate([new, np.ones(n_new, dtype=bool)])
    depts = np.array([t[0] for t in tree], dtype=object)[cat]
    cats = np.array([t[1] for t in tree], dtype=object)[cat]
    base = np.round(np.array([t[2] for t in tree])[cat] * price_noise, 2).clip(0.5)
    n = len(cat)
    names = [
        f"{ADJECTIVES[a]} {c} {NOUNS[d][k]}" for a, c, d, k in zip(adjective, cats, depts, noun, strict=True)
    ]
    epoch = date(1, 1, 1)
    products = pd.DataFrame(
        {
            "product_id": [f"HM-{i:06d}" for i in range(1, n + 1)],
            "name": names,
            "department": depts,
            "category": cats,
            "category_path": [f"{d} > {c}" for d, c in zip(depts, cats, strict=True)],
            "base_price": base,
            "launch_date": pd.to_datetime([epoch + timedelta(days=int(o) - 1) for o in launch]),
        }
    )
    return Catalogue(
        products=products,
        category_index=cat,
        consumable=np.array([t[3] for t in tree])[cat],
        popularity=popularity,
        launch_ordinal=launch,
        is_new_category=new,
        n_categories=len(tree),
    )
