/// One step of a rule: a match that may stop evaluation, or an action.
public enum Statement: Sendable, Hashable, CustomStringConvertible {
    /// `EXPR [op] VALUE`.
    case compare(Expression, CompareOperator, Value)
    /// `EXPR [!=] ADDRESS/LENGTH`.
    case prefix(Expression, Value, length: Int, negated: Bool = false)
    /// `EXPR FLAG,FLAG`: any of the bits set (`ct state established,related`).
    case anyFlags(Expression, Value)
    /// `EXPR [!=] @set`.
    case lookup(Expression, set: String, negated: Bool = false)
    /// `EXPR vmap @map`: the verdict the map holds for the key (no match: continue).
    case verdictMap(Expression, map: String)
    case counter
    case verdict(Verdict)
    /// `dnat ip to TARGET`: TARGET is an address, or an address and port (concatenation or map result).
    case dnat(TableFamily, to: Expression)
    case snat(TableFamily, to: Expression)
    case masquerade(fullyRandom: Bool = false)
    /// `add @set { KEY [timeout T] [: DATA] }` / `update …` from the packet path: session affinity remembers
    /// a client's endpoint as DATA of a dynamic map.
    case setUpdate(SetUpdateOperation, set: String, key: Expression, timeout: Duration? = nil, data: Expression? = nil)
    case reject(RejectKind)
    /// `meta mark set meta mark | BITS`: tags a packet (e.g. "masquerade me") without losing other bits.
    case orMark(Value)

    public var description: String {
        switch self {
        case .compare(let e, let op, let v):
            // Always spelled out: after `numgen random mod 2` a bare value would read as part of the expression.
            return "\(e) \(op.rawValue) \(v)"
        case .prefix(let e, let v, let length, let negated):
            let network = v.prefixRange(length: length).first
            return "\(e) \(negated ? "!= " : "")\(network)/\(length)"
        case .anyFlags(let e, let v):
            // `ct state a,b` is nft's own spelling for "any of these bits"; other types need the mask.
            return v.type == .ctState || v.type == .ctStatus ? "\(e) \(v)" : "\(e) & \(v) != 0"
        case .lookup(let e, let set, let negated):
            return "\(e) \(negated ? "!= " : "")@\(set)"
        case .verdictMap(let e, let map):
            return "\(e) vmap @\(map)"
        case .counter:
            return "counter"
        case .verdict(let v):
            return v.description
        case .dnat(let family, let target):
            return "dnat \(family.rawValue) to \(Self.natTarget(target))"
        case .snat(let family, let target):
            return "snat \(family.rawValue) to \(Self.natTarget(target))"
        case .masquerade(let fullyRandom):
            return fullyRandom ? "masquerade fully-random" : "masquerade"
        case .setUpdate(let op, let set, let key, let timeout, let data):
            let t = timeout.map { " timeout \(formatDuration($0))" } ?? ""
            let d = data.map { " : \($0)" } ?? ""
            return "\(op.rawValue) @\(set) { \(key)\(t)\(d) }"
        case .reject(let kind):
            return kind.description
        case .orMark(let bits):
            return "meta mark set meta mark | \(bits)"
        }
    }

    /// `10.0.0.1:80` or `[fd00::1]:80` for literals; maps print as themselves.
    static func natTarget(_ target: Expression) -> String {
        if case .concat(let parts) = target, parts.count == 2,
            case .constant(let address) = parts[0], case .constant(let port) = parts[1]
        {
            return address.type == .ipv6Address ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        return target.description
    }

    /// Expressions the statement reads, for validation and family dependencies.
    public var expressions: [Expression] {
        switch self {
        case .compare(let e, _, _), .prefix(let e, _, _, _), .anyFlags(let e, _), .lookup(let e, _, _),
            .verdictMap(let e, _), .dnat(_, let e), .snat(_, let e):
            [e]
        case .setUpdate(_, _, let key, _, let data):
            [key] + (data.map { [$0] } ?? [])
        case .counter, .verdict, .masquerade, .reject, .orMark:
            []
        }
    }
}

/// `cmp` operators (`NFT_CMP_*`).
public enum CompareOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    public var number: UInt32 {
        switch self {
        case .equal: 0
        case .notEqual: 1
        case .less: 2
        case .lessOrEqual: 3
        case .greater: 4
        case .greaterOrEqual: 5
        }
    }
}

/// `dynset` operations (`NFT_DYNSET_OP_*`).
public enum SetUpdateOperation: String, Sendable, Hashable {
    /// Insert if absent, leave an existing element's timeout alone.
    case add
    /// Insert if absent and refresh the timeout of an existing element.
    case update

    public var number: UInt32 { self == .add ? 0 : 1 }
}

/// How a rejected packet is answered: a reset or an ICMP error, so clients fail at once instead of timing out.
public enum RejectKind: Sendable, Hashable, CustomStringConvertible {
    case tcpReset
    /// ICMP or ICMPv6 port unreachable, whichever fits the packet (`icmpx`, inet tables).
    case icmpxPortUnreachable
    case icmpxAdminProhibited

    /// `NFT_REJECT_*` type and code.
    public var typeAndCode: (type: UInt32, code: UInt8) {
        switch self {
        case .tcpReset: (1, 0)
        case .icmpxPortUnreachable: (2, 1)
        case .icmpxAdminProhibited: (2, 3)
        }
    }

    public var description: String {
        switch self {
        case .tcpReset: "reject with tcp reset"
        case .icmpxPortUnreachable: "reject with icmpx port-unreachable"
        case .icmpxAdminProhibited: "reject with icmpx admin-prohibited"
        }
    }
}

/// A rule: statements evaluated in order within one chain.
public struct Rule: Sendable, Hashable, CustomStringConvertible {
    public var chain: ChainRef
    public var statements: [Statement]
    /// Identifies the rule's owner and purpose; shown by `nft list` and kept in the kernel as user data.
    public var comment: String?

    public init(chain: ChainRef, _ statements: [Statement], comment: String? = nil) {
        self.chain = chain
        self.statements = statements
        self.comment = comment
    }

    /// The rule body in nft syntax (without `add rule TABLE CHAIN`).
    public var description: String {
        var text = statements.map(\.description).joined(separator: " ")
        if let comment { text += " comment \(quoted(comment))" }
        return text
    }
}

/// Durations as nft writes them: whole seconds when exact, milliseconds otherwise.
func formatDuration(_ duration: Duration) -> String {
    let ms = milliseconds(duration)
    return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
}

/// Whole milliseconds (the kernel's timeout unit).
public func milliseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
}

/// A string literal nft accepts (comments may not contain quotes; they are replaced).
func quoted(_ text: String) -> String {
    "\"" + text.replacingQuotes() + "\""
}

extension String {
    fileprivate func replacingQuotes() -> String {
        String(map { $0 == "\"" ? "'" : $0 })
    }
}
