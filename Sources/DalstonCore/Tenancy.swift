/// Tenants: every API key belongs to one, and what a key creates (jobs, realtime sessions,
/// audit entries) to its tenant; a key sees only its own tenant's.
public enum Tenancy {
    /// The tenant of keyless gateways, of `DALSTON_API_KEYS` and of keys made without one: the
    /// original Dalston's default tenant id (its clients read tenant ids as UUIDs).
    public static let defaultTenant = "00000000-0000-0000-0000-000000000000"

    /// Whether something of `owner` (nil: from before tenants, the default tenant's) is visible
    /// to a caller of `tenant` (nil: a keyless gateway's caller, who sees everything).
    public static func isVisible(owner: String?, to tenant: String?) -> Bool {
        guard let tenant else { return true }
        return (owner ?? defaultTenant) == tenant
    }
}
