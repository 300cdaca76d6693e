"""Every controller served under ``/v1``, in one list: the app mounts it and the access policy test walks it."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from timebank.http.controllers.auth import AuthController
from timebank.http.controllers.community import CommunityController, PeopleController
from timebank.http.controllers.ledger import LedgerController
from timebank.http.controllers.marketplace import MarketplaceCommunityController
from timebank.http.controllers.marketplace_items import (
    PartnerUnitOpeningsController,
    ProjectController,
    ResourceController,
)
from timebank.http.controllers.marketplace_orders import NeedController, OrderController
from timebank.http.controllers.rewards_aid import MallGrantController, MallStationAidController
from timebank.http.controllers.rewards_catalogue import (
    MallCommunityController,
    MallItemController,
    MallStationCatalogueController,
)
from timebank.http.controllers.rewards_orders import (
    MallOrderController,
    MallPersonController,
    MallStationOrdersController,
)
from timebank.http.controllers.scoring import ScoringController
from timebank.http.controllers.scoring_members import ScoringMembersController
from timebank.http.controllers.scoring_records import ScoringRecordsController
from timebank.http.controllers.volunteering import ActivitiesController
from timebank.http.controllers.volunteering_records import ServiceRecordsController
from timebank.http.controllers.volunteering_time_bank import TimeBankController

__all__ = ["API_CONTROLLERS"]

API_CONTROLLERS: list[ControllerRouterHandler] = [
    LedgerController,
    AuthController,
    CommunityController,
    PeopleController,
    MallCommunityController,
    MallStationCatalogueController,
    MallItemController,
    MallStationOrdersController,
    MallOrderController,
    MallPersonController,
    MallStationAidController,
    MallGrantController,
    ScoringController,
    ScoringMembersController,
    ScoringRecordsController,
    ActivitiesController,
    ServiceRecordsController,
    TimeBankController,
    MarketplaceCommunityController,
    ResourceController,
    ProjectController,
    PartnerUnitOpeningsController,
    NeedController,
    OrderController,
]
