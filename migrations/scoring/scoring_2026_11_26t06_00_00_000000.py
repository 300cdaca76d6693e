"""Party-member assessment: catalogue versions, periods and score cards, score entries, 三亮三比 (displays, pledges,
三评 reviews), star-rating lists with their notice period and objections.

Scores themselves live on the ledger (asset ``party_score``): each member has one account per period, opened when
the member is enrolled and closed with the period. The tables here are the business records the transfers name.

Fairness rules live in the database: nobody decides, reviews or resolves anything about themselves (CHECKs), one
reviewer counts once per pledge or comparison (unique indexes), caps are re-checked on every posted entry, and
closed periods, reviews and final lists cannot change (triggers and revoked privileges). Every table carries
``community_id`` under the same row-level security policy as the community tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "party assessment: catalogues, periods, cards, entries, pledges, reviews, ratings, objections"

_TABLES = (
    "scoring_catalogue",
    "scoring_item",
    "scoring_period",
    "scoring_card",
    "scoring_entry",
    "scoring_display",
    "scoring_pledge",
    "scoring_review",
    "scoring_rating_list",
    "scoring_rating",
    "scoring_objection",
)

FORWARDS = r"""
-- Star thresholds: the least total for two stars, three stars, ...; strictly ascending, up to ten levels.
CREATE FUNCTION scoring_ascending(thresholds integer[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_ndims(thresholds) = 1
       AND cardinality(thresholds) BETWEEN 1 AND 9
       AND array_position(thresholds, NULL) IS NULL
       AND NOT EXISTS (
           SELECT 1 FROM generate_subscripts(thresholds, 1) AS i WHERE i > 1 AND thresholds[i] <= thresholds[i - 1]
       )
$$;

-- A community's catalogue, versioned like the earning policy: a new version takes effect on its date; entries
-- keep the version that priced them. Versions are never edited.
CREATE TABLE scoring_catalogue (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    version integer NOT NULL CHECK (version > 0),
    effective_from date NOT NULL,
    base_score integer NOT NULL CHECK (base_score BETWEEN 0 AND 1000),
    -- The most all bonus items together (the democratic appraisal aside) add per member per period.
    period_cap integer CHECK (period_cap BETWEEN 1 AND 100000),
    star_thresholds integer[] NOT NULL CHECK (scoring_ascending(star_thresholds)),
    notice_days integer NOT NULL CHECK (notice_days BETWEEN 1 AND 30),
    -- 三评 weights in percent: branch leaders, fellow members, residents.
    leader_weight integer NOT NULL CHECK (leader_weight BETWEEN 0 AND 100),
    peer_weight integer NOT NULL CHECK (peer_weight BETWEEN 0 AND 100),
    resident_weight integer NOT NULL CHECK (resident_weight BETWEEN 0 AND 100),
    pass_mark integer NOT NULL CHECK (pass_mark BETWEEN 0 AND 100),
    show_kinds text[] NOT NULL CHECK (cardinality(show_kinds) BETWEEN 1 AND 10),
    exempt_member_types text[] NOT NULL DEFAULT '{}',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (leader_weight + peer_weight + resident_weight = 100),
    UNIQUE (community_id, version),
    UNIQUE (community_id, effective_from),
    UNIQUE (community_id, id)
);

CREATE TABLE scoring_item (
    community_id uuid NOT NULL,
    catalogue_id uuid NOT NULL,
    code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,47}$' AND code <> 'base'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind text NOT NULL CHECK (kind IN ('bonus', 'deduction')),
    -- manual: recorded by the branch or self-reported with evidence; automatic: credited by another capability's
    -- policy (credit_item); pledge: a fulfilled pledge; comparison: one 比 of 三亮三比, scaled by its reviews;
    -- appraisal: the democratic appraisal (民主评议), up to ``points``.
    source text NOT NULL CHECK (source IN ('manual', 'automatic', 'pledge', 'comparison', 'appraisal')),
    points integer NOT NULL CHECK (points BETWEEN 1 AND 1000),
    cap integer CHECK (cap BETWEEN 1 AND 100000),
    evidence_required boolean NOT NULL DEFAULT false,
    reviewer text NOT NULL DEFAULT 'branch' CHECK (reviewer IN ('branch', 'community')),
    member_types text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (catalogue_id, code),
    FOREIGN KEY (community_id, catalogue_id) REFERENCES scoring_catalogue (community_id, id),
    CHECK (kind = 'bonus' OR source IN ('manual', 'automatic'))
);
CREATE UNIQUE INDEX scoring_item_one_pledge ON scoring_item (catalogue_id) WHERE source = 'pledge';
CREATE UNIQUE INDEX scoring_item_one_appraisal ON scoring_item (catalogue_id) WHERE source = 'appraisal';

CREATE TABLE scoring_period (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_by uuid,
    opened_at timestamptz NOT NULL DEFAULT now(),
    closed_by uuid,
    closed_at timestamptz,
    CHECK (ends_on >= starts_on),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    UNIQUE (community_id, name),
    UNIQUE (community_id, id)
);

CREATE FUNCTION scoring_period_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = 'closed' OR (NEW.starts_on, NEW.ends_on, NEW.community_id) IS DISTINCT FROM
                (OLD.starts_on, OLD.ends_on, OLD.community_id) THEN
            RAISE EXCEPTION 'scoring: a period only closes; its dates never change and a closed period stays closed'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_period_closed';
        END IF;
        RETURN NEW;
    END IF;
    -- Serialise period creation per community, so two overlapping periods cannot both pass the check below.
    PERFORM pg_advisory_xact_lock(hashtextextended('scoring_period/' || NEW.community_id::text, 0));
    IF EXISTS (
        SELECT 1 FROM scoring_period p
        WHERE p.community_id = NEW.community_id AND p.id <> NEW.id
          AND daterange(p.starts_on, p.ends_on, '[]') && daterange(NEW.starts_on, NEW.ends_on, '[]')
    ) THEN
        RAISE EXCEPTION 'scoring: assessment periods of a community must not overlap'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'scoring_period_no_overlap';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER scoring_period_guard BEFORE INSERT OR UPDATE ON scoring_period
    FOR EACH ROW EXECUTE FUNCTION scoring_period_guard();

-- A member's score card for one period: their ledger account and where they stand in the party organisation.
CREATE TABLE scoring_card (
    community_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    account_id uuid NOT NULL UNIQUE REFERENCES ledger_account,
    member_type text NOT NULL,
    branch_id uuid,
    group_id uuid,
    -- 一票否决: the branch's veto caps the member's stars at one, whatever the score.
    veto_reason text CHECK (length(veto_reason) BETWEEN 1 AND 500),
    vetoed_by uuid,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_id, person_id),
    UNIQUE (community_id, period_id, person_id),
    FOREIGN KEY (community_id, period_id) REFERENCES scoring_period (community_id, id),
    FOREIGN KEY (community_id, branch_id) REFERENCES party_org (community_id, id),
    FOREIGN KEY (community_id, group_id) REFERENCES party_org (community_id, id),
    CHECK (vetoed_by IS DISTINCT FROM person_id)
);
CREATE INDEX scoring_card_branch ON scoring_card (period_id, branch_id);
CREATE INDEX scoring_card_group ON scoring_card (period_id, group_id);
CREATE INDEX scoring_card_person ON scoring_card (person_id);

-- Every score event. A posted entry with an amount names its ledger transfer; an entry capped to nothing is kept
-- (amount 0, no transfer) so the member sees why it did not count.
CREATE TABLE scoring_entry (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('base', 'bonus', 'deduction')),
    catalogue_id uuid NOT NULL,
    item_code text,
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 1000),
    requested integer NOT NULL CHECK (requested BETWEEN 0 AND 1000000),
    amount integer NOT NULL DEFAULT 0 CHECK (amount >= 0 AND amount <= requested),
    source_type text NOT NULL CHECK (source_type ~ '^[a-z][a-z_]{0,31}$'),
    source_id text CHECK (length(source_id) BETWEEN 1 AND 128),
    occurred_on date NOT NULL,
    evidence text[] NOT NULL DEFAULT '{}' CHECK (cardinality(evidence) <= 20),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    status text NOT NULL CHECK (status IN ('submitted', 'rejected', 'posted', 'reversed')),
    submitted_by uuid,
    decided_by uuid,
    decided_at timestamptz,
    decision_note text NOT NULL DEFAULT '' CHECK (length(decision_note) <= 500),
    transfer_id uuid UNIQUE,
    reversal_id uuid UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, period_id, person_id) REFERENCES scoring_card (community_id, period_id, person_id),
    FOREIGN KEY (community_id, catalogue_id) REFERENCES scoring_catalogue (community_id, id),
    FOREIGN KEY (catalogue_id, item_code) REFERENCES scoring_item (catalogue_id, code),
    CHECK ((kind = 'base') = (item_code IS NULL)),
    CHECK (status IN ('posted', 'reversed') OR amount = 0),
    CHECK ((transfer_id IS NOT NULL) = (status IN ('posted', 'reversed') AND amount > 0)),
    CHECK ((reversal_id IS NOT NULL) = (status = 'reversed')),
    CHECK ((decided_at IS NULL) = (status = 'submitted')),
    -- Nobody scores themselves: whoever decides an entry is not its member, and what a member submitted about
    -- themselves counts only after someone else decided it.
    CHECK (decided_by IS DISTINCT FROM person_id),
    CHECK (submitted_by IS DISTINCT FROM person_id OR status = 'submitted' OR decided_by IS NOT NULL)
);
CREATE UNIQUE INDEX scoring_entry_one_base ON scoring_entry (period_id, person_id) WHERE kind = 'base';
-- One business record (a service record, an order, a pledge) scores an item once.
CREATE UNIQUE INDEX scoring_entry_source_once ON scoring_entry (period_id, person_id, item_code, source_type, source_id)
    WHERE source_id IS NOT NULL;
CREATE INDEX scoring_entry_card ON scoring_entry (period_id, person_id, item_code) WHERE status = 'posted';
CREATE INDEX scoring_entry_waiting ON scoring_entry (period_id) WHERE status = 'submitted';

CREATE FUNCTION scoring_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    period scoring_period;
BEGIN
    SELECT * INTO period FROM scoring_period WHERE id = NEW.period_id;
    IF period.status <> 'open' THEN
        RAISE EXCEPTION 'scoring: the period is closed; its entries no longer change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_period_open';
    END IF;
    IF NEW.occurred_on NOT BETWEEN period.starts_on AND period.ends_on THEN
        RAISE EXCEPTION 'scoring: an entry must fall within its period'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_in_period';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NOT ((OLD.status = 'submitted' AND NEW.status IN ('posted', 'rejected'))
                OR (OLD.status = 'posted' AND NEW.status = 'reversed')) THEN
            RAISE EXCEPTION 'scoring: entry % cannot go from % to %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_transition';
        END IF;
        IF (NEW.id, NEW.community_id, NEW.period_id, NEW.person_id, NEW.kind, NEW.catalogue_id, NEW.item_code,
            NEW.quantity, NEW.requested, NEW.source_type, NEW.source_id, NEW.occurred_on, NEW.evidence,
            NEW.submitted_by, NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.community_id, OLD.period_id, OLD.person_id, OLD.kind, OLD.catalogue_id, OLD.item_code,
            OLD.quantity, OLD.requested, OLD.source_type, OLD.source_id, OLD.occurred_on, OLD.evidence,
            OLD.submitted_by, OLD.created_at)
           OR (OLD.status = 'posted' AND (NEW.amount, NEW.transfer_id, NEW.decided_by, NEW.decided_at)
               IS DISTINCT FROM (OLD.amount, OLD.transfer_id, OLD.decided_by, OLD.decided_at)) THEN
            RAISE EXCEPTION 'scoring: entry % may change only its decision', OLD.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_transition';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER scoring_entry_guard BEFORE INSERT OR UPDATE ON scoring_entry
    FOR EACH ROW EXECUTE FUNCTION scoring_entry_guard();

-- Caps are exact: after any entry posts, what its item (and all bonuses together) added this period is re-summed.
-- The service takes the score card's lock before it computes a capped amount, so this never fires in normal use.
CREATE FUNCTION scoring_entry_within_caps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    item scoring_item;
    period_cap integer;
BEGIN
    IF NEW.kind = 'base' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO item FROM scoring_item WHERE catalogue_id = NEW.catalogue_id AND code = NEW.item_code;
    IF item.cap IS NOT NULL AND item.cap < (
        SELECT sum(amount) FROM scoring_entry
        WHERE period_id = NEW.period_id AND person_id = NEW.person_id AND item_code = NEW.item_code
          AND status = 'posted'
    ) THEN
        RAISE EXCEPTION 'scoring: item % is over its cap of % for the period', NEW.item_code, item.cap
            USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_item_cap';
    END IF;
    IF NEW.kind = 'bonus' AND item.source <> 'appraisal' THEN
        SELECT c.period_cap INTO period_cap FROM scoring_catalogue c WHERE c.id = NEW.catalogue_id;
        IF period_cap IS NOT NULL AND period_cap < (
            SELECT sum(e.amount) FROM scoring_entry e
            JOIN scoring_item i ON i.catalogue_id = e.catalogue_id AND i.code = e.item_code
            WHERE e.period_id = NEW.period_id AND e.person_id = NEW.person_id AND e.status = 'posted'
              AND e.kind = 'bonus' AND i.source <> 'appraisal'
        ) THEN
            RAISE EXCEPTION 'scoring: bonuses are over the period cap of %', period_cap
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_entry_period_cap';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER scoring_entry_within_caps AFTER INSERT OR UPDATE ON scoring_entry
    FOR EACH ROW WHEN (NEW.status = 'posted') EXECUTE FUNCTION scoring_entry_within_caps();

-- 亮身份 / 亮形象 and a community's other displays: one current text per member, kind and period.
CREATE TABLE scoring_display (
    community_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,31}$'),
    content text NOT NULL CHECK (length(content) BETWEEN 1 AND 500),
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_id, person_id, kind),
    FOREIGN KEY (community_id, period_id, person_id) REFERENCES scoring_card (community_id, period_id, person_id)
);

-- 亮承诺: a pledge with a deadline, evidence of fulfilment, then the branch's assessment from its 三评 reviews.
CREATE TABLE scoring_pledge (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL,
    content text NOT NULL CHECK (length(content) BETWEEN 1 AND 500),
    due_on date NOT NULL,
    status text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'reported', 'fulfilled', 'missed')),
    evidence text[] NOT NULL DEFAULT '{}' CHECK (cardinality(evidence) <= 20),
    reported_at timestamptz,
    review_score integer CHECK (review_score BETWEEN 0 AND 100),
    assessed_by uuid,
    assessed_at timestamptz,
    entry_id uuid REFERENCES scoring_entry,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, period_id, person_id) REFERENCES scoring_card (community_id, period_id, person_id),
    UNIQUE (community_id, id, period_id, person_id),
    CHECK (assessed_by IS DISTINCT FROM person_id),
    CHECK ((status IN ('fulfilled', 'missed')) = (assessed_at IS NOT NULL)),
    CHECK (status <> 'reported' OR reported_at IS NOT NULL),
    CHECK (status = 'fulfilled' OR entry_id IS NULL)
);

-- 三评: reviews of a pledge or of one comparison (比作风 / 比奉献 / 比业绩, or the community's variant).
CREATE TABLE scoring_review (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL,
    pledge_id uuid,
    compare_code text,
    reviewer_id uuid NOT NULL REFERENCES person,
    reviewer_role text NOT NULL CHECK (reviewer_role IN ('leader', 'peer', 'resident')),
    score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    comment text NOT NULL DEFAULT '' CHECK (length(comment) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (community_id, period_id, person_id) REFERENCES scoring_card (community_id, period_id, person_id),
    FOREIGN KEY (community_id, pledge_id, period_id, person_id)
        REFERENCES scoring_pledge (community_id, id, period_id, person_id),
    CHECK ((pledge_id IS NULL) <> (compare_code IS NULL)),
    CHECK (reviewer_id <> person_id)
);
CREATE UNIQUE INDEX scoring_review_once_per_pledge ON scoring_review (pledge_id, reviewer_id)
    WHERE pledge_id IS NOT NULL;
CREATE UNIQUE INDEX scoring_review_once_per_comparison ON scoring_review (period_id, person_id, compare_code, reviewer_id)
    WHERE compare_code IS NOT NULL;

-- The star-rating list of a period: drafted from the closed period, published for its notice period (公示),
-- objections resolved by the branch, then final.
CREATE TABLE scoring_rating_list (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    period_id uuid NOT NULL UNIQUE,
    catalogue_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'noticed', 'final')),
    drafted_by uuid,
    drafted_at timestamptz NOT NULL DEFAULT now(),
    notice_from timestamptz,
    notice_until timestamptz,
    finalised_by uuid,
    finalised_at timestamptz,
    FOREIGN KEY (community_id, period_id) REFERENCES scoring_period (community_id, id),
    FOREIGN KEY (community_id, catalogue_id) REFERENCES scoring_catalogue (community_id, id),
    UNIQUE (community_id, id),
    CHECK ((status = 'draft') = (notice_from IS NULL)),
    CHECK ((notice_from IS NULL) = (notice_until IS NULL)),
    CHECK (notice_until > notice_from),
    CHECK ((status = 'final') = (finalised_at IS NOT NULL)),
    CHECK (finalised_at >= notice_until)
);

CREATE TABLE scoring_rating (
    community_id uuid NOT NULL,
    list_id uuid NOT NULL,
    period_id uuid NOT NULL,
    person_id uuid NOT NULL,
    total integer NOT NULL,
    computed_stars smallint NOT NULL CHECK (computed_stars BETWEEN 1 AND 10),
    stars smallint NOT NULL CHECK (stars BETWEEN 1 AND 10),
    vetoed boolean NOT NULL,
    objection_id uuid,
    PRIMARY KEY (list_id, person_id),
    UNIQUE (community_id, list_id, person_id),
    FOREIGN KEY (community_id, list_id) REFERENCES scoring_rating_list (community_id, id),
    FOREIGN KEY (community_id, period_id, person_id) REFERENCES scoring_card (community_id, period_id, person_id),
    CHECK (objection_id IS NOT NULL OR stars = computed_stars)
);

CREATE TABLE scoring_objection (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    list_id uuid NOT NULL,
    person_id uuid NOT NULL,
    filed_by uuid NOT NULL REFERENCES person,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    filed_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    resolved_by uuid,
    resolved_at timestamptz,
    resolution text CHECK (length(resolution) BETWEEN 1 AND 1000),
    new_stars smallint CHECK (new_stars BETWEEN 1 AND 10),
    FOREIGN KEY (community_id, list_id, person_id) REFERENCES scoring_rating (community_id, list_id, person_id),
    CHECK ((status = 'open') = (resolved_by IS NULL)),
    CHECK ((status = 'open') = (resolved_at IS NULL)),
    CHECK ((status = 'open') = (resolution IS NULL)),
    CHECK ((status = 'upheld') = (new_stars IS NOT NULL)),
    -- The branch resolves; never the member rated, nor whoever filed the objection.
    CHECK (resolved_by IS DISTINCT FROM person_id),
    CHECK (resolved_by IS DISTINCT FROM filed_by)
);
CREATE INDEX scoring_objection_list ON scoring_objection (list_id) WHERE status = 'open';

CREATE FUNCTION scoring_rating_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    list scoring_rating_list;
BEGIN
    IF TG_TABLE_NAME = 'scoring_rating_list' THEN
        IF NOT ((OLD.status = 'draft' AND NEW.status = 'noticed') OR (OLD.status = 'noticed' AND NEW.status = 'final'))
           OR (NEW.id, NEW.community_id, NEW.period_id, NEW.catalogue_id, NEW.drafted_at)
              IS DISTINCT FROM (OLD.id, OLD.community_id, OLD.period_id, OLD.catalogue_id, OLD.drafted_at) THEN
            RAISE EXCEPTION 'scoring: a rating list goes draft, noticed, final, once each'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_rating_list_transition';
        END IF;
        IF NEW.status = 'final' AND EXISTS (
            SELECT 1 FROM scoring_objection WHERE list_id = NEW.id AND status = 'open'
        ) THEN
            RAISE EXCEPTION 'scoring: objections are still open'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_rating_list_objections_open';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO list FROM scoring_rating_list WHERE id = NEW.list_id;
    IF TG_TABLE_NAME = 'scoring_rating' THEN
        -- Ratings change only through an objection upheld during the notice period.
        IF TG_OP = 'UPDATE' AND (list.status <> 'noticed' OR NEW.objection_id IS NULL
               OR (NEW.community_id, NEW.list_id, NEW.period_id, NEW.person_id, NEW.total, NEW.computed_stars,
                   NEW.vetoed) IS DISTINCT FROM
                  (OLD.community_id, OLD.list_id, OLD.period_id, OLD.person_id, OLD.total, OLD.computed_stars,
                   OLD.vetoed)) THEN
            RAISE EXCEPTION 'scoring: a rating changes only by an upheld objection during the notice period'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_rating_frozen';
        END IF;
        IF TG_OP = 'INSERT' AND list.status <> 'draft' THEN
            RAISE EXCEPTION 'scoring: ratings are added only to a draft list'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_rating_frozen';
        END IF;
        RETURN NEW;
    END IF;
    -- scoring_objection: filed during the notice period, resolved once, before the list is final.
    IF TG_OP = 'INSERT' AND (list.status <> 'noticed' OR NEW.filed_at < list.notice_from
                             OR NEW.filed_at >= list.notice_until) THEN
        RAISE EXCEPTION 'scoring: objections are filed during the notice period only'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_objection_in_notice';
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.status <> 'open' OR list.status <> 'noticed'
           OR (NEW.id, NEW.community_id, NEW.list_id, NEW.person_id, NEW.filed_by, NEW.reason, NEW.filed_at)
              IS DISTINCT FROM (OLD.id, OLD.community_id, OLD.list_id, OLD.person_id, OLD.filed_by, OLD.reason,
                                OLD.filed_at)) THEN
        RAISE EXCEPTION 'scoring: an objection is resolved once, while the list is on notice'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'scoring_objection_resolved_once';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER scoring_rating_list_guard BEFORE UPDATE ON scoring_rating_list
    FOR EACH ROW EXECUTE FUNCTION scoring_rating_guard();
CREATE TRIGGER scoring_rating_guard BEFORE INSERT OR UPDATE ON scoring_rating
    FOR EACH ROW EXECUTE FUNCTION scoring_rating_guard();
CREATE TRIGGER scoring_objection_guard BEFORE INSERT OR UPDATE ON scoring_objection
    FOR EACH ROW EXECUTE FUNCTION scoring_rating_guard();

-- History is kept: nothing is deleted, catalogues and reviews are never edited.
REVOKE DELETE, TRUNCATE ON scoring_catalogue, scoring_item, scoring_period, scoring_card, scoring_entry,
    scoring_display, scoring_pledge, scoring_review, scoring_rating_list, scoring_rating, scoring_objection
    FROM timebank_app;
REVOKE UPDATE ON scoring_catalogue, scoring_item, scoring_review FROM timebank_app;
"""

_RLS = "\n".join(
    f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_by_community ON {table}
    USING (community_visible(community_id)) WITH CHECK (community_visible(community_id));
"""
    for table in _TABLES
)

BACKWARDS = """
DROP TABLE scoring_objection, scoring_rating, scoring_rating_list, scoring_review, scoring_pledge, scoring_display,
    scoring_entry, scoring_card, scoring_period, scoring_item, scoring_catalogue;
DROP FUNCTION scoring_rating_guard(), scoring_entry_within_caps(), scoring_entry_guard(), scoring_period_guard(),
    scoring_ascending(integer[]);
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="scoring", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
