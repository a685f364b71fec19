"""Clicks and purchases on recommended items, attributed to the impression the API recorded for them.

Why attribution: the CTR behind the quality monitor, the retrain sensor and the online experiments must
count only what customers did with what they were really shown. A click or purchase is accepted only
for an item the API showed that customer within HASHIRAMART_ATTRIBUTION_HOURS; it then carries that
impression's model version, variant and experiment, whatever the client says. Anything else is
rejected with a 4xx, kept in ``app.feedback_rejected`` and counted (``hashiramart_feedback_rejected``).
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy
from fastapi import APIRouter, Depends, HTTPException, status

from serving.auth import CurrentUser
from serving.schemas import FeedbackIn, FeedbackOut
from serving.state import AppState, get_state

router = APIRouter(tags=["feedback"])
State = Annotated[AppState, Depends(get_state)]

_LAST_IMPRESSION = sqlalchemy.text(
    "select id, model_name, experiment_id, variant, model_version, array_position(product_ids, :p) as rank "
    "from app.impressions where customer_id = :c and ts > now() - make_interval(secs => :s) "
    "and :p = any(product_ids) order by ts desc limit 1"
)
_REJECTIONS = {
    "impression_from_client": (status.HTTP_422_UNPROCESSABLE_CONTENT,
                               "impressions are recorded by the API when it answers /recommend or "
                               "/recommendations/me: send only clicks and purchases"),
    "unknown_product": (status.HTTP_404_NOT_FOUND, "no product {product!r}"),
    "not_shown": (status.HTTP_422_UNPROCESSABLE_CONTENT,
                  "product {product!r} was not recommended to customer {customer} in the last {hours:g} h: "
                  "feedback counts only for items the API showed"),
}


def _customer_id(body: FeedbackIn, user) -> int:
    if user.is_admin:
        if body.customer_id is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "admins must give customer_id")
        return body.customer_id
    if body.customer_id is not None and body.customer_id != user.customer_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customers may only send their own feedback")
    if user.customer_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "this user has no customer id")
    return user.customer_id


def _reject(state: AppState, customer_id: int, body: FeedbackIn, reason: str) -> HTTPException:
    """Keep and count the rejected event; the exception to raise."""
    with state.db.engine.begin() as conn:
        conn.execute(sqlalchemy.text("insert into app.feedback_rejected (customer_id, product_id, event, reason) "
                                     "values (:c, :p, :e, :r)"),
                     {"c": customer_id, "p": body.product_id, "e": body.event, "r": reason})
    state.metrics.feedback_rejected.labels(reason).inc()
    code, message = _REJECTIONS[reason]
    return HTTPException(code, message.format(product=body.product_id, customer=customer_id,
                                              hours=state.settings.attribution_hours))


@router.post("/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED,
             responses={401: {"description": "not authenticated"}, 403: {"description": "not your customer id"},
                        404: {"description": "no such product"},
                        422: {"description": "not an item the API showed this customer recently, or an impression"}})
def post_feedback(body: FeedbackIn, user: CurrentUser, state: State) -> FeedbackOut:
    """Record a click or purchase of an item the API recommended to this customer recently."""
    customer_id = _customer_id(body, user)
    if body.event == "impression":
        raise _reject(state, customer_id, body, "impression_from_client")
    state.impressions.flush()  # this worker's own latest answers must be visible to the lookup
    seconds = state.settings.attribution_hours * 3600
    with state.db.engine.begin() as conn:
        shown = conn.execute(_LAST_IMPRESSION,
                             {"c": customer_id, "p": body.product_id, "s": seconds}).mappings().first()
        known = shown is not None or conn.execute(
            sqlalchemy.text("select 1 from app.products where product_id = :p"), {"p": body.product_id}).first()
        row = None if shown is None else conn.execute(
            sqlalchemy.text(
                "insert into app.feedback (customer_id, product_id, event, model_version, rank, impression_id, "
                "experiment_id, variant) values (:c, :p, :e, :v, :r, :i, :x, :var) "
                "returning id, customer_id, product_id, event, model_version, variant, experiment_id, impression_id, "
                "rank"),
            {"c": customer_id, "p": body.product_id, "e": body.event, "v": shown["model_version"], "r": shown["rank"],
             "i": shown["id"], "x": shown["experiment_id"], "var": shown["variant"]},
        ).mappings().one()
    if row is None or shown is None:
        raise _reject(state, customer_id, body, "not_shown" if known else "unknown_product")
    state.metrics.feedback.labels(shown["model_name"], shown["variant"], body.event).inc()
    return FeedbackOut(**row)
