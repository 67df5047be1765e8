/// A table, the unit of ownership: Sluice only ever touches tables it created by name.
public struct Table: Sendable, Hashable {
    public var family: TableFamily
    public var name: String
    public var comment: String?

    public init(family: TableFamily, name: String, comment: String? = nil) {
        self.family = family
        self.name = name
        self.comment = comment
    }
}

/// Names a table without its attributes; every other object refers to its table this way.
public struct TableRef: Sendable, Hashable, CustomStringConvertible {
    public var family: TableFamily
    public var name: String

    public init(family: TableFamily, name: String) {
        self.family = family
        self.name = name
    }

    public var description: String { "\(family.rawValue) \(name)" }
}

extension Table {
    public var ref: TableRef { TableRef(family: family, name: name) }
}

/// Netfilter hooks a base chain attaches to.
public enum Hook: String, Sendable, Hashable, CaseIterable {
    case prerouting, input, forward, output, postrouting, ingress

    /// `NF_INET_*` hook number (`NF_NETDEV_INGRESS` is 0 too, for netdev).
    public var number: UInt32 {
        switch self {
        case .prerouting, .ingress: 0
        case .input: 1
        case .forward: 2
        case .output: 3
        case .postrouting: 4
        }
    }
}

/// The kind of base chain, deciding which statements it may hold (`nat` chains see only a flow's first packet).
public enum ChainType: String, Sendable, Hashable, CaseIterable {
    case filter, nat, route
}

/// What turns a chain into an entry point: where it hooks, in what order, and its default verdict.
public struct BaseChain: Sendable, Hashable {
    public var type: ChainType
    public var hook: Hook
    /// Lower runs first; conntrack is -200, DNAT -100, filter 0, SNAT 100.
    public var priority: Int32
    /// Only `accept` and `drop` are allowed by the kernel.
    public var policy: Verdict
    /// The interface for `netdev` ingress chains.
    public var device: String?

    public init(type: ChainType, hook: Hook, priority: Int32, policy: Verdict = .accept, device: String? = nil) {
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
        self.device = device
    }
}

/// A chain; base chains are entry points, regular chains are jump/goto targets.
public struct Chain: Sendable, Hashable {
    public var table: TableRef
    public var name: String
    public var base: BaseChain?
    public var comment: String?

    public init(table: TableRef, name: String, base: BaseChain? = nil, comment: String? = nil) {
        self.table = table
        self.name = name
        self.base = base
        self.comment = comment
    }

    public var ref: ChainRef { ChainRef(table: table, name: name) }
}

/// Names a chain.
public struct ChainRef: Sendable, Hashable, CustomStringConvertible {
    public var table: TableRef
    public var name: String

    public init(table: TableRef, name: String) {
        self.table = table
        self.name = name
    }

    public var description: String { "\(table) \(name)" }
}

/// A verdict ends (or redirects) rule evaluation; maps can return one per key.
public enum Verdict: Sendable, Hashable, CustomStringConvertible {
    case accept, drop, `continue`, `return`
    case jump(String)
    case goto(String)

    /// `NF_ACCEPT`, `NF_DROP`, `NFT_CONTINUE`, `NFT_RETURN`, `NFT_JUMP`, `NFT_GOTO`.
    public var code: Int32 {
        switch self {
        case .drop: 0
        case .accept: 1
        case .continue: -1
        case .jump: -3
        case .goto: -4
        case .return: -5
        }
    }

    public var chain: String? {
        switch self {
        case .jump(let c), .goto(let c): c
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .continue: "continue"
        case .return: "return"
        case .jump(let c): "jump \(c)"
        case .goto(let c): "goto \(c)"
        }
    }
}

/// What a map's elements carry.
public enum SetData: Sendable, Hashable, CustomStringConvertible {
    case verdict
    case value(TypeSpec)

    public var description: String {
        switch self {
        case .verdict: "verdict"
        case .value(let t): t.description
        }
    }
}

/// Set behaviour flags (`NFT_SET_*`).
public struct SetFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let constant = SetFlags(rawValue: 0x2)
    /// Elements are ranges (prefixes); with a concatenated key the kernel picks the pipapo backend.
    public static let interval = SetFlags(rawValue: 0x4)
    public static let timeout = SetFlags(rawValue: 0x10)
    /// Updated from the packet path (`dynset`): affinity, rate tracking.
    public static let dynamic = SetFlags(rawValue: 0x20)
}

/// A named set or map. The datapath's per-packet cost is one lookup in it, whatever its size.
public struct NFTSet: Sendable, Hashable {
    public var table: TableRef
    public var name: String
    public var key: TypeSpec
    /// `nil` for a set, a type or verdict for a map.
    public var data: SetData?
    public var flags: SetFlags
    /// Default element lifetime; requires the `timeout` flag (added automatically when set).
    public var timeout: Duration?
    /// Upper bound of elements (needed by dynamic sets).
    public var size: UInt32?
    public var comment: String?

    public init(
        table: TableRef, name: String, key: TypeSpec, data: SetData? = nil, flags: SetFlags = [],
        timeout: Duration? = nil, size: UInt32? = nil, comment: String? = nil
    ) {
        self.table = table
        self.name = name
        self.key = key
        self.data = data
        self.flags = timeout == nil ? flags : flags.union(.timeout)
        self.timeout = timeout
        self.size = size
        self.comment = comment
    }

    public var isMap: Bool { data != nil }
    public var ref: SetRef { SetRef(table: table, name: name) }
}

/// Names a set or map.
public struct SetRef: Sendable, Hashable, CustomStringConvertible {
    public var table: TableRef
    public var name: String

    public init(table: TableRef, name: String) {
        self.table = table
        self.name = name
    }

    public var description: String { "\(table) \(name)" }
}

/// A key of an element: exact values, or a range per field (intervals, incl. prefixes).
public struct ElementKey: Sendable, Hashable, CustomStringConvertible {
    /// The first value of each concatenated field (inclusive).
    public private(set) var firsts: [Value]
    /// The last value of each field (inclusive); equal to `firsts` for an exact key.
    public private(set) var lasts: [Value]

    public init(_ values: [Value]) {
        firsts = values
        lasts = values
    }

    public init(_ value: Value) { self.init([value]) }

    /// Ranges per field, inclusive on both ends.
    public init(ranges: [(first: Value, last: Value)]) {
        firsts = ranges.map(\.first)
        lasts = ranges.map(\.last)
    }

    /// A single-field prefix such as `10.0.0.0/8`.
    public static func prefix(_ address: Value, length: Int) -> ElementKey {
        let range = address.prefixRange(length: length)
        return ElementKey(ranges: [range])
    }

    public var isRange: Bool { firsts != lasts }
    public var types: [DataType] { firsts.map(\.type) }

    public static func == (lhs: ElementKey, rhs: ElementKey) -> Bool {
        lhs.firsts == rhs.firsts && lhs.lasts == rhs.lasts
    }

    /// Exact keys share one array for both ends; hashing it once halves the cost for the common case.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(firsts)
        if isRange { hasher.combine(lasts) }
    }

    /// nft syntax: ranges as prefixes where they are one, else `a-b`.
    public var description: String {
        zip(firsts, lasts).map { Self.render($0, $1) }.joined(separator: " . ")
    }

    static func render(_ first: Value, _ last: Value) -> String {
        if first == last { return first.description }
        if first.type == .ipv4Address || first.type == .ipv6Address,
            let length = prefixLength(first, last)
        {
            return "\(first)/\(length)"
        }
        return "\(first)-\(last)"
    }

    /// The prefix length when `first...last` is exactly one CIDR block.
    static func prefixLength(_ first: Value, _ last: Value) -> Int? {
        let bits = first.bytes.count * 8
        for length in 0...bits {
            let range = first.prefixRange(length: length)
            if range.first == first && range.last == last { return length }
        }
        return nil
    }
}

/// What a map element maps to.
public enum ElementData: Sendable, Hashable, CustomStringConvertible {
    case verdict(Verdict)
    case values([Value])

    public var description: String {
        switch self {
        case .verdict(let v): v.description
        case .values(let vs): vs.map(\.description).joined(separator: " . ")
        }
    }
}

/// One element of a set or map.
public struct SetElement: Sendable, Hashable {
    public var key: ElementKey
    public var data: ElementData?
    public var timeout: Duration?
    public var comment: String?

    public init(key: ElementKey, data: ElementData? = nil, timeout: Duration? = nil, comment: String? = nil) {
        self.key = key
        self.data = data
        self.timeout = timeout
        self.comment = comment
    }

    public init(_ values: Value..., data: ElementData? = nil) {
        self.init(key: ElementKey(values), data: data)
    }
}
