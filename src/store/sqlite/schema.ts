/**
 * SQLite schema as an ordered list of migrations. `PRAGMA user_version` records how many
 * have been applied; each runs in its own transaction together with the version bump, so a
 * crash mid-migration leaves the previous version intact. Never edit a released step: add
 * a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

  CREATE TABLE sandboxes (
    id TEXT PRIMARY KEY,
    alias TEXT,
    alias_key TEXT,
    number INTEGER NOT NULL,
    profile_name TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    substrate TEXT NOT NULL,
    region TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    paused_by TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    idle_timeout_s INTEGER,
    max_expires_at_ms INTEGER,
    teardown_policy TEXT NOT NULL,
    locked INTEGER NOT NULL DEFAULT 0,
    locked_at_ms INTEGER,
    cloned_from TEXT,
    image TEXT,
    enforcement_requested TEXT NOT NULL,
    enforcement_effective TEXT,
    email_address TEXT,
    created_by TEXT NOT NULL,
    last_activity_at_ms INTEGER,
    last_started_at_ms INTEGER,
    destroyed_at_ms INTEGER
  ) STRICT;
  CREATE UNIQUE INDEX sandboxes_live_alias ON sandboxes(alias_key) WHERE alias_key IS NOT NULL AND status <> 'destroyed';
  CREATE UNIQUE INDEX sandboxes_live_number ON sandboxes(number) WHERE status <> 'destroyed';
  CREATE INDEX sandboxes_status ON sandboxes(status);

  CREATE TABLE budgets (
    sandbox_id TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
    ai_limit_usd REAL,
    compute_limit_usd REAL,
    warning_threshold REAL NOT NULL,
    ai_warned INTEGER NOT NULL DEFAULT 0,
    compute_warned INTEGER NOT NULL DEFAULT 0,
    compute_rate_per_hour_usd REAL NOT NULL DEFAULT 0,
    compute_rate_source TEXT NOT NULL DEFAULT 'none',
    running_s REAL NOT NULL DEFAULT 0,
    paused_s REAL NOT NULL DEFAULT 0,
    compute_spent_usd REAL NOT NULL DEFAULT 0
  ) STRICT;

  CREATE TABLE ledger (
    sandbox_id TEXT NOT NULL,
    exchange_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    priced TEXT NOT NULL,
    partial INTEGER NOT NULL,
    usage_missing INTEGER NOT NULL,
    run_id TEXT,
    first_at_ms INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (sandbox_id, exchange_id)
  ) STRICT;
  CREATE INDEX ledger_run ON ledger(sandbox_id, run_id);

  CREATE TABLE runs (
    sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    run_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    prompt TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    started_at_ms INTEGER,
    ended_at_ms INTEGER,
    exit_code INTEGER,
    result_json TEXT,
    PRIMARY KEY (sandbox_id, run_id)
  ) STRICT;

  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    input TEXT NOT NULL,
    expression TEXT NOT NULL,
    aws_expression TEXT,
    timezone TEXT NOT NULL,
    command_json TEXT NOT NULL,
    target TEXT,
    payload_json TEXT,
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    next_fire_at_ms INTEGER,
    last_fire_at_ms INTEGER,
    last_outcome TEXT,
    running_since_ms INTEGER,
    running_fire_at_ms INTEGER
  ) STRICT;

  CREATE TABLE schedule_fires (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    fire_at_ms INTEGER NOT NULL,
    executed_at_ms INTEGER NOT NULL,
    delay_s INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
  ) STRICT;
  CREATE INDEX schedule_fires_name ON schedule_fires(name, seq);

  CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    alias TEXT,
    email_address TEXT NOT NULL,
    signing_public_key TEXT NOT NULL,
    encryption_public_key TEXT,
    signing TEXT NOT NULL,
    verify_inbound TEXT NOT NULL,
    encryption TEXT NOT NULL,
    allowed_senders_json TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp_ms INTEGER NOT NULL,
    sandbox_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    detail_json TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_sandbox_time ON events(sandbox_id, timestamp_ms, seq);
  CREATE INDEX events_time ON events(timestamp_ms, seq);
  `,
  // 2: mailboxes
  `
  CREATE TABLE mail (
    mailbox TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    sender_id TEXT,
    from_address TEXT NOT NULL,
    to_json TEXT NOT NULL,
    subject TEXT NOT NULL,
    signature TEXT NOT NULL,
    encrypted INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    raw BLOB NOT NULL,
    PRIMARY KEY (mailbox, message_id)
  ) STRICT;
  CREATE INDEX mail_received ON mail(mailbox, received_at_ms);
  `,
  // 3: OTLP telemetry
  `
  CREATE TABLE telemetry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox_id TEXT NOT NULL,
    signal TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    name TEXT NOT NULL,
    data_json TEXT NOT NULL
  ) STRICT;
  CREATE INDEX telemetry_sandbox_time ON telemetry(sandbox_id, timestamp_ms, seq);
  `,
  // 4: running AI totals. The budget check reads one row instead of summing the sandbox's
  // ledger (which grows by a row per AI request) on every request and every commit. The
  // triggers keep it in the same statement as the ledger write, whoever writes; rounded to
  // the ledger's 1e-9 USD grid so that adding and replacing partial figures never drifts.
  `
  CREATE TABLE ai_spend (
    sandbox_id TEXT PRIMARY KEY,
    spent_usd REAL NOT NULL
  ) STRICT;
  INSERT INTO ai_spend (sandbox_id, spent_usd) SELECT sandbox_id, ROUND(SUM(cost_usd), 9) FROM ledger GROUP BY sandbox_id;
  CREATE TRIGGER ledger_ai_spend_insert AFTER INSERT ON ledger BEGIN
    INSERT INTO ai_spend (sandbox_id, spent_usd) VALUES (NEW.sandbox_id, ROUND(NEW.cost_usd, 9))
      ON CONFLICT (sandbox_id) DO UPDATE SET spent_usd = ROUND(spent_usd + excluded.spent_usd, 9);
  END;
  CREATE TRIGGER ledger_ai_spend_update AFTER UPDATE OF sandbox_id, cost_usd ON ledger
    WHEN OLD.cost_usd IS NOT NEW.cost_usd OR OLD.sandbox_id IS NOT NEW.sandbox_id BEGIN
    UPDATE ai_spend SET spent_usd = ROUND(spent_usd - OLD.cost_usd, 9) WHERE sandbox_id = OLD.sandbox_id;
    INSERT INTO ai_spend (sandbox_id, spent_usd) VALUES (NEW.sandbox_id, ROUND(NEW.cost_usd, 9))
      ON CONFLICT (sandbox_id) DO UPDATE SET spent_usd = ROUND(spent_usd + excluded.spent_usd, 9);
  END;
  CREATE TRIGGER ledger_ai_spend_delete AFTER DELETE ON ledger BEGIN
    UPDATE ai_spend SET spent_usd = ROUND(spent_usd - OLD.cost_usd, 9) WHERE sandbox_id = OLD.sandbox_id;
  END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
