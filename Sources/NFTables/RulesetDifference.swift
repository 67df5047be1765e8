extension Ruleset {
    /// The operations that turn `old` into `self`, as one batch the kernel accepts.
    ///
    /// - Elements: only the difference per set; an element whose data, timeout or comment changed is deleted
    ///   and re-added in the same transaction.
    /// - Chains whose rule list changed are flushed and their rules re-added (rules have no stable identity in
    ///   the IR). A base chain whose policy changed is re-added, which updates the policy in place.
    /// - Changes the kernel cannot make in place — a table's comment, a chain's hook, type, priority, device or
    ///   comment, a set's attributes, the elements of a constant set — recreate the whole table in the same
    ///   batch (delete, then add everything), so the change is still atomic for packets.
    ///
    /// Order: flush chains (changed or going away), delete elements, delete sets, delete chains, delete tables,
    /// then add tables, sets, chains, elements, rules — references are dropped before what they reference is
    /// deleted, and everything exists before it is referenced. Elements go before rules because the kernel
    /// refuses elements for a constant set once a rule is bound to it (`EBUSY`), even within one batch.
    ///
    /// Complexity: O(T + C + S + R + E) where T, C, S are the tables, chains and sets of both rulesets, R the
    /// rules of chains whose rule lists differ (array comparison, which returns at once for shared storage), and
    /// E the elements walked in changed sets. An unchanged set costs O(1): its 128-bit fingerprint and count
    /// agree (see `RulesetElements`). A changed set of n ≥ 4096 elements is sharded 1024 ways and only the
    /// shards whose fingerprints differ are walked: k changed elements cost about min(k, 1024) · n / 1024 —
    /// one changed endpoint in a 300k-element map walks ~600 elements. Smaller sets are walked whole. The
    /// changed elements are sorted for a stable batch, O(k log k); a cold start (`transaction()`) sorts each
    /// set, O(n log n).
    public func difference(from old: Ruleset) -> Transaction {
        var plan = RulesetPlan()
        for state in old.tableStates.values.sorted(by: { $0.sequence < $1.sequence })
        where tableStates[state.table.ref] == nil {
            plan.tableDeletes.append(state.table.ref)
        }
        for state in tableStates.values.sorted(by: { $0.sequence < $1.sequence }) {
            if let previous = old.tableStates[state.table.ref], previous.canBeUpdated(to: state) {
                plan.update(previous, to: state)
            } else {
                if old.tableStates[state.table.ref] != nil { plan.tableDeletes.append(state.table.ref) }
                plan.create(state)
            }
        }
        return plan.transaction()
    }
}

/// The commands of a difference, grouped by phase so they can be emitted in an order the kernel accepts.
private struct RulesetPlan {
    var flushes: [ChainRef] = []
    var elementDeletes: [(SetRef, [SetElement])] = []
    var setDeletes: [SetRef] = []
    var chainDeletes: [ChainRef] = []
    var tableDeletes: [TableRef] = []
    var tableAdds: [Table] = []
    var setAdds: [NFTSet] = []
    var chainAdds: [Chain] = []
    var ruleAdds: [Rule] = []
    var elementAdds: [(SetRef, [SetElement])] = []
    /// Sets that stay in the kernel, so the transaction can validate elements added to them.
    var survivingSets: [NFTSet] = []

    mutating func create(_ table: RulesetTableState) {
        tableAdds.append(table.table)
        for set in table.sets.values.sorted(by: { $0.sequence < $1.sequence }) {
            setAdds.append(set.set)
            if set.elements.count > 0 { elementAdds.append((set.set.ref, set.elements.sorted())) }
        }
        for chain in table.chains.values.sorted(by: { $0.sequence < $1.sequence }) {
            chainAdds.append(chain.chain)
            ruleAdds += chain.rules
        }
    }

    mutating func update(_ old: RulesetTableState, to new: RulesetTableState) {
        for chain in old.chains.values.sorted(by: { $0.sequence < $1.sequence })
        where new.chains[chain.chain.name] == nil {
            if !chain.rules.isEmpty { flushes.append(chain.chain.ref) }
            chainDeletes.append(chain.chain.ref)
        }
        for chain in new.chains.values.sorted(by: { $0.sequence < $1.sequence }) {
            guard let previous = old.chains[chain.chain.name] else {
                chainAdds.append(chain.chain)
                ruleAdds += chain.rules
                continue
            }
            if previous.chain.base?.policy != chain.chain.base?.policy { chainAdds.append(chain.chain) }
            if previous.rules != chain.rules {
                if !previous.rules.isEmpty { flushes.append(chain.chain.ref) }
                ruleAdds += chain.rules
            }
        }
        for set in old.sets.values.sorted(by: { $0.sequence < $1.sequence }) where new.sets[set.set.name] == nil {
            setDeletes.append(set.set.ref)
        }
        for set in new.sets.values.sorted(by: { $0.sequence < $1.sequence }) {
            guard let previous = old.sets[set.set.name] else {
                setAdds.append(set.set)
                if set.elements.count > 0 { elementAdds.append((set.set.ref, set.elements.sorted())) }
                continue
            }
            survivingSets.append(set.set)
            let (deleted, added) = set.elements.changes(from: previous.elements)
            if !deleted.isEmpty { elementDeletes.append((set.set.ref, deleted)) }
            if !added.isEmpty { elementAdds.append((set.set.ref, added)) }
        }
    }

    func transaction() -> Transaction {
        var tx = Transaction(existingSets: survivingSets)
        for chain in flushes { tx.flush(chain) }
        for (set, elements) in elementDeletes { tx.deleteElements(elements, from: set) }
        for set in setDeletes { tx.delete(set) }
        for chain in chainDeletes { tx.delete(chain) }
        for table in tableDeletes { tx.delete(table) }
        for table in tableAdds { tx.add(table) }
        for set in setAdds { tx.add(set) }
        for chain in chainAdds { tx.add(chain) }
        for (set, elements) in elementAdds { tx.addElements(elements, to: set) }
        for rule in ruleAdds { tx.add(rule) }
        return tx
    }
}

extension RulesetTableState {
    /// Whether `add` commands can turn this table into `new` without recreating it: the kernel updates a base
    /// chain's policy in place, but not a table comment, a chain's hook attributes or comment, a set's
    /// attributes, or the elements of a constant set.
    func canBeUpdated(to new: RulesetTableState) -> Bool {
        guard table == new.table else { return false }
        for (name, chain) in chains {
            guard let other = new.chains[name] else { continue }
            var sameShape = other.chain
            sameShape.base?.policy = chain.chain.base?.policy ?? .accept
            if sameShape != chain.chain { return false }
        }
        for (name, set) in sets {
            guard let other = new.sets[name] else { continue }
            if other.set != set.set { return false }
            if set.set.flags.contains(.constant) && other.elements != set.elements { return false }
        }
        return true
    }
}
