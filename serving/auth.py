"""Request authentication: bearer JWT -> :class:`TokenUser`; role checks give 401 / 403.

The dependencies are ``async`` on purpose: sync dependencies run in the thread pool, which would add a
thread hop to every authenticated request (token checks are pure CPU, microseconds).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from serving.security import InvalidToken, TokenUser, read_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> TokenUser:
    if not token:
        raise _unauthorized("not authenticated: send Authorization: Bearer <token> from POST /auth/token")
    try:
        return read_token(token, request.app.state.hm.settings.jwt_secret)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


async def optional_user(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> TokenUser | None:
    """The caller if a token is sent (a bad token is still a 401), ``None`` for an anonymous call."""
    return None if not token else await current_user(request, token)


async def admin_user(user: Annotated[TokenUser, Depends(current_user)]) -> TokenUser:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")
    return user


CurrentUser = Annotated[TokenUser, Depends(current_user)]
OptionalUser = Annotated[TokenUser | None, Depends(optional_user)]
AdminUser = Annotated[TokenUser, Depends(admin_user)]
