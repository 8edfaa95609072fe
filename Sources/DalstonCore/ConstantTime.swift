/// Secret comparison whose time does not depend on where the strings differ, so response timing
/// does not reveal how much of a guessed key or token was right.
public enum ConstantTime {
    public static func equals(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<b.count { difference |= b[index] ^ (index < a.count ? a[index] : 0) }
        return difference == 0
    }
}
