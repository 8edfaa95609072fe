/// The engines a build knows, by id: how to make each and whether it can run here. A new engine
/// is its own file plus one registration; every process (`dalston up`, `dalston engine NAME`,
/// tests, benchmarks) finds it through the registry.
package struct EngineRegistry: Sendable {
    package struct Registration: Sendable {
        package let engineID: String
        /// Why the engine cannot run in this build (nil when it can), e.g. a missing library.
        package let unavailableReason: String?
        package let make: @Sendable (_ environment: [String: String]) throws -> any Engine

        package init(_ engineID: String, unavailableReason: String? = nil, make: @escaping @Sendable (_ environment: [String: String]) throws -> any Engine) {
            self.engineID = engineID
            self.unavailableReason = unavailableReason
            self.make = make
        }
    }

    package private(set) var registrations: [Registration]

    package init(_ registrations: [Registration] = []) {
        self.registrations = registrations
    }

    /// Adds an engine (or replaces the one with the same id).
    package mutating func register(_ registration: Registration) {
        registrations.removeAll { $0.engineID == registration.engineID }
        registrations.append(registration)
    }

    package var engineIDs: [String] { registrations.map(\.engineID) }
    /// The engines that can run in this build.
    package var availableEngineIDs: [String] { registrations.filter { $0.unavailableReason == nil }.map(\.engineID) }

    package func registration(_ engineID: String) -> Registration? {
        registrations.first { $0.engineID == engineID }
    }

    package func make(_ engineID: String, environment: [String: String]) throws(EngineRegistryError) -> any Engine {
        guard let registration = registration(engineID) else {
            throw EngineRegistryError(description: "unknown engine \"\(engineID)\"; the engines are \(engineIDs.joined(separator: ", "))")
        }
        if let reason = registration.unavailableReason {
            throw EngineRegistryError(description: "engine \(engineID) cannot run: \(reason)")
        }
        do {
            return try registration.make(environment)
        } catch {
            throw EngineRegistryError(description: "engine \(engineID) could not start: \(error)")
        }
    }
}

package struct EngineRegistryError: Error, Sendable, CustomStringConvertible {
    package let description: String
}
