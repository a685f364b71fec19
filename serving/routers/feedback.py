"""Feedback on recommended items (impression / click / purchase), kept for the CTR monitoring asset."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy
from fastapi import APIRouter, Depends, HTTPException, status

from serving.auth import CurrentUser
from serving.schemas import FeedbackIn, FeedbackOut
from serving.state import AppState, get_state

router = APIRouter(tags=["feedback"])
State = Annotated[AppState, Depends(get_state)]


@router.post("/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED,
             responses={401: {"description": "not authenticated"}, 403: {"description": "not your customer id"},
                        404: {"description": "no such product"}})
def post_feedback(body: FeedbackIn, user: CurrentUser, state: State) -> FeedbackOut:
    """Record an event on a product; ``model_version`` defaults to the recommender version serving now."""
    if user.is_admin:
        if body.customer_id is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "admins must give customer_id")
        customer_id = body.customer_id
    else:
        if body.customer_id is not None and body.customer_id != user.customer_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "customers may only send their own feedback")
        if user.customer_id is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "this user has no customer id")
        customer_id = user.customer_id
    handle = state.store.recommender
    version = body.model_version or (handle.version if handle is not None else None)
    with state.db.engine.begin() as conn:
        row = conn.execute(
            sqlalchemy.text(
                "insert into app.feedback (customer_id, product_id, event, model_version, rank) "
                "select :c, product_id, :e, :v, :r from app.products where product_id = :p "
                "returning id, customer_id, product_id, event, model_version"
            ),
            {"c": customer_id, "p": body.product_id, "e": body.event, "v": version, "r": body.rank},
        ).mappings().first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no product {body.product_id!r}")
    return FeedbackOut(**row)
