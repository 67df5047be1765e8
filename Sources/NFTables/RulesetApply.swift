/// Why the kernel would refuse a transaction, as the model of it decides: the errno it would answer with,
/// the object it would complain about (named the way `TransactionError` and `nft list` name it) and why.
public struct RulesetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The errno the kernel answers with, so tests can assert the same failure the real batch produces.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// `EEXIST`: the object exists with attributes an add cannot change, or an element with other data.
        case exists = "EEXIST"
        /// `ENOENT`: the object, or something it refers to, does not exist.
        case notFound = "ENOENT"
        /// `EBUSY`: the object is still referenced (a jump, a lookup) or is a constant set in use.
        case busy = "EBUSY"
        /// `EINVAL`: the object does not fit what it refers to, or the transaction failed its own validation.
        case invalid = "EINVAL"
        /// `EOPNOTSUPP`: e.g. a jump to a base chain.
        case notSupported = "EOPNOTSUPP"
    }

    public var code: Code
    /// The object, e.g. `set inet sluice service-ips` or `element 3 (10.0.0.1 . tcp . 80) of set …`.
    public var object: String
    public var problem: String
    /// The failing operation's index in `Transaction.operations`; `nil` when the transaction carried a
    /// validation error (`Transaction.firstError`) and nothing was tried.
    public var operationIndex: Int?

    public init(code: Code, object: String, problem: String, operationIndex: Int? = nil) {
        self.code = code
        self.object = object
        self.problem = problem
        self.operationIndex = operationIndex
    }

    public var description: String { "\(object): \(problem) (\(code.rawValue))" }
}

extension Ruleset {
    /// Applies a transaction with the kernel's semantics, all or nothing.
    ///
    /// - Adding an existing table, chain or set is a no-op when it matches; a set with other attributes, or
    ///   a base chain with another type, hook, priority or device, is `EEXIST`. A base chain's policy is
    ///   updated (the kernel does); a comment is not (the kernel keeps the first one).
    /// - Adding an element whose key exists is a no-op when the data matches and `EEXIST` when it differs
    ///   (Sluice never sets `NLM_F_EXCL`); deleting a missing key is `ENOENT`. Keys are exact `ElementKey`s:
    ///   overlapping ranges are not detected.
    /// - Deleting a chain still targeted by a jump/goto (rule or verdict map element), or a set still used by
    ///   a rule, is `EBUSY`; elements of a constant set in use cannot change (`EBUSY`).
    /// - Not modelled: chain loop detection (`ELOOP`), per-hook restrictions of NAT and reject.
    ///
    /// On error the ruleset is unchanged. Cost is proportional to the transaction (plus a scan of the table's
    /// rules and verdict maps when deleting a chain or set): changes are made in place and undone from a log on
    /// failure, so a large set is never copied.
    public mutating func apply(_ transaction: Transaction) throws(RulesetError) {
        if let error = transaction.firstError {
            throw RulesetError(code: .invalid, object: error.object, problem: error.problem)
        }
        var undo: [RulesetUndo] = []
        let sequence = nextSequence
        for (index, operation) in transaction.operations.enumerated() {
            do {
                try perform(operation, undo: &undo)
            } catch {
                for entry in undo.reversed() { revert(entry) }
                nextSequence = sequence
                var located = error
                located.operationIndex = index
                throw located
            }
        }
    }

    private mutating func perform(_ operation: Transaction.Operation, undo: inout [RulesetUndo]) throws(RulesetError) {
        switch operation {
        case .addTable(let table):
            guard tableStates[table.ref] == nil else { return }
            tableStates[table.ref] = RulesetTableState(table: table, sequence: sequence())
            undo.append(.table(table.ref, nil))
        case .deleteTable(let ref):
            let state = try existing(ref)
            tableStates[ref] = nil
            undo.append(.table(ref, state))
        case .flushTable(let ref):
            let state = try existing(ref)
            for (name, chain) in state.chains where !chain.rules.isEmpty {
                undo.append(.chain(chain.chain.ref, chain))
                tableStates[ref]?.chains[name]?.rules = []
            }
        case .addChain(let chain):
            try add(chain, undo: &undo)
        case .deleteChain(let ref):
            let state = try existing(ref)
            try checkUnreferenced(ref)
            tableStates[ref.table]?.chains[ref.name] = nil
            undo.append(.chain(ref, state))
        case .flushChain(let ref):
            let state = try existing(ref)
            tableStates[ref.table]?.chains[ref.name]?.rules = []
            undo.append(.chain(ref, state))
        case .addSet(let set):
            try add(set, undo: &undo)
        case .deleteSet(let ref):
            let state = try existing(ref)
            if let user = firstRule(in: ref.table, where: { $0.referencedSets.contains(ref.name) }) {
                throw RulesetError(code: .busy, object: "set \(ref)", problem: "is used by a rule in chain \(user)")
            }
            tableStates[ref.table]?.sets[ref.name] = nil
            undo.append(.set(ref, state))
        case .flushSet(let ref):
            let state = try existing(ref)
            try checkMutable(state, what: "set \(ref)")
            tableStates[ref.table]?.sets[ref.name]?.elements = RulesetElements()
            undo.append(.set(ref, state))
        case .addRule(let rule):
            try add(rule)
            undo.append(.appendedRule(rule.chain))
        case .addElements(let ref, let elements):
            let state = try existing(ref)
            try checkMutable(state, what: "set \(ref)")
            tableStates[ref.table]?.sets[ref.name]?.elements.reserveCapacity(forAdding: elements.count)
            for (index, element) in elements.enumerated() {
                // Named lazily: formatting 300k keys would dominate a large load.
                let what = { "element \(index) (\(element.key)) of set \(ref)" }
                try check(element, of: state.set, what: what())
                if let current = tableStates[ref.table]?.sets[ref.name]?.elements.insertIfAbsent(element) {
                    guard current.data == element.data else {
                        let data = current.data?.description ?? "none"
                        throw RulesetError(code: .exists, object: what(), problem: "exists with data \(data)")
                    }
                    continue
                }
                undo.append(.element(ref, element.key, nil))
            }
        case .deleteElements(let ref, let elements):
            let state = try existing(ref)
            try checkMutable(state, what: "set \(ref)")
            for (index, element) in elements.enumerated() {
                guard let removed = tableStates[ref.table]?.sets[ref.name]?.elements.remove(element.key) else {
                    throw RulesetError(
                        code: .notFound, object: "element \(index) (\(element.key)) of set \(ref)",
                        problem: "does not exist")
                }
                undo.append(.element(ref, element.key, removed))
            }
        }
    }

    private mutating func add(_ chain: Chain, undo: inout [RulesetUndo]) throws(RulesetError) {
        let what = "chain \(chain.ref)"
        try existing(chain.table, for: what)
        guard let current = tableStates[chain.table]?.chains[chain.name] else {
            let created = RulesetChainState(chain: chain, sequence: sequence())
            tableStates[chain.table]?.chains[chain.name] = created
            undo.append(.chain(chain.ref, nil))
            return
        }
        guard let base = chain.base else { return }  // no hook attributes: nothing to update
        guard var existingBase = current.chain.base else {
            throw RulesetError(code: .exists, object: what, problem: "exists as a regular chain")
        }
        if existingBase.type != base.type || existingBase.hook != base.hook || existingBase.priority != base.priority
            || existingBase.device != base.device
        {
            throw RulesetError(
                code: .exists, object: what,
                problem:
                    "exists with type \(existingBase.type.rawValue) hook \(existingBase.hook.rawValue) priority \(existingBase.priority)"
            )
        }
        guard existingBase.policy != base.policy else { return }
        existingBase.policy = base.policy
        undo.append(.chain(chain.ref, current))
        tableStates[chain.table]?.chains[chain.name]?.chain.base = existingBase
    }

    private mutating func add(_ set: NFTSet, undo: inout [RulesetUndo]) throws(RulesetError) {
        let what = "set \(set.ref)"
        try existing(set.table, for: what)
        if let current = tableStates[set.table]?.sets[set.name] {
            guard current.set == set else {
                throw RulesetError(code: .exists, object: what, problem: "exists with other attributes")
            }
            return
        }
        let created = RulesetSetState(set: set, sequence: sequence())
        tableStates[set.table]?.sets[set.name] = created
        undo.append(.set(set.ref, nil))
    }

    private mutating func add(_ rule: Rule) throws(RulesetError) {
        let what = "rule in chain \(rule.chain) (\(rule))"
        guard let table = tableStates[rule.chain.table], table.chains[rule.chain.name] != nil else {
            throw RulesetError(code: .notFound, object: what, problem: "chain \(rule.chain) does not exist")
        }
        for statement in rule.statements {
            try checkReferences(statement, in: table, what: what)
        }
        tableStates[rule.chain.table]?.chains[rule.chain.name]?.rules.append(rule)
    }

    // MARK: checks

    private func checkReferences(_ statement: Statement, in table: RulesetTableState, what: String) throws(RulesetError)
    {
        if case .verdict(let verdict) = statement {
            try checkTarget(verdict, in: table, what: what)
        }
        for name in statement.referencedSets {
            guard table.sets[name] != nil else {
                throw RulesetError(code: .notFound, object: what, problem: "set @\(name) does not exist")
            }
        }
        switch statement {
        case .lookup(let key, let name, _), .verdictMap(let key, let name), .setUpdate(_, let name, let key, _, _):
            guard let set = table.sets[name]?.set else { return }
            if set.key != key.type {
                throw RulesetError(
                    code: .invalid, object: what, problem: "@\(name) is keyed by \(set.key), not \(key.type)")
            }
            if case .verdictMap = statement, set.data != .verdict {
                throw RulesetError(code: .invalid, object: what, problem: "@\(name) is not a verdict map")
            }
        default:
            break
        }
    }

    private func checkTarget(
        _ verdict: Verdict, in table: RulesetTableState, what: @autoclosure () -> String
    ) throws(RulesetError) {
        guard let name = verdict.chain else { return }
        guard let target = table.chains[name] else {
            throw RulesetError(code: .notFound, object: what(), problem: "chain \(name) does not exist")
        }
        if target.chain.base != nil {
            throw RulesetError(code: .notSupported, object: what(), problem: "\(verdict) targets base chain \(name)")
        }
    }

    private func check(
        _ element: SetElement, of set: NFTSet, what: @autoclosure () -> String
    ) throws(RulesetError) {
        let problem: String? =
            if element.key.types != set.key.fields {
                "key is \(TypeSpec(element.key.types)), the set's is \(set.key)"
            } else if element.key.isRange && !set.flags.contains(.interval) {
                "is a range but the set has no interval flag"
            } else {
                switch (set.data, element.data) {
                case (nil, nil), (.verdict, .verdict): nil
                case (.value(let type), .values(let values)) where values.map(\.type) == type.fields: nil
                case (nil, .some): "has data but \(set.name) is a set, not a map"
                case (.some(let type), _): "needs \(type) data"
                }
            }
        if let problem { throw RulesetError(code: .invalid, object: what(), problem: problem) }
        if case .verdict(let verdict) = element.data, let table = tableStates[set.table] {
            try checkTarget(verdict, in: table, what: what())
        }
    }

    /// `EBUSY` for a chain that a rule or a verdict map element of its table still targets.
    private func checkUnreferenced(_ ref: ChainRef) throws(RulesetError) {
        if let user = firstRule(in: ref.table, where: { $0.jumpTargets.contains(ref.name) && $0.chain != ref }) {
            throw RulesetError(
                code: .busy, object: "chain \(ref)", problem: "is the target of a jump or goto in chain \(user)")
        }
        guard let table = tableStates[ref.table] else { return }
        let targets: Set<ElementData> = [.verdict(.jump(ref.name)), .verdict(.goto(ref.name))]
        for set in table.sets.values where set.set.data == .verdict {
            if let element = set.elements.unordered.first(where: { $0.data.map(targets.contains) ?? false }) {
                throw RulesetError(
                    code: .busy, object: "chain \(ref)",
                    problem: "is the target of element \(element.key) in map \(set.set.ref)")
            }
        }
    }

    /// `EBUSY` for element changes to a constant set that a rule uses (the kernel's `NFT_SET_CONSTANT`).
    private func checkMutable(_ state: RulesetSetState, what: String) throws(RulesetError) {
        guard state.set.flags.contains(.constant),
            let user = firstRule(in: state.set.table, where: { $0.referencedSets.contains(state.set.name) })
        else { return }
        throw RulesetError(code: .busy, object: what, problem: "is constant and used by a rule in chain \(user)")
    }

    private func firstRule(in table: TableRef, where predicate: (Rule) -> Bool) -> ChainRef? {
        tableStates[table]?.chains.values.first { $0.rules.contains(where: predicate) }?.chain.ref
    }

    @discardableResult
    private func existing(_ ref: TableRef, for what: String? = nil) throws(RulesetError) -> RulesetTableState {
        guard let state = tableStates[ref] else {
            if let what {
                throw RulesetError(code: .notFound, object: what, problem: "table \(ref) does not exist")
            }
            throw RulesetError(code: .notFound, object: "table \(ref)", problem: "does not exist")
        }
        return state
    }

    private func existing(_ ref: ChainRef) throws(RulesetError) -> RulesetChainState {
        guard let state = tableStates[ref.table]?.chains[ref.name] else {
            throw RulesetError(code: .notFound, object: "chain \(ref)", problem: "does not exist")
        }
        return state
    }

    private func existing(_ ref: SetRef) throws(RulesetError) -> RulesetSetState {
        guard let state = tableStates[ref.table]?.sets[ref.name] else {
            throw RulesetError(code: .notFound, object: "set \(ref)", problem: "does not exist")
        }
        return state
    }

    private mutating func revert(_ entry: RulesetUndo) {
        switch entry {
        case .table(let ref, let state): tableStates[ref] = state
        case .chain(let ref, let state): tableStates[ref.table]?.chains[ref.name] = state
        case .set(let ref, let state): tableStates[ref.table]?.sets[ref.name] = state
        case .appendedRule(let ref): tableStates[ref.table]?.chains[ref.name]?.rules.removeLast()
        case .element(let ref, let key, let previous):
            if let previous {
                tableStates[ref.table]?.sets[ref.name]?.elements.insert(previous)
            } else {
                tableStates[ref.table]?.sets[ref.name]?.elements.remove(key)
            }
        }
    }
}

/// How to take back one step of a failed transaction: the slot's previous state, or the element it replaced.
enum RulesetUndo {
    case table(TableRef, RulesetTableState?)
    case chain(ChainRef, RulesetChainState?)
    case set(SetRef, RulesetSetState?)
    case appendedRule(ChainRef)
    case element(SetRef, ElementKey, SetElement?)
}

extension Statement {
    /// Names of the sets and maps the statement reads or updates, including maps inside its expressions.
    var referencedSets: Set<String> {
        var names = Set(expressions.flatMap(\.referencedMaps))
        switch self {
        case .lookup(_, let name, _), .verdictMap(_, let name), .setUpdate(_, let name, _, _, _): names.insert(name)
        default: break
        }
        return names
    }
}

extension Expression {
    /// Maps read by `mapLookup`s anywhere in the expression.
    var referencedMaps: [String] {
        switch self {
        case .mapLookup(let key, let map, _): [map] + key.referencedMaps
        case .concat(let parts): parts.flatMap(\.referencedMaps)
        case .jhash(let input, _, _, _): input.referencedMaps
        case .payload, .meta, .ct, .numgenRandom, .fibDestinationType, .constant: []
        }
    }
}

extension Rule {
    var referencedSets: Set<String> {
        statements.reduce(into: []) { $0.formUnion($1.referencedSets) }
    }

    /// Chains the rule's verdict statements jump or go to.
    var jumpTargets: [String] {
        statements.compactMap { if case .verdict(let v) = $0 { v.chain } else { nil } }
    }
}
