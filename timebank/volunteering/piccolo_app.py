"""Piccolo app of volunteering and the time bank; its migrations live in ``migrations/volunteering``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="volunteering",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "volunteering"),
    table_classes=[],
    migration_dependencies=["timebank.community.piccolo_app"],
)
