/// One step of the schema, applied once per database in version order and recorded in
/// `schema_migrations`. Published steps are never edited: a change is a new step.
package struct SchemaMigration: Sendable {
    package let version: Int
    package let name: String
    package let statements: @Sendable (SQLDialect) -> [String]

    /// Dalston's schema, oldest first.
    package static let all: [SchemaMigration] = [
        SchemaMigration(version: 1, name: "jobs, their tasks and the audit log") { dialect in
            [
                """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    updated_at TEXT NOT NULL,
                    completed_at TEXT,
                    display_name TEXT,
                    filename TEXT NOT NULL,
                    language TEXT NOT NULL,
                    model TEXT NOT NULL,
                    audio_bytes BIGINT NOT NULL,
                    audio_duration_seconds DOUBLE PRECISION,
                    processing_seconds DOUBLE PRECISION,
                    error TEXT,
                    error_type TEXT,
                    record TEXT NOT NULL
                )
                """,
                "CREATE INDEX jobs_by_creation ON jobs (created_ms DESC, id DESC)",
                "CREATE INDEX jobs_by_status ON jobs (status, created_ms DESC)",
                """
                CREATE TABLE job_tasks (
                    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    stage TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    worker_id TEXT,
                    queued_at TEXT,
                    completed_at TEXT,
                    duration_seconds DOUBLE PRECISION,
                    error TEXT,
                    PRIMARY KEY (job_id, stage)
                )
                """,
                """
                CREATE TABLE audit_log (
                    id \(dialect == .postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"),
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    resource_type TEXT NOT NULL,
                    resource_id TEXT NOT NULL,
                    request_id TEXT,
                    detail TEXT
                )
                """,
                "CREATE INDEX audit_by_resource ON audit_log (resource_type, resource_id, id)",
            ]
        },
        SchemaMigration(version: 2, name: "API keys, stored hashed") { _ in
            [
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    prefix TEXT NOT NULL,
                    secret_hash TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    expires_at TEXT,
                    revoked_at TEXT,
                    last_used_at TEXT
                )
                """,
            ]
        },
        SchemaMigration(version: 3, name: "realtime sessions") { _ in
            [
                """
                CREATE TABLE realtime_sessions (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    started_ms BIGINT NOT NULL,
                    ended_at TEXT,
                    request_id TEXT NOT NULL,
                    record TEXT NOT NULL
                )
                """,
                "CREATE INDEX realtime_sessions_by_start ON realtime_sessions (started_ms DESC, id DESC)",
            ]
        },
        SchemaMigration(version: 4, name: "webhooks, their deliveries, and jobs' retention") { _ in
            [
                """
                CREATE TABLE webhooks (
                    id TEXT PRIMARY KEY,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    description TEXT,
                    signing_secret TEXT NOT NULL,
                    active INTEGER NOT NULL,
                    disabled_reason TEXT,
                    consecutive_failures INTEGER NOT NULL,
                    last_success_at TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY,
                    endpoint_id TEXT,
                    job_id TEXT NOT NULL,
                    request_id TEXT,
                    event TEXT NOT NULL,
                    url TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    next_attempt_ms BIGINT NOT NULL,
                    lease_until_ms BIGINT NOT NULL,
                    last_attempt_at TEXT,
                    last_status_code INTEGER,
                    last_error TEXT,
                    created_at TEXT NOT NULL,
                    delivered_at TEXT,
                    UNIQUE (job_id, event, url)
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms)",
                "CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at)",
                // When a finished job (and its files) may be purged; NULL: kept.
                "ALTER TABLE jobs ADD COLUMN purge_after_ms BIGINT",
                "CREATE INDEX jobs_by_purge ON jobs (purge_after_ms)",
            ]
        },
        SchemaMigration(version: 5, name: "tenants, per-key limits and short-lived tokens") { _ in
            [
                // Every key belongs to a tenant; jobs carry their submitter's tenant and key.
                "ALTER TABLE api_keys ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'",
                // Requests per minute and jobs in progress at once; NULL: the gateway's default.
                "ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER",
                "ALTER TABLE api_keys ADD COLUMN max_concurrent_jobs INTEGER",
                "ALTER TABLE jobs ADD COLUMN tenant_id TEXT",
                "UPDATE jobs SET tenant_id = '00000000-0000-0000-0000-000000000000' WHERE tenant_id IS NULL",
                "CREATE INDEX jobs_by_tenant ON jobs (tenant_id, created_ms DESC)",
                """
                CREATE TABLE session_tokens (
                    id TEXT PRIMARY KEY,
                    secret_hash TEXT NOT NULL UNIQUE,
                    key_id TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    expires_at TEXT NOT NULL,
                    expires_ms BIGINT NOT NULL,
                    used_at TEXT
                )
                """,
                "CREATE INDEX session_tokens_by_expiry ON session_tokens (expires_ms)",
                // Whose change it was (NULL: the system's or the CLI's, seen by the default tenant, 00000000-…).
                "ALTER TABLE audit_log ADD COLUMN tenant_id TEXT",
                "CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id)",
                "ALTER TABLE realtime_sessions ADD COLUMN tenant_id TEXT",
                "UPDATE realtime_sessions SET tenant_id = '00000000-0000-0000-0000-000000000000' WHERE tenant_id IS NULL",
            ]
        },
    ]
}
