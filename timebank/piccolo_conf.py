"""Piccolo's configuration module, found through ``PICCOLO_CONF=timebank.piccolo_conf``.

The engine starts without a DSN: the composition root (``timebank.db.configure_engine``) fills it in once the
database, embedded or external, is known.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

DB = PostgresEngine(config={})

APP_REGISTRY = AppRegistry(
    apps=[
        "timebank.platform.piccolo_app",
        "timebank.ledger.piccolo_app",
        "timebank.community.piccolo_app",
        "timebank.access.piccolo_app",
        "timebank.marketplace.piccolo_app",
        "timebank.rewards.piccolo_app",
        "timebank.scoring.piccolo_app",
        "timebank.volunteering.piccolo_app",
    ]
)
