"""Which variant a customer sees: a hash of (experiment id, customer id), never a random draw.

Why a hash: every API worker, every restart and the analysis agree on a customer's variant without
sharing state, and a customer keeps seeing the same model for the whole experiment. Why the experiment id
in the hash: a new experiment re-randomises, so the customers who tried the last challenger are not
the ones who try the next. Raising the share of a running experiment keeps everyone already in the
challenger there (a bucket below 0.2 is also below 0.5).
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Final

CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
VARIANTS = (CHAMPION, CHALLENGER)
_SCALE = float(2**64)


def bucket(customer_id: int, experiment_id: int) -> float:
    """A uniform value in [0, 1) fixed by the pair (a 64-bit BLAKE2b digest)."""
    digest = blake2b(f"{experiment_id}:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def in_challenger(customer_id: int, experiment_id: int, share: float) -> bool:
    """True for the ``share`` of customers the experiment gives the challenger."""
    return share > 0 and bucket(customer_id, experiment_id) < share


def variant(customer_id: int, experiment_id: int, share: float) -> str:
    return CHALLENGER if in_challenger(customer_id, experiment_id, share) else CHAMPION
