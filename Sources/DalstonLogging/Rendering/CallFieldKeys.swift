/// What the JSON fast path needs to know of a call field's key, worked out once per key on each
/// thread instead of on every line: its rendered `,"key":`, whether it names a secret, whether it
/// is an ordinary call field (not a well-known context key), and how it sorts.
///
/// Keys are found by the 16 bytes of the `String` value itself, compared in place. For a small
/// string those bytes are its content; otherwise they point to its storage, which the slot keeps
/// (holding `key`), so no other string can have the same bytes while the slot has them. Slots are
/// direct-mapped: a key that takes another's slot only costs that key a miss later.
///
/// Only ever touched by its own thread, and never while a line that uses it is being rendered by
/// a nested log call on the same thread (`RenderBuffer.inUse`).
final class CallFieldKeys {
    struct Slot {
        /// The cache (a `JSONFastPath`'s id) the facts were worked out for: redaction differs
        /// between pipelines. 0: empty.
        var owner: UInt64 = 0
        var bits: (UInt64, UInt64) = (0, 0)
        /// Held so that the storage `bits` points to stays this key's.
        var key: String = ""
        var renderedCount = 0
        var isSecret = false
        /// Neither a well-known context key (placed elsewhere in the line) nor anything special.
        var isOrdinaryCallField = false
        /// `file`, `line`, `source` (and their `_` forms) are renamed only on lines with a location.
        var isRenamedWithLocation = false
        /// The first eight bytes, big-endian and zero-padded, when the key is ASCII: ordering by it
        /// is ordering by the key wherever the prefixes differ.
        var sortPrefix: UInt64?
    }

    static let slotCount = 256
    /// Longer renderings (keys of about 60 bytes and more) are not cached.
    static let renderedCapacity = 64

    private let slots: UnsafeMutablePointer<Slot>
    private let rendered: UnsafeMutablePointer<UInt8>

    init() {
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: Slot(), count: Self.slotCount)
        rendered = .allocate(capacity: Self.slotCount * Self.renderedCapacity)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
        rendered.deallocate()
    }

    @inline(__always)
    static func bits(of key: String) -> (UInt64, UInt64) {
        unsafeBitCast(key, to: (UInt64, UInt64).self)
    }

    /// The slot holding `key`'s facts for `owner`, filled now if need be; `nil` for a key too long
    /// to cache.
    @inline(__always)
    func slot(for key: String, owner: JSONFastPath) -> Int? {
        // A `String` is two words on every 64-bit platform; elsewhere nothing is cached.
        guard MemoryLayout<String>.size == MemoryLayout<(UInt64, UInt64)>.size else { return nil }
        let bits = Self.bits(of: key)
        let mixed = (bits.0 ^ (bits.1 &* 0x9e37_79b9_7f4a_7c15)) &* 0xff51_afd7_ed55_8ccd
        let index = Int(truncatingIfNeeded: mixed >> 56)
        let slot = slots + index
        if slot.pointee.owner == owner.id && slot.pointee.bits == bits { return index }
        return fill(index, key: key, bits: bits, owner: owner)
    }

    /// Whether `index` still holds `key` (a later key of the same line may have taken the slot).
    @inline(__always)
    func holds(_ index: Int, key: String, owner: JSONFastPath) -> Bool {
        slots[index].owner == owner.id && slots[index].bits == Self.bits(of: key)
    }

    @inline(__always)
    func facts(_ index: Int) -> UnsafePointer<Slot> { UnsafePointer(slots + index) }

    @inline(__always)
    func rendering(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: rendered + index * Self.renderedCapacity, count: slots[index].renderedCount)
    }

    private func fill(_ index: Int, key: String, bits: (UInt64, UInt64), owner: JSONFastPath) -> Int? {
        var line = LineBuffer(capacity: 128)
        JSONLineRenderer.appendKey(key, hasLocation: false, to: &line)
        guard line.count <= Self.renderedCapacity else { return nil }
        line.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress {
                (rendered + index * Self.renderedCapacity).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            }
        }
        var prefix: UInt64?
        if key.utf8.allSatisfy({ $0 < 0x80 }) {
            var word: UInt64 = 0
            for (position, byte) in key.utf8.prefix(8).enumerated() {
                word |= UInt64(byte) << UInt64(56 - 8 * position)
            }
            prefix = word
        }
        slots[index] = Slot(
            owner: owner.id, bits: bits, key: key, renderedCount: line.count,
            isSecret: owner.redaction.isSecret(key),
            isOrdinaryCallField: LogField.order(of: key, isCallField: true) == LogField.callFieldOrder,
            isRenamedWithLocation: JSONLineRenderer.isReservedKey(key, hasLocation: true) != JSONLineRenderer.isReservedKey(key, hasLocation: false),
            sortPrefix: prefix)
        return index
    }
}
