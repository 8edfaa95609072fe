import DalstonRecords

/// Who changed what, in the record database's audit log (nothing without a database).
struct AuditTrail: Sendable {
    let records: RecordStore?

    func record(_ context: GatewayRequestContext, _ action: String, _ resourceID: String, detail: String? = nil) async throws {
        guard let records else { return }
        let resourceType = action.split(separator: ".").first.map(String.init) ?? "resource"
        var entry = AuditEntry(
            actor: context.caller?.keyID ?? "anonymous", action: action, resourceType: resourceType, resourceID: resourceID,
            requestID: context.requestID, detail: detail)
        entry.tenantID = context.tenant
        try await records.audit.record(entry)
    }
}
