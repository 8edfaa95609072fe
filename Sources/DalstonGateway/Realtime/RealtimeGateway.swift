import DalstonSessionRouter

/// What the gateway needs for live sessions: the router that finds workers, and where sessions
/// are recorded.
public struct RealtimeGateway: Sendable {
    public let router: SessionRouter
    public let records: any RealtimeSessionArchive

    public init(router: SessionRouter, records: any RealtimeSessionArchive) {
        self.router = router
        self.records = records
    }
}
