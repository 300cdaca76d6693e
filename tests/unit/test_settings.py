"""Settings come from TIMEBANK_* variables, fail naming the variable, and never print secrets."""

from pathlib import Path

import pytest

from timebank.settings import Settings, SettingsError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.data_dir.name == "timebank"


def test_variables_override_defaults() -> None:
    settings = Settings.from_env(
        {
            "TIMEBANK_PORT": "9001",
            "TIMEBANK_WORKERS": "3",
            "TIMEBANK_DATA_DIR": "/srv/tb",
            "TIMEBANK_LOG_LEVEL": "WARNING",
            "TIMEBANK_DATABASE_URL": "postgresql://u:pw@db/tb",
        }
    )
    assert settings.port == 9001
    assert settings.workers == 3
    assert settings.data_dir == Path("/srv/tb")
    assert settings.log_level == "warning"
    assert settings.database_url is not None
    assert settings.database_url.reveal() == "postgresql://u:pw@db/tb"


def test_empty_variable_keeps_default() -> None:
    assert Settings.from_env({"TIMEBANK_PORT": "  "}).port == 8000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIMEBANK_PORT", "eighty"),
        ("TIMEBANK_PORT", "70000"),
        ("TIMEBANK_WORKERS", "0"),
        ("TIMEBANK_LOG_LEVEL", "loud"),
        ("TIMEBANK_LOG_FORMAT", "xml"),
        ("TIMEBANK_DATABASE_URL", "mysql://localhost/tb"),
        ("TIMEBANK_MAX_BODY_BYTES", "-5"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_secret_stays_out_of_repr() -> None:
    settings = Settings.from_env({"TIMEBANK_DATABASE_URL": "postgresql://u:hunter2@db/tb"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.database_url)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
