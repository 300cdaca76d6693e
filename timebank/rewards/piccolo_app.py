"""Piccolo app of the points mall and mutual-aid station; its migrations live in ``migrations/rewards``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="rewards",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "rewards"),
    table_classes=[],
    migration_dependencies=["timebank.community.piccolo_app"],
)
