import asyncio
import time

import pytest

from chargewatch.authz.credentials import (
    ConnectionCheck,
    DeadlinePassed,
    HashingBusy,
    Outcome,
    PasswordHashing,
    Profile,
    VerifiedPasswords,
    check_connection,
    check_connection_detail,
    generate_password,
    hash_password,
    remembered_connection_check,
    verify_password,
)
from tests.support.argon2 import CountingHasher, count_argon2


@pytest.fixture(scope="module")
def password() -> str:
    return generate_password()


@pytest.fixture(scope="module")
def record(password: str) -> dict[str, object]:
    return {
        "_id": "CP1",
        "security_profile": 2,
        "password_hash": hash_password(password),
        "previous_password_hash": None,
    }


def test_generated_passwords_fit_ocpp_limits_and_differ() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(16 <= len(p) <= 40 for p in passwords)


def test_hash_is_argon2id_and_never_the_password(password: str) -> None:
    hashed = hash_password(password)
    assert hashed.startswith("$argon2id$")
    assert password not in hashed


def test_right_password_at_registered_profile_is_accepted(record: dict[str, object], password: str) -> None:
    outcome = check_connection(record, password=password, connection_profile=Profile.TLS_BASIC, certificate_sha256="")
    assert outcome is Outcome.ACCEPTED


def test_wrong_password_is_refused(record: dict[str, object]) -> None:
    outcome = check_connection(record, password="x" * 32, connection_profile=Profile.TLS_BASIC, certificate_sha256="")
    assert outcome is Outcome.BAD_CREDENTIALS


def test_a_station_never_connects_below_its_profile(record: dict[str, object], password: str) -> None:
    outcome = check_connection(record, password=password, connection_profile=Profile.BASIC, certificate_sha256="")
    assert outcome is Outcome.PROFILE_TOO_LOW


def test_unknown_station() -> None:
    outcome = check_connection(None, password="x", connection_profile=Profile.BASIC, certificate_sha256="")
    assert outcome is Outcome.UNKNOWN_STATION


def test_previous_password_works_until_rotation_is_confirmed(password: str) -> None:
    new = generate_password()
    rotated = {
        "security_profile": 1,
        "password_hash": hash_password(new),
        "previous_password_hash": hash_password(password),
    }
    for candidate in (new, password):
        assert check_connection(
            rotated, password=candidate, connection_profile=Profile.BASIC, certificate_sha256=""
        ) is (Outcome.ACCEPTED)
    confirmed = {**rotated, "previous_password_hash": None}
    assert check_connection(confirmed, password=password, connection_profile=Profile.BASIC, certificate_sha256="") is (
        Outcome.BAD_CREDENTIALS
    )


def test_profile_three_needs_a_registered_certificate() -> None:
    record = {"security_profile": 3, "password_hash": None, "certificate_sha256": ["ab" * 32]}
    assert check_connection(
        record, password="", connection_profile=Profile.MUTUAL_TLS, certificate_sha256="AB" * 32
    ) is (Outcome.ACCEPTED)
    assert check_connection(
        record, password="", connection_profile=Profile.MUTUAL_TLS, certificate_sha256="cd" * 32
    ) is (Outcome.BAD_CREDENTIALS)
    assert check_connection(record, password="", connection_profile=Profile.TLS_BASIC, certificate_sha256="") is (
        Outcome.PROFILE_TOO_LOW
    )


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    return count_argon2(monkeypatch)


def test_a_verified_password_is_recognised_again_without_argon2(
    record: dict[str, object], password: str, counting: CountingHasher
) -> None:
    verified = VerifiedPasswords()

    def check(candidate: str, stored: dict[str, object] = record) -> Outcome:
        return check_connection_detail(
            stored, password=candidate, connection_profile=Profile.TLS_BASIC, certificate_sha256="", verified=verified
        ).outcome

    assert check(password) is Outcome.ACCEPTED
    assert counting.calls == 1
    for _ in range(5):
        assert check(password) is Outcome.ACCEPTED
    assert counting.calls == 1  # every reconnect after the first is answered from the cache
    # A wrong password is never cached: each attempt pays argon2 again (current hash only, no previous).
    assert check("x" * 32) is Outcome.BAD_CREDENTIALS
    assert check("x" * 32) is Outcome.BAD_CREDENTIALS
    assert counting.calls == 3
    # After a rotation the stored hash differs: the old password is not matched from the cache.
    rotated = {**record, "password_hash": hash_password(generate_password()), "previous_password_hash": None}
    assert check(password, rotated) is Outcome.BAD_CREDENTIALS
    assert counting.calls == 4


def test_verified_passwords_hold_no_password_expire_and_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargewatch.authz import credentials

    verified = VerifiedPasswords(capacity=2, ttl_seconds=10)
    verified.remember("$argon2id$a", "pw-a")
    verified.remember("$argon2id$b", "pw-b")
    verified.remember("$argon2id$c", "pw-c")
    assert len(verified) == 2
    assert not verified.known("$argon2id$a", "pw-a")  # the oldest went first
    assert verified.known("$argon2id$c", "pw-c") and not verified.known("$argon2id$c", "pw-b")
    # Only keyed digests are kept: no password or hash text in memory.
    assert all(b"pw-" not in digest and b"argon2" not in digest for digest in verified._entries)
    # A second process (another key) recognises nothing.
    assert not VerifiedPasswords().known("$argon2id$c", "pw-c")
    now = time.monotonic()
    monkeypatch.setattr(credentials.time, "monotonic", lambda: now + 11)
    assert not verified.known("$argon2id$c", "pw-c")
    with pytest.raises(ValueError, match="must be positive"):
        VerifiedPasswords(capacity=0)


def test_remembered_check_decides_without_argon2_only_what_it_can(
    record: dict[str, object], password: str, counting: CountingHasher
) -> None:
    verified = VerifiedPasswords()
    basic = Profile.TLS_BASIC
    assert remembered_connection_check(None, password=password, connection_profile=basic, verified=verified) == (
        ConnectionCheck(Outcome.UNKNOWN_STATION)
    )
    too_low = remembered_connection_check(
        record, password=password, connection_profile=Profile.BASIC, verified=verified
    )
    assert too_low == ConnectionCheck(Outcome.PROFILE_TOO_LOW)
    # Not remembered yet: the slow path must decide (and then remembers it).
    assert remembered_connection_check(record, password=password, connection_profile=basic, verified=verified) is None
    assert verify_password(str(record["password_hash"]), password, verified)
    assert remembered_connection_check(record, password=password, connection_profile=basic, verified=verified) == (
        ConnectionCheck(Outcome.ACCEPTED)
    )
    # A wrong password is never decided here: it always pays argon2.
    assert remembered_connection_check(record, password="z" * 32, connection_profile=basic, verified=verified) is None
    assert counting.calls == 1


async def test_hashing_bounds_its_queue_not_the_callers_deadline() -> None:
    hashing = PasswordHashing(threads=1, queue_seconds=0.3)
    ran: list[str] = []

    def work(name: str, seconds: float = 0.0) -> str:
        time.sleep(seconds)
        ran.append(name)
        return name

    assert await hashing.run(None, work, "free") == "free"
    assert await hashing.run(time.monotonic() + 5, work, "in time") == "in time"
    # A caller whose deadline has all but gone is still queued while the queue is short: the
    # check's verdict (remembered when the password matched) answers the station's retry.
    hashing.seconds_per_check = 0.01
    assert await hashing.run(time.monotonic() + 0.001, work, "late", 0.02) == "late"
    # Beyond `queue_seconds` of checks ahead: refused at once, never queued.
    hashing.seconds_per_check = 0.2
    slow = asyncio.create_task(hashing.run(None, work, "slow", 0.5))
    await asyncio.sleep(0.05)
    with pytest.raises(HashingBusy):
        await hashing.run(time.monotonic() + 5, work, "refused")
    # Admitted while the queue looked short (a wrong estimate), then waited `queue_seconds` past its
    # caller's deadline behind the slow check: skipped unstarted (the retry came and went).
    hashing.seconds_per_check = 0.01  # what a wrong estimate looks like
    with pytest.raises(DeadlinePassed):
        await hashing.run(time.monotonic() + 0.05, work, "abandoned")
    assert await slow == "slow"
    assert hashing.seconds_per_check > 0.05  # the average followed the slow check
    assert ran == ["free", "in time", "late", "slow"]
    with pytest.raises(ValueError, match="must be positive"):
        PasswordHashing(threads=1, queue_seconds=0)


async def test_a_check_whose_caller_gave_up_still_finishes() -> None:
    """The caller's RPC is cancelled at its deadline; the check runs on, and the queue count follows it."""
    hashing = PasswordHashing(threads=1)
    finished = asyncio.Event()
    loop = asyncio.get_running_loop()

    def work() -> str:
        time.sleep(0.1)
        loop.call_soon_threadsafe(finished.set)
        return "remembered"

    caller = asyncio.create_task(hashing.run(time.monotonic() + 0.01, work))
    await asyncio.sleep(0.02)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert hashing.expected_wait() > 0  # still queued work
    await asyncio.wait_for(finished.wait(), 5)
    await asyncio.sleep(0.01)
    assert hashing.expected_wait() == 0
