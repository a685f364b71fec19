"""Recommendations from the champion recommender, scored in memory for one customer per request.

Handlers are ``async`` and do no I/O: scoring one customer takes well under a millisecond, less than a
hop to the thread pool would cost. Answers are kept as ready JSON bytes per model version (bounded),
so a repeated request skips scoring and response validation: FastAPI's per-request work, not the
model, is what limits throughput here (see benchmarks/reports/serving.md).
"""

from __future__ import annotations

from typing import Annotated, Any, cast
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from hashiramart_assets.ml import registry
from serving.auth import CurrentUser
from serving.errors import ModelUnavailable
from serving.model_store import RecommenderHandle
from serving.schemas import Recommendations, RecommendationSource, RecommendedItem, RecommendRequest
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
_answers: WeakKeyDictionary[RecommenderHandle, dict[tuple[int, int, bool], bytes]] = WeakKeyDictionary()


def _answer(handle: RecommenderHandle, customer_id: int, k: int, exclude_purchased: bool) -> Response:
    cache = _answers.setdefault(handle, {})
    key = (customer_id, k, exclude_purchased)
    body = cache.get(key)
    if body is None:
        items, fallback = handle.scorer.recommend(customer_id, k, exclude_purchased)
        body = Recommendations(
            customer_id=customer_id, model_version=handle.version, is_fallback=fallback,
            # the source names come from a numpy array; pydantic checks each against the Literal
            items=[RecommendedItem(rank=i.rank, product_id=i.product_id, score=i.score,
                                   source=cast(RecommendationSource, i.source))
                   for i in items],
        ).model_dump_json().encode()
        if len(cache) >= CACHE_ENTRIES:
            cache.clear()
        cache[key] = body
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
    return _answer(_handle(state), user.customer_id, k, exclude_purchased)


@router.post("/recommend", response_model=Recommendations,
             responses={**_ERRORS, 403: {"description": "customers may only ask for themselves"}})
async def recommend(body: RecommendRequest, user: CurrentUser, state: State) -> Response:
    """Top-k for any customer (admins, i.e. the shop front's service account) or for oneself (customers)."""
    if not user.is_admin and body.customer_id != user.customer_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customers may only ask for their own recommendations")
    return _answer(_handle(state), body.customer_id, body.k, body.exclude_purchased)
