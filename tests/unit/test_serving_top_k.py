"""The serving scorer's partial top-k is the prefix of a full stable sort, ties and excluded items included."""

from __future__ import annotations

import numpy as np
import pytest

from serving.recommend import top_k_stable


@pytest.mark.parametrize("seed", range(20))
def test_top_k_stable_equals_the_full_stable_sort(seed: int):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 300).astype(np.float64) / 5  # many exact ties
    scores[rng.choice(300, 40, replace=False)] = -np.inf  # excluded (already bought)
    for k in (1, 2, 10, 99, 299, 300, 400):
        assert np.array_equal(top_k_stable(scores, k), np.argsort(-scores, kind="stable")[:k]), k


def test_impression_items_survive_copy_whatever_the_product_ids():
    from serving.impressions import copy_array

    ids = ["HM-000001", 'a"b', "back\\slash", "tab\there", "new\nline", "comma,{brace}", "", "ünï"]
    literal = copy_array(ids)
    assert "\t" not in literal and "\n" not in literal
    # undo COPY's text escaping, then parse the array literal back
    text = literal.replace("\\\\", "\x00").replace("\\t", "\t").replace("\\n", "\n").replace("\x00", "\\")
    assert text.startswith('{"') and text.endswith('"}')
    parsed, item, inside, escaped = [], "", False, False
    for char in text[1:-1]:
        if escaped:
            item, escaped = item + char, False
        elif char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
            if not inside:
                parsed.append(item)
                item = ""
        elif inside:
            item += char
    assert parsed == ids
