"""Piccolo app of identity and login; its migrations live in ``migrations/access``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="access",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "access"),
    table_classes=[],
    migration_dependencies=["timebank.community.piccolo_app"],
)
