"""The pool of driver RFID tokens the simulated drivers present.

Two sources, both shared with the development stack so authz can know the same cards:
- a file (`--tokens FILE`): one hex uid per line, optionally followed by the tenant the card is
  registered to (blank lines and `#` comments ignored), or a JSON list, or a JSON object with the
  list under "tokens";
- a deterministic generator (`--token-count N --token-seed S`): the same seed gives the same uids
  on every machine, so the stack can provision them without sharing a file.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

DEFAULT_TOKEN_COUNT: Final = 50
DEFAULT_TOKEN_SEED: Final = 0
# 4-, 7- or 10-byte ISO 14443 uids as hex; at most 20 characters, the 1.6 idTag limit.
_UID = re.compile(r"^(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$")
# A tenant id as the platform spells it (lower-case slug).
_TENANT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def generate_tokens(count: int = DEFAULT_TOKEN_COUNT, seed: int = DEFAULT_TOKEN_SEED) -> list[str]:
    """`count` distinct 7-byte RFID uids (14 upper-case hex digits), the same for the same seed."""
    if count < 1:
        raise ValueError("token count must be positive")
    # A string seed hashes the same in every Python process (no PYTHONHASHSEED dependence).
    rng = random.Random(f"chargewatch-rfid-{seed}")
    tokens: list[str] = []
    seen: set[str] = set()
    while len(tokens) < count:
        # The first byte of a 7-byte NXP uid is the manufacturer code (0x04).
        uid = "04" + f"{rng.getrandbits(48):012X}"
        if uid not in seen:
            seen.add(uid)
            tokens.append(uid)
    return tokens


def check_tokens(tokens: Iterable[str], source: str = "tokens") -> list[str]:
    """Upper-cased, validated, duplicates refused: a clear error names the first bad entry."""
    checked: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(tokens, 1):
        if not isinstance(raw, str):
            raise ValueError(f"{source}: entry {position} is not a string")
        uid = raw.strip().upper()
        if not _UID.match(uid):
            raise ValueError(f"{source}: entry {position} ({raw[:24]!r}) is not an 8, 14 or 20 digit hex RFID uid")
        if uid in seen:
            raise ValueError(f"{source}: entry {position} ({uid}) is a duplicate")
        seen.add(uid)
        checked.append(uid)
    if not checked:
        raise ValueError(f"{source}: no tokens")
    return checked


def load_tokens(path: Path) -> list[str]:
    """Read a token file (see the module docstring for the formats)."""
    return load_token_pool(path)[0]


def load_token_pool(path: Path) -> tuple[list[str], dict[str, str]]:
    """A token file's uids, and the tenant of each card the file names one for."""
    text = path.read_text()
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        document = json.loads(text)
        entries = document.get("tokens") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a JSON list of tokens or an object with a list under 'tokens'")
        return check_tokens(entries, str(path)), {}
    rows = [line.split("#", 1)[0].split() for line in text.splitlines()]
    rows = [row for row in rows if row]
    for position, row in enumerate(rows, 1):
        if len(row) > 2 or (len(row) == 2 and not _TENANT.match(row[1])):
            raise ValueError(f"{path}: line {position} is not 'UID' or 'UID TENANT' (a lower-case tenant id)")
    tokens = check_tokens((row[0] for row in rows), str(path))
    tenants = {uid: row[1] for uid, row in zip(tokens, rows, strict=True) if len(row) == 2}
    return tokens, tenants


def assign_tenants(tokens: Sequence[str], tenants: Sequence[str]) -> dict[str, str]:
    """Cards dealt to the tenants in turn, in pool order (the first to the first tenant)."""
    if not tenants:
        raise ValueError("no tenants to assign cards to")
    return {uid: tenants[index % len(tenants)] for index, uid in enumerate(tokens)}


def write_tokens(path: Path, tokens: Iterable[str], tenants: Mapping[str, str] | None = None) -> None:
    """One uid per line, with its tenant when known: the format `load_tokens` reads."""
    tenants = tenants or {}
    path.write_text("".join(f"{token} {tenants[token]}\n" if token in tenants else f"{token}\n" for token in tokens))
