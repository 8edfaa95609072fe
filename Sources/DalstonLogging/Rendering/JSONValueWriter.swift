import Logging

/// Writes swift-log metadata values as JSON, keeping numbers and booleans typed.
///
/// swift-log metadata is string-typed; a value logged as `.stringConvertible(42)` or
/// `.stringConvertible(true)` is written as a JSON number or boolean. Errors (`LoggedError`)
/// become `{"type": ..., "message": ...}`; dictionaries are written with sorted keys.
enum JSONValueWriter {
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        StringEscaping.appendEscaped(text, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    static func appendValue(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            appendString(text, to: &out)
        case .stringConvertible(let convertible):
            appendConvertible(convertible, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendValue(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if let nested = dictionary[key] { appendValue(nested, to: &out) }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func appendConvertible(_ convertible: any CustomStringConvertible & Sendable, to out: inout [UInt8]) {
        if let number = numberOrBoolLiteral(convertible) {
            out.append(contentsOf: number.utf8)
        } else if let error = convertible as? LoggedError {
            out.append(contentsOf: #"{"type":"#.utf8)
            appendString(error.type, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            appendString(error.message, to: &out)
            out.append(UInt8(ascii: "}"))
        } else {
            appendString(convertible.description, to: &out)
        }
    }

    static func isScalarNumberOrBool(_ convertible: any CustomStringConvertible & Sendable) -> Bool {
        numberOrBoolLiteral(convertible) != nil
    }

    /// The JSON literal for integers, finite floating-point numbers and booleans; `nil` otherwise
    /// (NaN and infinities have no JSON form and are written as strings).
    static func numberOrBoolLiteral(_ convertible: any CustomStringConvertible & Sendable) -> String? {
        switch convertible {
        case let value as Int: return value.description
        case let value as Bool: return value ? "true" : "false"
        case let value as Double: return value.isFinite ? value.description : nil
        case let value as Int64: return value.description
        case let value as UInt64: return value.description
        case let value as UInt: return value.description
        case let value as Int32: return value.description
        case let value as UInt32: return value.description
        case let value as Int16: return value.description
        case let value as UInt16: return value.description
        case let value as Int8: return value.description
        case let value as UInt8: return value.description
        case let value as Float: return value.isFinite ? value.description : nil
        default: return nil
        }
    }
}
