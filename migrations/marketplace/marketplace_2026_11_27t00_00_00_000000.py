"""The three lists (resources, needs with micro-wishes, projects) and the dispatch–claim–rate order cycle.

What the database guarantees, whatever the service does:
- a micro-wish is published, ordered or fulfilled only after staff verified it (a CHECK on ``need``);
- one need has at most one order that is not cancelled, and one order at most one live claim (unique partial
  indexes), so two claimers racing for an open order cannot both win;
- an order moves only along the legal transitions, and a closed or cancelled order never changes again (trigger);
- the order's transitions and the policy versions are append-only for the service;
- a project never pays out more points than its budget (CHECK on the running total);
- a need's, resource's or project's place is consistent: the building and compound are filled in from the most
  specific place given (trigger), so a household can never sit under another compound.
Every table carries ``community_id`` and is bound by the same row-level security as the community tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "resources, needs and micro-wishes, projects, orders with claims and events, marketplace policy"

_CATEGORIES = (
    "elder_care",
    "child_care",
    "disability_support",
    "health",
    "legal",
    "repair",
    "cleaning",
    "errands",
    "companionship",
    "education",
    "culture_sports",
    "safety_patrol",
    "governance",
    "employment",
    "goods",
    "other",
)
_CATEGORY_CHECK = "category IN (" + ", ".join(f"'{c}'" for c in _CATEGORIES) + ")"

_SCOPED_TABLES = (
    "marketplace_policy",
    "resource",
    "need",
    "project",
    "project_update",
    "service_order",
    "order_claim",
    "order_participant",
    "order_event",
)

FORWARDS = rf"""
-- Versioned, effective-dated rules of the order cycle per community. A community without a row runs on the
-- built-in defaults (version 0 in the service). Rows are never changed: staff add a version.
CREATE TABLE marketplace_policy (
    community_id uuid NOT NULL REFERENCES community,
    version integer NOT NULL CHECK (version > 0),
    valid_from timestamptz NOT NULL,
    wish_value_cap_yuan integer NOT NULL CHECK (wish_value_cap_yuan > 0),
    wish_claim_window interval NOT NULL CHECK (wish_claim_window > interval '0'),
    compound_limit interval NOT NULL CHECK (compound_limit > interval '0'),
    community_limit interval NOT NULL CHECK (community_limit > interval '0'),
    street_limit interval NOT NULL CHECK (street_limit > interval '0'),
    department_limit interval NOT NULL CHECK (department_limit > interval '0'),
    coins_per_minute integer NOT NULL CHECK (coins_per_minute BETWEEN 0 AND 100),
    points_per_hour integer NOT NULL CHECK (points_per_hour BETWEEN 0 AND 1000),
    score_bonus integer NOT NULL CHECK (score_bonus BETWEEN 0 AND 100),
    bonus_min_rating smallint NOT NULL CHECK (bonus_min_rating BETWEEN 1 AND 5),
    created_by uuid REFERENCES person,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, version),
    UNIQUE (community_id, valid_from)
);

-- 资源清单: what partner units, teams, volunteers (or the community's own offices) offer.
CREATE TABLE resource (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    owner_kind text NOT NULL CHECK (owner_kind IN ('unit', 'team', 'person', 'community')),
    unit_id uuid,
    team_id uuid,
    person_id uuid REFERENCES person,
    category text NOT NULL CHECK ({_CATEGORY_CHECK}),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    detail text NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    skills text[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(skills) <= 20),
    capacity integer NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 1000),
    schedule text NOT NULL DEFAULT '' CHECK (length(schedule) <= 200),
    weekdays smallint[] NOT NULL DEFAULT '{{1,2,3,4,5,6,7}}' CHECK (weekdays <@ '{{1,2,3,4,5,6,7}}'::smallint[]),
    available_from date,
    available_until date,
    compound_id uuid,
    building_id uuid,
    status text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'withdrawn')),
    created_by uuid REFERENCES person,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, id),
    FOREIGN KEY (community_id, unit_id) REFERENCES partner_unit (community_id, id),
    FOREIGN KEY (community_id, team_id) REFERENCES volunteer_team (community_id, id),
    FOREIGN KEY (community_id, compound_id) REFERENCES compound (community_id, id),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id),
    CHECK ((owner_kind = 'unit') = (unit_id IS NOT NULL)),
    CHECK ((owner_kind = 'team') = (team_id IS NOT NULL)),
    CHECK ((owner_kind = 'person') = (person_id IS NOT NULL)),
    CHECK (available_until IS NULL OR available_from IS NULL OR available_until >= available_from)
);
CREATE INDEX resource_listing ON resource (community_id, status, category);
CREATE INDEX resource_unit ON resource (unit_id) WHERE unit_id IS NOT NULL;

-- 需求清单: what residents, grid workers and staff raise. A micro-wish (微心愿) is a need with a value, verified by
-- staff before it is published. requester_id is who asks and later rates (for a wish: its beneficiary).
CREATE TABLE need (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    kind text NOT NULL CHECK (kind IN ('need', 'micro_wish')),
    category text NOT NULL CHECK ({_CATEGORY_CHECK}),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    skills text[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(skills) <= 20),
    compound_id uuid,
    building_id uuid,
    household_id uuid,
    urgency text NOT NULL DEFAULT 'routine' CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    preferred_from timestamptz,
    preferred_until timestamptz,
    est_minutes integer NOT NULL CHECK (est_minutes BETWEEN 0 AND 14400),
    settlement text NOT NULL CHECK (settlement IN ('time_bank', 'public_good', 'none')),
    value_yuan integer CHECK (value_yuan BETWEEN 0 AND 1000000),
    requester_id uuid REFERENCES person,
    raised_by uuid REFERENCES person,
    raised_at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL DEFAULT 'resident'
        CHECK (source IN ('resident', 'grid_worker', 'staff', 'visit', 'wall', 'box', 'school')),
    status text NOT NULL
        CHECK (status IN ('pending_review', 'published', 'ordered', 'fulfilled', 'rejected', 'withdrawn')),
    reviewed_by uuid REFERENCES person,
    reviewed_at timestamptz,
    review_note text NOT NULL DEFAULT '' CHECK (length(review_note) <= 500),
    UNIQUE (community_id, id),
    FOREIGN KEY (community_id, compound_id) REFERENCES compound (community_id, id),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id),
    FOREIGN KEY (community_id, household_id) REFERENCES household (community_id, id),
    CHECK ((kind = 'micro_wish') = (value_yuan IS NOT NULL)),
    CHECK (settlement <> 'time_bank' OR (requester_id IS NOT NULL AND kind = 'need' AND est_minutes > 0)),
    CHECK (kind <> 'micro_wish' OR requester_id IS NOT NULL),
    -- Staff verify a wish before anyone sees it published.
    CHECK (kind <> 'micro_wish' OR status IN ('pending_review', 'rejected', 'withdrawn') OR reviewed_at IS NOT NULL),
    CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL)),
    CHECK (preferred_until IS NULL OR preferred_from IS NULL OR preferred_until >= preferred_from)
);
CREATE INDEX need_listing ON need (community_id, status, category);
CREATE INDEX need_requester ON need (requester_id);

-- 项目清单: partner units' co-building projects. A points budget, if any, is paid from the unit's points account.
CREATE TABLE project (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    unit_id uuid NOT NULL,
    category text NOT NULL CHECK ({_CATEGORY_CHECK}),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    goal text NOT NULL DEFAULT '' CHECK (length(goal) <= 2000),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    slots integer NOT NULL CHECK (slots BETWEEN 1 AND 10000),
    points_budget integer CHECK (points_budget >= 0),
    points_spent integer NOT NULL DEFAULT 0 CHECK (points_spent >= 0),
    skills text[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(skills) <= 20),
    compound_id uuid,
    building_id uuid,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('proposed', 'active', 'completed', 'closed')),
    progress_percent smallint NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    created_by uuid REFERENCES person,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, id),
    FOREIGN KEY (community_id, unit_id) REFERENCES partner_unit (community_id, id),
    FOREIGN KEY (community_id, compound_id) REFERENCES compound (community_id, id),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id),
    CHECK (ends_on >= starts_on),
    CHECK (points_budget IS NULL OR points_spent <= points_budget)
);
CREATE INDEX project_listing ON project (community_id, status, category);

CREATE TABLE project_update (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    project_id uuid NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    progress_percent smallint CHECK (progress_percent BETWEEN 0 AND 100),
    photo_urls text[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(photo_urls) <= 9),
    posted_by uuid REFERENCES person,
    posted_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, project_id) REFERENCES project (community_id, id)
);
CREATE INDEX project_update_project ON project_update (project_id, posted_at);

-- An order: a need dispatched to someone (派单) or opened for claiming (抢单), claimed (接单), done with proof,
-- rated by the requester (评单) and closed. tier is who answers for it now; tier_due_at when it escalates.
CREATE TABLE service_order (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    need_id uuid NOT NULL,
    mode text NOT NULL CHECK (mode IN ('directed', 'open')),
    assignee_kind text CHECK (assignee_kind IN ('person', 'team', 'unit')),
    assignee_id uuid,
    project_id uuid,
    status text NOT NULL CHECK (status IN ('dispatched', 'open', 'accepted', 'done', 'closed', 'cancelled')),
    tier text NOT NULL CHECK (tier IN ('compound', 'community', 'street', 'department')),
    tier_due_at timestamptz NOT NULL,
    accept_by timestamptz NOT NULL,
    policy_version integer NOT NULL CHECK (policy_version >= 0),
    created_by uuid REFERENCES person,
    created_at timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz,
    done_at timestamptz,
    done_minutes integer CHECK (done_minutes BETWEEN 0 AND 14400),
    proof_text text CHECK (length(proof_text) <= 2000),
    proof_urls text[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(proof_urls) <= 9),
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment text CHECK (length(rating_comment) <= 1000),
    rated_by uuid REFERENCES person,
    closed_at timestamptz,
    cancelled_at timestamptz,
    credit_transfer_ids uuid[] NOT NULL DEFAULT '{{}}',
    UNIQUE (community_id, id),
    FOREIGN KEY (community_id, need_id) REFERENCES need (community_id, id),
    FOREIGN KEY (community_id, project_id) REFERENCES project (community_id, id),
    CHECK ((mode = 'directed') = (assignee_kind IS NOT NULL)),
    CHECK ((assignee_kind IS NULL) = (assignee_id IS NULL)),
    CHECK (status NOT IN ('done', 'closed') OR (done_at IS NOT NULL AND done_minutes IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (status <> 'closed' OR rating IS NOT NULL),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE UNIQUE INDEX service_order_one_per_need ON service_order (need_id) WHERE status <> 'cancelled';
CREATE INDEX service_order_listing ON service_order (community_id, status, created_at);
CREATE INDEX service_order_assignee ON service_order (assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX service_order_sweep ON service_order (tier_due_at)
    WHERE status IN ('dispatched', 'open', 'accepted') AND tier <> 'department';

-- Who claimed an order, for whom (themselves, a team, a unit), and how it ended. At most one live claim per order.
CREATE TABLE order_claim (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    order_id uuid NOT NULL,
    claimant_kind text NOT NULL CHECK (claimant_kind IN ('person', 'team', 'unit')),
    claimant_id uuid NOT NULL,
    claimed_by uuid NOT NULL REFERENCES person,
    status text NOT NULL CHECK (status IN ('live', 'withdrawn', 'revoked', 'completed')),
    claimed_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    end_reason text CHECK (length(end_reason) <= 500),
    hold_transfer_id uuid,
    UNIQUE (community_id, id),
    FOREIGN KEY (community_id, order_id) REFERENCES service_order (community_id, id),
    CHECK ((status = 'live') = (ended_at IS NULL))
);
CREATE UNIQUE INDEX order_claim_one_live ON order_claim (order_id) WHERE status = 'live';
CREATE INDEX order_claim_order ON order_claim (order_id, claimed_at);
CREATE INDEX order_claim_claimant ON order_claim (claimant_id, status);

-- The people who do the work of a claim (a group claim names several); they are credited on close.
CREATE TABLE order_participant (
    community_id uuid NOT NULL,
    claim_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    PRIMARY KEY (claim_id, person_id),
    FOREIGN KEY (community_id, claim_id) REFERENCES order_claim (community_id, id)
);
CREATE INDEX order_participant_person ON order_participant (person_id);

-- Every transition of an order: who, when, from and to which status, at which tier.
CREATE TABLE order_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id uuid NOT NULL,
    order_id uuid NOT NULL,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    tier text NOT NULL,
    actor_id uuid,
    actor_subject text NOT NULL,
    detail jsonb,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (community_id, order_id) REFERENCES service_order (community_id, id)
);
CREATE INDEX order_event_order ON order_event (order_id, id);

-- The building and compound follow from the most specific place given, so they can never disagree.
CREATE FUNCTION marketplace_fill_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nested, not AND-ed: PL/pgSQL would resolve NEW.household_id on tables that have no such column.
    IF TG_TABLE_NAME = 'need' THEN
        IF NEW.household_id IS NOT NULL THEN
            NEW.building_id := (SELECT building_id FROM household WHERE id = NEW.household_id);
        END IF;
    END IF;
    IF NEW.building_id IS NOT NULL THEN
        NEW.compound_id := (SELECT compound_id FROM building WHERE id = NEW.building_id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER need_place BEFORE INSERT OR UPDATE OF household_id, building_id, compound_id ON need
    FOR EACH ROW EXECUTE FUNCTION marketplace_fill_place();
CREATE TRIGGER resource_place BEFORE INSERT OR UPDATE OF building_id, compound_id ON resource
    FOR EACH ROW EXECUTE FUNCTION marketplace_fill_place();
CREATE TRIGGER project_place BEFORE INSERT OR UPDATE OF building_id, compound_id ON project
    FOR EACH ROW EXECUTE FUNCTION marketplace_fill_place();

-- The order state machine. A closed or cancelled order is final; any other move must be a legal transition.
CREATE FUNCTION service_order_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('closed', 'cancelled') THEN
        RAISE EXCEPTION 'order % is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('dispatched', 'accepted'), ('open', 'accepted'),
        ('dispatched', 'open'), ('open', 'dispatched'),
        ('accepted', 'done'), ('accepted', 'open'), ('accepted', 'dispatched'),
        ('done', 'accepted'), ('done', 'closed'),
        ('dispatched', 'cancelled'), ('open', 'cancelled'), ('accepted', 'cancelled')
    ) THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER service_order_transition BEFORE UPDATE ON service_order
    FOR EACH ROW EXECUTE FUNCTION service_order_transition();

REVOKE UPDATE, DELETE, TRUNCATE ON marketplace_policy, order_event FROM timebank_app;
REVOKE DELETE, TRUNCATE ON resource, need, project, project_update, service_order, order_claim FROM timebank_app;
REVOKE UPDATE, TRUNCATE ON project_update, order_participant FROM timebank_app;
"""

_RLS = "\n".join(
    f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_by_community ON {table}
    USING (community_visible(community_id)) WITH CHECK (community_visible(community_id));
"""
    for table in _SCOPED_TABLES
)

BACKWARDS = """
DROP TABLE order_event, order_participant, order_claim, service_order, project_update, project, need, resource,
    marketplace_policy;
DROP FUNCTION service_order_transition(), marketplace_fill_place();
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
