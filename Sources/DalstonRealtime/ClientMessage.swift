import Foundation

/// A control message of the native protocol (text frames; audio comes as binary frames).
package enum ClientMessage: Sendable, Equatable {
    /// Settings changed mid-stream: `language` and the VAD names of `VADSettings`.
    case config([String: String])
    /// A final for the speech buffered so far.
    case flush
    /// Forget the buffered audio.
    case clear
    /// Finish: a last final, then `session.end`.
    case end

    /// Reads a text frame; what cannot be understood is a recoverable `invalid_message`.
    package static func parse(_ text: String) throws(RealtimeError) -> ClientMessage {
        let object: [String: Scalar]
        do {
            object = try JSONDecoder().decode([String: Scalar].self, from: Data(text.utf8))
        } catch {
            throw RealtimeError.invalidMessage("Invalid JSON: a control message is a JSON object of strings, numbers and booleans")
        }
        guard case .text(let type)? = object["type"] else { throw RealtimeError.invalidMessage("a control message needs a \"type\"") }
        switch type {
        case "flush": return .flush
        case "clear": return .clear
        case "end": return .end
        case "config":
            var values: [String: String] = [:]
            for (key, value) in object where key != "type" {
                switch value {
                case .text(let text): values[key] = text
                case .flag(let flag): values[key] = String(flag)
                case .number(let number): values[key] = number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
                case .null: continue
                }
            }
            return .config(values)
        default:
            throw RealtimeError.invalidMessage("Unknown message type: \(type.prefix(64))")
        }
    }

    /// A JSON value a control message may hold.
    enum Scalar: Decodable {
        case text(String), number(Double), flag(Bool), null

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let flag = try? container.decode(Bool.self) {
                self = .flag(flag)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else {
                self = .text(try container.decode(String.self))
            }
        }
    }

    /// The text frame for this message.
    package var json: String {
        switch self {
        case .flush: return #"{"type":"flush"}"#
        case .clear: return #"{"type":"clear"}"#
        case .end: return #"{"type":"end"}"#
        case .config(let values):
            var object: [String: String] = values
            object["type"] = "config"
            return JSONFrame.encode(object)
        }
    }
}

extension RealtimeError {
    package static func invalidMessage(_ message: String) -> RealtimeError {
        RealtimeError(code: "invalid_message", message: message, recoverable: true)
    }
}
