import NFTables

extension Transaction {
    /// Elements added to `set` by this transaction, as text (`10.96.0.10 . tcp . 80 : goto pick4-3`).
    func added(_ set: String) -> [String] {
        operations.flatMap { op -> [String] in
            guard case .addElements(let ref, let elements) = op, ref.name == set else { return [] }
            return elements.map { e in e.data.map { "\(e.key) : \($0)" } ?? e.key.description }
        }.sorted()
    }

    func deleted(_ set: String) -> [String] {
        operations.flatMap { op -> [String] in
            guard case .deleteElements(let ref, let elements) = op, ref.name == set else { return [] }
            return elements.map(\.key.description)
        }.sorted()
    }

    var chainsAdded: [String] {
        operations.compactMap { if case .addChain(let c) = $0 { c.name } else { nil } }
    }

    var chainsDeleted: [String] {
        operations.compactMap { if case .deleteChain(let c) = $0 { c.name } else { nil } }
    }
}
