"""A free TCP port on the loopback interface, for the servers the platform starts on one machine."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_loopback_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on (bound once and released again: the caller starts its server on it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
