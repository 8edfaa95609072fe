package import Foundation

/// Where every job is kept for good (the record database). The state store holds a job while
/// it runs; the history holds all of them, so listings, retention and a flushed or restarted
/// Redis never depend on Redis. A job is saved whole, as the field map its live record has.
package protocol JobHistory: Sendable {
    /// Inserts or replaces a job's snapshot.
    func save(_ fields: [String: String]) async throws
    func fields(of jobID: String) async throws -> [String: String]?
    /// Newest first, after `query.cursor`, filtered by status and age, at most `limit` jobs.
    func list(_ query: JobListQuery, limit: Int) async throws -> [[String: String]]
    /// `false` when there was no such job.
    func delete(_ jobID: String) async throws -> Bool
    /// How many jobs ended in each final status (by its raw value) since `date`, optionally of
    /// one tenant only.
    func finishedCounts(since date: Date, tenantID: String?) async throws -> [String: Int]
    /// Jobs recorded as pending or running and created before `date`, oldest first.
    func unfinished(createdBefore date: Date, limit: Int) async throws -> [[String: String]]
}
