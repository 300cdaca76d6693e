"""Communities and people: the place tree, the party organisation, memberships, partner units, family links,
role grants and the audit log, with row-level security by community.

Every row names the community it belongs to. The service binds each transaction to the communities its principal
may see (``timebank.communities``, a comma-separated list of ids, set with ``set_config(..., true)``); system
tasks (imports, the demo seed, sweepers) bind ``timebank.all_communities = 'on'``. A transaction bound to nothing
sees nothing: the application role is subject to the policies, the owner (migrations) is not.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "streets, communities, places, people, memberships, party organisation, role grants, audit log"

_SCOPED_TABLES = (
    "compound",
    "building",
    "household",
    "grid",
    "grid_building",
    "party_org",
    "volunteer_team",
    "partner_unit",
    "co_building_agreement",
    "membership",
    "family_link",
)

FORWARDS = r"""
CREATE FUNCTION community_visible(community uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('timebank.all_communities', true), '') = 'on'
        OR community = ANY (
            string_to_array(nullif(current_setting('timebank.communities', true), ''), ',')::uuid[]
        )
$$;

CREATE TABLE street (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9-]{1,64}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE community (
    id uuid PRIMARY KEY,
    street_id uuid NOT NULL REFERENCES street,
    code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9-]{1,64}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX community_street ON community (street_id);

-- Places: community → compound (小区) → building (楼栋) → household (户).
CREATE TABLE compound (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

CREATE TABLE building (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    compound_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    FOREIGN KEY (community_id, compound_id) REFERENCES compound (community_id, id),
    UNIQUE (compound_id, name),
    UNIQUE (community_id, id)
);

CREATE TABLE household (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    building_id uuid NOT NULL,
    room text NOT NULL CHECK (length(room) BETWEEN 1 AND 32),
    -- Who needs help first (domain rules §4): solitary and bereaved elders, hardship households.
    kind text NOT NULL DEFAULT 'ordinary'
        CHECK (kind IN ('ordinary', 'solitary_elder', 'bereaved_elder', 'hardship', 'disabled', 'veteran')),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id),
    UNIQUE (building_id, room),
    UNIQUE (community_id, id)
);

-- Grids (网格) cover buildings; each building is in at most one grid. Grid workers hold a role grant on the grid.
CREATE TABLE grid (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

CREATE TABLE grid_building (
    community_id uuid NOT NULL,
    grid_id uuid NOT NULL,
    building_id uuid NOT NULL UNIQUE,
    PRIMARY KEY (grid_id, building_id),
    FOREIGN KEY (community_id, grid_id) REFERENCES grid (community_id, id),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id)
);

-- The party hierarchy: community committee (社区党委) → branch (支部) → building group (楼栋党小组) → hub household
-- (党员中心户). Each level's parent is the level above; temporary branches (e.g. a grid's branch for in-service
-- members) are marked.
CREATE TABLE party_org (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    parent_id uuid,
    level text NOT NULL CHECK (level IN ('committee', 'branch', 'group', 'hub_household')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    compound_id uuid,
    building_id uuid,
    household_id uuid,
    is_temporary boolean NOT NULL DEFAULT false,
    UNIQUE (community_id, id),
    UNIQUE (community_id, level, name),
    FOREIGN KEY (community_id, parent_id) REFERENCES party_org (community_id, id),
    FOREIGN KEY (community_id, compound_id) REFERENCES compound (community_id, id),
    FOREIGN KEY (community_id, building_id) REFERENCES building (community_id, id),
    FOREIGN KEY (community_id, household_id) REFERENCES household (community_id, id),
    CHECK ((level = 'committee') = (parent_id IS NULL)),
    CHECK (level <> 'hub_household' OR household_id IS NOT NULL)
);
CREATE UNIQUE INDEX party_org_one_committee ON party_org (community_id) WHERE level = 'committee';

-- A person belongs to a home community (where they live or are registered). Dual-registered members are seen by
-- the paired community through a membership there. ID numbers are never stored: only a keyed hash (HMAC-SHA256
-- under the service key, for matching and deduplication) and the last four characters (for certificates).
CREATE TABLE person (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    household_id uuid,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    phone text CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    id_number_hash bytea UNIQUE CHECK (octet_length(id_number_hash) = 32),
    id_number_last4 text CHECK (id_number_last4 ~ '^[0-9]{3}[0-9X]$'),
    birth_date date CHECK (birth_date > '1900-01-01'),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, household_id) REFERENCES household (community_id, id),
    UNIQUE (community_id, id),
    CHECK ((id_number_hash IS NULL) = (id_number_last4 IS NULL))
);
CREATE INDEX person_household ON person (household_id);
CREATE INDEX person_phone ON person (phone);

CREATE TABLE volunteer_team (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    service_area text NOT NULL DEFAULT '',
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

-- Partner units (共建单位) paired with a community, and their co-building agreements.
CREATE TABLE partner_unit (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind text NOT NULL DEFAULT 'enterprise'
        CHECK (kind IN ('government', 'public_institution', 'enterprise', 'social_organisation', 'other')),
    contact_name text NOT NULL DEFAULT '',
    contact_phone text CHECK (contact_phone ~ '^[0-9-]{5,20}$'),
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

CREATE TABLE co_building_agreement (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    unit_id uuid NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    commitments text[] NOT NULL DEFAULT '{}',
    FOREIGN KEY (community_id, unit_id) REFERENCES partner_unit (community_id, id),
    CHECK (ends_on >= starts_on)
);

-- What a person is in a community. A dual-registered party member (双报到) has a party_member membership with
-- member_type 'dual_registered' in each of the two communities, naming the employer unit.
CREATE TABLE membership (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    person_id uuid NOT NULL REFERENCES person,
    kind text NOT NULL
        CHECK (kind IN ('resident', 'volunteer', 'party_member', 'team_member', 'team_leader', 'partner_staff')),
    skills text[] NOT NULL DEFAULT '{}',
    member_type text CHECK (member_type IN
        ('community_managed', 'dual_registered', 'property_company', 'volunteer', 'retired', 'mobile')),
    party_org_id uuid,
    team_id uuid,
    unit_id uuid,
    joined_on date NOT NULL DEFAULT current_date,
    left_on date,
    FOREIGN KEY (community_id, party_org_id) REFERENCES party_org (community_id, id),
    FOREIGN KEY (community_id, team_id) REFERENCES volunteer_team (community_id, id),
    CHECK ((kind = 'party_member') = (member_type IS NOT NULL)),
    CHECK (kind NOT IN ('team_member', 'team_leader') OR team_id IS NOT NULL),
    CHECK (kind <> 'partner_staff' OR unit_id IS NOT NULL),
    CHECK (member_type IS DISTINCT FROM 'dual_registered' OR unit_id IS NOT NULL),
    CHECK (left_on IS NULL OR left_on >= joined_on)
);
CREATE UNIQUE INDEX membership_active ON membership (
    community_id, person_id, kind, coalesce(team_id, unit_id, '00000000-0000-0000-0000-000000000000')
) WHERE left_on IS NULL;
CREATE INDEX membership_person ON membership (person_id);
CREATE INDEX membership_team ON membership (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX membership_party_org ON membership (party_org_id) WHERE party_org_id IS NOT NULL;

-- Lineal relatives (直系亲属), verified by staff before a member may act for the relative.
-- relation: what relative_id is to person_id.
CREATE TABLE family_link (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    person_id uuid NOT NULL REFERENCES person,
    relative_id uuid NOT NULL REFERENCES person,
    relation text NOT NULL CHECK (relation IN ('parent', 'child', 'grandparent', 'grandchild', 'spouse')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    verified_by uuid REFERENCES person,
    verified_at timestamptz,
    revoked_at timestamptz,
    CHECK (person_id <> relative_id),
    CHECK ((verified_by IS NULL) = (verified_at IS NULL)),
    UNIQUE (person_id, relative_id)
);
CREATE INDEX family_link_relative ON family_link (relative_id);

-- Roles scoped to a place, team or unit. scope_id names the community, street, team, grid, party_org (branch),
-- partner unit, or the person itself (resident). community_id is NULL only for street-scoped grants.
CREATE TABLE role_grant (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES person,
    role text NOT NULL CHECK (role IN ('resident', 'volunteer', 'team_leader', 'grid_worker', 'branch_secretary',
        'community_staff', 'partner_admin', 'street_admin', 'auditor')),
    scope_kind text NOT NULL CHECK (scope_kind IN ('self', 'team', 'grid', 'branch', 'community', 'unit', 'street')),
    scope_id uuid NOT NULL,
    community_id uuid REFERENCES community,
    granted_by uuid REFERENCES person,
    granted_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((scope_kind = 'street') = (community_id IS NULL)),
    CHECK (role NOT IN ('street_admin', 'auditor') OR scope_kind = 'street')
);
CREATE UNIQUE INDEX role_grant_active ON role_grant (person_id, role, scope_id) WHERE revoked_at IS NULL;

-- Every staff action: who, what, when, before and after. Append-only for the service.
CREATE TABLE audit_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id uuid,
    actor_id uuid,
    actor_subject text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id text NOT NULL,
    before jsonb,
    after jsonb,
    request_id text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_event_entity ON audit_event (entity, entity_id);
CREATE INDEX audit_event_community_at ON audit_event (community_id, at);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM timebank_app;
"""

_RLS = "\n".join(
    f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_by_community ON {table}
    USING (community_visible(community_id)) WITH CHECK (community_visible(community_id));
"""
    for table in _SCOPED_TABLES
)

# Street-wide rows (a street admin's grant, street-level audit events) carry no community: they are visible to
# system tasks only, and to street-scoped principals through the communities of their street.
_RLS += """
ALTER TABLE role_grant ENABLE ROW LEVEL SECURITY;
CREATE POLICY role_grant_by_community ON role_grant
    USING (community_visible(community_id) OR coalesce(current_setting('timebank.all_communities', true), '') = 'on')
    WITH CHECK (community_visible(community_id) OR coalesce(current_setting('timebank.all_communities', true), '') = 'on');
ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_event_by_community ON audit_event
    USING (community_visible(community_id) OR coalesce(current_setting('timebank.all_communities', true), '') = 'on')
    WITH CHECK (community_visible(community_id) OR coalesce(current_setting('timebank.all_communities', true), '') = 'on');

-- A person is visible in their home community and in every community where they hold a membership.
ALTER TABLE person ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_by_community ON person
    USING (
        community_visible(community_id)
        OR EXISTS (SELECT 1 FROM membership m WHERE m.person_id = person.id AND community_visible(m.community_id))
    )
    WITH CHECK (community_visible(community_id));

ALTER TABLE community ENABLE ROW LEVEL SECURITY;
CREATE POLICY community_visible ON community USING (community_visible(id)) WITH CHECK (community_visible(id));
"""

BACKWARDS = """
DROP TABLE audit_event, role_grant, family_link, membership, co_building_agreement, partner_unit, volunteer_team,
    person, party_org, grid_building, grid, household, building, compound, community, street;
DROP FUNCTION community_visible(uuid);
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="community", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
