"""The API's verified-token cache: a token is verified once, but its expiry and its secret still count."""

from __future__ import annotations

import time

import jwt
import pytest

from serving import security
from serving.security import InvalidToken, TokenUser, issue_token, read_token

SECRET = "s" * 40
ALICE = TokenUser(user_id=7, username="alice", role="customer", customer_id=42)


def test_cached_token_is_the_same_user_and_still_expires():
    now = int(time.time())
    claims = {"sub": "alice", "uid": 7, "role": "customer", "cid": 42, "iat": now, "exp": now + 1}
    token = jwt.encode(claims, SECRET, algorithm=security.ALGORITHM)
    assert read_token(token, SECRET) == ALICE
    assert (token, SECRET) in security._verified
    assert read_token(token, SECRET) == ALICE  # served from the cache
    time.sleep(1.5)
    with pytest.raises(InvalidToken, match="expired"):
        read_token(token, SECRET)
    assert (token, SECRET) not in security._verified


def test_a_cached_token_is_not_valid_under_another_secret():
    token, _ = issue_token(ALICE, SECRET, ttl_minutes=5)
    assert read_token(token, SECRET) == ALICE
    with pytest.raises(InvalidToken):
        read_token(token, "another-secret-" + "x" * 30)
