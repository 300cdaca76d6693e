"""Piccolo app of the party-member assessment; its migrations live in ``migrations/scoring``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="scoring",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "scoring"),
    table_classes=[],
    migration_dependencies=["timebank.community.piccolo_app"],
)
