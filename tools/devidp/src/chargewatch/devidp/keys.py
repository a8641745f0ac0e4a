"""Signing keys: RSA keys with key ids, published as a JWKS, rotated on demand.

After a rotation the previous keys stay published (Keycloak keeps them as passive keys), so tokens
signed before the rotation remain verifiable until they expire.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return jwk | {"kid": self.kid, "use": "sig", "alg": "RS256"}


def _new_key() -> SigningKey:
    return SigningKey(uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))


class KeyRing:
    def __init__(self, keep: int = 2) -> None:
        self._keys: deque[SigningKey] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._keys.append(_new_key())

    @property
    def active(self) -> SigningKey:
        return self._keys[-1]

    def rotate(self) -> SigningKey:
        key = _new_key()
        with self._lock:
            self._keys.append(key)
        return key

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.public_jwk() for key in reversed(self._keys)]}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.active
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})

    def verify(self, token: str, **options: Any) -> dict[str, Any]:
        """Verify a token this IdP issued (refresh tokens come back to us)."""
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            key = next((k for k in self._keys if k.kid == kid), None)
        if key is None:
            raise jwt.InvalidTokenError("unknown key")
        claims: dict[str, Any] = jwt.decode(token, key.private_key.public_key(), algorithms=["RS256"], **options)
        return claims
