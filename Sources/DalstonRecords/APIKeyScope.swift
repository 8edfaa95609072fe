import Foundation

/// What an API key may do. Every route names the scope it needs; `admin` includes the others.
package enum APIKeyScope: String, Sendable, CaseIterable, Codable, Comparable {
    /// Read jobs, transcripts, sessions, models and status.
    case jobsRead = "jobs:read"
    /// Submit, rename, cancel and delete jobs.
    case jobsWrite = "jobs:write"
    /// Open realtime WebSocket sessions.
    case realtime
    /// Register and read webhooks.
    case webhooks
    /// Everything, key management included.
    case admin

    package static func < (lhs: APIKeyScope, rhs: APIKeyScope) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    /// Reads `jobs:read,realtime`; an unknown name is an error that lists the known ones.
    package static func parseList(_ text: String) throws(RecordStoreError) -> Set<APIKeyScope> {
        var scopes: Set<APIKeyScope> = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let scope = APIKeyScope(rawValue: name) else {
                throw .configuration("unknown scope \"\(name)\": use \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scopes.insert(scope)
        }
        guard !scopes.isEmpty else { throw .configuration("a key needs at least one scope: \(allCases.map(\.rawValue).joined(separator: ", "))") }
        return scopes
    }
}

extension Set<APIKeyScope> {
    /// Whether a key with these scopes may do what `scope` allows.
    package func permits(_ scope: APIKeyScope) -> Bool {
        contains(.admin) || contains(scope)
    }

    /// `jobs:read,realtime`, in a stable order.
    package var listText: String {
        sorted().map(\.rawValue).joined(separator: ",")
    }
}
