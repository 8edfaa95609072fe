import Foundation

/// The tracing environment, checked at start-up: every `OTEL_*` variable the exporter reads has
/// been validated here, and unsupported choices are a clear start-up error or a documented
/// fallback.
///
/// Tracing is on when `OTEL_ENABLED=true`, or when an OTLP endpoint is set and `OTEL_ENABLED`
/// is not `false`; `OTEL_SDK_DISABLED=true` turns it off whatever else is set.
package struct TracingConfiguration: Sendable, Equatable {
    package var enabled: Bool
    /// `OTEL_SERVICE_NAME`, or `dalston-<service>`.
    package var serviceName: String
    /// Where spans go (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// + `/v1/traces`, else `http://localhost:4318/v1/traces`).
    package var endpoint: String
    /// The validated `OTEL_*` variables the tracer and exporter read (and nothing else).
    package var otelEnvironment: [String: String]
    /// Fallbacks applied, for a start-up warning each.
    package var warnings: [String]

    package struct Invalid: Error, CustomStringConvertible, Equatable {
        package let description: String
    }

    static let samplers = [
        "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    ]
    static let unsupportedSamplers = ["jaeger_remote", "parentbased_jaeger_remote", "xray"]
    static let unsupportedPropagators = ["b3", "b3multi", "jaeger", "xray", "ottrace"]

    package static func fromEnvironment(_ environment: [String: String], service: String) throws(Invalid) -> TracingConfiguration {
        func value(_ key: String) -> String? {
            environment[key].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func flag(_ key: String) throws(Invalid) -> Bool? {
            guard let text = value(key) else { return nil }
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw Invalid(description: "invalid \(key)=\"\(text)\": expected true or false")
            }
        }

        var otel: [String: String] = [:]
        var warnings: [String] = []
        let sharedEndpoint = value("OTEL_EXPORTER_OTLP_ENDPOINT")
        let tracesEndpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        let sdkDisabled = try flag("OTEL_SDK_DISABLED") ?? false
        let requested = try flag("OTEL_ENABLED")
        let enabled = !sdkDisabled && (requested ?? (sharedEndpoint != nil || tracesEndpoint != nil))
        let serviceName = value("OTEL_SERVICE_NAME") ?? (service == "dalston" ? "dalston" : "dalston-\(service)")
        otel["OTEL_SERVICE_NAME"] = serviceName

        // Endpoints: http(s) URLs with a host.
        for (key, url) in [("OTEL_EXPORTER_OTLP_ENDPOINT", sharedEndpoint), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEndpoint)] {
            guard let url else { continue }
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
            else { throw Invalid(description: "invalid \(key)=\"\(url)\": expected an http:// or https:// URL, e.g. http://otel-collector:4318") }
            otel[key] = url
        }
        let endpoint = tracesEndpoint
            ?? sharedEndpoint.map { $0.hasSuffix("/") ? "\($0)v1/traces" : "\($0)/v1/traces" }
            ?? "http://localhost:4318/v1/traces"

        // Protocol: OTLP over HTTP only (gRPC is not built in).
        for key in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            guard let text = value(key) else { continue }
            switch text.lowercased() {
            case "http/protobuf", "http/json": otel[key] = text.lowercased()
            case "grpc":
                throw Invalid(description: "\(key)=grpc is not supported: this build exports OTLP over HTTP; use http/protobuf and the collector's OTLP/HTTP port (4318)")
            default: throw Invalid(description: "invalid \(key)=\"\(text)\": expected http/protobuf or http/json")
            }
        }

        if let text = value("OTEL_TRACES_EXPORTER") {
            let names = text.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard names.count == 1, let name = names.first, ["otlp", "console", "none"].contains(name) else {
                throw Invalid(description: "invalid OTEL_TRACES_EXPORTER=\"\(text)\": expected one of otlp, console, none (jaeger and zipkin: send OTLP to a collector that exports to them)")
            }
            otel["OTEL_TRACES_EXPORTER"] = name
        }

        // Sampler and its argument.
        let sampler = value("OTEL_TRACES_SAMPLER")?.lowercased()
        if let sampler {
            if unsupportedSamplers.contains(sampler) {
                throw Invalid(description: "OTEL_TRACES_SAMPLER=\(sampler) is not supported; use one of \(samplers.joined(separator: ", "))")
            }
            guard samplers.contains(sampler) else {
                throw Invalid(description: "invalid OTEL_TRACES_SAMPLER=\"\(sampler)\": expected one of \(samplers.joined(separator: ", "))")
            }
            otel["OTEL_TRACES_SAMPLER"] = sampler
        }
        if let argument = value("OTEL_TRACES_SAMPLER_ARG") {
            guard sampler?.hasSuffix("traceidratio") == true else {
                throw Invalid(description: "OTEL_TRACES_SAMPLER_ARG is set but OTEL_TRACES_SAMPLER is not traceidratio or parentbased_traceidratio")
            }
            guard let ratio = Double(argument), (0...1).contains(ratio) else {
                throw Invalid(description: "invalid OTEL_TRACES_SAMPLER_ARG=\"\(argument)\": expected a sampling ratio between 0 and 1")
            }
            otel["OTEL_TRACES_SAMPLER_ARG"] = String(ratio)
        }

        // Propagators: W3C trace context is what crosses HTTP and the broker. `baggage` is
        // dropped with a warning (Dalston carries no baggage); the others are errors.
        if let text = value("OTEL_PROPAGATORS") {
            var kept: [String] = []
            for name in text.lowercased().split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                switch name {
                case "tracecontext", "none": kept.append(name)
                case "baggage":
                    warnings.append("OTEL_PROPAGATORS: baggage is not propagated by Dalston; only tracecontext is used")
                default:
                    let reason = unsupportedPropagators.contains(name) ? "is not supported" : "is not a propagator"
                    throw Invalid(description: "OTEL_PROPAGATORS: \(name) \(reason); use tracecontext (W3C)")
                }
            }
            otel["OTEL_PROPAGATORS"] = kept.isEmpty ? "tracecontext" : kept.joined(separator: ",")
        }

        // Resource attributes: key=value pairs, comma-separated (values percent-encoded).
        if let text = value("OTEL_RESOURCE_ATTRIBUTES") {
            _ = try ExportSettings.parsePairs(text, variable: "OTEL_RESOURCE_ATTRIBUTES")
            otel["OTEL_RESOURCE_ATTRIBUTES"] = text
        }

        // Batch span processor and exporter tuning: positive integers (milliseconds or counts).
        for key in ["OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                    "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] {
            guard let text = value(key) else { continue }
            guard let number = Int(text), number > 0 else { throw Invalid(description: "invalid \(key)=\"\(text)\": expected a positive whole number") }
            otel[key] = String(number)
        }
        for key in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION",
                    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"] {
            guard let text = value(key) else { continue }
            if key.hasSuffix("COMPRESSION"), !["gzip", "none"].contains(text.lowercased()) {
                throw Invalid(description: "invalid \(key)=\"\(text)\": expected gzip or none")
            }
            otel[key] = text
        }
        if sdkDisabled { otel["OTEL_SDK_DISABLED"] = "true" }
        return TracingConfiguration(enabled: enabled, serviceName: serviceName, endpoint: endpoint, otelEnvironment: otel, warnings: warnings)
    }
}
