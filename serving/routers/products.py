"""The product catalogue: anyone reads, admins write."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from serving.auth import AdminUser
from serving.schemas import Product, ProductCreate, ProductFields, ProductPage, SafeText
from serving.state import AppState, get_state

router = APIRouter(prefix="/products", tags=["products"])
State = Annotated[AppState, Depends(get_state)]
ProductIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
_COLUMNS = "product_id, name, department, category, category_path, base_price::float8 as base_price, launch_date"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such product"}}
_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"description": "not authenticated"},
    403: {"description": "admin role required"},
}


def _not_found(product_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no product {product_id!r}")


@router.get("", response_model=ProductPage)
def list_products(
    state: State,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    category: Annotated[str | None, Query(min_length=1, max_length=200, pattern=SafeText)] = None,
) -> ProductPage:
    """Products ordered by id, a page at a time, optionally of one category."""
    where = "where category = :c" if category is not None else ""  # fixed SQL text; the value is bound
    params = {"c": category, "l": limit, "o": offset}
    with state.db.engine.connect() as conn:
        total: int = conn.execute(sqlalchemy.text(f"select count(*) from app.products {where}"), params).scalar_one()
        rows = conn.execute(
            sqlalchemy.text(f"select {_COLUMNS} from app.products {where} order by product_id limit :l offset :o"),
            params,
        ).mappings().all()
    return ProductPage(items=[Product(**r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{product_id}", response_model=Product, responses=_NOT_FOUND)
def get_product(product_id: ProductIdPath, state: State) -> Product:
    with state.db.engine.connect() as conn:
        row = conn.execute(sqlalchemy.text(f"select {_COLUMNS} from app.products where product_id = :p"),
                           {"p": product_id}).mappings().first()
    if row is None:
        raise _not_found(product_id)
    return Product(**row)


@router.post("", response_model=Product, status_code=status.HTTP_201_CREATED,
             responses={**_ADMIN, 409: {"description": "product id exists"}})
def create_product(body: ProductCreate, _admin: AdminUser, state: State) -> Product:
    with state.db.engine.begin() as conn:
        row = conn.execute(
            sqlalchemy.text(
                "insert into app.products (product_id, name, department, category, category_path, base_price, "
                "launch_date) values (:product_id, :name, :department, :category, :category_path, :base_price, "
                f":launch_date) on conflict (product_id) do nothing returning {_COLUMNS}"
            ),
            body.model_dump(),
        ).mappings().first()
    if row is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"product {body.product_id!r} already exists")
    return Product(**row)


@router.put("/{product_id}", response_model=Product, responses={**_ADMIN, **_NOT_FOUND})
def replace_product(product_id: ProductIdPath, body: ProductFields, _admin: AdminUser, state: State) -> Product:
    with state.db.engine.begin() as conn:
        row = conn.execute(
            sqlalchemy.text(
                "update app.products set name = :name, department = :department, category = :category, "
                "category_path = :category_path, base_price = :base_price, launch_date = :launch_date, "
                f"updated_at = now() where product_id = :product_id returning {_COLUMNS}"
            ),
            {**body.model_dump(), "product_id": product_id},
        ).mappings().first()
    if row is None:
        raise _not_found(product_id)
    return Product(**row)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses={**_ADMIN, **_NOT_FOUND})
def delete_product(product_id: ProductIdPath, _admin: AdminUser, state: State) -> Response:
    with state.db.engine.begin() as conn:
        deleted = conn.execute(sqlalchemy.text("delete from app.products where product_id = :p"),
                               {"p": product_id}).rowcount
    if not deleted:
        raise _not_found(product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
