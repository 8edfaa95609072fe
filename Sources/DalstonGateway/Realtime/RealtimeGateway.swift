import DalstonSessionRouter

/// What the gateway needs for live sessions: the router that finds workers, and where sessions
/// are recorded.
public struct RealtimeGateway: Sendable {
    public let router: SessionRouter
    public let records: RealtimeSessionRecords

    public init(router: SessionRouter, records: RealtimeSessionRecords) {
        self.router = router
        self.records = records
    }
}
