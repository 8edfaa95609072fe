/// Every HTTP route of the gateway, described: the source of `/openapi.json` and `/docs`.
/// `OpenAPICoverageTests` fails when the router and this list disagree.
enum APICatalogue {
    typealias Field = APIOperation.Field

    static let jobID = "The job's id (a UUID)."
    static let transcriptionFields: [Field] = [
        Field(name: "file", type: "file", description: "The audio: WAV, MP3, M4A, FLAC, OGG/Opus, WebM (anything FFmpeg reads).", required: true),
        Field(name: "model", type: "string", description: "A model id or alias (GET /v1/models); `auto` or absent: the deployment's default."),
        Field(name: "language", type: "string", description: "ISO 639-1 code, or `auto` to detect (multilingual models)."),
        Field(name: "timestamps_granularity", type: "string", description: "`word` (default), `segment` or `none`."),
        Field(name: "name", type: "string", description: "Display name (also `display_name`)."),
        Field(name: "retention", type: "integer", description: "Days to keep the job once ended; -1 forever; 0 deletes the audio once transcribed."),
        Field(name: "vocabulary", type: "string", description: "JSON list of terms, given to Whisper as hotwords."),
        Field(name: "prompt", type: "string", description: "Whisper's initial prompt."),
        Field(name: "temperature", type: "number", description: "Sampling temperature, 0 to 1."),
        Field(name: "lite_profile", type: "string", description: "The original's pipeline profile: `core` (this pipeline)."),
        Field(name: "webhook_url", type: "string", description: "Where to POST the job's end (needs DALSTON_WEBHOOK_SECRET)."),
        Field(name: "webhook_metadata", type: "string", description: "A JSON object echoed in the webhook."),
        Field(name: "response_format", type: "string", description: "OpenAI's: json, text, srt, vtt, verbose_json (an OpenAI request answers synchronously)."),
    ]
    static let elevenLabsFields: [Field] = [
        Field(name: "file", type: "file", description: "The audio.", required: true),
        Field(name: "model_id", type: "string", description: "scribe_v1 (default), scribe_v1_experimental, scribe_v2, or an installed model."),
        Field(name: "language_code", type: "string", description: "ISO 639-1/3 code; absent: detected."),
        Field(name: "timestamps_granularity", type: "string", description: "none, word (default) or character (answered as word)."),
        Field(name: "additional_formats", type: "string", description: "JSON list of {format: srt|txt, …}."),
        Field(name: "webhook", type: "boolean", description: "Answer at once; fetch the transcript later."),
        Field(name: "temperature", type: "number", description: "Sampling temperature."),
        Field(name: "seed", type: "integer", description: "Accepted for compatibility."),
    ]
    static let keyFields: [Field] = [
        Field(name: "name", type: "string", description: "What the key is for.", required: true),
        Field(name: "scopes", type: "array", description: "jobs:read, jobs:write, realtime, webhooks, admin (default: jobs:read, jobs:write, realtime)."),
        Field(name: "rate_limit", type: "integer", description: "Requests per minute (null: the gateway's default)."),
        Field(name: "max_concurrent_jobs", type: "integer", description: "Jobs in progress at once (null: the gateway's default)."),
        Field(name: "expires_at", type: "string", description: "RFC 3339 time after which the key is refused."),
        Field(name: "expires_in_days", type: "number", description: "Or a lifetime in days."),
        Field(name: "tenant_id", type: "string", description: "Another tenant (operator keys from DALSTON_API_KEYS only)."),
    ]
    static let webhookFields: [Field] = [
        Field(name: "url", type: "string", description: "An http(s) URL that receives the events.", required: true),
        Field(name: "events", type: "array", description: "transcription.completed, transcription.failed, or * (all)."),
        Field(name: "description", type: "string", description: "A note for people."),
    ]
    static let paging: [Field] = [
        Field(name: "limit", type: "integer", description: "Items per page."),
        Field(name: "cursor", type: "string", description: "From the previous page's `cursor`."),
    ]

    static let operations: [APIOperation] = [
        // System
        APIOperation(method: .get, path: "/", tag: "System", summary: "The service's name and version", access: .open),
        APIOperation(method: .get, path: "/health", tag: "System", summary: "Liveness: `{\"status\": \"healthy\"}`", access: .open),
        APIOperation(method: .get, path: "/ready", tag: "System", summary: "Readiness: broker, artifact store, record database and realtime capacity", access: .open,
                     responses: [(200, "Ready"), (503, "A dependency is failing (named in the body)")]),
        APIOperation(method: .get, path: "/metrics", tag: "System", summary: "Prometheus metrics (when enabled)", access: .open),
        APIOperation(method: .get, path: "/openapi.json", tag: "System", summary: "This document", access: .open),
        APIOperation(method: .get, path: "/docs", tag: "System", summary: "This document as a page", access: .open),
        APIOperation(method: .get, path: "/admin/log-level", tag: "System", summary: "The runtime log level (DALSTON_ADMIN_TOKEN)", access: .scope("admin token")),
        APIOperation(method: .put, path: "/admin/log-level", tag: "System", summary: "Change the log level for a while (DALSTON_ADMIN_TOKEN)", access: .scope("admin token"),
                     body: .json([Field(name: "level", type: "string", description: "trace … critical", required: true),
                                  Field(name: "duration_seconds", type: "number", description: "How long before it reverts.")])),
        APIOperation(method: .get, path: "/v1/status", tag: "System", summary: "Queues, workers, dead letters, database", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/engines", tag: "System", summary: "Engines with their status and capabilities (the original's shape)", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/jobs/stats", tag: "Dalston", summary: "The tenant's jobs running, queued, and finished today", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/audit", tag: "System", summary: "The audit log, filtered and paged", access: .scope("admin"),
                     query: paging + [Field(name: "resource_type", type: "string", description: "job, api_key, webhook, session_token…"),
                                      Field(name: "resource_id", type: "string", description: ""), Field(name: "action", type: "string", description: "e.g. job.deleted"),
                                      Field(name: "actor_id", type: "string", description: "A key id"), Field(name: "correlation_id", type: "string", description: "A request id"),
                                      Field(name: "start_time", type: "string", description: "ISO-8601, inclusive"), Field(name: "end_time", type: "string", description: "ISO-8601, exclusive"),
                                      Field(name: "sort", type: "string", description: "timestamp_desc (default) or timestamp_asc")]),
        APIOperation(method: .get, path: "/v1/audit/resources/{type}/{id}", tag: "System", summary: "One resource's audit trail", access: .scope("admin"), query: paging),

        // Dalston's own job API
        APIOperation(method: .post, path: "/v1/audio/transcriptions", tag: "Dalston", summary: "Submit audio for transcription (OpenAI's requests are answered synchronously)",
                     access: .scope("jobs:write"), body: .multipart(transcriptionFields),
                     responses: [(201, "The job, pending"), (400, "A field it cannot honour, named"), (413, "Too large or too long"), (429, "Over the key's limits")]),
        APIOperation(method: .get, path: "/v1/audio/transcriptions", tag: "Dalston", summary: "List the tenant's jobs, newest first", access: .scope("jobs:read"),
                     query: paging + [Field(name: "status", type: "string", description: "pending, running, completed, failed, cancelled"),
                                      Field(name: "since", type: "string", description: "ISO-8601: jobs created at or after")]),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}", tag: "Dalston", summary: "A job with its transcript", access: .scope("jobs:read"),
                     responses: [(200, "The job"), (404, "No such job in this tenant")]),
        APIOperation(method: .patch, path: "/v1/audio/transcriptions/{id}", tag: "Dalston", summary: "Rename a job", access: .scope("jobs:write"),
                     body: .json([Field(name: "display_name", type: "string", description: "The new name.", required: true)])),
        APIOperation(method: .delete, path: "/v1/audio/transcriptions/{id}", tag: "Dalston", summary: "Delete a finished job and its files", access: .scope("jobs:write"),
                     responses: [(204, "Deleted"), (404, "No such job"), (409, "Still running: cancel it first")]),
        APIOperation(method: .post, path: "/v1/audio/transcriptions/{id}/cancel", tag: "Dalston", summary: "Cancel a job", access: .scope("jobs:write"),
                     responses: [(200, "`cancelling`, or `cancelled` once it is"), (409, "Already ended otherwise")]),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}/export/{format}", tag: "Dalston", summary: "The transcript as srt, vtt, webvtt, txt or json",
                     access: .scope("jobs:read"), query: [Field(name: "max_line_length", type: "integer", description: "Subtitle line length"),
                                                          Field(name: "max_lines", type: "integer", description: "Lines per cue")]),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}/tasks", tag: "Dalston", summary: "The job's tasks: stage, engine, status, attempts, queue wait and run time",
                     access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}/tasks/{task_id}/artifacts", tag: "Dalston", summary: "What a task read and wrote, with its stored files",
                     access: .scope("jobs:read"), responses: [(200, "request, response, artifacts"), (400, "The task has not started"), (404, "No such task")]),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}/tasks/{task_id}/artifacts/{name}", tag: "Dalston", summary: "Download one of a task's stored files",
                     access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/audio/transcriptions/{id}/audio", tag: "Dalston", summary: "The original upload, while it is kept", access: .scope("jobs:read")),
        APIOperation(method: .delete, path: "/v1/audio/transcriptions/{id}/audio", tag: "Dalston", summary: "Delete a finished job's audio, keep its transcript", access: .scope("jobs:write"),
                     responses: [(204, "Deleted"), (404, "Not kept"), (409, "Still running")]),

        // OpenAI
        APIOperation(method: .post, path: "/v1/audio/translations", tag: "OpenAI", summary: "Translate speech into English text (multilingual Whisper)", access: .scope("jobs:write"),
                     body: .multipart([Field(name: "file", type: "file", description: "The audio.", required: true),
                                       Field(name: "model", type: "string", description: "whisper-1 or a multilingual model.", required: true),
                                       Field(name: "response_format", type: "string", description: "json, text, srt, vtt, verbose_json"),
                                       Field(name: "prompt", type: "string", description: ""), Field(name: "temperature", type: "number", description: "")])),
        APIOperation(method: .get, path: "/v1/models", tag: "OpenAI", summary: "Installed models with their aliases, languages and status", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/models/{id}", tag: "OpenAI", summary: "One model", access: .scope("jobs:read")),
        APIOperation(method: .post, path: "/v1/realtime/transcription_sessions", tag: "OpenAI", summary: "An ephemeral client_secret for one realtime WebSocket",
                     access: .scope("realtime"), body: .json([
                        Field(name: "input_audio_format", type: "string", description: "pcm16"),
                        Field(name: "input_audio_transcription", type: "object", description: "{model, language, prompt}"),
                        Field(name: "client_secret", type: "object", description: "{expires_after: {seconds: 10…7200}}"),
                     ])),
        APIOperation(method: .get, path: "/v1/realtime", tag: "Realtime", summary: "WebSocket: OpenAI's realtime transcription (`?intent=transcription`)", access: .scope("realtime"),
                     responses: [(101, "Upgraded"), (426, "Not a WebSocket request")]),

        // ElevenLabs
        APIOperation(method: .post, path: "/v1/speech-to-text", tag: "ElevenLabs", summary: "Speech to text (synchronous, or acknowledged with webhook=true)",
                     access: .scope("jobs:write"), body: .multipart(elevenLabsFields)),
        APIOperation(method: .get, path: "/v1/speech-to-text/transcripts/{id}", tag: "ElevenLabs", summary: "A transcript (404 with Retry-After while pending)", access: .scope("jobs:read")),
        APIOperation(method: .delete, path: "/v1/speech-to-text/transcripts/{id}", tag: "ElevenLabs", summary: "Delete a transcript", access: .scope("jobs:write")),
        APIOperation(method: .get, path: "/v1/speech-to-text/transcripts/{id}/export/{format}", tag: "ElevenLabs", summary: "A transcript as srt, vtt, txt or json",
                     access: .scope("jobs:read")),
        APIOperation(method: .post, path: "/v1/single-use-token/{token_type}", tag: "ElevenLabs", summary: "A single-use token for one realtime WebSocket (`?token=`)",
                     access: .scope("realtime"), body: .json([Field(name: "ttl", type: "integer", description: "Seconds, 30…3600 (default 300)")])),
        APIOperation(method: .get, path: "/v1/speech-to-text/realtime", tag: "Realtime", summary: "WebSocket: ElevenLabs' realtime speech to text", access: .scope("realtime"),
                     responses: [(101, "Upgraded"), (426, "Not a WebSocket request")]),

        // Realtime (Dalston's)
        APIOperation(method: .get, path: "/v1/audio/transcriptions/stream", tag: "Realtime", summary: "WebSocket: Dalston's realtime transcription", access: .scope("realtime"),
                     responses: [(101, "Upgraded"), (426, "Not a WebSocket request")]),
        APIOperation(method: .get, path: "/v1/realtime/status", tag: "Realtime", summary: "Realtime capacity", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/realtime/workers", tag: "Realtime", summary: "Realtime workers", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/realtime/workers/{id}", tag: "Realtime", summary: "One realtime worker", access: .scope("jobs:read")),
        APIOperation(method: .get, path: "/v1/realtime/sessions", tag: "Realtime", summary: "Recorded sessions, newest first", access: .scope("jobs:read"),
                     query: paging + [Field(name: "status", type: "string", description: "active, completed, interrupted, error")]),
        APIOperation(method: .get, path: "/v1/realtime/sessions/{id}", tag: "Realtime", summary: "One session with its transcript", access: .scope("jobs:read")),
        APIOperation(method: .delete, path: "/v1/realtime/sessions/{id}", tag: "Realtime", summary: "Delete an ended session's record", access: .scope("jobs:write")),

        // Keys and tokens
        APIOperation(method: .get, path: "/auth/me", tag: "Keys", summary: "The key in use: id, tenant, scopes, limits", access: .anyKey),
        APIOperation(method: .post, path: "/auth/tokens", tag: "Keys", summary: "A short-lived token (default: realtime only) for a browser", access: .scope("realtime"),
                     body: .json([Field(name: "ttl", type: "integer", description: "Seconds, 60…3600 (default 600)"),
                                  Field(name: "scopes", type: "array", description: "A subset of the key's (default: realtime)")]),
                     responses: [(201, "The token, shown once"), (403, "Beyond the key's scopes")]),
        APIOperation(method: .post, path: "/auth/keys", tag: "Keys", summary: "Create a key in the caller's tenant (secret shown once)", access: .scope("admin"),
                     body: .json(keyFields), responses: [(201, "The key with its secret"), (400, "A field, named"), (403, "A scope or tenant beyond the caller's")]),
        APIOperation(method: .get, path: "/auth/keys", tag: "Keys", summary: "The tenant's keys (never their secrets)", access: .scope("admin"),
                     query: [Field(name: "include_revoked", type: "boolean", description: "Revoked keys too")]),
        APIOperation(method: .get, path: "/auth/keys/{id}", tag: "Keys", summary: "One key of the tenant", access: .scope("admin")),
        APIOperation(method: .delete, path: "/auth/keys/{id}", tag: "Keys", summary: "Revoke a key (its live sessions end within seconds)", access: .scope("admin"),
                     responses: [(204, "Revoked"), (400, "A key cannot revoke itself"), (404, "No such key in this tenant")]),

        // Webhooks
        APIOperation(method: .post, path: "/v1/webhooks", tag: "Webhooks", summary: "Register an endpoint (signing secret shown once)", access: .scope("webhooks"),
                     body: .json(webhookFields), responses: [(201, "The endpoint with its signing secret")]),
        APIOperation(method: .get, path: "/v1/webhooks", tag: "Webhooks", summary: "Registered endpoints", access: .scope("webhooks"),
                     query: [Field(name: "is_active", type: "boolean", description: "")]),
        APIOperation(method: .get, path: "/v1/webhooks/{id}", tag: "Webhooks", summary: "One endpoint", access: .scope("webhooks")),
        APIOperation(method: .patch, path: "/v1/webhooks/{id}", tag: "Webhooks", summary: "Change an endpoint", access: .scope("webhooks"),
                     body: .json(webhookFields + [Field(name: "is_active", type: "boolean", description: "")])),
        APIOperation(method: .delete, path: "/v1/webhooks/{id}", tag: "Webhooks", summary: "Remove an endpoint", access: .scope("webhooks")),
        APIOperation(method: .post, path: "/v1/webhooks/{id}/rotate-secret", tag: "Webhooks", summary: "A new signing secret", access: .scope("webhooks")),
        APIOperation(method: .get, path: "/v1/webhooks/{id}/deliveries", tag: "Webhooks", summary: "An endpoint's deliveries", access: .scope("webhooks"),
                     query: [Field(name: "status", type: "string", description: ""), Field(name: "limit", type: "integer", description: ""),
                             Field(name: "offset", type: "integer", description: "")]),
        APIOperation(method: .post, path: "/v1/webhooks/{id}/deliveries/{delivery}/retry", tag: "Webhooks", summary: "Deliver again", access: .scope("webhooks")),
    ]
}
