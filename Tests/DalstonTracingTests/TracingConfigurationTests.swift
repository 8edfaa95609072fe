import DalstonTracing
import Testing

@Suite("Tracing configuration")
struct TracingConfigurationTests {
    func configuration(_ environment: [String: String]) throws -> TracingConfiguration {
        try TracingConfiguration.fromEnvironment(environment, service: "gateway")
    }

    @Test func offUnlessAnEndpointIsSetOrItIsAskedFor() throws {
        #expect(try !configuration([:]).enabled)
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]).enabled)
        #expect(try configuration(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"]).enabled)
        #expect(try !configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_ENABLED": "false"]).enabled)
        #expect(try configuration(["OTEL_ENABLED": "true"]).enabled, "OTEL_ENABLED=true alone: the default endpoint")
        #expect(try !configuration(["OTEL_ENABLED": "true", "OTEL_SDK_DISABLED": "true"]).enabled)
    }

    @Test func serviceNameAndEndpointDefaults() throws {
        let defaults = try configuration(["OTEL_ENABLED": "true"])
        #expect(defaults.serviceName == "dalston-gateway")
        #expect(defaults.endpoint == "http://localhost:4318/v1/traces")
        #expect(try TracingConfiguration.fromEnvironment([:], service: "dalston").serviceName == "dalston")
        let custom = try configuration(["OTEL_SERVICE_NAME": "edge", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"])
        #expect(custom.serviceName == "edge" && custom.otelEnvironment["OTEL_SERVICE_NAME"] == "edge")
        #expect(custom.endpoint == "http://collector:4318/v1/traces")
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:2/t"]).endpoint == "http://b:2/t")
    }

    @Test(arguments: ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"])
    func supportedSamplersPassThrough(sampler: String) throws {
        let parsed = try configuration(["OTEL_TRACES_SAMPLER": sampler.uppercased()])
        #expect(parsed.otelEnvironment["OTEL_TRACES_SAMPLER"] == sampler)
    }

    @Test func samplerRatios() throws {
        let parsed = try configuration(["OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"])
        #expect(parsed.otelEnvironment["OTEL_TRACES_SAMPLER_ARG"] == "0.25")
    }

    @Test(arguments: [
        (["OTEL_TRACES_SAMPLER": "jaeger_remote"], "is not supported"),
        (["OTEL_TRACES_SAMPLER": "parentbased_jaeger_remote"], "is not supported"),
        (["OTEL_TRACES_SAMPLER": "xray"], "is not supported"),
        (["OTEL_TRACES_SAMPLER": "sometimes"], "invalid OTEL_TRACES_SAMPLER"),
        (["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"], "between 0 and 1"),
        (["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"], "between 0 and 1"),
        (["OTEL_TRACES_SAMPLER_ARG": "0.5"], "OTEL_TRACES_SAMPLER is not traceidratio"),
        (["OTEL_PROPAGATORS": "tracecontext,b3"], "b3 is not supported"),
        (["OTEL_PROPAGATORS": "xray"], "xray is not supported"),
        (["OTEL_PROPAGATORS": "smoke-signals"], "is not a propagator"),
        (["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], "use http/protobuf"),
        (["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"], "use http/protobuf"),
        (["OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"], "expected http/protobuf or http/json"),
        (["OTEL_TRACES_EXPORTER": "jaeger"], "expected one of otlp, console, none"),
        (["OTEL_TRACES_EXPORTER": "otlp,console"], "expected one of otlp, console, none"),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"], "expected an http:// or https:// URL"),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://collector"], "expected an http:// or https:// URL"),
        (["OTEL_ENABLED": "perhaps"], "invalid OTEL_ENABLED"),
        (["OTEL_SDK_DISABLED": "2"], "invalid OTEL_SDK_DISABLED"),
        (["OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,broken"], "invalid OTEL_RESOURCE_ATTRIBUTES"),
        (["OTEL_BSP_MAX_QUEUE_SIZE": "-1"], "positive whole number"),
        (["OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"], "expected gzip or none"),
    ] as [([String: String], String)])
    func unsupportedValuesAreClearStartUpErrors(environment: [String: String], message: String) {
        #expect {
            try configuration(environment)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func baggageFallsBackToTraceContextWithAWarning() throws {
        let parsed = try configuration(["OTEL_PROPAGATORS": "tracecontext,baggage"])
        #expect(parsed.otelEnvironment["OTEL_PROPAGATORS"] == "tracecontext")
        #expect(parsed.warnings.count == 1 && parsed.warnings[0].contains("baggage"))
        #expect(try configuration(["OTEL_PROPAGATORS": "baggage"]).otelEnvironment["OTEL_PROPAGATORS"] == "tracecontext")
    }

    @Test func onlyValidatedVariablesReachTheExporter() throws {
        let parsed = try configuration([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_LOGS_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "prometheus",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=audio", "OTEL_BSP_SCHEDULE_DELAY": "500", "UNRELATED": "x",
        ])
        #expect(Set(parsed.otelEnvironment.keys) == [
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_BSP_SCHEDULE_DELAY",
        ])
    }
}
