// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// PocketSphinx is a system library: the transcribe engine is built only where its headers are
/// installed (`apt-get install libpocketsphinx-dev pocketsphinx-en-us`). Without them `dalston`
/// still builds, and the transcribe engine reports that it was left out.
let hasPocketSphinx = FileManager.default.fileExists(atPath: "/usr/include/pocketsphinx/pocketsphinx.h")

let package = Package(
    name: "dalston",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dalston", targets: ["dalston"]),
        .library(name: "DalstonLogging", targets: ["DalstonLogging"]),
        .library(name: "DalstonRedis", targets: ["DalstonRedis"]),
        .library(name: "DalstonBroker", targets: ["DalstonBroker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Realtime: WebSocket upgrade on the gateway and worker servers, and the gateway's client to workers.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // Already in hummingbird's graph: its HTTP part types, for the gateway's connection handlers.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The record database: SQLite embedded (its own copy of SQLite), PostgreSQL when distributed.
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Webhook deliveries and the OTLP/HTTP span export.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Already in the graph (through async-http-client): a collector's own CA for span export.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already in the graph (through swift-certificates): SHA-256 of API keys, HMAC of webhooks.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
        // Already in the graph (through hummingbird): HTTP field types, for the realtime relay's upgrade headers.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Already in the graph (through swift-distributed-tracing): the context that carries trace and log fields.
        .package(url: "https://github.com/apple/swift-service-context.git", from: "1.5.1"),
    ],
    targets: [
        // The smallest shared vocabulary: timestamps, durations, environment values.
        .target(name: "DalstonCore"),
        // zlib from the system (Debian: zlib1g-dev), for reading rotated `.gz` logs.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Tools for people over many services' JSON logs: one request's timeline, its summary, tailing.
        .target(name: "DalstonLogTools", dependencies: ["CZlib"]),
        // Observability foundation: every executable configures logging through this module only.
        .target(
            name: "DalstonLogging",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                // ServiceContext carries bound log fields (and later trace context) across tasks.
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // Correlation and W3C trace context carried inside messages, and binding them on receipt.
        .target(
            name: "DalstonPropagation",
            dependencies: [.product(name: "ServiceContextModule", package: "swift-service-context"),
                "DalstonLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // Redis transport: RESP2/RESP3 codec, pipelining connections, pool, pub/sub.
        .target(
            name: "DalstonRedis",
            dependencies: [
                "DalstonCore", "DalstonLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Role protocols (task queue, event bus, state store, worker registry); Redis and in-memory implementations.
        .target(
            name: "DalstonBroker",
            dependencies: [
                "DalstonCore", "DalstonRedis", "DalstonLogging",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Metrics: the catalogue of Dalston's metrics, the swift-metrics → Prometheus backend,
        // and the process collector sampled on scrape.
        .target(
            name: "DalstonMetrics",
            dependencies: [
                "DalstonCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Tracing: validated OTEL_* configuration, Dalston's tracer, the batched OTLP/HTTP export, trace ids in logs.
        .target(
            name: "DalstonTracing",
            dependencies: [.product(name: "Instrumentation", package: "swift-distributed-tracing"), .product(name: "ServiceContextModule", package: "swift-service-context"),
                "DalstonPropagation", "DalstonLogging", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The single start-up call of every executable: logs, metrics (and their HTTP endpoint), traces.
        .target(
            name: "DalstonObservability",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
                "DalstonCore", "DalstonLogging", "DalstonMetrics", "DalstonTracing",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Audio decoding and resampling (pure Swift).
        .target(name: "DalstonAudio", dependencies: ["DalstonCore"]),
        // The model registry: installed models' manifests, built-in ones, the default model.
        .target(name: "DalstonModels"),
        // Live transcription without I/O: frame decoding, voice activity, the session state
        // machine, and the native, ElevenLabs and OpenAI WebSocket dialects.
        .target(name: "DalstonRealtime", dependencies: ["DalstonCore", "DalstonAudio"]),
        // The session router: realtime workers' registry and atomic slot reservations (Redis or
        // in-process), the health loop, the records of realtime sessions, and the session relay
        // that carries each client connection to its worker.
        .target(
            name: "DalstonSessionRouter",
            dependencies: [
                "DalstonCore", "DalstonRedis", "DalstonBroker", "DalstonMetrics", "DalstonRealtime", "DalstonLogging", "DalstonPropagation",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What the services share: statuses, event names, the task graph, artifacts, transcripts.
        .target(
            name: "DalstonPipeline",
            dependencies: [
                "DalstonCore", "DalstonBroker", "DalstonLogging", "DalstonPropagation", "DalstonModels", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // Durable records (jobs, sessions, API keys, audit log): the schema, its migrations and the
        // tables, written once over a small SQL interface that both databases implement.
        .target(
            name: "DalstonRecords",
            dependencies: [
                "DalstonCore", "DalstonPipeline", "DalstonSessionRouter", "DalstonBroker", "DalstonMetrics",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DalstonRecordsSQLite",
            dependencies: [
                "DalstonRecords", "DalstonCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DalstonRecordsPostgres",
            dependencies: [
                "DalstonRecords", "DalstonCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HTTP to URLs that clients give (audio to fetch, webhooks to call), guarded against
        // server-side request forgery: resolved, checked, connected to the checked address.
        .target(
            name: "DalstonOutboundHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Artifacts on S3-compatible object storage (SigV4 signed by hand over async-http-client),
        // the instrumented store every process uses, and the guard for URLs clients give us.
        .target(
            name: "DalstonStorage",
            dependencies: [
                "DalstonCore", "DalstonPipeline", "DalstonMetrics", "DalstonPropagation", "DalstonOutboundHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Webhook delivery from the record database's outbox: signing, retries, the dispatcher service.
        .target(
            name: "DalstonWebhooks",
            dependencies: [
                "DalstonCore", "DalstonRecords", "DalstonMetrics", "DalstonOutboundHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The engine SDK: the Engine protocol and the runner that feeds it tasks.
        .target(
            name: "DalstonEngineSDK",
            dependencies: [
                "DalstonCore", "DalstonPropagation", "DalstonBroker", "DalstonPipeline", "DalstonLogging", "DalstonMetrics", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The batch engines: audio-prepare, transcribe (PocketSphinx), merge.
        // The realtime worker: WebSocket server for gateways, recogniser lanes, router heartbeats.
        .target(
            name: "DalstonRealtimeWorker",
            dependencies: [
                "DalstonCore", "DalstonLogging", "DalstonMetrics", "DalstonPropagation", "DalstonRealtime", "DalstonSessionRouter", "DalstonPipeline", "DalstonAudio",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "DalstonEngines",
            dependencies: ["DalstonCore", "DalstonEngineSDK", "DalstonAudio", "DalstonPipeline", "DalstonBroker", "DalstonRealtime", "DalstonModels",
                "DalstonPropagation", "DalstonMetrics", .product(name: "Logging", package: "swift-log")]
                + (hasPocketSphinx ? [.target(name: "CPocketSphinx")] : [])
        ),
        .target(
            name: "DalstonOrchestrator",
            dependencies: [
                "DalstonCore", "DalstonPropagation", "DalstonBroker", "DalstonPipeline", "DalstonLogging", "DalstonMetrics", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP API (Hummingbird): native and ElevenLabs-compatible transcription endpoints.
        .target(
            name: "DalstonGateway",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Instrumentation", package: "swift-distributed-tracing"), .product(name: "ServiceContextModule", package: "swift-service-context"),
                "DalstonCore", "DalstonPropagation", "DalstonPipeline", "DalstonBroker", "DalstonAudio", "DalstonLogging", "DalstonMetrics",
                "DalstonObservability", "DalstonRealtime", "DalstonSessionRouter", "DalstonRecords", "DalstonTracing", "DalstonModels", "DalstonStorage", "DalstonOutboundHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The one composition of Dalston: every component as a lifecycle service, the engine
        // registry, and the roles a process runs (`up`, gateway, orchestrator, engines).
        .target(
            name: "DalstonRuntime",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics"),
                "DalstonCore", "DalstonLogging", "DalstonGateway", "DalstonOrchestrator", "DalstonEngines", "DalstonEngineSDK",
                "DalstonBroker", "DalstonPipeline", "DalstonMetrics", "DalstonObservability", "DalstonSessionRouter", "DalstonRealtimeWorker",
                "DalstonRealtime", "DalstonRecords", "DalstonRecordsSQLite", "DalstonRecordsPostgres", "DalstonWebhooks", "DalstonModels", "DalstonStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dalston",
            dependencies: ["DalstonEngineSDK", "DalstonOrchestrator", .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
                "DalstonRuntime", "DalstonLogging", "DalstonGateway", "DalstonEngines", "DalstonBroker",
                "DalstonPipeline", "DalstonObservability", "DalstonLogTools", "DalstonCore", "DalstonAudio", "DalstonRecords", "DalstonModels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Speed harness: `swift run -c release dalston-benchmarks` (see Benchmarks/README.md).
        .executableTarget(
            name: "dalston-benchmarks",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "DalstonCore",
                "DalstonLogging",
                "DalstonRedis",
                "DalstonBroker",
                "DalstonTestSupport",
                "DalstonPipeline",
                "DalstonOrchestrator",
                "DalstonEngines",
                "DalstonEngineSDK",
                "DalstonGateway",
                "DalstonMetrics",
                "DalstonObservability",
                "DalstonRuntime",
                "DalstonAudio",
                "DalstonRecords",
                "DalstonRecordsSQLite",
                "DalstonRecordsPostgres",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Benchmarks/DalstonBenchmarks"
        ),
        // Helpers for tests only: a real redis-server per test, polling.
        .target(
            name: "DalstonTestSupport",
            dependencies: ["DalstonRedis", "DalstonCore"],
            path: "Tests/DalstonTestSupport"
        ),
        .testTarget(
            name: "DalstonRedisTests",
            dependencies: [.product(name: "NIOPosix", package: "swift-nio"),
                "DalstonRedis",
                "DalstonTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DalstonLogToolsTests",
            dependencies: ["DalstonLogTools", "DalstonTestSupport"]
        ),
        .testTarget(
            name: "DalstonRealtimeTests",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                "DalstonRealtime", "DalstonAudio", "DalstonSessionRouter", "DalstonBroker", "DalstonRedis", "DalstonTestSupport", "DalstonEngines",
                "DalstonRuntime", "DalstonPipeline",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "DalstonAudioTests",
            dependencies: ["DalstonAudio", "DalstonTestSupport"]
        ),
        // The model runners' supervision (fake runners that misbehave on purpose) and the model registry.
        .testTarget(
            name: "DalstonRunnerTests",
            dependencies: ["DalstonEngineSDK", "DalstonModels", "DalstonBroker", "DalstonMetrics", "DalstonTestSupport",
                .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "DalstonPipelineTests",
            dependencies: ["DalstonPropagation", "DalstonRedis", .product(name: "Logging", package: "swift-log"),
                "DalstonOrchestrator", "DalstonEngines", "DalstonEngineSDK", "DalstonPipeline", "DalstonBroker", "DalstonAudio",
                "DalstonLogging", "DalstonMetrics", "DalstonTestSupport", "DalstonRuntime", "DalstonCore", "DalstonRecords", "DalstonRecordsSQLite",
            ]
        ),
        .testTarget(
            name: "DalstonRecordsTests",
            dependencies: [.product(name: "Logging", package: "swift-log"), "DalstonRecords", "DalstonRecordsSQLite", "DalstonRecordsPostgres", "DalstonPipeline", "DalstonSessionRouter", "DalstonRealtime", "DalstonCore", "DalstonTestSupport",
                           "DalstonBroker", "DalstonWebhooks", "DalstonOutboundHTTP", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .testTarget(
            name: "DalstonStorageTests",
            dependencies: ["DalstonStorage", "DalstonOutboundHTTP", "DalstonPipeline", "DalstonTestSupport", "DalstonMetrics", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            exclude: ["Fixtures/README.md"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "DalstonBrokerTests",
            dependencies: ["DalstonBroker", "DalstonRedis", "DalstonTestSupport"]
        ),
        .testTarget(
            name: "DalstonGatewayTests",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                "DalstonGateway", "DalstonModels", "DalstonRealtime", "DalstonSessionRouter", "DalstonBroker", "DalstonCore", "DalstonPipeline", "DalstonAudio", "DalstonMetrics", "DalstonTestSupport",
                "DalstonObservability", "DalstonLogging", "DalstonRecords", "DalstonRecordsSQLite", "DalstonRecordsPostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Services as separate processes against a real redis-server.
        .testTarget(
            name: "DalstonEndToEndTests",
            dependencies: ["DalstonBroker", "DalstonRedis", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), "DalstonTestSupport", "DalstonModels", "dalston", .product(name: "HummingbirdWSClient", package: "hummingbird-websocket")]
        ),
        .testTarget(
            name: "DalstonMetricsTests",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics"),
                "DalstonMetrics", "DalstonObservability", "DalstonBroker", "DalstonPipeline", "DalstonTestSupport", "DalstonRuntime",
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "DalstonTracingTests",
            dependencies: [.product(name: "ServiceContextModule", package: "swift-service-context"),
                "DalstonTracing", "DalstonPropagation", "DalstonTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Logs a given number of lines and ends in a given way: the buffered writer's tests.
        .executableTarget(
            name: "dalston-log-probe",
            dependencies: ["DalstonLogging", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LogProbe"
        ),
        .testTarget(
            name: "DalstonLoggingTests",
            dependencies: [.product(name: "Instrumentation", package: "swift-distributed-tracing"),
                "DalstonLogging",
                "DalstonTestSupport",
                "dalston-log-probe",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

if hasPocketSphinx {
    package.targets.append(.systemLibrary(name: "CPocketSphinx", pkgConfig: "pocketsphinx", providers: [.apt(["libpocketsphinx-dev"])]))
}

// Imports are internal unless declared otherwise (`package import`, `public import`): a module
// re-exports only what its own API exposes.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("InternalImportsByDefault")]
}
