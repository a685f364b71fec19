"""Request and response bodies. Constraints here are what keeps bad input a 422 instead of a database error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Postgres text cannot hold NUL and the ids are printable: reject control characters up front.
SafeText = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=SafeText)]
OptionalText = Annotated[str | None, Field(default=None, max_length=500, pattern=SafeText)]
ProductId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
CustomerId = Annotated[int, Field(ge=1, le=2**62)]
Price = Annotated[float, Field(ge=0, le=1_000_000_000, allow_inf_nan=False)]
Role = Literal["customer", "admin"]
RecommendationSource = Literal["history", "als", "popular", "neighbours"]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@+-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    customer_id: CustomerId | None = Field(
        default=None, description="an existing shop customer id to link; omitted: a new id (cold start)")


class User(BaseModel):
    id: int
    username: str
    role: Role
    customer_id: int | None


class ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    department: OptionalText = None
    category: OptionalText = None
    category_path: OptionalText = None
    base_price: Price
    launch_date: date | None = None


class ProductCreate(ProductFields):
    product_id: ProductId


class Product(ProductFields):
    model_config = ConfigDict(extra="ignore")
    product_id: str


class ProductPage(BaseModel):
    items: list[Product]
    total: int
    limit: int
    offset: int


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: CustomerId
    k: Annotated[int, Field(ge=1, le=100)] = 10
    exclude_purchased: bool = False


class RecommendedItem(BaseModel):
    rank: int
    product_id: str
    score: float
    source: RecommendationSource


Variant = Literal["champion", "challenger"]


class Recommendations(BaseModel):
    customer_id: int
    model_version: str
    variant: Variant = Field(description="which model of the running experiment answered (champion without one)")
    is_fallback: bool = Field(description="true: the customer is unknown to the model, items are the most popular")
    items: list[RecommendedItem]


class ForecastPoint(BaseModel):
    date: date
    forecast: float
    lower: float
    upper: float


class SalesForecast(BaseModel):
    series_id: str
    grain: Literal["product", "category"]
    item_id: str
    model_version: str
    interval: str = "80 % (quantiles 0.1-0.9)"
    history_end: date
    points: list[ForecastPoint]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: ProductId
    event: Literal["impression", "click", "purchase"] = Field(
        description="click or purchase of an item the API showed this customer; impressions are recorded by the "
                    "API itself when it answers, so a client-sent impression is rejected (422)")
    model_version: Annotated[str | None, Field(
        default=None, max_length=32, pattern=r"^[0-9A-Za-z._-]*$",
        description="ignored: the version (and variant) come from the recorded impression")] = None
    rank: Annotated[int | None, Field(default=None, ge=1, le=1000,
                                      description="ignored: the rank comes from the recorded impression")] = None
    customer_id: CustomerId | None = Field(default=None, description="admins only; customers send their own")


class FeedbackOut(BaseModel):
    id: int
    customer_id: int
    product_id: str
    event: str
    model_version: str | None
    variant: Variant | None = None
    experiment_id: int | None = None
    impression_id: int | None = None
    rank: int | None = None


class ExperimentSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenger_share: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                                             description="share of customers shown the challenger; 0 ends it")]
    shadow: bool = Field(default=False, description="score the challenger on the share's requests without showing it")
    challenger_version: Annotated[str | None, Field(
        default=None, max_length=32, pattern=r"^[0-9]+$",
        description="default: the running experiment's challenger, else the registry's @challenger")] = None
    reason: Annotated[str | None, Field(default=None, max_length=500, pattern=SafeText)] = None


class ExperimentOut(BaseModel):
    id: int
    model_name: str
    champion_version: str | None
    challenger_version: str
    challenger_share: float
    shadow: bool
    started_at: datetime
    started_by: str
    updated_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    serving: bool = Field(default=False, description="this API worker routes traffic by it now")


class AliasMoveOut(BaseModel):
    model_name: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str
    ts: datetime


class JobLaunched(BaseModel):
    run_id: str
    status: str
    model: str
    job_name: str


class JobStatus(BaseModel):
    run_id: str
    status: str
    job_name: str | None = None
    start_time: float | None = None
    end_time: float | None = None


class Message(BaseModel):
    detail: str
