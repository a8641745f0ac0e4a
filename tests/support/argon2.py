"""The real argon2id hasher of authz's credentials, counting its verifications."""

from __future__ import annotations

import pytest

from chargewatch.authz import credentials


class CountingHasher:
    """Counts the argon2 verifications the real hasher performs."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.calls = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls += 1
        return bool(self.real.verify(password_hash, password))  # type: ignore[attr-defined]

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))  # type: ignore[attr-defined]


def count_argon2(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    """Install a counting hasher in place of authz's for the test."""
    hasher = CountingHasher(credentials._hasher)
    monkeypatch.setattr(credentials, "_hasher", hasher)
    return hasher
