import HTTPTypes

/// One route as the published document describes it. `APICatalogue` lists them all; a test
/// holds the list and the router to each other, so a route cannot be added or removed without
/// its description.
struct APIOperation: Sendable {
    /// Who may call it, as the document says it (and as `RouteAccess` enforces it).
    enum Access: Sendable {
        case open
        case anyKey
        case scope(String)

        var text: String {
            switch self {
            case .open: "none"
            case .anyKey: "any valid key"
            case .scope(let scope): scope
            }
        }
    }

    /// A field of a form or JSON body, or a query parameter.
    struct Field: Sendable {
        let name: String
        /// JSON Schema type: `string`, `integer`, `number`, `boolean`, `array`, `object`, `file`.
        let type: String
        let description: String
        var required = false
    }

    enum Body: Sendable {
        case multipart([Field])
        case json([Field])
    }

    let method: HTTPRequest.Method
    /// With `{name}` for each path parameter.
    let path: String
    /// The API it belongs to: Dalston, OpenAI, ElevenLabs, Realtime, Keys, Webhooks, System.
    let tag: String
    let summary: String
    let access: Access
    var query: [Field] = []
    var body: Body?
    /// Status → what it means (the first is the success).
    var responses: [(Int, String)] = [(200, "OK")]

    /// The path's `{name}` parameters, in order.
    var pathParameters: [String] {
        path.split(separator: "/").compactMap { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
        }
    }
}
