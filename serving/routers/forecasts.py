"""Sales forecasts per product or category, served from the table computed when the model loaded."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from hashiramart_assets.ml import registry
from serving.auth import CurrentUser
from serving.errors import ModelUnavailable
from serving.forecasts import series_id
from serving.schemas import ForecastPoint, SafeText, SalesForecast
from serving.state import AppState, get_state

router = APIRouter(tags=["forecasts"])
State = Annotated[AppState, Depends(get_state)]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


@router.get(
    "/forecasts/sales", response_model=SalesForecast,
    responses={401: {"description": "not authenticated"}, 404: {"description": "no such product or category"},
               503: {"description": "no forecaster or no forecasts loaded"}},
)
async def sales_forecast(
    state: State,
    _user: CurrentUser,
    product_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=SafeText)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=200, pattern=SafeText)] = None,
    horizon: Annotated[int | None, Query(ge=1, le=366, description="days (default: the model's horizon)")] = None,
    start: Annotated[date | None, Query(description="first forecast day (default: the day after the history)")] = None,
) -> SalesForecast:
    """Daily point forecast with its 80 % interval for one product or one category."""
    if (product_id is None) == (category is None):
        raise _unprocessable("give exactly one of product_id or category")
    handle = state.store.forecaster  # one version for the whole request
    if handle is None:
        detail = state.store.status[registry.FORECASTER].last_error or "not loaded yet"
        raise ModelUnavailable(f"no forecaster model loaded: {detail}")
    if handle.table is None:
        raise ModelUnavailable(handle.table_error or "forecasts not computed yet")
    grain: Literal["product", "category"]
    grain, item = ("product", product_id) if product_id is not None else ("category", category)
    assert item is not None
    sid = series_id(grain, item)
    series = handle.table.get(sid)
    if series is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sales history for {grain} {item!r}")
    horizon = handle.table.horizon if horizon is None else horizon
    if horizon > handle.table.horizon:
        raise _unprocessable(f"horizon must be at most {handle.table.horizon} days (the model's horizon)")
    first = series.dates[0]
    start = first if start is None else start
    offset = (start - first).days
    if offset < 0 or offset >= len(series.dates):
        last = first + timedelta(days=len(series.dates) - 1)
        raise _unprocessable(f"start must be between {first} and {last} (the forecast window of this series)")
    end = min(offset + horizon, len(series.dates))
    points = [
        ForecastPoint(date=series.dates[i], forecast=float(series.forecast[i]), lower=float(series.lower[i]),
                      upper=float(series.upper[i]))
        for i in range(offset, end)
    ]
    return SalesForecast(series_id=sid, grain=grain, item_id=item, model_version=handle.version,
                         history_end=series.last_history_date, points=points)
