package import Foundation

/// Where the router keeps workers and reservations. Every operation is atomic, so any number of
/// gateways can allocate at once without reserving more slots than a worker has.
package protocol SessionRouterStore: Sendable {
    /// A worker's heartbeat: creates or refreshes its record (reservations are kept).
    func announce(_ worker: RealtimeWorkerInfo) async throws(SessionRouterUnavailable)
    /// A worker going away cleanly.
    func withdraw(workerID: String) async throws(SessionRouterUnavailable)
    /// Reserves a slot on the healthy worker with the most free slots among those that stream
    /// `model` (empty: any), within the key's limit (0: none), leased for `lease` (renewed by
    /// `renew`).
    func allocate(
        sessionID: String, clientKey: String, keyLimit: Int, model: String, excluding: Set<String>, now: Date, staleAfter: TimeInterval, lease: TimeInterval
    ) async throws(SessionRouterUnavailable) -> AllocationOutcome
    /// Gives the slot back; false when it was already released.
    @discardableResult
    func release(sessionID: String) async throws(SessionRouterUnavailable) -> Bool
    func renew(sessionID: String, lease: TimeInterval) async throws(SessionRouterUnavailable)
    func workers() async throws(SessionRouterUnavailable) -> [RealtimeWorkerInfo]
    func markOffline(workerID: String) async throws(SessionRouterUnavailable)
    /// Releases reservations whose lease expired, marks silent workers offline and forgets
    /// workers silent for ten times `staleAfter`.
    func reconcile(now: Date, staleAfter: TimeInterval) async throws(SessionRouterUnavailable) -> ReconcileReport
}
