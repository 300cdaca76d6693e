"""Volunteering and the time bank: earning policies, activities, sign-ups, service records, the credits they post,
corrections, and time-bank movements, with row-level security by community.

What the database itself guarantees:
- an activity never has more enrolled volunteers than its capacity (a constraint trigger counts them);
- policy versions of a community are numbered 1, 2, 3, … and start strictly later than the version before, and the
  service may append versions but never change one, so every old transfer stays explained by its version;
- a sign-up yields at most one service record, and a record is corrected at most once;
- a record that is approved, credited or corrected names the policy version that priced it and a positive duration;
- planned credits are append-only apart from the moment they are posted.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "earning policies, activities, sign-ups, service records, credits, corrections, time bank"

_SCOPED_TABLES = (
    "earning_policy",
    "volunteer_activity",
    "activity_signup",
    "service_record",
    "service_credit",
    "record_correction",
    "time_bank_movement",
)

FORWARDS = r"""
-- Earning policy, versioned per community. Rates are per hour of service; time coins are counted in minutes
-- (60 = one coin), so every cap below is exact to the minute.
CREATE TABLE earning_policy (
    community_id uuid NOT NULL REFERENCES community,
    version integer NOT NULL CHECK (version >= 1),
    valid_from timestamptz NOT NULL,
    valid_until timestamptz,
    rounding_minutes smallint NOT NULL CHECK (rounding_minutes BETWEEN 1 AND 60),
    rounding_mode text NOT NULL CHECK (rounding_mode IN ('down', 'nearest', 'up')),
    coin_minutes_per_hour integer NOT NULL CHECK (coin_minutes_per_hour BETWEEN 0 AND 600),
    points_per_hour integer NOT NULL CHECK (points_per_hour BETWEEN 0 AND 1000),
    party_score_per_hour integer NOT NULL CHECK (party_score_per_hour BETWEEN 0 AND 100),
    party_score_tags text[] NOT NULL DEFAULT '{}',
    coin_daily_cap integer CHECK (coin_daily_cap >= 0),
    coin_lifetime_cap integer CHECK (coin_lifetime_cap >= 0),
    coin_storage_cap integer CHECK (coin_storage_cap >= 0),
    max_daily_service_minutes integer NOT NULL CHECK (max_daily_service_minutes BETWEEN 1 AND 1440),
    team_coins_donation_only boolean NOT NULL,
    redeem_age smallint NOT NULL CHECK (redeem_age BETWEEN 0 AND 120),
    redeem_age_hardship smallint NOT NULL CHECK (redeem_age_hardship BETWEEN 0 AND 120),
    auto_approve boolean NOT NULL,
    trade_window_days smallint NOT NULL CHECK (trade_window_days BETWEEN 0 AND 366),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (community_id, version),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);

CREATE FUNCTION earning_policy_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous earning_policy;
BEGIN
    -- Versions of one community are appended one at a time: lock the community's newest version first.
    PERFORM pg_advisory_xact_lock(hashtextextended('earning_policy:' || NEW.community_id, 0));
    SELECT * INTO previous FROM earning_policy
    WHERE community_id = NEW.community_id ORDER BY version DESC LIMIT 1;
    -- A number already taken is left to the primary key, so INSERT ... ON CONFLICT DO NOTHING can replay it.
    IF NEW.version > coalesce(previous.version, 0) + 1 THEN
        RAISE EXCEPTION 'policy version % does not follow %', NEW.version, coalesce(previous.version, 0)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'earning_policy_version_sequence';
    END IF;
    IF NEW.version = previous.version + 1 AND NEW.valid_from <= previous.valid_from THEN
        RAISE EXCEPTION 'policy version % must start after version %', NEW.version, previous.version
            USING ERRCODE = 'check_violation', CONSTRAINT = 'earning_policy_starts_later';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER earning_policy_in_order BEFORE INSERT ON earning_policy
    FOR EACH ROW EXECUTE FUNCTION earning_policy_in_order();

-- Activities published by team leaders and staff. organiser is the recording organisation (记录单位) that the
-- service record and the certificate name; leader_id is the activity's responsible person (活动负责人).
CREATE TABLE volunteer_activity (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    category text NOT NULL CHECK (length(category) BETWEEN 1 AND 40),
    content text NOT NULL DEFAULT '' CHECK (length(content) <= 1000),
    place text NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    skills_wanted text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    serves_kind text CHECK (serves_kind IN ('need', 'project')),
    serves_id uuid,
    team_id uuid,
    team_service boolean NOT NULL DEFAULT false,
    leader_id uuid NOT NULL REFERENCES person,
    organiser text NOT NULL CHECK (length(organiser) BETWEEN 1 AND 100),
    status text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'cancelled')),
    published_by uuid,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (community_id, team_id) REFERENCES volunteer_team (community_id, id),
    UNIQUE (community_id, id),
    CHECK (ends_at > starts_at),
    CHECK ((serves_kind IS NULL) = (serves_id IS NULL)),
    CHECK (NOT team_service OR team_id IS NOT NULL)
);
CREATE INDEX volunteer_activity_upcoming ON volunteer_activity (community_id, starts_at);

-- One sign-up per person and activity (its id derives from both, so signing up again finds it). Enrolled
-- volunteers hold a place; the waitlist is served in sign-up order.
CREATE TABLE activity_signup (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    activity_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    status text NOT NULL CHECK (status IN ('enrolled', 'waitlisted', 'cancelled')),
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    checked_in_at timestamptz,
    checked_out_at timestamptz,
    attendance_by text CHECK (attendance_by IN ('code', 'leader')),
    FOREIGN KEY (community_id, activity_id) REFERENCES volunteer_activity (community_id, id),
    UNIQUE (activity_id, person_id),
    CHECK (checked_out_at IS NULL OR checked_in_at IS NOT NULL),
    CHECK (checked_in_at IS NULL OR status = 'enrolled')
);
CREATE INDEX activity_signup_queue ON activity_signup (activity_id, status, queued_at);

CREATE FUNCTION activity_signup_within_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM activity_signup WHERE activity_id = NEW.activity_id AND status = 'enrolled')
        > (SELECT capacity FROM volunteer_activity WHERE id = NEW.activity_id) THEN
        RAISE EXCEPTION 'activity % is full', NEW.activity_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'activity_signup_capacity';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER activity_signup_within_capacity AFTER INSERT OR UPDATE OF status ON activity_signup
    FOR EACH ROW WHEN (NEW.status = 'enrolled') EXECUTE FUNCTION activity_signup_within_capacity();

-- The service record (志愿服务记录): who, what, where, when, how long, the recording organisation and who certified
-- it, as the national rules require. Activity facts are copied at confirmation, so the record stays true even if
-- the activity is edited or cancelled later.
CREATE TABLE service_record (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    activity_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    signup_id uuid UNIQUE REFERENCES activity_signup,
    corrects_id uuid UNIQUE REFERENCES service_record,
    activity_title text NOT NULL,
    category text NOT NULL,
    content text NOT NULL,
    place text NOT NULL,
    organiser text NOT NULL,
    leader_id uuid NOT NULL REFERENCES person,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    service_day date NOT NULL,
    minutes integer,
    status text NOT NULL CHECK (status IN ('confirmed', 'held', 'approved', 'credited', 'rejected', 'corrected')),
    anomalies text[] NOT NULL DEFAULT '{}',
    certified_by uuid NOT NULL REFERENCES person,
    certified_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    approved_by uuid REFERENCES person,
    approved_at timestamptz,
    policy_version integer,
    posting_attempt integer NOT NULL DEFAULT 0,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    FOREIGN KEY (community_id, activity_id) REFERENCES volunteer_activity (community_id, id),
    UNIQUE (community_id, id),
    CHECK (status <> 'held' OR cardinality(anomalies) > 0),
    CHECK (status NOT IN ('approved', 'credited', 'corrected')
        OR (policy_version IS NOT NULL AND minutes > 0 AND ended_at > started_at AND approved_at IS NOT NULL))
);
CREATE INDEX service_record_person_day ON service_record (person_id, service_day);
CREATE INDEX service_record_activity ON service_record (activity_id);
CREATE INDEX service_record_status ON service_record (community_id, status);

-- Credits planned when a record is approved (and the reversals of a correction), then posted to the ledger as one
-- linked chain. Planning and posting are separate steps so no transaction holds a connection while the ledger
-- writes; posted_at marks the ledger's acknowledgement.
CREATE TABLE service_credit (
    transfer_id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    record_id uuid NOT NULL REFERENCES service_record,
    person_id uuid NOT NULL,
    attempt integer NOT NULL,
    position smallint NOT NULL,
    purpose text NOT NULL CHECK (purpose IN ('earn', 'overflow', 'team_donation', 'reversal')),
    asset smallint NOT NULL CHECK (asset BETWEEN 1 AND 4),
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    code smallint NOT NULL,
    policy_version integer NOT NULL,
    reverses_id uuid,
    service_day date NOT NULL,
    posted_at timestamptz,
    UNIQUE (record_id, attempt, position),
    CHECK ((purpose = 'reversal') = (reverses_id IS NOT NULL))
);
CREATE INDEX service_credit_person_day ON service_credit (person_id, service_day);
CREATE INDEX service_credit_unposted ON service_credit (person_id) WHERE posted_at IS NULL;

-- A volunteer's request to correct a credited record (art. 13); staff approve it, which reverses the original
-- credits and posts the corrected record's.
CREATE TABLE record_correction (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    record_id uuid NOT NULL REFERENCES service_record,
    requested_by uuid NOT NULL REFERENCES person,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected', 'refused')),
    corrected_record_id uuid REFERENCES service_record,
    decided_by uuid REFERENCES person,
    decided_at timestamptz,
    outcome text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (ended_at > started_at),
    CHECK ((status = 'requested') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX record_correction_one_open ON record_correction (record_id) WHERE status = 'requested';

-- The time bank's own movements of coins: gifts to verified lineal relatives, donations to the pool, and staff
-- grants from the pool. The id is the client's idempotency key and derives the ledger transfer's id.
CREATE TABLE time_bank_movement (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    kind text NOT NULL CHECK (kind IN ('gift', 'donation', 'grant')),
    from_person_id uuid REFERENCES person,
    to_person_id uuid REFERENCES person,
    amount bigint NOT NULL CHECK (amount > 0),
    transfer_id uuid NOT NULL UNIQUE,
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    memo text NOT NULL DEFAULT '' CHECK (length(memo) <= 200),
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'posted', 'refused')),
    outcome text NOT NULL DEFAULT '',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((kind = 'grant') = (from_person_id IS NULL)),
    CHECK ((kind = 'donation') = (to_person_id IS NULL)),
    CHECK (from_person_id IS DISTINCT FROM to_person_id)
);
CREATE INDEX time_bank_movement_unposted ON time_bank_movement (to_person_id) WHERE status = 'planned';

-- Policies are history: the service appends versions and never rewrites one. Credits change only when posted.
REVOKE UPDATE, DELETE, TRUNCATE ON earning_policy FROM timebank_app;
REVOKE UPDATE, DELETE, TRUNCATE ON service_credit FROM timebank_app;
GRANT UPDATE (posted_at) ON service_credit TO timebank_app;
REVOKE DELETE, TRUNCATE ON service_record, record_correction, time_bank_movement FROM timebank_app;
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
DROP TABLE time_bank_movement, record_correction, service_credit, service_record, activity_signup,
    volunteer_activity, earning_policy;
DROP FUNCTION activity_signup_within_capacity(), earning_policy_in_order();
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteering", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
