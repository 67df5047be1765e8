/// The nftables state Sluice wants in the kernel, held in memory as values.
///
/// The daemon keeps one of these for what it last programmed and computes the next one from Kubernetes
/// objects; `difference(from:)` is the only thing it sends, so a sync costs what changed rather than what
/// exists. `apply(_:)` follows the kernel's rules for each command (idempotent adds, `EEXIST`, `ENOENT`,
/// `EBUSY`), so a transaction the model accepts is one the kernel accepts, and the tracer evaluates exactly
/// the objects the kernel would hold.
///
/// Equality compares contents: tables, chains, sets and elements by name and attributes, rules in order.
/// Creation order is kept for listing and for ordering base chains of equal priority, but is not compared.
public struct Ruleset: Sendable, Equatable {
    var tableStates: [TableRef: RulesetTableState] = [:]
    /// Creation counter: orders tables, chains and sets as the kernel lists them (and registers hooks).
    var nextSequence: UInt64 = 0

    public init() {}

    /// Tables in creation order.
    public var tables: [Table] {
        tableStates.values.sorted { $0.sequence < $1.sequence }.map(\.table)
    }

    public func table(_ ref: TableRef) -> Table? { tableStates[ref]?.table }

    /// Chains of a table in creation order (empty for a missing table).
    public func chains(in table: TableRef) -> [Chain] {
        (tableStates[table]?.chains.values.sorted { $0.sequence < $1.sequence } ?? []).map(\.chain)
    }

    /// Sets and maps of a table in creation order (empty for a missing table).
    public func sets(in table: TableRef) -> [NFTSet] {
        (tableStates[table]?.sets.values.sorted { $0.sequence < $1.sequence } ?? []).map(\.set)
    }

    public func chain(_ ref: ChainRef) -> Chain? { tableStates[ref.table]?.chains[ref.name]?.chain }

    public func set(_ ref: SetRef) -> NFTSet? { tableStates[ref.table]?.sets[ref.name]?.set }

    /// The rules of a chain in evaluation order (empty for a missing chain).
    public func rules(in chain: ChainRef) -> [Rule] {
        tableStates[chain.table]?.chains[chain.name]?.rules ?? []
    }

    /// The elements of a set ordered by key (network byte order, i.e. numerically), whatever the order they
    /// were added in. O(n log n); use `element(_:in:)` or `elementCount(of:)` for single questions.
    public func elements(of set: SetRef) -> [SetElement] {
        tableStates[set.table]?.sets[set.name]?.elements.sorted() ?? []
    }

    /// The element stored under exactly `key` (ranges compare as ranges, not by overlap). O(1).
    public func element(_ key: ElementKey, in set: SetRef) -> SetElement? {
        tableStates[set.table]?.sets[set.name]?.elements[key]
    }

    public func elementCount(of set: SetRef) -> Int {
        tableStates[set.table]?.sets[set.name]?.elements.count ?? 0
    }

    /// Everything as one transaction in dependency order — tables, sets, chains, elements, rules — which is
    /// what a cold start programs. (Elements precede rules so constant sets are filled before a rule binds
    /// them.)
    public func transaction() -> Transaction {
        difference(from: Ruleset())
    }

    public static func == (lhs: Ruleset, rhs: Ruleset) -> Bool {
        lhs.tableStates.count == rhs.tableStates.count
            && lhs.tableStates.allSatisfy { ref, state in
                rhs.tableStates[ref].map { state.hasSameContent(as: $0) } ?? false
            }
    }

    /// Hands out the next creation sequence number.
    mutating func sequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }
}

/// A table and everything in it.
struct RulesetTableState: Sendable {
    var table: Table
    var sequence: UInt64
    var chains: [String: RulesetChainState] = [:]
    var sets: [String: RulesetSetState] = [:]

    func hasSameContent(as other: RulesetTableState) -> Bool {
        table == other.table && chains.count == other.chains.count && sets.count == other.sets.count
            && chains.allSatisfy { name, c in
                other.chains[name].map { c.chain == $0.chain && c.rules == $0.rules } ?? false
            }
            && sets.allSatisfy { name, s in
                other.sets[name].map { s.set == $0.set && s.elements == $0.elements } ?? false
            }
    }
}

struct RulesetChainState: Sendable {
    var chain: Chain
    var sequence: UInt64
    var rules: [Rule] = []
}

struct RulesetSetState: Sendable {
    var set: NFTSet
    var sequence: UInt64
    var elements = RulesetElements()
}
