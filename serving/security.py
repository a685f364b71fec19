"""Password hashing (argon2id) and access tokens (JWT, HS256).

Why argon2: a memory-hard, maintained hash (argon2-cffi); its encoded form carries its own parameters,
so they can be raised later and old hashes still verify (``needs_rehash``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ALGORITHM = "HS256"
ROLES = ("customer", "admin")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenUser:
    """Who a valid token belongs to. ``customer_id`` travels in the token so /recommendations/me needs no DB."""

    user_id: int
    username: str
    role: str
    customer_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class InvalidToken(ValueError):
    """The token is missing, expired, forged or malformed."""


def issue_token(user: TokenUser, secret: str, ttl_minutes: int) -> tuple[str, int]:
    """(token, lifetime in seconds)."""
    now = int(time.time())
    ttl = max(60, ttl_minutes * 60)
    claims = {"sub": user.username, "uid": user.user_id, "role": user.role, "cid": user.customer_id,
              "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), ttl


VERIFIED_CACHE_ENTRIES = 10_000
_verified: dict[tuple[str, str], tuple[TokenUser, float]] = {}


def read_token(token: str, secret: str) -> TokenUser:
    """Verify a token; a token verified before is only re-checked for expiry (the signature cannot change).

    The cache saves the signature check on every request of a session (a sizeable part of a request's
    cost at this API's latency); it is bounded and keyed by the secret too, so a new secret re-verifies.
    """
    cached = _verified.get((token, secret))
    if cached is not None:
        if cached[1] > time.time():
            return cached[0]
        del _verified[(token, secret)]
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "uid", "role"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    role, cid, uid = claims.get("role"), claims.get("cid"), claims.get("uid")
    if role not in ROLES or not isinstance(uid, int) or (cid is not None and not isinstance(cid, int)):
        raise InvalidToken("token claims are malformed")
    user = TokenUser(user_id=uid, username=str(claims["sub"]), role=role, customer_id=cid)
    if len(_verified) >= VERIFIED_CACHE_ENTRIES:
        _verified.clear()
    _verified[(token, secret)] = (user, float(claims["exp"]))
    return user
