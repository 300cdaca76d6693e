"""The points mall and the mutual-aid station: policy, stations, catalogue, stock, orders, returns, donations in
kind, grants to households in need, stock counts and points-expiry notices, with row-level security by community.

What the database itself guarantees, whatever the service does:
- stock can never be oversold: ``on_hand >= 0`` and ``0 <= reserved <= on_hand`` are CHECK constraints, and
  ``on_hand`` changes only by appending a stock movement (a trigger applies it; the service may not update it);
- movements, returns, donations, counts, notices and policy versions are append-only for the service;
- orders and grants move only along their state machines (a trigger refuses any other transition), and only their
  state columns may be updated;
- an open order's pickup code is unique at its station.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points mall and mutual-aid station"

_SCOPED_TABLES = (
    "rewards_policy",
    "rewards_station",
    "rewards_item",
    "rewards_stock",
    "rewards_stock_movement",
    "rewards_stock_count",
    "rewards_order",
    "rewards_order_line",
    "rewards_return",
    "rewards_donation",
    "rewards_donation_line",
    "rewards_grant",
    "rewards_grant_line",
    "rewards_expiry_notice",
)

FORWARDS = r"""
-- A community's mall rules, versioned and effective-dated; every transfer names the version that priced it.
CREATE TABLE rewards_policy (
    community_id uuid NOT NULL REFERENCES community,
    version integer NOT NULL CHECK (version > 0),
    effective_from timestamptz NOT NULL,
    -- Orders of at most this many points are approved without staff; 0: staff approve every order.
    auto_approve_max_points bigint NOT NULL DEFAULT 0 CHECK (auto_approve_max_points >= 0),
    -- How long an order's points stay held: approval and pickup must happen within it.
    pickup_window_seconds integer NOT NULL DEFAULT 86400 CHECK (pickup_window_seconds BETWEEN 1 AND 2592000),
    -- Points for a resident's accepted donation in kind, and the most a person earns that way per month.
    donation_reward_points bigint NOT NULL DEFAULT 0 CHECK (donation_reward_points BETWEEN 0 AND 100000),
    donation_reward_monthly_cap bigint CHECK (donation_reward_monthly_cap >= 0),
    -- Points expire this many days after they were earned (oldest first); NULL: points never expire.
    points_validity_days integer CHECK (points_validity_days BETWEEN 1 AND 3650),
    expiry_notice_days integer NOT NULL DEFAULT 30 CHECK (expiry_notice_days BETWEEN 0 AND 365),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (community_id, version),
    UNIQUE (community_id, effective_from)
);

-- A counter where goods are kept and handed over (积分超市 / 爱心超市 / 邻里互助站).
CREATE TABLE rewards_station (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    opening_hours text NOT NULL DEFAULT '' CHECK (length(opening_hours) <= 200),
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

-- A catalogue entry. Goods bought by the community, donated by a partner unit (共建单位), or donated by residents
-- to the mutual-aid station. Price 0: only for grants, never ordered with points.
CREATE TABLE rewards_item (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category text NOT NULL CHECK (category IN
        ('grain_oil', 'daily_goods', 'health', 'vouchers', 'services', 'clothing', 'books', 'toys', 'other')),
    price_points bigint NOT NULL CHECK (price_points BETWEEN 0 AND 1000000),
    image_url text CHECK (image_url ~ '^https?://[^[:space:]]+$' AND length(image_url) <= 500),
    source text NOT NULL CHECK (source IN ('purchased', 'partner_donated', 'resident_donated')),
    partner_unit_id uuid,
    -- What one unit cost in fen (分), for the sponsorship proof of partner units; never points.
    unit_cost_fen bigint CHECK (unit_cost_fen >= 0),
    limit_per_day integer CHECK (limit_per_day > 0),
    limit_per_month integer CHECK (limit_per_month > 0),
    limit_per_person integer CHECK (limit_per_person > 0),
    available_from timestamptz,
    available_until timestamptz,
    min_age smallint CHECK (min_age BETWEEN 0 AND 150),
    max_age smallint CHECK (max_age BETWEEN 0 AND 150),
    household_kinds text[] CHECK (household_kinds <@ ARRAY['ordinary', 'solitary_elder', 'bereaved_elder',
        'hardship', 'disabled', 'veteran'] AND cardinality(household_kinds) > 0),
    listed boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (community_id, station_id) REFERENCES rewards_station (community_id, id),
    FOREIGN KEY (community_id, partner_unit_id) REFERENCES partner_unit (community_id, id),
    CHECK ((source = 'partner_donated') = (partner_unit_id IS NOT NULL)),
    CHECK (available_until > available_from),
    CHECK (max_age >= min_age),
    UNIQUE (community_id, name, station_id),
    UNIQUE (community_id, id)
);

CREATE TABLE rewards_stock (
    item_id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    on_hand integer NOT NULL DEFAULT 0,
    reserved integer NOT NULL DEFAULT 0,
    CONSTRAINT rewards_stock_on_hand_not_negative CHECK (on_hand >= 0),
    CONSTRAINT rewards_stock_reserved_not_negative CHECK (reserved >= 0),
    CONSTRAINT rewards_stock_not_oversold CHECK (reserved <= on_hand),
    FOREIGN KEY (community_id, item_id) REFERENCES rewards_item (community_id, id),
    FOREIGN KEY (community_id, station_id) REFERENCES rewards_station (community_id, id)
);

-- Every change of goods on hand, signed: in (+) or out (-). ``id`` is derived from the business record, so a
-- retried request moves stock once.
CREATE TABLE rewards_stock_movement (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    item_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN
        ('purchase_in', 'donation_in', 'return_in', 'redeem_out', 'grant_out', 'writeoff', 'count_adjust')),
    quantity integer NOT NULL CHECK (quantity <> 0),
    ref_type text,
    ref_id uuid,
    actor_id uuid,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (item_id) REFERENCES rewards_stock (item_id),
    CHECK (CASE
        WHEN kind IN ('purchase_in', 'donation_in', 'return_in') THEN quantity > 0
        WHEN kind IN ('redeem_out', 'grant_out', 'writeoff') THEN quantity < 0
        ELSE true
    END)
);
CREATE INDEX rewards_stock_movement_station_at ON rewards_stock_movement (station_id, at);
CREATE INDEX rewards_stock_movement_item ON rewards_stock_movement (item_id, at);

-- The trigger runs as the table owner: the service cannot change on_hand except by appending a movement.
CREATE FUNCTION rewards_apply_movement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE rewards_stock SET on_hand = on_hand + NEW.quantity WHERE item_id = NEW.item_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER rewards_stock_movement_apply AFTER INSERT ON rewards_stock_movement
    FOR EACH ROW EXECUTE FUNCTION rewards_apply_movement();

-- A physical count (盘点): what staff found, what the books said, and the difference booked as a movement.
CREATE TABLE rewards_stock_count (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    item_id uuid NOT NULL REFERENCES rewards_stock (item_id),
    expected integer NOT NULL,
    counted integer NOT NULL CHECK (counted >= 0),
    difference integer GENERATED ALWAYS AS (counted - expected) STORED,
    counted_by uuid,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX rewards_stock_count_station_at ON rewards_stock_count (station_id, at);

-- An order: ``person_id`` spends their points (placed by themselves, a verified relative, or staff). The hold is
-- a pending ledger transfer whose timeout is the pickup window; ``expires_at`` ends the window a moment before it.
CREATE TABLE rewards_order (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    station_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    placed_by uuid,
    status text NOT NULL CHECK (status IN ('placed', 'approved', 'picked_up', 'rejected', 'cancelled', 'expired')),
    total_points bigint NOT NULL CHECK (total_points > 0),
    posted_points bigint CHECK (posted_points > 0 AND posted_points <= total_points),
    hold_transfer_id uuid NOT NULL UNIQUE,
    policy_version integer,
    expires_at timestamptz NOT NULL,
    -- The pickup code is derived from the order id and this attempt number; only its keyed digest is stored.
    code_attempt smallint NOT NULL DEFAULT 0,
    pickup_digest bytea NOT NULL CHECK (octet_length(pickup_digest) = 32),
    placed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    approved_at timestamptz,
    approved_by uuid,
    closed_at timestamptz,
    closed_by uuid,
    close_reason text CHECK (length(close_reason) <= 500),
    FOREIGN KEY (community_id, station_id) REFERENCES rewards_station (community_id, id),
    UNIQUE (community_id, id),
    CHECK ((status IN ('placed', 'approved')) = (closed_at IS NULL)),
    CHECK ((status = 'picked_up') = (posted_points IS NOT NULL)),
    CHECK (status IN ('placed', 'rejected', 'cancelled', 'expired') OR approved_at IS NOT NULL)
);
CREATE UNIQUE INDEX rewards_order_open_code ON rewards_order (station_id, pickup_digest)
    WHERE status IN ('placed', 'approved');
CREATE INDEX rewards_order_open_expiry ON rewards_order (expires_at) WHERE status IN ('placed', 'approved');
CREATE INDEX rewards_order_person ON rewards_order (person_id, placed_at);
CREATE INDEX rewards_order_station ON rewards_order (station_id, placed_at);

CREATE TABLE rewards_order_line (
    order_id uuid NOT NULL,
    community_id uuid NOT NULL,
    item_id uuid NOT NULL,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_points bigint NOT NULL CHECK (unit_points > 0),
    picked_quantity integer NOT NULL DEFAULT 0 CHECK (picked_quantity BETWEEN 0 AND quantity),
    returned_quantity integer NOT NULL DEFAULT 0 CHECK (returned_quantity BETWEEN 0 AND picked_quantity),
    PRIMARY KEY (order_id, item_id),
    FOREIGN KEY (community_id, order_id) REFERENCES rewards_order (community_id, id),
    FOREIGN KEY (community_id, item_id) REFERENCES rewards_item (community_id, id)
);
CREATE INDEX rewards_order_line_item ON rewards_order_line (item_id);

CREATE FUNCTION rewards_order_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status, NEW.status) NOT IN (
        ('placed', 'approved'), ('placed', 'rejected'), ('placed', 'cancelled'), ('placed', 'expired'),
        ('approved', 'picked_up'), ('approved', 'rejected'), ('approved', 'cancelled'), ('approved', 'expired')
    ) THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'rewards_order_transition';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rewards_order_transition BEFORE UPDATE OF status ON rewards_order
    FOR EACH ROW EXECUTE FUNCTION rewards_order_transition();

-- Goods brought back after pickup: the points come back (a reversal, or a refund for part), the goods go back.
CREATE TABLE rewards_return (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    order_id uuid NOT NULL,
    item_id uuid NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    points bigint NOT NULL CHECK (points > 0),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    refund_transfer_id uuid NOT NULL UNIQUE,
    actor_id uuid,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (order_id, item_id) REFERENCES rewards_order_line (order_id, item_id)
);
CREATE INDEX rewards_return_order ON rewards_return (order_id);

-- Goods donated in kind (闲置物品捐赠) by a resident or a partner unit, inspected on intake.
CREATE TABLE rewards_donation (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    donor_person_id uuid REFERENCES person,
    donor_unit_id uuid,
    received_by uuid,
    public_acknowledge boolean NOT NULL DEFAULT true,
    reward_points bigint NOT NULL DEFAULT 0 CHECK (reward_points >= 0),
    reward_transfer_id uuid UNIQUE,
    policy_version integer,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (community_id, station_id) REFERENCES rewards_station (community_id, id),
    FOREIGN KEY (community_id, donor_unit_id) REFERENCES partner_unit (community_id, id),
    CHECK ((donor_person_id IS NULL) <> (donor_unit_id IS NULL)),
    CHECK ((reward_points > 0) = (reward_transfer_id IS NOT NULL))
);
CREATE INDEX rewards_donation_donor ON rewards_donation (donor_person_id, at) WHERE donor_person_id IS NOT NULL;
CREATE INDEX rewards_donation_station_at ON rewards_donation (station_id, at);

CREATE TABLE rewards_donation_line (
    donation_id uuid NOT NULL REFERENCES rewards_donation,
    community_id uuid NOT NULL,
    item_id uuid NOT NULL,
    accepted integer NOT NULL CHECK (accepted >= 0),
    rejected integer NOT NULL CHECK (rejected >= 0),
    condition text NOT NULL CHECK (condition IN ('new', 'good', 'usable')),
    PRIMARY KEY (donation_id, item_id),
    FOREIGN KEY (community_id, item_id) REFERENCES rewards_item (community_id, id),
    CHECK (accepted + rejected BETWEEN 1 AND 10000)
);

-- Goods granted at zero points to a registered household in need, with staff approval; the recipient signs.
CREATE TABLE rewards_grant (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    station_id uuid NOT NULL,
    household_id uuid NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status text NOT NULL CHECK (status IN ('requested', 'approved', 'issued', 'rejected', 'cancelled')),
    requested_by uuid,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    decided_by uuid,
    decided_at timestamptz,
    issued_at timestamptz,
    signed_by text CHECK (length(signed_by) BETWEEN 1 AND 64),
    FOREIGN KEY (community_id, station_id) REFERENCES rewards_station (community_id, id),
    FOREIGN KEY (community_id, household_id) REFERENCES household (community_id, id),
    CHECK ((status = 'issued') = (issued_at IS NOT NULL AND signed_by IS NOT NULL)),
    CHECK (status = 'requested' OR decided_at IS NOT NULL)
);
CREATE INDEX rewards_grant_station ON rewards_grant (station_id, requested_at);

CREATE TABLE rewards_grant_line (
    grant_id uuid NOT NULL REFERENCES rewards_grant,
    community_id uuid NOT NULL,
    item_id uuid NOT NULL,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    PRIMARY KEY (grant_id, item_id),
    FOREIGN KEY (community_id, item_id) REFERENCES rewards_item (community_id, id)
);

CREATE FUNCTION rewards_grant_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status, NEW.status) NOT IN (
        ('requested', 'approved'), ('requested', 'rejected'), ('requested', 'cancelled'),
        ('approved', 'issued'), ('approved', 'cancelled')
    ) THEN
        RAISE EXCEPTION 'grant % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'rewards_grant_transition';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rewards_grant_transition BEFORE UPDATE OF status ON rewards_grant
    FOR EACH ROW EXECUTE FUNCTION rewards_grant_transition();

-- "Your points earned before ``earned_until`` expire on ``due_at``": nothing expires unless a notice covering it
-- was issued at least the policy's notice period before.
CREATE TABLE rewards_expiry_notice (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    person_id uuid NOT NULL,
    account_id uuid NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    earned_until timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    policy_version integer NOT NULL,
    noticed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX rewards_expiry_notice_account ON rewards_expiry_notice (account_id, due_at);
CREATE INDEX rewards_expiry_notice_person ON rewards_expiry_notice (person_id, due_at);

-- History is append-only for the service; state columns are the only ones it may change.
REVOKE UPDATE, DELETE, TRUNCATE ON rewards_policy, rewards_stock_movement, rewards_stock_count, rewards_return,
    rewards_donation, rewards_donation_line, rewards_expiry_notice, rewards_order_line, rewards_grant_line
    FROM timebank_app;
REVOKE UPDATE, DELETE, TRUNCATE ON rewards_stock, rewards_order, rewards_grant, rewards_item, rewards_station
    FROM timebank_app;
GRANT UPDATE (picked_quantity, returned_quantity) ON rewards_order_line TO timebank_app;
GRANT UPDATE (reserved) ON rewards_stock TO timebank_app;
GRANT UPDATE (status, posted_points, approved_at, approved_by, closed_at, closed_by, close_reason)
    ON rewards_order TO timebank_app;
GRANT UPDATE (status, decided_by, decided_at, issued_at, signed_by) ON rewards_grant TO timebank_app;
GRANT UPDATE (name, category, price_points, image_url, unit_cost_fen, limit_per_day, limit_per_month,
    limit_per_person, available_from, available_until, min_age, max_age, household_kinds, listed)
    ON rewards_item TO timebank_app;
GRANT UPDATE (name, opening_hours) ON rewards_station TO timebank_app;
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
DROP TABLE rewards_expiry_notice, rewards_grant_line, rewards_grant, rewards_donation_line, rewards_donation,
    rewards_return, rewards_order_line, rewards_order, rewards_stock_count, rewards_stock_movement, rewards_stock,
    rewards_item, rewards_station, rewards_policy;
DROP FUNCTION rewards_grant_transition(), rewards_order_transition(), rewards_apply_movement();
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="rewards", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
