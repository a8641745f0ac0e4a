"""Access tokens checked once: the validated principal is kept until the token expires.

Verifying an RS256 signature and the claims costs far more than the rest of a cached request, and a
client sends the same token many times. The cache holds only tokens that passed validation, keyed by
the whole token string, and drops each at its expiry (with the same leeway the validator allows).
"""

from __future__ import annotations

import time

from chargewatch.auth import AccessTokenValidator, Principal


class CachedTokenValidator:
    def __init__(self, validator: AccessTokenValidator, *, max_entries: int = 10_000) -> None:
        self.validator = validator
        self.max_entries = max_entries
        self._principals: dict[str, tuple[Principal, float]] = {}

    async def ready(self) -> bool:
        return await self.validator.ready()

    def cached(self, token: str) -> Principal | None:
        """The principal of a token validated before and not expired since; None otherwise."""
        cached = self._principals.get(token)
        if cached is None or time.time() >= cached[1]:
            return None
        return cached[0]

    async def validate(self, token: str) -> Principal:
        """The token's principal; raises `InvalidTokenError` exactly as the validator does."""
        now = time.time()
        cached = self._principals.get(token)
        if cached is not None:
            principal, valid_until = cached
            if now < valid_until:
                return principal
            del self._principals[token]
        principal = await self.validator.validate(token)
        if self.max_entries:
            if len(self._principals) >= self.max_entries:
                self._evict(now)
            self._principals[token] = (principal, principal.expires_at.timestamp() + self.validator.leeway_seconds)
        return principal

    def _evict(self, now: float) -> None:
        expired = [token for token, (_, until) in self._principals.items() if until <= now]
        for token in expired:
            del self._principals[token]
        # Still full: drop the oldest quarter (insertion order), so eviction stays rare.
        if len(self._principals) >= self.max_entries:
            for token in list(self._principals)[: max(1, self.max_entries // 4)]:
                del self._principals[token]
