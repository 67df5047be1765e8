/// A hash table from hostnames to small integers that a request can probe with the raw bytes of its Host
/// header: hashing and comparison fold ASCII case on the fly, so a lookup neither lowercases nor copies
/// the header into a `String` (the standard `Dictionary<String, _>` would allocate for names longer
/// than 15 bytes). Open addressing with linear probing over a power-of-two slot array.
///
/// Keys are stored lowercase. Removal leaves a tombstone value (`nil`) that lookups skip; a rebuild
/// happens when tombstones outnumber live keys, so the table stays proportional to what it holds.
struct HostIndex: Sendable {
    private struct Entry: Sendable {
        var hash: UInt64
        var key: [UInt8]
        var value: Int?
    }

    private var entries: [Entry] = []
    /// Entry index + 1 per slot; 0 is empty.
    private var slots: [Int32] = Array(repeating: 0, count: 8)
    private var liveCount = 0

    var count: Int { liveCount }

    /// The live keys and their values, in insertion order.
    var elements: [(key: String, value: Int)] {
        entries.compactMap { entry in entry.value.map { (String(decoding: entry.key, as: UTF8.self), $0) } }
    }

    subscript(key: String) -> Int? {
        get {
            var key = key
            return key.withUTF8 { self[$0] }
        }
        set {
            var key = key
            key.withUTF8 { bytes in
                if let newValue { insert(bytes, newValue) } else { remove(bytes) }
            }
        }
    }

    /// The value for a key given as (possibly mixed-case) bytes.
    subscript(bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let position = find(bytes, hash: Self.hash(bytes)) else { return nil }
        return entries[position].value
    }

    private func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let stored = Int(slots[slot])
            if stored == 0 { return nil }
            if entries[stored - 1].hash == hash && Self.equalFoldingCase(entries[stored - 1].key, bytes) {
                return stored - 1
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, _ value: Int) {
        let hash = Self.hash(bytes)
        if let position = find(bytes, hash: hash) {
            if entries[position].value == nil { liveCount += 1 }
            entries[position].value = value
            return
        }
        if (entries.count + 1) * 4 > slots.count * 3 { rebuild(minimumSlots: (entries.count + 1) * 2) }
        entries.append(Entry(hash: hash, key: bytes.map(Self.lowercase), value: value))
        place(entries.count - 1)
        liveCount += 1
    }

    private mutating func remove(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let position = find(bytes, hash: Self.hash(bytes)), entries[position].value != nil else { return }
        entries[position].value = nil
        liveCount -= 1
        if entries.count > 16 && liveCount * 2 < entries.count { rebuild(minimumSlots: liveCount * 2) }
    }

    private mutating func place(_ position: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: entries[position].hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(position + 1)
    }

    /// Drops tombstones and resizes to at least `minimumSlots` (a power of two, at most 3/4 full).
    private mutating func rebuild(minimumSlots: Int) {
        entries.removeAll { $0.value == nil }
        var size = 8
        while size < minimumSlots || entries.count * 4 > size * 3 { size *= 2 }
        slots = Array(repeating: 0, count: size)
        for position in entries.indices { place(position) }
    }

    @inline(__always)
    static func lowercase(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// FNV-1a over the lowercased bytes.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(lowercase(byte))) &* 0x100_0000_01b3
        }
        return hash
    }

    @inline(__always)
    private static func equalFoldingCase(_ stored: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == bytes.count else { return false }
        return stored.withUnsafeBufferPointer { stored in
            for index in 0..<bytes.count where stored[index] != lowercase(bytes[index]) { return false }
            return true
        }
    }
}
