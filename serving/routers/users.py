"""Sign-up, login (OAuth2 password flow -> JWT) and the caller's own account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import sqlalchemy
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from serving.auth import CurrentUser, OptionalUser
from serving.schemas import Token, User, UserCreate
from serving.security import TokenUser, hash_password, issue_token, verify_password
from serving.state import AppState, get_state

router = APIRouter(tags=["auth & users"])
State = Annotated[AppState, Depends(get_state)]
_USER_COLUMNS = "id, username, role, customer_id"


@router.post("/auth/token", response_model=Token, responses={401: {"description": "wrong username or password"}})
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], state: State) -> Token:
    """OAuth2 password flow: form fields username and password; answers a bearer JWT."""
    with state.db.engine.connect() as conn:
        row = conn.execute(
            sqlalchemy.text(f"select {_USER_COLUMNS}, password_hash from app.users where username = :u"),
            {"u": form.username},
        ).mappings().first()
    if row is None or not verify_password(row["password_hash"], form.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    user = TokenUser(row["id"], row["username"], row["role"], row["customer_id"])
    token, ttl = issue_token(user, state.settings.jwt_secret, state.settings.jwt_ttl_minutes)
    return Token(access_token=token, expires_in=ttl)


@router.post("/users", response_model=User, status_code=status.HTTP_201_CREATED,
             responses={401: {"description": "a token was sent and is invalid"},
                        403: {"description": "linking an existing customer id needs the admin role"},
                        409: {"description": "username or customer id already taken"}})
async def signup(body: UserCreate, state: State, caller: OptionalUser) -> User:
    """Create a customer account with a new customer id (cold start); an admin may link an existing one.

    Why linking is admin-only: the customer id decides whose purchase history drives
    /recommendations/me, so letting anyone claim an id would expose another customer's history.
    """
    if body.customer_id is not None and (caller is None or not caller.is_admin):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "linking an existing customer id needs the admin role (sign up without customer_id)")
    password_hash = await run_in_threadpool(hash_password, body.password)  # ~50 ms of argon2 off the loop
    return await run_in_threadpool(_insert_user, state, body, password_hash)


def _insert_user(state: AppState, body: UserCreate, password_hash: str) -> User:
    with state.db.engine.begin() as conn:
        taken: Sequence[bool] = conn.execute(
            sqlalchemy.text("select username = :u as same_name from app.users where username = :u "
                            "or (customer_id = :c and :c is not null)"),
            {"u": body.username, "c": body.customer_id},
        ).scalars().all()
        if taken:
            what = "username" if any(taken) else f"customer id {body.customer_id}"
            raise HTTPException(status.HTTP_409_CONFLICT, f"{what} is already taken")
        row = conn.execute(
            sqlalchemy.text(
                "insert into app.users (username, password_hash, role, customer_id) values "
                "(:u, :h, 'customer', coalesce(:c, nextval('app.new_customer_id_seq'))) "
                f"returning {_USER_COLUMNS}"
            ),
            {"u": body.username, "h": password_hash, "c": body.customer_id},
        ).mappings().one()
    return User(**row)


@router.get("/users/me", response_model=User, responses={401: {"description": "not authenticated"}})
def me(user: CurrentUser, state: State) -> User:
    with state.db.engine.connect() as conn:
        row = conn.execute(sqlalchemy.text(f"select {_USER_COLUMNS} from app.users where id = :i"),
                           {"i": user.user_id}).mappings().first()
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this token's user no longer exists",
                            headers={"WWW-Authenticate": "Bearer"})
    return User(**row)
