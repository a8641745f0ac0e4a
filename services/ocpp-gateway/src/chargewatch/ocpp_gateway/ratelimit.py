"""A per-station token bucket: a sustained rate of CALLs with room for a burst.

The bucket is two floats on the session; the rate and burst come from the settings at each
take, so the state stays tiny and a settings change needs no migration. No I/O, no clock of
its own: the caller passes a monotonic time.
"""

from __future__ import annotations


class TokenBucket:
    """Tokens refill at `rate` per second up to `burst`; each CALL takes one."""

    __slots__ = ("tokens", "updated")

    def __init__(self) -> None:
        # Negative until first used: a new session starts with a full bucket.
        self.tokens = -1.0
        self.updated = 0.0

    def take(self, now: float, rate: float, burst: int) -> bool:
        """Take one token at monotonic time `now`; False when the bucket is empty."""
        refilled = self.tokens + (now - self.updated) * rate
        tokens = float(burst) if self.tokens < 0.0 else min(float(burst), refilled)
        self.updated = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def retry_after(self, rate: float) -> float:
        """Seconds until the next token, as of the last take."""
        return max(0.0, (1.0 - max(self.tokens, 0.0)) / rate)
