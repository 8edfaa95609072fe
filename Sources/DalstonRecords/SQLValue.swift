/// A bound parameter or a column's value, in the few types Dalston's schema uses, so that one
/// SQL text runs on SQLite and on PostgreSQL alike.
package enum SQLValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null

    package static func text(_ value: String?) -> SQLValue {
        value.map(SQLValue.text) ?? .null
    }

    package static func integer(_ value: Int?) -> SQLValue {
        value.map { .integer(Int64($0)) } ?? .null
    }

    package static func real(_ value: Double?) -> SQLValue {
        value.map(SQLValue.real) ?? .null
    }
}
