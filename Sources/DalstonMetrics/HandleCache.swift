import Synchronization

/// Instrument handles by metric name, handle type and label values, found without allocating.
///
/// Services look instruments up by their labels on every request and task, so the lookup is
/// on the hot path: it hashes the name and values' bytes in place (FNV-1a), takes the lock once
/// and compares the few entries of one bucket, instead of building a key of arrays and strings
/// and casting the stored existential back.
final class HandleCache: Sendable {
    private struct Entry {
        let name: String
        let handleType: ObjectIdentifier
        let values: [String]
        let handle: any AnyObject & Sendable

        func matches(name: String, handleType: ObjectIdentifier, labels: [(String, String)]) -> Bool {
            guard self.handleType == handleType, values.count == labels.count, self.name == name else { return false }
            for index in values.indices where values[index] != labels[index].1 {
                return false
            }
            return true
        }
    }

    /// Handles are `Sendable` (every swift-metrics handle is a final class with its own locking);
    /// entries are only created and read under this lock.
    private let buckets = Mutex<[UInt64: [Entry]]>([:])
    /// Bits of the hash that pick the bucket: all of them, except in tests that force collisions.
    private let bucketMask: UInt64

    init(bucketMask: UInt64 = .max) {
        self.bucketMask = bucketMask
    }

    func handle<Handle: AnyObject & Sendable>(name: String, labels: [(String, String)], make: () -> Handle) -> Handle {
        let handleType = ObjectIdentifier(Handle.self)
        let hash = Self.hash(name: name, labels: labels) & bucketMask
        let found: (any AnyObject & Sendable)? = buckets.withLock { buckets in
            guard let bucket = buckets[hash] else { return nil }
            for entry in bucket where entry.matches(name: name, handleType: handleType, labels: labels) {
                return entry.handle
            }
            return nil
        }
        // The entry was stored for exactly this handle type (its identity is part of the match).
        if let found { return unsafeDowncast(found, to: Handle.self) }
        let created = make()
        let stored: any AnyObject & Sendable = buckets.withLock { buckets in
            if let bucket = buckets[hash] {
                for entry in bucket where entry.matches(name: name, handleType: handleType, labels: labels) {
                    return entry.handle
                }
            }
            buckets[hash, default: []].append(Entry(name: name, handleType: handleType, values: labels.map(\.1), handle: created))
            return created
        }
        return unsafeDowncast(stored, to: Handle.self)
    }

    /// FNV-1a over the name and each value, with a separator byte between them so that
    /// ("ab", "c") and ("a", "bc") differ. Collisions only cost a comparison.
    static func hash(name: String, labels: [(String, String)]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        mix(name, into: &hash)
        for label in labels {
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
            mix(label.1, into: &hash)
        }
        return hash
    }

    @inline(__always)
    private static func mix(_ text: String, into hash: inout UInt64) {
        var value = hash
        let hashedInPlace: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        if hashedInPlace == nil {
            for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        hash = value
    }
}
