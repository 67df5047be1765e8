import NFTables
import NFTablesNetlink

/// Turns whatever the kernel holds in Sluice's table into the desired state with one transaction that touches
/// only what differs — used at start (adopting a table left by a previous run) and by drift repair.
///
/// Rules cannot be compared reliably after a round trip through the kernel, so every desired chain is flushed
/// and refilled in the same transaction (atomic: no packet sees it empty); NAT bindings of established
/// connections live in conntrack and are untouched. Elements are diffed per set. If a set's definition
/// changed (an upgrade), the table is deleted and recreated in the same transaction instead.
public enum Convergence {
    public static func transaction(from kernel: KernelTable?, to desired: Transaction) -> Transaction {
        guard let kernel else { return desired }
        var desiredSets: [String: NFTSet] = [:]
        var desiredChains: [String: Chain] = [:]
        var desiredRules: [String: [Rule]] = [:]
        var desiredElements: [String: [ElementKey: SetElement]] = [:]
        var table: Table?
        for op in desired.operations {
            switch op {
            case .addTable(let t): table = t
            case .addSet(let s): desiredSets[s.name] = s
            case .addChain(let c): desiredChains[c.name] = c
            case .addRule(let r): desiredRules[r.chain.name, default: []].append(r)
            case .addElements(let ref, let elements):
                for e in elements { desiredElements[ref.name, default: [:]][e.key] = e }
            default: break
            }
        }
        let schemaChanged =
            kernel.sets.contains { k in
                guard let d = desiredSets[k.set.name] else { return false }
                return d.key != k.set.key || d.data != k.set.data || d.flags != k.set.flags
            } || kernel.chains.contains { k in desiredChains[k.name].map { $0.base != k.base } ?? false }
        if schemaChanged {
            var tx = Transaction()
            tx.delete(kernel.table.ref)
            tx.append(contentsOf: desired)
            return tx
        }

        var tx = Transaction(existingSets: kernel.sets.map(\.set))
        if let table, table.comment != kernel.table.comment { tx.add(table) }
        let existingSets = Set(kernel.sets.map(\.set.name))
        for set in desiredSets.values.sorted(by: { $0.name < $1.name }) where !existingSets.contains(set.name) {
            tx.add(set)
        }
        let existingChains = Set(kernel.chains.map(\.name))
        for chain in desiredChains.values.sorted(by: { $0.name < $1.name }) where !existingChains.contains(chain.name) {
            tx.add(chain)
        }
        // Element deletions first (they may reference chains about to be removed), then chain contents.
        for kernelSet in kernel.sets
        where desiredSets[kernelSet.set.name] != nil && !kernelSet.set.flags.contains(.dynamic) {
            let want = desiredElements[kernelSet.set.name] ?? [:]
            let stale = kernelSet.elements.filter { have in want[have.key].map { !sameElement($0, have) } ?? true }
            if !stale.isEmpty { tx.deleteElements(stale, from: kernelSet.set.ref) }
        }
        for chain in desiredChains.values.sorted(by: { $0.name < $1.name }) {
            if existingChains.contains(chain.name) { tx.flush(chain.ref) }
            for rule in desiredRules[chain.name] ?? [] { tx.add(rule) }
        }
        for kernelChain in kernel.chains where desiredChains[kernelChain.name] == nil {
            tx.flush(kernelChain.ref)
        }
        for kernelChain in kernel.chains where desiredChains[kernelChain.name] == nil {
            tx.delete(kernelChain.ref)
        }
        for kernelSet in kernel.sets where desiredSets[kernelSet.set.name] == nil {
            tx.delete(kernelSet.set.ref)
        }
        let kernelElements = Dictionary(
            uniqueKeysWithValues: kernel.sets.map { s in
                (s.set.name, Dictionary(s.elements.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }))
            })
        for name in desiredElements.keys.sorted() {
            guard let set = desiredSets[name], !set.flags.contains(.dynamic) else { continue }
            let have = kernelElements[name] ?? [:]
            let missing = desiredElements[name]!.values.filter { e in have[e.key].map { !sameElement(e, $0) } ?? true }
            if !missing.isEmpty { tx.addElements(Array(missing), to: set.ref) }
        }
        return tx
    }

    /// Element equality as the kernel stores it (comments and timeouts of static sets are not compared).
    private static func sameElement(_ a: SetElement, _ b: SetElement) -> Bool {
        a.key == b.key && a.data == b.data
    }
}
