/// One result row by column name. Reading a column that is missing or of another type is a
/// `RecordStoreError.corrupt`, never a crash: a row written by a newer or broken writer must
/// not take the service down.
package struct SQLRow: Sendable, Equatable {
    package var columns: [String: SQLValue]

    package init(_ columns: [String: SQLValue]) {
        self.columns = columns
    }

    package func string(_ name: String) throws(RecordStoreError) -> String {
        guard let value = optionalString(name) else { throw .corrupt("column \(name) is empty or missing") }
        return value
    }

    package func optionalString(_ name: String) -> String? {
        switch columns[name] {
        case .text(let text): text
        case .integer(let number): String(number)
        case .real(let number): String(number)
        case .null, nil: nil
        }
    }

    package func int(_ name: String) throws(RecordStoreError) -> Int {
        guard let value = optionalInt(name) else { throw .corrupt("column \(name) is not a number") }
        return value
    }

    package func optionalInt(_ name: String) -> Int? {
        switch columns[name] {
        case .integer(let number): Int(exactly: number)
        case .real(let number): Int(exactly: number.rounded())
        case .text(let text): Int(text)
        case .null, nil: nil
        }
    }

    package func optionalDouble(_ name: String) -> Double? {
        switch columns[name] {
        case .integer(let number): Double(number)
        case .real(let number): number
        case .text(let text): Double(text)
        case .null, nil: nil
        }
    }
}
