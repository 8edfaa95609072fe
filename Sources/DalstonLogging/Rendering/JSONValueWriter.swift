import Logging

/// Writes swift-log metadata values as JSON, keeping numbers and booleans typed.
///
/// swift-log metadata is string-typed; a value logged as `.stringConvertible(42)` or
/// `.stringConvertible(true)` is written as a JSON number or boolean. Errors (`LoggedError`)
/// become `{"type": ..., "message": ...}`; dictionaries are written with sorted keys.
enum JSONValueWriter {
    static func appendString(_ text: String, to out: inout LineBuffer) {
        out.append(UInt8(ascii: "\""))
        StringEscaping.appendEscaped(text, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    static func appendValue(_ value: Logger.MetadataValue, to out: inout LineBuffer) {
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

    private static func appendConvertible(_ convertible: any CustomStringConvertible & Sendable, to out: inout LineBuffer) {
        if let number = numberOrBoolLiteral(convertible) {
            out.append(raw: number)
        } else if let error = convertible as? LoggedError {
            out.append(#"{"type":"#)
            appendString(error.type, to: &out)
            out.append(#","message":"#)
            appendString(error.message, to: &out)
            out.append(UInt8(ascii: "}"))
        } else {
            appendString(convertible.description, to: &out)
        }
    }

    /// The JSON literal for integers, finite floating-point numbers and booleans; `nil` otherwise
    /// (NaN and infinities have no JSON form and are written as strings).
    static func numberOrBoolLiteral(_ convertible: any CustomStringConvertible & Sendable) -> String? {
        guard let kind = ScalarKind(of: convertible) else { return nil }
        let text = convertible.description
        // Swift spells the non-finite values "nan", "-nan", "inf", "-inf": all contain an "n".
        if kind == .floatingPoint && text.utf8.contains(UInt8(ascii: "n")) { return nil }
        return text
    }
}

/// The JSON-native kinds among `.stringConvertible` values, told apart by comparing metatypes
/// (a pointer compare) rather than by a chain of dynamic casts, which is far slower.
enum ScalarKind: Equatable {
    case integer, floatingPoint, boolean

    init?(of value: any CustomStringConvertible & Sendable) {
        let type = ObjectIdentifier(Swift.type(of: value))
        switch type {
        case ObjectIdentifier(Int.self), ObjectIdentifier(Int64.self), ObjectIdentifier(UInt64.self),
            ObjectIdentifier(UInt.self), ObjectIdentifier(Int32.self), ObjectIdentifier(UInt32.self),
            ObjectIdentifier(Int16.self), ObjectIdentifier(UInt16.self), ObjectIdentifier(Int8.self),
            ObjectIdentifier(UInt8.self):
            self = .integer
        case ObjectIdentifier(Double.self), ObjectIdentifier(Float.self):
            self = .floatingPoint
        case ObjectIdentifier(Bool.self):
            self = .boolean
        default:
            return nil
        }
    }
}
