/// What went wrong with the record database, worded for the operator or client who must act.
package enum RecordStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database cannot be reached or did not answer in time: retry later (HTTP 503).
    case unavailable(String)
    /// A write broke a uniqueness rule (the same id twice).
    case conflict(String)
    /// A stored row that cannot be read back.
    case corrupt(String)
    /// `DATABASE_URL` or the data directory cannot be used.
    case configuration(String)

    package var description: String {
        switch self {
        case .unavailable(let reason): "the record database is unavailable: \(reason)"
        case .conflict(let reason): "conflicting record: \(reason)"
        case .corrupt(let reason): "a stored record cannot be read: \(reason)"
        case .configuration(let reason): reason
        }
    }
}
