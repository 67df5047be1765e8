/// A desired-state change as a value: built by compilers, printed for people and golden tests, applied by a
/// backend as one atomic batch.
///
/// Adding validates against what the transaction already knows (sets it creates, sets it was told exist) and
/// remembers the first problem, so a compiler can add everything and check once, and a backend never sends a
/// batch that is known to be wrong.
public struct Transaction: Sendable, CustomStringConvertible {
    /// One command, in the order the kernel will see it.
    public enum Operation: Sendable, Hashable {
        case addTable(Table)
        case deleteTable(TableRef)
        case flushTable(TableRef)
        case addChain(Chain)
        case deleteChain(ChainRef)
        case flushChain(ChainRef)
        case addSet(NFTSet)
        case deleteSet(SetRef)
        case flushSet(SetRef)
        case addRule(Rule)
        case addElements(SetRef, ElementList)
        case deleteElements(SetRef, ElementList)
    }

    public private(set) var operations: [Operation] = []
    /// The first invalid object added, if any; backends refuse to apply a transaction that has one.
    public private(set) var firstError: TransactionError?
    /// Sets whose types are known, for element validation and encoding (interval sets store ranges differently):
    /// the ones this transaction adds plus the existing ones it was given.
    public private(set) var knownSets: [SetRef: NFTSet]

    /// - Parameter existingSets: sets already in the kernel that this transaction will add elements to.
    public init(existingSets: [NFTSet] = []) {
        knownSets = Dictionary(existingSets.map { ($0.ref, $0) }, uniquingKeysWith: { $1 })
    }

    public var isEmpty: Bool { operations.isEmpty }

    /// Number of set elements added or deleted, the bulk of any large sync.
    public var elementCount: Int {
        operations.reduce(0) { count, op in
            switch op {
            case .addElements(_, let e), .deleteElements(_, let e): count + e.count
            default: count
            }
        }
    }

    public mutating func add(_ table: Table) {
        check(Self.validName(table.name, what: "table"), table.ref.description)
        operations.append(.addTable(table))
    }

    public mutating func add(_ chain: Chain) {
        let what = "chain \(chain.ref)"
        check(Self.validName(chain.name, what: "chain"), what)
        if let base = chain.base {
            if base.policy != .accept && base.policy != .drop {
                record(what, "base chain policy must be accept or drop, not \(base.policy)")
            }
            if chain.table.family == .netdev && base.device == nil {
                record(what, "a netdev base chain needs a device")
            }
        }
        operations.append(.addChain(chain))
    }

    public mutating func add(_ set: NFTSet) {
        let what = "set \(set.ref)"
        check(Self.validName(set.name, what: "set"), what)
        if set.key.fields.isEmpty { record(what, "key type is empty") }
        if set.key.fields.contains(.verdict) { record(what, "a key cannot be a verdict") }
        if set.key.byteLength > 64 { record(what, "key is \(set.key.byteLength) bytes, more than the kernel's 64") }
        if set.flags.contains(.constant) && set.flags.contains(.dynamic) {
            record(what, "a constant set cannot be dynamic")
        }
        knownSets[set.ref] = set
        operations.append(.addSet(set))
    }

    public mutating func add(_ rule: Rule) {
        let what = "rule in chain \(rule.chain) (\(rule))"
        let families = rule.statements.reduce(into: Set<TableFamily>()) { acc, s in
            for e in s.expressions { acc.formUnion(e.requiredFamilies) }
        }
        if families.count > 1 { record(what, "mixes ip and ip6 header fields in one rule") }
        if let family = families.first, rule.chain.table.family != .inet, rule.chain.table.family != family {
            record(what, "reads \(family.rawValue) headers in a \(rule.chain.table.family.rawValue) table")
        }
        var matchesProtocol = false
        for statement in rule.statements {
            validate(statement, in: rule.chain.table, what: what)
            switch statement {
            case .compare(.meta(.l4proto), .equal, _): matchesProtocol = true
            case .lookup(.concat(let parts), _, false) where parts.contains(.meta(.l4proto)): matchesProtocol = true
            case .dnat(_, let target), .snat(_, let target):
                // Rewriting a port only makes sense for a known transport protocol (nft insists too); a target
                // chosen by a map keyed on the protocol knows it.
                if target.type.fields.count == 2 && !matchesProtocol && !target.reads(.meta(.l4proto)) {
                    record(what, "NAT to a port needs a `meta l4proto` match earlier in the rule")
                }
            default: break
            }
        }
        operations.append(.addRule(rule))
    }

    public mutating func addElements(_ elements: [SetElement], to set: SetRef) {
        guard let known = knownSets[set] else {
            operations.append(.addElements(set, ElementList(elements)))
            return
        }
        for (index, element) in elements.enumerated() {
            validate(element, index: index, of: known)
        }
        var list = ElementList(for: known, reservingCapacity: elements.count)
        list.append(contentsOf: elements)
        operations.append(.addElements(set, list))
    }

    /// Adds a list a compiler filled itself (packed for `set`: validated as it was filled).
    public mutating func addElements(_ elements: ElementList, to set: SetRef) {
        if let known = knownSets[set] {
            if let layout = elements.layout {
                if layout != ElementList(for: known).layout {
                    record("elements of set \(set)", "packed for another set's types than \(known.key)")
                }
            } else {
                for (index, element) in elements.enumerated() {
                    validate(element, index: index, of: known)
                }
            }
        }
        operations.append(.addElements(set, elements))
    }

    public mutating func deleteElements(_ elements: [SetElement], from set: SetRef) {
        guard let known = knownSets[set] else {
            operations.append(.deleteElements(set, ElementList(elements)))
            return
        }
        for (index, element) in elements.enumerated() {
            validateKey(element, index: index, of: known)
        }
        var list = ElementList(for: known, keysOnly: true, reservingCapacity: elements.count)
        list.append(contentsOf: elements.map { SetElement(key: $0.key) })
        operations.append(.deleteElements(set, list))
    }

    /// Deletes the keys of a list a compiler filled itself (packed with `keysOnly` for `set`).
    public mutating func deleteElements(_ elements: ElementList, from set: SetRef) {
        if let known = knownSets[set] {
            if let layout = elements.layout {
                if layout != ElementList(for: known, keysOnly: true).layout {
                    record("elements of set \(set)", "packed for another set's types than \(known.key)")
                }
            } else {
                for (index, element) in elements.enumerated() {
                    validateKey(element, index: index, of: known)
                }
            }
        }
        operations.append(.deleteElements(set, elements))
    }

    public mutating func delete(_ table: TableRef) { operations.append(.deleteTable(table)) }
    public mutating func delete(_ chain: ChainRef) { operations.append(.deleteChain(chain)) }
    public mutating func delete(_ set: SetRef) { operations.append(.deleteSet(set)) }
    public mutating func flush(_ table: TableRef) { operations.append(.flushTable(table)) }
    public mutating func flush(_ chain: ChainRef) { operations.append(.flushChain(chain)) }
    public mutating func flush(_ set: SetRef) { operations.append(.flushSet(set)) }

    /// Appends another transaction's operations (and its first error), keeping one atomic unit.
    public mutating func append(contentsOf other: Transaction) {
        if firstError == nil { firstError = other.firstError }
        knownSets.merge(other.knownSets) { $1 }
        operations.append(contentsOf: other.operations)
    }

    // MARK: validation

    private mutating func validate(_ statement: Statement, in table: TableRef, what: String) {
        switch statement {
        case .compare(let e, _, let v), .anyFlags(let e, let v):
            let type = e.type
            if type.fields != [v.type] {
                record(what, "compares \(e) (\(type)) with a \(v.type.rawValue) value")
            }
            if v.byteCount != v.type.byteLength {
                record(what, "value \(v) has \(v.byteCount) bytes, \(v.type.rawValue) needs \(v.type.byteLength)")
            }
        case .prefix(let e, let v, let length, _):
            if e.type.fields != [v.type] { record(what, "prefix \(v) does not fit \(e)") }
            if length < 0 || length > v.bytes.count * 8 { record(what, "prefix length \(length) is out of range") }
        case .lookup(let e, let name, _), .verdictMap(let e, let name), .setUpdate(_, let name, let e, _, _):
            let ref = SetRef(table: table, name: name)
            if let set = knownSets[ref], !set.key.accepts(e.type) {
                record(what, "looks up \(e) (\(e.type)) in @\(name) keyed by \(set.key)")
            }
            if case .verdictMap = statement, let set = knownSets[ref], set.data != .verdict {
                record(what, "@\(name) is not a verdict map")
            }
            if case .setUpdate(_, _, _, _, let data) = statement, let set = knownSets[ref] {
                if let data, set.data != .value(data.type) {
                    record(what, "stores \(data.type) in @\(name), which holds \(set.data?.description ?? "no data")")
                } else if data == nil && set.data != nil {
                    record(what, "@\(name) is a map: the update needs data")
                }
            }
        case .dnat(let family, let target), .snat(let family, let target):
            let fields = target.type.fields
            let address: DataType = family == .ip6 ? .ipv6Address : .ipv4Address
            if family != .ip && family != .ip6 { record(what, "NAT family must be ip or ip6") }
            if fields != [address] && fields != [address, .inetService] {
                record(what, "NAT target \(target) is \(target.type), expected \(address.rawValue) [. inet_service]")
            }
        case .counter, .verdict, .masquerade, .reject, .orMark:
            break
        }
    }

    private mutating func validateKey(_ element: SetElement, index: Int, of set: NFTSet) {
        // Runs for every element of every sync: checks without building strings or arrays unless it fails.
        let firsts = element.key.firsts
        var typesMatch = firsts.count == set.key.fields.count
        if typesMatch {
            for (value, type) in zip(firsts, set.key.fields) where value.type != type { typesMatch = false }
        }
        if !typesMatch {
            record(
                "element \(index) (\(element.key)) of set \(set.ref)",
                "key is \(TypeSpec(element.key.types)), the set's is \(set.key)")
        }
        for value in firsts where value.byteCount != value.type.byteLength {
            record(
                "element \(index) (\(element.key)) of set \(set.ref)",
                "value has \(value.byteCount) bytes, \(value.type.rawValue) needs \(value.type.byteLength)")
        }
        if element.key.isRange {
            for value in element.key.lasts where value.byteCount != value.type.byteLength {
                record(
                    "element \(index) (\(element.key)) of set \(set.ref)",
                    "value has \(value.byteCount) bytes, \(value.type.rawValue) needs \(value.type.byteLength)")
            }
            if !set.flags.contains(.interval) {
                record(
                    "element \(index) (\(element.key)) of set \(set.ref)", "is a range but the set has no interval flag"
                )
            }
        }
    }

    private mutating func validate(_ element: SetElement, index: Int, of set: NFTSet) {
        validateKey(element, index: index, of: set)
        func what() -> String { "element \(index) (\(element.key)) of set \(set.ref)" }
        switch (set.data, element.data) {
        case (nil, nil), (.verdict, .verdict):
            break
        case (.value(let type), .values(let values)):
            if values.count != type.fields.count || zip(values, type.fields).contains(where: { $0.type != $1 }) {
                record(what(), "maps to \(TypeSpec(values.map(\.type))), the map holds \(type)")
            }
        case (nil, .some):
            record(what(), "has data but \(set.name) is a set, not a map")
        case (.some(let type), _):
            record(what(), "needs \(type) data")
        }
        if element.timeout != nil && !set.flags.contains(.timeout) {
            record(what(), "has a timeout but the set has no timeout flag")
        }
    }

    private static func validName(_ name: String, what: String) -> String? {
        if name.isEmpty { return "\(what) name is empty" }
        if name.utf8.count > 255 { return "\(what) name is longer than 255 bytes" }
        if name.contains(where: { $0 == "\"" || $0.isWhitespace || $0 == "@" || $0 == "$" }) {
            return "\(what) name \(name) contains a quote, space, @ or $"
        }
        return nil
    }

    private mutating func check(_ problem: String?, _ what: String) {
        if let problem { record(what, problem) }
    }

    private mutating func record(_ object: String, _ problem: String) {
        if firstError == nil { firstError = TransactionError(object: object, problem: problem) }
    }

    // MARK: nft text

    /// The transaction as an `nft -f` script: what a person reads, what golden tests compare.
    public var description: String {
        var out = ""
        for op in operations {
            Self.render(op, into: &out)
        }
        return out
    }

    private static func render(_ op: Operation, into out: inout String) {
        switch op {
        case .addTable(let t):
            out += "add table \(t.ref)"
            if let c = t.comment { out += " { comment \(quoted(c)); }" }
            out += "\n"
        case .deleteTable(let t): out += "delete table \(t)\n"
        case .flushTable(let t): out += "flush table \(t)\n"
        case .addChain(let c):
            var body: [String] = []
            if let b = c.base {
                var hook = "type \(b.type.rawValue) hook \(b.hook.rawValue)"
                if let d = b.device { hook += " device \(quoted(d))" }
                body.append("\(hook) priority \(b.priority)")
                body.append("policy \(b.policy)")
            }
            if let comment = c.comment { body.append("comment \(quoted(comment))") }
            out += "add chain \(c.ref)"
            if !body.isEmpty { out += " { " + body.map { $0 + "; " }.joined() + "}" }
            out += "\n"
        case .deleteChain(let c): out += "delete chain \(c)\n"
        case .flushChain(let c): out += "flush chain \(c)\n"
        case .addSet(let s):
            var body = ["type \(s.key)" + (s.data.map { " : \($0)" } ?? "")]
            var flags: [String] = []
            if s.flags.contains(.constant) { flags.append("constant") }
            if s.flags.contains(.interval) { flags.append("interval") }
            if s.flags.contains(.timeout) { flags.append("timeout") }
            if s.flags.contains(.dynamic) { flags.append("dynamic") }
            if !flags.isEmpty { body.append("flags " + flags.joined(separator: ",")) }
            if let t = s.timeout { body.append("timeout \(formatDuration(t))") }
            if let size = s.size { body.append("size \(size)") }
            if let c = s.comment { body.append("comment \(quoted(c))") }
            out += "add \(s.isMap ? "map" : "set") \(s.ref) { " + body.map { $0 + "; " }.joined() + "}\n"
        case .deleteSet(let s): out += "delete set \(s)\n"
        case .flushSet(let s): out += "flush set \(s)\n"
        case .addRule(let r): out += "add rule \(r.chain) \(r)\n"
        case .addElements(let s, let elements):
            guard !elements.isEmpty else { return }
            out += "add element \(s) { "
            out += elements.map(renderElement).joined(separator: ", ")
            out += " }\n"
        case .deleteElements(let s, let elements):
            guard !elements.isEmpty else { return }
            out += "delete element \(s) { "
            out += elements.map { $0.key.description }.joined(separator: ", ")
            out += " }\n"
        }
    }

    private static func renderElement(_ e: SetElement) -> String {
        var text = e.key.description
        if let t = e.timeout { text += " timeout \(formatDuration(t))" }
        if let c = e.comment { text += " comment \(quoted(c))" }
        if let d = e.data { text += " : \(d)" }
        return text
    }
}

/// Why a transaction cannot be applied, naming the object the way `nft list` would.
public struct TransactionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The object, e.g. `set inet sluice service-ips` or `element 3 (10.0.0.1 . tcp . 80) of set …`.
    public var object: String
    public var problem: String

    public init(object: String, problem: String) {
        self.object = object
        self.problem = problem
    }

    public var description: String { "\(object): \(problem)" }
}
