import DalstonCore

/// `METRICS_ENABLED` and `METRICS_PORT`, checked at start-up: a typo stops the process with a
/// message instead of silently turning metrics off.
package struct MetricsConfiguration: Sendable, Equatable {
    package var enabled = true
    /// Where a service without an HTTP port of its own serves `/metrics`; `nil` uses its default.
    package var port: Int?

    package init(enabled: Bool = true, port: Int? = nil) {
        self.enabled = enabled
        self.port = port
    }

    package struct Invalid: Error, CustomStringConvertible, Equatable {
        package let description: String
    }

    package static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> MetricsConfiguration {
        var configuration = MetricsConfiguration()
        do {
            configuration.enabled = try EnvironmentValue("METRICS_ENABLED", in: environment).bool(default: true)
        } catch {
            throw Invalid(description: error.description)
        }
        do {
            configuration.port = try EnvironmentValue("METRICS_PORT", in: environment).port(default: nil)
        } catch {
            throw Invalid(description: error.description)
        }
        return configuration
    }
}
