import DalstonBroker
import Foundation
import Hummingbird

/// A small JSON object sent as a request's body (webhook endpoints, a job's new name): read
/// within a size limit, every field named in `allowed` (an unknown one is refused by name, so a
/// typo is not silently ignored).
struct JSONRequestBody: Sendable {
    let fields: [String: JSONValue]

    /// `emptyIsObject`: an empty body reads as `{}` (for routes whose fields are all optional).
    static func read(_ request: Request, allowed: Set<String>, example: String, limit: Int = 64 * 1024, emptyIsObject: Bool = false) async throws -> JSONRequestBody {
        let body = try await request.body.collect(upTo: limit)
        if emptyIsObject && body.readableBytes == 0 { return JSONRequestBody(fields: [:]) }
        guard let fields = try? JSONDecoder().decode([String: JSONValue].self, from: Data(body.readableBytesView)) else {
            throw APIError.badRequest("send a JSON object, e.g. \(example)")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.unsupported(unknown, "unknown field \"\(unknown.prefix(64))\"; use \(allowed.sorted().joined(separator: ", "))")
        }
        return JSONRequestBody(fields: fields)
    }

    subscript(_ name: String) -> JSONValue? { fields[name] }

    var names: [String] { fields.keys.sorted() }
}

extension JSONValue {
    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A list of strings, or nil when this is anything else.
    var stringList: [String]? {
        guard case .array(let items) = self else { return nil }
        let strings = items.compactMap(\.stringValue)
        return strings.count == items.count ? strings : nil
    }
}
