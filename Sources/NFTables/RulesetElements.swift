/// The elements of one set or map, keyed by `ElementKey`, sharded so a difference only walks what changed.
///
/// Sets reach hundreds of thousands of elements while a sync usually changes a handful. Each shard keeps an
/// order-independent fingerprint of its contents (a sum of two salted hashes per element, 128 bits), updated in
/// O(1) on every insert and removal; two stores whose fingerprints and counts agree are treated as equal
/// without walking them, and a changed store only walks the shards whose fingerprints differ.
///
/// Small sets (the many) are one flat dictionary; from `shardingThreshold` elements on, a set is spread over
/// `shardCount` shards, so k changes to a set of n elements walk about min(k, shardCount) · n / shardCount
/// elements. Stores in different layouts (one side small) are compared whole, which is cheap by construction.
struct RulesetElements: Sendable {
    /// Shards of a large set; a power of two so the shard of a key is a mask of its hash.
    static let shardCount = 1024
    /// Size at which a set starts sharding, and below which a sharded set turns flat again.
    static let shardingThreshold = 4096
    static let flatteningThreshold = 1024

    /// No shard while empty, one while small, `shardCount` once large.
    private var shards: [Shard] = []
    private(set) var count = 0
    private(set) var fingerprint = RulesetFingerprint()

    struct Shard: Sendable {
        var elements: [ElementKey: SetElement] = [:]
        var fingerprint = RulesetFingerprint()
    }

    subscript(key: ElementKey) -> SetElement? {
        shards.isEmpty ? nil : shards[shard(of: key)].elements[key]
    }

    /// Every element, in no particular order (hash order); `sorted()` gives a stable one.
    var unordered: some Sequence<SetElement> {
        shards.lazy.flatMap { $0.elements.values }
    }

    /// Stores `element`, replacing any element with the same key; returns the replaced one.
    @discardableResult
    mutating func insert(_ element: SetElement) -> SetElement? {
        if shards.isEmpty { shards = [Shard()] }
        let index = shard(of: element.key)
        let previous = shards[index].elements.updateValue(element, forKey: element.key)
        if let previous {
            shards[index].fingerprint.remove(previous)
            fingerprint.remove(previous)
        } else {
            count += 1
        }
        shards[index].fingerprint.add(element)
        fingerprint.add(element)
        if previous == nil { reshardIfNeeded() }
        return previous
    }

    /// Stores `element` unless its key is present; returns the present element instead. One hash lookup:
    /// the dictionary's defaulted subscript inserts in place, and an unchanged count means the key was there.
    mutating func insertIfAbsent(_ element: SetElement) -> SetElement? {
        if shards.isEmpty { shards = [Shard()] }
        let index = shard(of: element.key)
        let before = shards[index].elements.count
        let stored = read(&shards[index].elements[element.key, default: element])
        guard shards[index].elements.count > before else { return stored }
        count += 1
        shards[index].fingerprint.add(element)
        fingerprint.add(element)
        reshardIfNeeded()
        return nil
    }

    /// Makes room for `additional` more elements, so a bulk load neither rehashes every shard several times
    /// as it grows nor reshards midway.
    mutating func reserveCapacity(forAdding additional: Int) {
        let target = count + additional
        guard target >= Self.flatteningThreshold else { return }
        if shards.count < Self.shardCount && target >= Self.shardingThreshold { reshard(into: Self.shardCount) }
        if shards.isEmpty { shards = [Shard()] }
        let perShard = target / shards.count * 9 / 8 + 8
        // Only where needed: reserving on storage shared with a copy would copy every shard.
        for index in shards.indices where shards[index].elements.capacity < perShard {
            shards[index].elements.reserveCapacity(perShard)
        }
    }

    @discardableResult
    mutating func remove(_ key: ElementKey) -> SetElement? {
        guard !shards.isEmpty else { return nil }
        let index = shard(of: key)
        guard let previous = shards[index].elements.removeValue(forKey: key) else { return nil }
        shards[index].fingerprint.remove(previous)
        fingerprint.remove(previous)
        count -= 1
        reshardIfNeeded()
        return previous
    }

    /// Elements ordered by key in network byte order (numeric order for addresses, ports and marks), the
    /// order `nft list` prints interval sets in; independent of insertion history. O(n log n).
    func sorted() -> [SetElement] {
        Self.sorted(Array(unordered))
    }

    static func sorted(_ elements: [SetElement]) -> [SetElement] {
        elements.map { (sortKey: $0.key.sortKey, element: $0) }
            .sorted { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
            .map(\.element)
    }

    /// What turns `old` into `self`: elements to delete (gone, or replaced by different data, timeout or
    /// comment) and elements to add. O(1) when the fingerprints agree; otherwise the shards whose fingerprints
    /// differ are walked (the whole of both stores when their layouts differ, i.e. one of them is small).
    func changes(from old: RulesetElements) -> (deleted: [SetElement], added: [SetElement]) {
        if count == old.count && fingerprint == old.fingerprint { return ([], []) }
        var deleted: [SetElement] = []
        var added: [SetElement] = []
        if shards.count == old.shards.count {
            for (new, previous) in zip(shards, old.shards)
            where new.elements.count != previous.elements.count || new.fingerprint != previous.fingerprint {
                deleted += previous.elements.values.filter { new.elements[$0.key] != $0 }
                added += new.elements.values.filter { previous.elements[$0.key] != $0 }
            }
        } else {
            deleted = old.unordered.filter { self[$0.key] != $0 }
            added = unordered.filter { old[$0.key] != $0 }
        }
        return (Self.sorted(deleted), Self.sorted(added))
    }

    private func shard(of key: ElementKey) -> Int {
        shards.count == 1 ? 0 : key.hashValue & (shards.count - 1)
    }

    private mutating func reshardIfNeeded() {
        if shards.count == 1 && count >= Self.shardingThreshold {
            reshard(into: Self.shardCount)
        } else if shards.count == Self.shardCount && count < Self.flatteningThreshold {
            reshard(into: 1)
        }
    }

    /// Redistributes the elements over `shardCount` shards. O(n), and n is within a constant of the thresholds.
    private mutating func reshard(into shardCount: Int) {
        var redistributed = Array(repeating: Shard(), count: shardCount)
        for element in unordered {
            let index = shardCount == 1 ? 0 : element.key.hashValue & (shardCount - 1)
            redistributed[index].elements[element.key] = element
            redistributed[index].fingerprint.add(element)
        }
        shards = redistributed
    }
}

/// Reads through an `inout` access, so a defaulted dictionary subscript inserts its default.
private func read(_ element: inout SetElement) -> SetElement { element }

extension RulesetElements: Equatable {
    /// Exact comparison (fingerprints only short-cut the unequal case); `Dictionary`'s own comparison returns
    /// at once for storage shared by copy-on-write.
    static func == (lhs: RulesetElements, rhs: RulesetElements) -> Bool {
        guard lhs.count == rhs.count, lhs.fingerprint == rhs.fingerprint else { return false }
        if lhs.shards.count == rhs.shards.count {
            return zip(lhs.shards, rhs.shards).allSatisfy { $0.elements == $1.elements }
        }
        return lhs.unordered.allSatisfy { rhs[$0.key] == $0 }
    }
}

/// An order-independent 128-bit digest of a multiset of elements: the wrapping sum of two differently salted
/// hashes of each element. Adding and removing are O(1), so a store keeps it current as it changes.
///
/// Hashes use the process's `Hasher` seed, so fingerprints compare only within one process — which is where
/// desired and programmed state live. An accidental match of two different contents is a 2^-128 event.
struct RulesetFingerprint: Sendable, Hashable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    mutating func add(_ element: SetElement) {
        low &+= Self.hash(element, salt: 0x5bd1_e995)
        high &+= Self.hash(element, salt: 0x9e37_79b9)
    }

    mutating func remove(_ element: SetElement) {
        low &-= Self.hash(element, salt: 0x5bd1_e995)
        high &-= Self.hash(element, salt: 0x9e37_79b9)
    }

    private static func hash(_ element: SetElement, salt: UInt32) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(salt)
        hasher.combine(element)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }
}

extension ElementKey {
    /// Network-order bytes of every first then every last value: sorting by it orders keys numerically.
    var sortKey: [UInt8] {
        firsts.flatMap(\.networkOrderBytes) + lasts.flatMap(\.networkOrderBytes)
    }
}
