"""Recommendations from the champion recommender, scored in memory for one customer per request.

Handlers are ``async`` and do no I/O: scoring one customer takes well under a millisecond, less than a
hop to the thread pool would cost. Answers are kept as ready JSON bytes per model version (bounded),
so a repeated request skips scoring and response validation: FastAPI's per-request work, not the
model, is what limits throughput here (see benchmarks/reports/serving.md).

Experiments: a customer in the running experiment's challenger share (a hash, assignment.py) gets the
challenger's answer; in shadow mode the champion's, with the challenger scored later by the impression
writer. Every answer says its ``variant`` and ``model_version`` and is recorded as impressions.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, cast
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from hashiramart_assets.experiments.assignment import CHALLENGER, CHAMPION, in_challenger
from hashiramart_assets.ml import registry
from serving.auth import CurrentUser
from serving.errors import ModelUnavailable
from serving.impressions import ShadowRequest, Shown, copy_array
from serving.model_store import RecommenderHandle
from serving.schemas import Recommendations, RecommendationSource, RecommendedItem, RecommendRequest, Variant
from serving.state import AppState, get_state

router = APIRouter(tags=["recommendations"])
State = Annotated[AppState, Depends(get_state)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not authenticated"},
    503: {"description": "no recommender loaded"},
}


def _handle(state: AppState) -> RecommenderHandle:
    handle = state.store.recommender  # read once: this request uses this version to the end
    if handle is None:
        detail = state.store.status[registry.RECOMMENDER].last_error or "not loaded yet"
        raise ModelUnavailable(f"no recommender model loaded: {detail}")
    return handle


CACHE_ENTRIES = 50_000  # per model version; cleared when full (a new version starts an empty cache)
Answer = tuple[bytes, int, str]  # the JSON body, its number of items, the items as a COPY-ready array literal
_answers: WeakKeyDictionary[RecommenderHandle, dict[tuple[int, int, bool, str], Answer]] = WeakKeyDictionary()


def _cached(handle: RecommenderHandle, variant: Variant, customer_id: int, k: int, exclude_purchased: bool) -> Answer:
    cache = _answers.setdefault(handle, {})
    key = (customer_id, k, exclude_purchased, variant)
    answer = cache.get(key)
    if answer is None:
        items, fallback = handle.scorer.recommend(customer_id, k, exclude_purchased)
        body = Recommendations(
            customer_id=customer_id, model_version=handle.version, variant=variant, is_fallback=fallback,
            # the source names come from a numpy array; pydantic checks each against the Literal
            items=[RecommendedItem(rank=i.rank, product_id=i.product_id, score=i.score,
                                   source=cast(RecommendationSource, i.source))
                   for i in items],
        ).model_dump_json().encode()
        answer = (body, len(items), copy_array([i.product_id for i in items]))
        if len(cache) >= CACHE_ENTRIES:
            cache.clear()
        cache[key] = answer
    return answer


def _answer(state: AppState, customer_id: int, k: int, exclude_purchased: bool) -> Response:
    """The customer's variant's answer; recorded as impressions (and as a shadow request in shadow mode)."""
    handle, experiment_id = _handle(state), None
    variant: Variant = CHAMPION
    live = state.experiments.current  # read once, like the champion handle
    shadow = False
    if live is not None:
        experiment_id = live.id
        if in_challenger(customer_id, live.id, live.share):
            if live.shadow:
                shadow = True
            else:
                handle, variant = live.challenger, CHALLENGER
    body, n_items, items = _cached(handle, variant, customer_id, k, exclude_purchased)
    now = time.time()
    state.impressions.record(Shown(customer_id, registry.RECOMMENDER, experiment_id, variant, handle.version, items,
                                   now))
    if shadow and live is not None:
        state.impressions.record_shadow(ShadowRequest(live.id, customer_id, k, exclude_purchased, handle,
                                                      live.challenger, now))
    state.metrics.count_answer(registry.RECOMMENDER, variant, handle.version, n_items)
    return Response(content=body, media_type="application/json")


@router.get("/recommendations/me", response_model=Recommendations,
            responses={**_ERRORS, 404: {"description": "this user has no customer id"}})
async def my_recommendations(
    user: CurrentUser, state: State, k: Annotated[int, Query(ge=1, le=100)] = 10,
    exclude_purchased: bool = False,
) -> Response:
    """Top-k for the logged-in customer; new customers get the popularity fallback (``is_fallback``)."""
    if user.customer_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this user is not linked to a customer id")
    return _answer(state, user.customer_id, k, exclude_purchased)


@router.post("/recommend", response_model=Recommendations,
             responses={**_ERRORS, 403: {"description": "customers may only ask for themselves"}})
async def recommend(body: RecommendRequest, user: CurrentUser, state: State) -> Response:
    """Top-k for any customer (admins, i.e. the shop front's service account) or for oneself (customers)."""
    if not user.is_admin and body.customer_id != user.customer_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customers may only ask for their own recommendations")
    return _answer(state, body.customer_id, body.k, body.exclude_purchased)
