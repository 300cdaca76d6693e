"""Piccolo app of the platform schema; its migrations live in ``migrations/platform``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="platform",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "platform"),
    table_classes=[],
)
