/// A listener that serves HTTP routes on a port, as the table needs it.
struct ListenerSlot: Sendable {
    var name: String
    var hostname: HostnamePattern
    /// `HTTP` or `HTTPS`; decides the request's scheme when the caller does not know it.
    var `protocol`: String
    var port: Int
}

/// The entries that apply to the hosts one hostname key stands for, in precedence order.
struct HostRoutes: Sendable {
    var pattern: HostnamePattern
    /// The listener that owns requests for these hosts (the most specific listener hostname that covers them).
    var listener: Int
    var entries: [RouteEntry]
    /// How many listener and route hostnames name this key; at zero the key is dropped, because lookups then
    /// fall back to the next covering key, whose entries are the same.
    var references: Int
}

/// Everything one port of one Gateway routes: a key per hostname that a listener or an attached route names,
/// each with the complete, precedence-ordered list of entries for hosts whose most specific key it is.
///
/// A request costs one exact lookup, then one wildcard lookup per label boundary of its Host (most specific
/// first), then the catch-all, and then a scan of one list. Changing a route touches only the keys its
/// hostnames cover: a precise hostname one key, a wildcard the keys beneath it, a route without hostnames
/// every key of its listener.
struct PortRoutes: Sendable {
    var listeners: [ListenerSlot] = []
    private(set) var lists: [HostRoutes?] = []
    private var freeSlots: [Int] = []
    private var exact = HostIndex()
    /// Keyed by the suffix after `*.`.
    private var wildcard = HostIndex()
    /// The key of the listener without hostname.
    private var any: Int?
    /// Keys by every parent domain they lie under (a wildcard key also under its own suffix), so a wildcard
    /// route finds the keys it covers without scanning the port.
    private var bySuffix: [String: Set<Int>] = [:]
    /// Keys by owning listener, for routes without hostnames.
    private var byListener: [Int: Set<Int>] = [:]

    /// The number of live hostname keys.
    var keyCount: Int { exact.count + wildcard.count + (any == nil ? 0 : 1) }

    // MARK: - Lookup (hot path)

    /// The key for a Host header's bytes (any case, optional port), if a listener accepts the host.
    @inline(__always)
    func slot(forHost header: UnsafeBufferPointer<UInt8>) -> Int? {
        let host = HostHeader.hostPart(header)
        if let slot = exact[host] { return slot }
        var start = 0
        while let dot = host[start...].firstIndex(of: UInt8(ascii: ".")) {
            if let slot = wildcard[UnsafeBufferPointer(rebasing: host[(dot + 1)...])] { return slot }
            start = dot + 1
        }
        return any
    }

    /// The first entry whose conditions hold, with its listener.
    func match(_ request: RouteRequest) -> (entry: RouteEntry, listener: ListenerSlot)? {
        var host = request.host
        var path = request.path
        return host.withUTF8 { hostBytes in
            guard let slot = slot(forHost: hostBytes), let list = lists[slot] else { return nil }
            return path.withUTF8 { pathBytes in
                let end = pathBytes.firstIndex(of: UInt8(ascii: "?")) ?? pathBytes.count
                let pathOnly = UnsafeBufferPointer(rebasing: pathBytes[0..<end])
                let found = list.entries.withUnsafeBufferPointer { entries in
                    entries.first { $0.conditions.matches(request, path: pathOnly) }
                }
                return found.map { ($0, listeners[list.listener]) }
            }
        }
    }

    // MARK: - Keys

    /// Registers a listener's hostname; `false` when another listener on the port already has it.
    mutating func addListener(_ listener: ListenerSlot) -> Bool {
        if slot(for: listener.hostname) != nil { return false }
        listeners.append(listener)
        _ = retainKey(listener.hostname, listener: listeners.count - 1)
        return true
    }

    /// The live key for exactly this pattern.
    private func slot(for pattern: HostnamePattern) -> Int? {
        switch pattern {
        case .any: any
        case .exact(let name): exact[name]
        case .wildcard(let suffix): wildcard[suffix]
        }
    }

    /// The most specific live key other than the pattern itself that covers it.
    private func fallback(for pattern: HostnamePattern) -> Int? {
        var suffix: Substring
        switch pattern {
        case .any: return nil
        case .exact(let name): suffix = Substring(name)
        case .wildcard(let name):
            if let slot = wildcard[name] { return slot }
            suffix = Substring(name)
        }
        while let dot = suffix.firstIndex(of: ".") {
            suffix = suffix[suffix.index(after: dot)...]
            if let slot = wildcard[String(suffix)] { return slot }
        }
        return any
    }

    /// Takes a reference on the key for `pattern`, creating it from its fallback (whose entries all cover it)
    /// when new. `listener` is given for a listener's own key; routes inherit the owner of the fallback.
    /// Returns `nil` when no listener on the port accepts the pattern.
    private mutating func retainKey(_ pattern: HostnamePattern, listener: Int? = nil) -> Int? {
        if let slot = slot(for: pattern) {
            lists[slot]!.references += 1
            return slot
        }
        let parent = fallback(for: pattern).flatMap { lists[$0] }
        guard let owner = listener ?? parent?.listener else { return nil }
        let inherited = parent.map { $0.listener == owner ? $0.entries : [] } ?? []
        let list = HostRoutes(pattern: pattern, listener: owner, entries: inherited, references: 1)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            lists[slot] = list
        } else {
            slot = lists.count
            lists.append(list)
        }
        switch pattern {
        case .any: any = slot
        case .exact(let name): exact[name] = slot
        case .wildcard(let suffix): wildcard[suffix] = slot
        }
        for parent in Self.parents(of: pattern) { bySuffix[parent, default: []].insert(slot) }
        byListener[owner, default: []].insert(slot)
        return slot
    }

    private mutating func releaseKey(_ pattern: HostnamePattern) {
        guard let slot = slot(for: pattern) else { return }
        lists[slot]!.references -= 1
        guard lists[slot]!.references == 0 else { return }
        switch pattern {
        case .any: any = nil
        case .exact(let name): exact[name] = nil
        case .wildcard(let suffix): wildcard[suffix] = nil
        }
        for parent in Self.parents(of: pattern) {
            bySuffix[parent]?.remove(slot)
            if bySuffix[parent]?.isEmpty == true { bySuffix[parent] = nil }
        }
        byListener[lists[slot]!.listener]?.remove(slot)
        lists[slot] = nil
        freeSlots.append(slot)
    }

    /// The domains a key lies under: `a.b.c` under `b.c` and `c`; `*.b.c` under `b.c` and `c`.
    private static func parents(of pattern: HostnamePattern) -> [String] {
        var result: [String] = []
        var name: Substring
        switch pattern {
        case .any: return []
        case .exact(let host): name = Substring(host)
        case .wildcard(let suffix):
            result.append(suffix)
            name = Substring(suffix)
        }
        while let dot = name.firstIndex(of: ".") {
            name = name[name.index(after: dot)...]
            result.append(String(name))
        }
        return result
    }

    /// The keys owned by `listener` whose hosts `pattern` accepts.
    private func covered(by pattern: HostnamePattern, listener: Int) -> [Int] {
        switch pattern {
        case .exact(let name):
            guard let slot = exact[name], lists[slot]?.listener == listener else { return [] }
            return [slot]
        case .wildcard(let suffix):
            return (bySuffix[suffix] ?? []).filter { lists[$0]?.listener == listener }
        case .any:
            return Array(byListener[listener] ?? [])
        }
    }

    // MARK: - Route contributions

    /// Adds a route's entries for one (listener, hostname). With `sorted: false` entries are appended and the
    /// caller sorts every list once (`sortAll`), which is how a full compile stays O(n log n).
    /// `touched` collects the keys a route already reached through a more specific hostname, which it skips
    /// (`nil` when the route has only this contribution on the port).
    mutating func add(_ contribution: RouteContribution, sorted: Bool, skipping touched: inout Set<Int>?) {
        guard retainKey(contribution.pattern) != nil else { return }
        for slot in covered(by: contribution.pattern, listener: contribution.listener)
        where touched?.insert(slot).inserted ?? true {
            if sorted {
                lists[slot]!.entries = Self.merge(lists[slot]!.entries, contribution.entries)
            } else {
                lists[slot]!.entries += contribution.entries
            }
        }
    }

    /// Removes a route's entries from the keys one of its (listener, hostname) contributions covered.
    mutating func remove(_ contribution: RouteContribution) {
        for slot in covered(by: contribution.pattern, listener: contribution.listener) {
            lists[slot]!.entries.removeAll { $0.action.source == contribution.source }
        }
        releaseKey(contribution.pattern)
    }

    mutating func sortAll() {
        for slot in lists.indices where lists[slot] != nil {
            lists[slot]!.entries.sort { $0.precedence < $1.precedence }
        }
    }

    private static func merge(_ existing: [RouteEntry], _ added: [RouteEntry]) -> [RouteEntry] {
        var result: [RouteEntry] = []
        result.reserveCapacity(existing.count + added.count)
        var left = existing[...]
        var right = added[...]
        while let first = left.first, let second = right.first {
            if second.precedence < first.precedence {
                result.append(second)
                right.removeFirst()
            } else {
                result.append(first)
                left.removeFirst()
            }
        }
        result += left
        result += right
        return result
    }
}

/// One route's entries for one listener and one of its effective hostnames (route ∩ listener).
struct RouteContribution: Sendable {
    var source: RouteSource
    var listener: Int
    var pattern: HostnamePattern
    /// Sorted by precedence.
    var entries: [RouteEntry]
}
