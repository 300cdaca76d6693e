"""The master key: from the environment, or generated once into the data directory and found again."""

from __future__ import annotations

import stat
from pathlib import Path

from timebank.keys import load_keys
from timebank.settings import Settings


def test_generated_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    first = load_keys(Settings(data_dir=tmp_path))
    second = load_keys(Settings(data_dir=tmp_path))
    assert first.master == second.master
    assert len(first.master) == 64
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_configured_key_wins_and_purposes_differ(tmp_path: Path) -> None:
    settings = Settings.from_env({"TIMEBANK_SECRET_KEY": "k" * 40, "TIMEBANK_DATA_DIR": str(tmp_path)})
    keys = load_keys(settings)
    assert keys.master == b"k" * 40
    assert len({keys.token_signing, keys.personal_data, keys.check_in}) == 3
    assert not (tmp_path / "secret.key").exists()
    assert "kkkk" not in repr(settings)
    assert "kkkk" not in repr(keys)
