"""Piccolo app of communities and people; its migrations live in ``migrations/community``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="community",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "community"),
    table_classes=[],
    migration_dependencies=["timebank.ledger.piccolo_app"],
)
