"""Identity and login: password logins, WeChat bindings, invitation codes, phone challenges, refresh tokens.

Secrets are never stored: passwords as argon2id hashes, invitation and phone codes as keyed hashes (HMAC-SHA256
under the service key, so a stolen table cannot be brute-forced offline), refresh tokens as SHA-256 of 256 random
bits. Credentials are read only by system transactions (login happens before anyone is known): a transaction bound
to communities sees none of them, whatever the query. Invitations belong to a community like other rows.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "password logins, WeChat bindings, invitations, phone challenges, refresh tokens"

_CREDENTIAL_TABLES = ("access_password", "access_wechat_binding", "access_phone_challenge", "access_refresh_token")

FORWARDS = r"""
-- One password login per person (staff and partner-unit admins). Login names are stored case-folded.
CREATE TABLE access_password (
    person_id uuid PRIMARY KEY REFERENCES person,
    login text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    -- Wrong passwords in a row; the fifth locks the login until locked_until and starts the count again.
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts BETWEEN 0 AND 5),
    locked_until timestamptz,
    last_login_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A mini-app user (openid, per app) acts as one person; a person may use several apps or phones.
CREATE TABLE access_wechat_binding (
    app text NOT NULL CHECK (length(app) BETWEEN 1 AND 64),
    openid text NOT NULL CHECK (length(openid) BETWEEN 1 AND 128),
    person_id uuid NOT NULL REFERENCES person,
    unionid text CHECK (length(unionid) BETWEEN 1 AND 128),
    bound_by text NOT NULL CHECK (bound_by IN ('invitation', 'phone')),
    bound_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    PRIMARY KEY (app, openid)
);
CREATE INDEX access_wechat_binding_person ON access_wechat_binding (person_id);

-- Made by staff for one person; used once, before it expires, to bind that person's first WeChat login.
CREATE TABLE access_invitation (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL REFERENCES community,
    person_id uuid NOT NULL REFERENCES person,
    code_hash bytea NOT NULL UNIQUE CHECK (octet_length(code_hash) = 32),
    created_by uuid REFERENCES person,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    used_by_openid text,
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (used_by_openid IS NULL))
);
CREATE INDEX access_invitation_person ON access_invitation (person_id);

-- A code sent to a phone; proves the caller holds the phone registered for a person. Five guesses at most.
CREATE TABLE access_phone_challenge (
    id uuid PRIMARY KEY,
    phone text NOT NULL CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    verified_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX access_phone_challenge_phone ON access_phone_challenge (phone, created_at);

-- Rotating refresh tokens. Each refresh uses its token up and issues the next one of the same family; a used
-- token presented again means a copy leaked, and the whole family is revoked (RFC 9700 §4.14.2).
CREATE TABLE access_refresh_token (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    person_id uuid NOT NULL REFERENCES person,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    CHECK (expires_at > issued_at)
);
CREATE INDEX access_refresh_token_family ON access_refresh_token (family_id);
CREATE INDEX access_refresh_token_person ON access_refresh_token (person_id);

-- What the service may do: logins are updated (attempts, rehash) but never deleted; bindings and invitations are
-- written once and then only marked; challenges count guesses; refresh tokens are only marked used or revoked.
REVOKE ALL ON access_password, access_wechat_binding, access_invitation, access_phone_challenge,
    access_refresh_token FROM timebank_app;
GRANT SELECT, INSERT ON access_password, access_wechat_binding, access_invitation, access_phone_challenge,
    access_refresh_token TO timebank_app;
GRANT UPDATE (login, password_hash, failed_attempts, locked_until, last_login_at, updated_at)
    ON access_password TO timebank_app;
GRANT UPDATE (last_login_at) ON access_wechat_binding TO timebank_app;
GRANT UPDATE (used_at, used_by_openid) ON access_invitation TO timebank_app;
GRANT UPDATE (attempts, verified_at) ON access_phone_challenge TO timebank_app;
GRANT UPDATE (used_at, revoked_at) ON access_refresh_token TO timebank_app;

ALTER TABLE access_invitation ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_invitation_by_community ON access_invitation
    USING (community_visible(community_id)) WITH CHECK (community_visible(community_id));
"""

_RLS = "\n".join(
    f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_system_only ON {table}
    USING (coalesce(current_setting('timebank.all_communities', true), '') = 'on')
    WITH CHECK (coalesce(current_setting('timebank.all_communities', true), '') = 'on');
"""
    for table in _CREDENTIAL_TABLES
)

BACKWARDS = """
DROP TABLE access_refresh_token, access_phone_challenge, access_invitation, access_wechat_binding, access_password;
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="access", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS + _RLS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
