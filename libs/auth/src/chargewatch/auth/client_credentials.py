"""Service-to-service identity: an OAuth2 client-credentials token, fetched and renewed before it expires."""

from __future__ import annotations

import asyncio
import time

import httpx


class ClientCredentialsToken:
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        renew_before_seconds: float = 30.0,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._renew_before = renew_before_seconds
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the secret
        return f"ClientCredentialsToken(client_id={self.client_id!r}, token_url={self.token_url!r})"

    async def get(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - self._renew_before:
                response = await self._http.post(
                    self.token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self._client_secret),
                )
                response.raise_for_status()
                body = response.json()
                self._token = str(body["access_token"])
                self._expires_at = time.monotonic() + float(body.get("expires_in", 60))
            return self._token

    async def authorization_header(self) -> dict[str, str]:
        return {"authorization": f"Bearer {await self.get()}"}
