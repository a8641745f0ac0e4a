import pytest

from chargewatch.authz.credentials import Outcome, Profile, check_connection, generate_password, hash_password


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
