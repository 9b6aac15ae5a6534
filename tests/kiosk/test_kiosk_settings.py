"""Kiosk settings files: every key a file may set, checked as declared (cases made from
the model), unknown keys refused with a suggestion, every problem at once with its path."""

from __future__ import annotations

import typing

import pytest
from hall_config_cases import wrong_type

from kiosk.settings import SETTINGS_FILE, KioskSettings, SettingsError, settings_from_mapping

FILE_KEYS = typing.get_type_hints(SETTINGS_FILE, include_extras=True)


def test_a_file_sets_every_field_but_the_secret_itself():
    assert set(FILE_KEYS) == {f for f in KioskSettings.__dataclass_fields__} - {"salt"} | {
        "salt_file",
        "staff_pin_file",
    }


@pytest.mark.parametrize("key", sorted(FILE_KEYS))
def test_a_wrong_type_is_refused_with_its_path(key):
    with pytest.raises(SettingsError) as err:
        settings_from_mapping({"kiosk": {key: wrong_type(FILE_KEYS[key])}})
    assert [p.path for p in err.value.problems] == [f"kiosk.{key}"], str(err.value)


@pytest.mark.parametrize("key", sorted(FILE_KEYS))
def test_a_misspelt_key_is_refused_with_a_suggestion(key):
    typo = key[:3] + key[4:]
    with pytest.raises(SettingsError) as err:
        settings_from_mapping({typo: None})
    (problem,) = err.value.problems
    assert (problem.path, problem.message) == (typo, "unknown key")
    assert problem.hint == f"did you mean '{key}'?"


def test_ranges_and_every_problem_at_once():
    with pytest.raises(SettingsError) as err:
        settings_from_mapping(
            {"idle_timeout_s": 0, "elderly_age": -1, "staff_pin_hash": "12a", "language": "fr"}
        )
    assert [str(p) for p in err.value.problems] == [
        "elderly_age: must be at least 0, got -1",
        "staff_pin_hash: not a stored PIN: expected scrypt$n=16384,r=8,p=1$<salt>$<hash> as "
        "written by `hall provision` or `hall provision --hash-pin` (a PIN is never written "
        "in plain)",
        "idle_timeout_s: must be greater than 0, got 0",
        "language: expected one of zh, en, got 'fr'",
    ]
    assert err.value.user_message.startswith("取号机配置有误")


def test_values_keep_their_declared_types():
    s = settings_from_mapping({"idle_timeout_s": 30, "common_items": ["rs-card"]})
    assert s.idle_timeout_s == 30.0 and isinstance(s.idle_timeout_s, float)
    assert s.common_items == ("rs-card",)
    assert settings_from_mapping({}, s) == s  # a file over a base changes only its keys


@pytest.mark.parametrize("value", [4321, "4321"])
def test_a_pin_in_plain_is_refused_without_repeating_it(value):
    for data in ({"staff_pin": value}, {"kiosk": {"staff_pin_hash": value}}):
        with pytest.raises(SettingsError) as err:
            settings_from_mapping(data)
        assert "4321" not in str(err.value)
        assert "hall provision" in str(err.value)


def test_the_staff_pin_file_holds_the_hash(tmp_path):
    from hall.core.pins import hash_pin, verify_pin

    path = tmp_path / "staff-pin"
    stored = hash_pin("5173", n=2**10)
    path.write_text(stored + "\n", encoding="utf-8")
    s = settings_from_mapping({"staff_pin_file": str(path)})
    assert s.staff_pin_hash == stored and verify_pin("5173", s.staff_pin_hash)
    assert "scrypt" not in repr(s)  # not in logs of the settings either
    missing = settings_from_mapping({"staff_pin_file": str(tmp_path / "none")})
    assert missing.staff_pin_hash is None  # no PIN configured: the staff panel is refused
    path.write_text("5173\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        settings_from_mapping({"staff_pin_file": str(path)})
    assert err.value.path == "staff_pin_file" and "5173" not in str(err.value)


def test_the_old_qr_base_url_is_ignored_with_a_warning(caplog):
    """#13: the ticket's QR is the engine's follow_url; an old settings file still loads."""
    from kiosk.settings import KioskSettings, settings_from_mapping

    settings = settings_from_mapping({"qr_base_url": "http://hall.local/q/{hall}/{ticket}"})
    assert settings == KioskSettings()
    assert "qr_base_url is no longer used" in caplog.text
