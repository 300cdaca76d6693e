"""Piccolo app of the three lists and the order cycle; its migrations live in ``migrations/marketplace``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="marketplace",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "marketplace"),
    table_classes=[],
    migration_dependencies=["timebank.community.piccolo_app"],
)
