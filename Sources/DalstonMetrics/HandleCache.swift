#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Instrument handles by metric name, handle type and label values, found without allocating.
///
/// Services look instruments up by their labels on every request and task, so the lookup is on
/// the hot path: it hashes the name and values' bytes in place (FNV-1a), probes an
/// open-addressing table of entry indices under one lock, and compares the entry in place,
/// instead of building a key of arrays and strings, hashing it and casting the stored
/// existential back.
final class HandleCache: Sendable {
    /// Sendable: every field is immutable, and the handle is a `Sendable` object kept by the cache.
    struct Entry: @unchecked Sendable {
        let hash: UInt64
        let name: String
        let handleType: ObjectIdentifier
        let values: [String]
        /// Retained once by the cache and released when the cache goes: entries are never
        /// removed, so a handle found here stays valid while the cache lives, without a retain.
        let handle: Unmanaged<AnyObject>

        @inline(__always)
        func matches(hash: UInt64, name: String, handleType: ObjectIdentifier, labels: [(String, String)]) -> Bool {
            guard self.hash == hash, self.handleType == handleType, values.count == labels.count, self.name == name else { return false }
            for index in values.indices where values[index] != labels[index].1 {
                return false
            }
            return true
        }
    }

    /// Entries, and slots holding `entry index + 1` (0: empty), probed linearly from the hash.
    private struct Table {
        var entries: [Entry] = []
        var slots = [Int32](repeating: 0, count: 64)

        func find(hash: UInt64, name: String, handleType: ObjectIdentifier, labels: [(String, String)]) -> Int? {
            slots.withUnsafeBufferPointer { slots in
                entries.withUnsafeBufferPointer { entries in
                    let mask = slots.count - 1
                    var index = Int(truncatingIfNeeded: hash) & mask
                    while true {
                        let slot = slots[index]
                        if slot == 0 { return nil }
                        let entry = Int(slot) - 1
                        if entries[entry].matches(hash: hash, name: name, handleType: handleType, labels: labels) { return entry }
                        index = (index + 1) & mask
                    }
                }
            }
        }

        mutating func insert(_ entry: Entry) {
            entries.append(entry)
            if entries.count * 2 > slots.count {
                slots = [Int32](repeating: 0, count: slots.count * 2)
                for index in entries.indices { place(index) }
            } else {
                place(entries.count - 1)
            }
        }

        private mutating func place(_ entry: Int) {
            let mask = slots.count - 1
            var index = Int(truncatingIfNeeded: entries[entry].hash) & mask
            while slots[index] != 0 { index = (index + 1) & mask }
            slots[index] = Int32(entry + 1)
        }
    }

    /// Handles are `Sendable` (every swift-metrics handle is a final class with its own locking);
    /// entries are only created and read under this lock.
    private let table = Mutex(Table())
    /// Bits of the hash that count: all of them, except in tests that force collisions.
    private let hashMask: UInt64
    /// Tells this cache's entries apart in the per-thread caches (an address could be reused).
    private let id: UInt64

    private static let nextID = Atomic<UInt64>(1)

    init(hashMask: UInt64 = .max) {
        self.hashMask = hashMask
        self.id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    deinit {
        table.withLock { table in
            for entry in table.entries { entry.handle.release() }
        }
    }

    /// The handle for this name and these label values, made by `make` the first time. Returned
    /// unretained: the cache holds it for its own life, so a caller that uses it at once (an
    /// increment) pays no reference counting, and one that keeps it takes its own reference.
    func handle<Handle: AnyObject & Sendable>(name: String, labels: [(String, String)], make: () -> Handle) -> Unmanaged<Handle> {
        let handleType = ObjectIdentifier(Handle.self)
        let hash = Self.hash(name: name, labels: labels) & hashMask
        // Each thread keeps the handles it used last, by hash: a hit takes no lock.
        let slot = Int(truncatingIfNeeded: hash >> 3) & (RecentHandles.slotCount - 1)
        let recentHit: UnsafeMutableRawPointer? = RecentHandles.withCurrent { recent in
            // Compared in place: copying the slot out would cost a retain per field.
            let cached = recent.slots + slot
            guard cached.pointee.cache == id, cached.pointee.entry.matches(hash: hash, name: name, handleType: handleType, labels: labels)
            else { return nil }
            return cached.pointee.entry.handle.toOpaque()
        }
        // Entries are stored for exactly one handle type (its identity is part of the match).
        if let recentHit { return Unmanaged<Handle>.fromOpaque(recentHit) }
        let found: Entry? = table.withLock { table in
            table.find(hash: hash, name: name, handleType: handleType, labels: labels).map { table.entries[$0] }
        }
        if let found {
            RecentHandles.withCurrent { recent in recent.slots[slot] = RecentHandles.Slot(cache: id, entry: found) }
            return Unmanaged<Handle>.fromOpaque(found.handle.toOpaque())
        }
        let created = make()
        let stored: UnsafeMutableRawPointer = table.withLock { table in
            if let existing = table.find(hash: hash, name: name, handleType: handleType, labels: labels) {
                return table.entries[existing].handle.toOpaque()
            }
            let handle = Unmanaged<AnyObject>.passRetained(created)
            table.insert(Entry(hash: hash, name: name, handleType: handleType, values: labels.map(\.1), handle: handle))
            return handle.toOpaque()
        }
        return Unmanaged<Handle>.fromOpaque(stored)
    }

    /// A hash of the name's length and each value's bytes, eight at a time, with each value's
    /// length mixed in so that ("ab", "c") and ("a", "bc") differ. The name's bytes are left out:
    /// names are few and compared on a match anyway, and hashing them was most of the lookup.
    /// Collisions only cost a comparison.
    static func hash(name: String, labels: [(String, String)]) -> UInt64 {
        var hash: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(name.utf8.count)
        for label in labels {
            mix(label.1, into: &hash)
        }
        return hash
    }

    @inline(__always)
    private static func combine(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (hash ^ word) &* 0xff51_afd7_ed55_8ccd
        return mixed ^ (mixed >> 29)
    }

    @inline(__always)
    private static func mix(_ text: String, into hash: inout UInt64) {
        var value = hash
        let hashedInPlace: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            let count = raw.count
            guard count >= 8 else {
                var tail: UInt64 = 0
                for offset in 0..<count { tail |= UInt64(raw[offset]) << UInt64(offset * 8) }
                value = combine(value, tail ^ (UInt64(count) << 56))
                return
            }
            // Whole words, the last one ending at the last byte (it may overlap the one before):
            // a label value of 8 to 16 bytes costs two loads and no byte loop.
            var offset = 0
            while offset + 8 < count {
                value = combine(value, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            value = combine(value, raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            value = combine(value, UInt64(count))
        }
        if hashedInPlace == nil {
            var count: UInt64 = 0
            for byte in text.utf8 {
                value = combine(value, UInt64(byte))
                count += 1
            }
            value = combine(value, count << 56)
        }
        hash = value
    }
}

/// A thread's most recently used handles, direct-mapped by hash, so that a repeated lookup takes
/// no lock. Only ever touched by its own thread.
final class RecentHandles {
    struct Slot {
        /// 0: empty (cache ids start at 1).
        var cache: UInt64
        var entry: HandleCache.Entry
    }

    private final class Empty: Sendable {}
    /// Never matches (no cache has id 0); its handle is retained once and never released.
    private static let empty = HandleCache.Entry(
        hash: 0, name: "", handleType: ObjectIdentifier(Empty.self), values: [], handle: .passRetained(Empty()))

    static let slotCount = 64
    let slots: UnsafeMutablePointer<Slot>

    private init() {
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: Slot(cache: 0, entry: Self.empty), count: Self.slotCount)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<RecentHandles>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<RecentHandles>.fromOpaque(pointer).release() }
            #endif
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    /// This thread's handles, without a retain (the thread's key holds them).
    @inline(__always)
    static func withCurrent<Result>(_ body: (RecentHandles) -> Result) -> Result {
        let recent: Unmanaged<RecentHandles>
        if let pointer = pthread_getspecific(key) {
            recent = Unmanaged<RecentHandles>.fromOpaque(pointer)
        } else {
            recent = Unmanaged.passRetained(RecentHandles())
            pthread_setspecific(key, recent.toOpaque())
        }
        return recent._withUnsafeGuaranteedRef(body)
    }
}
