"""Piccolo app of the ledger; its migrations live in ``migrations/ledger``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "ledger"),
    table_classes=[],
    migration_dependencies=["timebank.platform.piccolo_app"],
)
