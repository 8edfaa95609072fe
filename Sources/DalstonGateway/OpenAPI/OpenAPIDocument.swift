import DalstonBroker
import DalstonCore
import Foundation

/// The OpenAPI 3.1 document of the gateway's HTTP API, built from `APICatalogue`.
enum OpenAPIDocument {
    static func json(_ operations: [APIOperation] = APICatalogue.operations) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array((try? encoder.encode(document(operations))) ?? Data("{}".utf8))
    }

    static func document(_ operations: [APIOperation]) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in operations {
            paths[operation.path, default: [:]][operation.method.rawValue.lowercased()] = describe(operation)
        }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("Dalston"),
                "version": .string(DalstonVersion.current),
                "description": .string("""
                    Self-hosted transcription with Dalston's own API and OpenAI- and ElevenLabs-compatible ones. \
                    Errors answer in each API's shape; every answer carries X-Request-ID.
                    """),
            ]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "securitySchemes": .object([
                    "bearer": .object(["type": .string("http"), "scheme": .string("bearer"), "description": .string("An API key (dk_…) or a token (tk_…)")]),
                    "xiApiKey": .object(["type": .string("apiKey"), "in": .string("header"), "name": .string("xi-api-key"), "description": .string("ElevenLabs' header")]),
                ]),
            ]),
            "tags": .array(["Dalston", "OpenAI", "ElevenLabs", "Realtime", "Keys", "Webhooks", "System"].map { .object(["name": .string($0)]) }),
        ])
    }

    static func describe(_ operation: APIOperation) -> JSONValue {
        var fields: [String: JSONValue] = [
            "summary": .string(operation.summary),
            "tags": .array([.string(operation.tag)]),
            "operationId": .string(operationID(operation)),
            "x-dalston-access": .string(operation.access.text),
        ]
        if case .open = operation.access {
            fields["security"] = .array([])
        } else {
            fields["security"] = .array([.object(["bearer": .array([])]), .object(["xiApiKey": .array([])])])
        }
        let parameters = operation.pathParameters.map { name -> JSONValue in
            .object(["name": .string(name), "in": .string("path"), "required": .bool(true), "schema": .object(["type": .string("string")])])
        } + operation.query.map { field -> JSONValue in
            .object(["name": .string(field.name), "in": .string("query"), "required": .bool(field.required), "description": .string(field.description),
                     "schema": .object(["type": .string(field.type)])])
        }
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        if let body = operation.body {
            let (contentType, list) = switch body {
            case .multipart(let list): ("multipart/form-data", list)
            case .json(let list): ("application/json", list)
            }
            fields["requestBody"] = .object([
                "required": .bool(list.contains(where: \.required)),
                "content": .object([contentType: .object(["schema": schema(list)])]),
            ])
        }
        var responses: [String: JSONValue] = [:]
        for (status, description) in operation.responses {
            responses[String(status)] = .object(["description": .string(description)])
        }
        if case .open = operation.access {} else {
            responses["401"] = responses["401"] ?? .object(["description": .string("No valid key (missing, unknown, revoked or expired)")])
            responses["403"] = responses["403"] ?? .object(["description": .string("The key lacks the scope \(operation.access.text)")])
            responses["429"] = responses["429"] ?? .object(["description": .string("Over the key's request rate (Retry-After, x-ratelimit-*)")])
        }
        fields["responses"] = .object(responses)
        return .object(fields)
    }

    static func schema(_ fields: [APIOperation.Field]) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for field in fields {
            properties[field.name] = field.type == "file"
                ? .object(["type": .string("string"), "contentMediaType": .string("application/octet-stream"), "description": .string(field.description)])
                : .object(["type": .string(field.type), "description": .string(field.description)])
        }
        return .object([
            "type": .string("object"), "properties": .object(properties),
            "required": .array(fields.filter(\.required).map { .string($0.name) }),
        ])
    }

    /// `get_v1_audio_transcriptions_id`: unique per method and path.
    static func operationID(_ operation: APIOperation) -> String {
        let parts: [String] = operation.path.split(separator: "/").map { part in
            String(part.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        }
        let name = [operation.method.rawValue.lowercased()] + (parts.isEmpty ? ["root"] : parts)
        return name.joined(separator: "_").replacingOccurrences(of: "-", with: "_")
    }
}
