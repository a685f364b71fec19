"""HashiraMart's product catalogue: a department > category tree of Japanese pop-culture goods.

Regular products depend only on (seed, size); the new-category drift option appends its products
after them from a separate random stream, so switching drift on never renames or reprices the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from hashiramart_assets.datagen.config import ANCHOR, MAX_PRODUCTS
from hashiramart_assets.datagen.ids import CATALOGUE, NEW_CATEGORY, numbered, ordinals_to_datetime, stream

# department -> [(category, typical price in EUR, consumable: re-bought often, item words for names)]
Category = tuple[str, float, bool, tuple[str, ...]]
TREE: dict[str, list[Category]] = {
    "Manga": [
        ("Shonen", 9.0, False, ("Vol. 1", "Vol. 2", "Vol. 3", "Vol. 7", "Omnibus")),
        ("Shojo", 9.0, False, ("Vol. 1", "Vol. 4", "Vol. 5", "Collector's Edition")),
        ("Seinen", 12.0, False, ("Vol. 1", "Vol. 3", "Deluxe Edition", "Box Set")),
        ("Art Books", 35.0, False, ("Artbook", "Design Works", "Visual Guide", "Sketchbook")),
    ],
    "Figures": [
        ("Scale Figures", 120.0, False, ("1/7 Scale Figure", "1/8 Scale Figure", "Statue", "Bust")),
        ("Nendoroid", 55.0, False, ("Nendoroid", "Nendoroid Swacchao", "Nendoroid DX")),
        ("Gachapon", 6.0, True, ("Capsule Toy", "Blind Box", "Mini Figure", "Keychain")),
    ],
    "Model Kits": [
        ("Gunpla HG", 25.0, False, ("HG 1/144", "HG Custom", "HG Mobile Suit")),
        ("Gunpla MG", 60.0, False, ("MG 1/100", "MG Ver. Ka", "MG Frame")),
        ("Tools & Paints", 12.0, True, ("Nipper", "Panel Liner", "Paint Set", "Top Coat Spray")),
    ],
    "Snacks & Ramen": [
        ("Instant Ramen", 3.5, True, ("Tonkotsu Ramen", "Shoyu Ramen", "Miso Ramen", "Yakisoba Cup")),
        ("Pocky & Sweets", 2.5, True, ("Pocky", "Mochi", "KitKat Matcha", "Gummy Pack")),
        ("Rice Crackers", 4.0, True, ("Senbei", "Arare Mix", "Nori Crackers")),
    ],
    "Tea & Kitchen": [
        ("Green Tea", 14.0, True, ("Sencha", "Genmaicha", "Hojicha", "Gyokuro")),
        ("Matcha", 22.0, True, ("Ceremonial Matcha", "Matcha Latte Mix", "Culinary Matcha")),
        ("Bento & Tableware", 28.0, False, ("Bento Box", "Chopstick Set", "Ramen Bowl", "Tea Cup")),
    ],
    "Stationery": [
        ("Washi Tape", 4.0, True, ("Washi Tape", "Washi Set", "Sticker Sheet")),
        ("Notebooks", 8.0, True, ("Notebook", "Dot Grid Journal", "Sketch Pad")),
        ("Pens & Brushes", 6.0, True, ("Gel Pen", "Brush Pen", "Fineliner Set")),
    ],
    "Apparel": [
        ("T-Shirts", 25.0, False, ("Tee", "Graphic Tee", "Long Sleeve Tee")),
        ("Hoodies", 55.0, False, ("Hoodie", "Zip Hoodie", "Sweatshirt")),
        ("Socks", 9.0, False, ("Socks", "Tabi Socks", "Sock 3-Pack")),
    ],
    "Home & Zen": [
        ("Incense", 10.0, True, ("Incense Sticks", "Incense Cones", "Incense Holder")),
        ("Bonsai & Garden", 40.0, False, ("Bonsai Kit", "Moss Ball", "Zen Garden")),
        ("Noren & Textiles", 30.0, False, ("Noren Curtain", "Furoshiki", "Zabuton Cushion")),
    ],
}
NEW_DEPARTMENT = "Idol Merch"
NEW_CATEGORIES: list[Category] = [
    ("Light Sticks", 35.0, False, ("Light Stick", "Official Light Stick", "Penlight")),
    ("Photo Cards", 5.0, True, ("Photo Card Pack", "Trading Card Set", "Acrylic Stand")),
]
# Japanese-flavoured franchise-like words: "Kitsune Academy Nendoroid", "Moonlit Hashira Hoodie"
FIRST_WORDS = ("Sakura", "Kitsune", "Tengu", "Moonlit", "Shogun", "Neon", "Ronin", "Koi", "Fuji", "Kaze", "Yuki",
               "Hoshi", "Tora", "Ryu", "Momiji", "Umi", "Kumo", "Hana", "Sora", "Akari", "Kage", "Tsuki")
SECOND_WORDS = ("Academy", "Chronicles", "Hashira", "Saga", "Hunters", "Diaries", "Express", "Samurai",
                "Idols", "Garden", "Quest", "Spirits", "Club", "Legends")
NEW_PRODUCT_SHARE = 1 / 15  # size of the drift department relative to the regular catalogue
MAX_NEW_PRODUCTS = round(MAX_PRODUCTS * NEW_PRODUCT_SHARE)


@dataclass(frozen=True)
class Catalogue:
    """Products as a frame plus the arrays the simulation indexes by product position."""

    products: pd.DataFrame
    category_index: np.ndarray  # product position -> category number (regular first, then drift)
    department_names: np.ndarray  # category number -> department name
    consumable: np.ndarray  # bool per product: re-bought often
    popularity: np.ndarray  # global appeal weight per product (lognormal: some hits, a long tail)
    launch_ordinal: np.ndarray  # launch day as a date ordinal
    change_ordinal: np.ndarray  # (n, 2) days of the two list-price changes
    change_factor: np.ndarray  # (n, 2) price multipliers applied from those days
    is_new_category: np.ndarray  # bool per product
    n_categories: int
    n_regular_categories: int

    @property
    def n_products(self) -> int:
        return len(self.category_index)


def _flat_tree(with_new: bool) -> list[tuple[str, Category]]:
    rows = [(dept, cat) for dept, cats in TREE.items() for cat in cats]
    return rows + ([(NEW_DEPARTMENT, cat) for cat in NEW_CATEGORIES] if with_new else [])


def _draw_products(
    rng: np.random.Generator, n: int, categories: np.ndarray, launch: np.ndarray, popularity_boost: float
) -> dict[str, np.ndarray]:
    """Everything random about ``n`` products of the given categories (positions in the flat tree)."""
    return {
        "category": categories,
        "launch": launch,
        "price_noise": rng.lognormal(0.0, 0.35, n),
        "popularity": rng.lognormal(0.0, 0.8, n) * popularity_boost,
        "first": rng.integers(0, len(FIRST_WORDS), n),
        "second": rng.integers(0, len(SECOND_WORDS), n),
        "item": rng.integers(0, 1 << 20, n),  # reduced modulo the category's item words
        "change_after": rng.integers(45, 540, (n, 2)).cumsum(axis=1),
        "change_factor": rng.uniform(0.9, 1.15, (n, 2)),
    }


def n_new_products(n_products: int) -> int:
    return max(6, round(n_products * NEW_PRODUCT_SHARE))


def _cut(drawn: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {key: values[:n] for key, values in drawn.items()}


def build_catalogue(seed: int, n_products: int, new_category_from: date | None) -> Catalogue:
    """The regular catalogue (every category present, most products launched before ANCHOR) plus drift.

    Drawn for the largest catalogue and cut to size, so product HM-000042 is the same product at every
    scale that has it: a change of scale adds or removes products at the end, never reshuffles them.
    """
    tree = _flat_tree(new_category_from is not None)
    n_regular_categories = len(_flat_tree(False))
    rng = stream(seed, CATALOGUE)
    n_max = MAX_PRODUCTS
    categories = np.concatenate([np.arange(n_regular_categories),
                                 rng.integers(0, n_regular_categories, n_max - n_regular_categories)])
    launch = ANCHOR.toordinal() - rng.integers(30, 1000, n_max)
    late = rng.random(n_max) < 0.12  # a steady trickle of launches after the anchor
    launch = np.where(late, ANCHOR.toordinal() + rng.integers(0, 540, n_max), launch)
    parts = [_cut(_draw_products(rng, n_max, categories, launch, 1.0), n_products)]
    if new_category_from is not None:
        new_rng = stream(seed, NEW_CATEGORY)
        new_categories = n_regular_categories + new_rng.integers(0, len(NEW_CATEGORIES), MAX_NEW_PRODUCTS)
        new_launch = np.full(MAX_NEW_PRODUCTS, new_category_from.toordinal())
        new = _draw_products(new_rng, MAX_NEW_PRODUCTS, new_categories, new_launch, 1.5)  # launch hype
        parts.append(_cut(new, n_new_products(n_products)))
    p = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    cat = p["category"]
    dept_of = np.array([dept for dept, _ in tree], dtype=object)
    name_of = np.array([c[0] for _, c in tree], dtype=object)
    typical = np.array([c[1] for _, c in tree])
    items = [c[3] for _, c in tree]
    n_items = np.array([len(i) for i in items])
    item_table = np.array([i[k % len(i)] for i in items for k in range(n_items.max())], dtype=object)
    item = item_table[cat * n_items.max() + p["item"] % n_items[cat]]
    price = np.maximum(np.round(typical[cat] * p["price_noise"] * 2) / 2 - 0.01, 0.49)  # "8.99"-style
    first = np.array(FIRST_WORDS, dtype=object)[p["first"]]
    second = np.array(SECOND_WORDS, dtype=object)[p["second"]]
    products = pd.DataFrame(
        {
            "product_id": numbered("HM-", len(cat), 6),
            "name": first + " " + second + " " + item,
            "department": dept_of[cat],
            "category": name_of[cat],
            "category_path": dept_of[cat] + " > " + name_of[cat],
            "base_price": price,
            "launch_date": ordinals_to_datetime(p["launch"]),
        }
    )
    return Catalogue(
        products=products,
        category_index=cat,
        department_names=dept_of,
        consumable=np.array([c[2] for _, c in tree])[cat],
        popularity=p["popularity"],
        launch_ordinal=p["launch"],
        change_ordinal=p["launch"][:, None] + p["change_after"],
        change_factor=p["change_factor"],
        is_new_category=np.arange(len(cat)) >= n_products,
        n_categories=len(tree),
        n_regular_categories=n_regular_categories,
    )
