import KubeAPI
import NFTables

/// The node's proxier state: the Services and endpoints it knows, what each contributed to the datapath, and
/// the desired ruleset that results. Each sync turns the changes since the last one into one transaction.
///
/// Pure: it never touches the kernel. It is a value, so a caller keeps the copy from before `sync()` and puts
/// it back when the kernel rejects the transaction: the kernel still holds that state, and the changes stay
/// pending for the next sync. Tests and `sluice compile`/`trace` use the same values.
public struct ServiceProxy: Sendable {
    public private(set) var layout: DatapathLayout
    private var compiler: ServiceCompiler { ServiceCompiler(layout: layout) }

    // The inputs, parsed (`ServiceInput`): API objects are not kept.
    private var services: [ServiceName: ServiceInput] = [:]
    /// Per Service, its EndpointSlices by slice name (a Service has one or a few).
    private var slices: [ServiceName: [NamedEndpoints]] = [:]
    /// Manual `Endpoints` (used for Services without slices), one input per subset.
    private var manualEndpoints: [ServiceName: [EndpointsInput]] = [:]
    private var dirty: Set<ServiceName> = []

    /// What each Service compiled to, by name.
    private(set) var compiled: [ServiceName: CompiledService] = [:]
    /// Per frontend: the Services claiming it, the programmed (active) one first. A later claim by another
    /// Service is a conflict: reported, and programmed only when the active owner lets go.
    private var claims: [Frontend.Key: [Claim]] = [:]
    /// Per endpoint address: how many programmed frontends may hairpin through it (its hairpin entry exists
    /// while this is above zero).
    private var hairpinUse: [IPAddress: Int] = [:]
    private var chainUse: [DatapathLayout.DynamicChain: Int] = [:]
    private var programmedBase = false

    struct NamedEndpoints: Sendable, Hashable {
        var name: String
        var input: EndpointsInput
    }

    struct Claim: Sendable {
        var service: ServiceName
        var frontend: Frontend
    }

    /// An empty proxier; its first `sync()` also creates the table and fixed objects.
    public init(configuration: ProxyConfiguration) {
        layout = DatapathLayout(configuration: configuration)
    }

    /// Moves the node to another zone (its Node's `topology.kubernetes.io/zone` label changed): Services that
    /// use topology hints select their endpoints again at the next `sync()`; nothing else depends on the zone.
    public mutating func setNodeZone(_ zone: String?) {
        guard zone != layout.configuration.nodeZone else { return }
        layout.configuration.nodeZone = zone
        for (name, input) in services where input.wantsHints { dirty.insert(name) }
    }

    // MARK: inputs

    /// Replaces the whole picture (what a manifest directory or a relist provides); only Services whose object
    /// or endpoints differ from before are recompiled.
    public mutating func replaceAll(
        services newServices: [Service], endpointSlices: [EndpointSlice], endpoints: [Endpoints] = []
    ) {
        let node = layout.configuration.nodeName
        var byName: [ServiceName: ServiceInput] = [:]
        byName.reserveCapacity(newServices.count)
        for s in newServices {
            let input = ServiceInput(s)
            byName[input.name] = input
        }
        var newSlices: [ServiceName: [NamedEndpoints]] = [:]
        newSlices.reserveCapacity(endpointSlices.count)
        for slice in endpointSlices {
            guard let owner = slice.serviceName else { continue }
            let entry = NamedEndpoints(name: slice.metadata.name, input: EndpointsInput(slice, nodeName: node))
            Self.put(
                entry, into: &newSlices[ServiceName(namespace: slice.metadata.namespace, name: owner), default: []])
        }
        var newManual: [ServiceName: [EndpointsInput]] = [:]
        for e in endpoints {
            newManual[ServiceName(namespace: e.metadata.namespace, name: e.metadata.name)] = e.subsets.map {
                EndpointsInput($0, nodeName: node)
            }
        }
        for (name, input) in byName where services[name] != input { dirty.insert(name) }
        for name in services.keys where byName[name] == nil { dirty.insert(name) }
        for (name, entries) in newSlices where slices[name] != entries { dirty.insert(name) }
        for name in slices.keys where newSlices[name] == nil { dirty.insert(name) }
        for (name, inputs) in newManual where manualEndpoints[name] != inputs { dirty.insert(name) }
        for name in manualEndpoints.keys where newManual[name] == nil { dirty.insert(name) }
        services = byName
        slices = newSlices
        manualEndpoints = newManual
    }

    /// A Service created or changed (a watch event); recompiled at the next sync only if its inputs differ.
    public mutating func upsert(_ service: Service) {
        let input = ServiceInput(service)
        if services[input.name] != input { dirty.insert(input.name) }
        services[input.name] = input
    }

    /// A Service deleted: its frontends leave at the next sync.
    public mutating func remove(service name: ServiceName) {
        if services.removeValue(forKey: name) != nil { dirty.insert(name) }
    }

    /// An EndpointSlice created or changed; slices without the service-name label are ignored.
    public mutating func upsert(_ slice: EndpointSlice) {
        guard let owner = slice.serviceName else { return }
        let name = ServiceName(namespace: slice.metadata.namespace, name: owner)
        let entry = NamedEndpoints(
            name: slice.metadata.name, input: EndpointsInput(slice, nodeName: layout.configuration.nodeName))
        if Self.put(entry, into: &slices[name, default: []]) { dirty.insert(name) }
    }

    /// An EndpointSlice deleted.
    public mutating func remove(slice: EndpointSlice) {
        guard let owner = slice.serviceName else { return }
        let name = ServiceName(namespace: slice.metadata.namespace, name: owner)
        guard let index = slices[name]?.firstIndex(where: { $0.name == slice.metadata.name }) else { return }
        slices[name]!.remove(at: index)
        if slices[name]!.isEmpty { slices[name] = nil }
        dirty.insert(name)
    }

    /// Manual `Endpoints` of a selectorless Service (used while it has no EndpointSlices).
    public mutating func upsert(_ endpoints: Endpoints) {
        let name = ServiceName(namespace: endpoints.metadata.namespace, name: endpoints.metadata.name)
        let inputs = endpoints.subsets.map { EndpointsInput($0, nodeName: layout.configuration.nodeName) }
        if manualEndpoints[name] != inputs { dirty.insert(name) }
        manualEndpoints[name] = inputs
    }

    /// Manual Endpoints deleted.
    public mutating func remove(endpoints name: ServiceName) {
        if manualEndpoints.removeValue(forKey: name) != nil { dirty.insert(name) }
    }

    /// Inserts or replaces a slice by name, keeping name order; returns whether anything changed.
    @discardableResult
    private static func put(_ entry: NamedEndpoints, into list: inout [NamedEndpoints]) -> Bool {
        if let index = list.firstIndex(where: { $0.name == entry.name }) {
            guard list[index] != entry else { return false }
            list[index] = entry
        } else {
            list.append(entry)
            list.sort { $0.name < $1.name }
        }
        return true
    }

    // MARK: sync

    /// The result of one sync: the transaction to apply and what was noticed on the way.
    public struct Sync: Sendable {
        public var transaction: Transaction
        /// Problems found while compiling (e.g. two Services claiming one IP and port); the rest is programmed.
        public var diagnostics: [String]
        /// Services recompiled in this sync.
        public var changedServices: Set<ServiceName>
        /// UDP frontends of changed Services before and after, for conntrack cleanup.
        public var udpBefore: Set<UDPFrontend>
        public var udpAfter: Set<UDPFrontend>
        /// Whether a changed Service has (or had) ClientIP affinity: its remembered endpoints may be stale.
        public var affinityChanged: Bool
        /// What this sync changed in the programmed state, so `rollBack` can restore it if the kernel refuses.
        var undo = Undo()
    }

    /// The previous values of everything a sync changed (`nil` inside: the entry did not exist).
    struct Undo: Sendable {
        var programmedBase = false
        var compiled: [ServiceName: CompiledService?] = [:]
        var claims: [Frontend.Key: [Claim]?] = [:]
        var hairpinUse: [IPAddress: Int?] = [:]
        var chainUse: [DatapathLayout.DynamicChain: Int?] = [:]
    }

    /// Compiles what changed since the last sync into one transaction. The first sync also creates the table
    /// and fixed objects (and, with `flushExisting`, replaces whatever table of that name exists).
    public mutating func sync() -> Sync {
        var tx = Transaction(existingSets: layout.sets())
        var diagnostics: [String] = []
        var undo = Undo(programmedBase: programmedBase)
        if !programmedBase {
            tx = layout.baseTransaction()
            programmedBase = true
        }
        var delta = Delta(layout: layout)
        var udpBefore: Set<UDPFrontend> = []
        var udpAfter: Set<UDPFrontend> = []
        var affinityChanged = false
        let changed = dirty
        for name in changed.sorted() {
            let old = compiled[name] ?? CompiledService()
            let new = compileService(name)
            udpBefore.formUnion(old.udpFrontends)
            udpAfter.formUnion(new.udpFrontends)
            affinityChanged =
                affinityChanged || (old.frontends + new.frontends).contains { $0.affinitySeconds != nil }
            undo.compiled[name] = compiled[name]
            compiled[name] = new.frontends.isEmpty && new.healthCheck == nil ? nil : new
            update(name, old: old, new: new, delta: &delta, undo: &undo, diagnostics: &diagnostics)
        }
        dirty = []
        delta.finish(hairpinUse: &hairpinUse, chainUse: &chainUse, undo: &undo, into: &tx)
        return Sync(
            transaction: tx, diagnostics: diagnostics, changedServices: changed, udpBefore: udpBefore,
            udpAfter: udpAfter, affinityChanged: affinityChanged, undo: undo)
    }

    /// Undoes the programming of the last sync, which the kernel refused: the programmed state goes back to
    /// what the kernel still holds, the inputs stay as they are, and that sync's Services stay pending for the
    /// next one. Costs what the sync changed, not what the proxier holds.
    public mutating func rollBack(_ sync: Sync) {
        let undo = sync.undo
        programmedBase = undo.programmedBase
        for (name, value) in undo.compiled { compiled[name] = value }
        for (key, value) in undo.claims { claims[key] = value }
        for (address, value) in undo.hairpinUse { hairpinUse[address] = value }
        for (chain, value) in undo.chainUse { chainUse[chain] = value }
        dirty.formUnion(sync.changedServices)
    }

    /// Everything currently desired, as one transaction (for a cold start, adoption or drift repair).
    public func fullTransaction() -> Transaction {
        var tx = layout.baseTransaction()
        for dynamic in chainUse.keys.sorted() {
            let (chain, rules) = layout.dynamicChain(dynamic)
            tx.add(chain)
            for rule in rules { tx.add(rule) }
        }
        var lists = ElementLists(layout: layout)
        var ranges: [String: [SetElement]] = [:]
        for key in claims.keys.sorted() {
            guard let frontend = claims[key]?.first?.frontend else { continue }
            frontend.forEachElement { lists.add($0, $1, $2) }
            let f = DatapathLayout.Family.of(key.family)
            ranges[f.sourceRanges, default: []] += frontend.rangeElements()
        }
        for address in hairpinUse.keys.sorted() {
            let v = value(address)
            lists.add(DatapathLayout.Family.of(address.family).hairpin, ElementList.Fields(v, v), .none)
        }
        for (set, list) in lists.sorted where !list.isEmpty { tx.addElements(list, to: layout.setRef(set)) }
        for set in ranges.keys.sorted() where !(ranges[set] ?? []).isEmpty {
            tx.addElements(ranges[set]!, to: layout.setRef(set))
        }
        return tx
    }

    /// Counts for metrics and tests.
    public var serviceCount: Int { services.count }
    public var programmedElementCount: Int {
        claims.values.reduce(0) { $0 + ($1.first?.frontend.elementCount ?? 0) } + hairpinUse.count
    }
    public var dynamicChains: [DatapathLayout.DynamicChain] { chainUse.keys.sorted() }
    public var healthChecks: [HealthCheck] { compiled.values.compactMap(\.healthCheck) }
    /// What a Service compiled to (its frontends, whether programmed or waiting behind a conflict).
    public func compiled(_ name: ServiceName) -> CompiledService? { compiled[name] }
    /// Services with frontends, in name order.
    public var serviceNames: [ServiceName] { compiled.keys.sorted() }

    /// Entries of a kernel-filled affinity map (`affinity4`/`affinity6`) whose endpoint no longer serves
    /// their frontend: deleting them sends that client's next connection to a live endpoint.
    public func staleAffinityEntries(_ entries: [SetElement], family: AddressFamily) -> [SetElement] {
        // Valid (frontend address, protocol, port, endpoint address, endpoint port), NodePorts without address.
        struct Pair: Hashable {
            var address: IPAddress?
            var proto: UInt8
            var port: UInt16
            var target: IPAddress
            var targetPort: UInt16
        }
        var valid = Set<Pair>()
        var frontends = Set<Frontend.Key>()
        for (key, list) in claims where key.family == family {
            guard let frontend = list.first?.frontend else { continue }
            if key.kind == .address { frontends.insert(key) }
            for target in frontend.allTargets {
                valid.insert(
                    Pair(
                        address: key.address, proto: key.proto, port: key.port, target: target.address,
                        targetPort: target.port))
            }
        }
        return entries.filter { entry in
            guard case .values(let target) = entry.data, target.count == 2, entry.key.firsts.count == 4,
                let address = IPAddress(bytes: entry.key.firsts[1].bytes),
                let targetAddress = IPAddress(bytes: target[0].bytes)
            else { return false }
            let proto = UInt8(truncatingIfNeeded: entry.key.firsts[2].integerValue)
            let port = UInt16(truncatingIfNeeded: entry.key.firsts[3].integerValue)
            let targetPort = UInt16(truncatingIfNeeded: target[1].integerValue)
            let isAddress = frontends.contains(
                Frontend.Key(family: family, kind: .address, address: address, proto: proto, port: port))
            let pair = Pair(
                address: isAddress ? address : nil, proto: proto, port: port, target: targetAddress,
                targetPort: targetPort)
            return !valid.contains(pair)
        }
    }

    // MARK: internals

    private func compileService(_ name: ServiceName) -> CompiledService {
        guard let service = services[name], service.isProxied else { return CompiledService() }
        let inputs: [EndpointsInput]
        if let serviceSlices = slices[name], !serviceSlices.isEmpty {
            inputs = serviceSlices.map(\.input)
        } else {
            inputs = manualEndpoints[name] ?? []
        }
        return compiler.compile(service, endpoints: EndpointsInput.byPort(inputs))
    }

    private static func appendClaim(_ claim: Claim, to list: inout [Claim]) -> ServiceName? {
        let owner = list.first?.service
        list.append(claim)
        return owner
    }

    /// Moves the Service's claims from its old frontends to its new ones and records, per frontend whose
    /// programmed record changes, the difference in `delta`.
    private mutating func update(
        _ name: ServiceName, old: CompiledService, new: CompiledService, delta: inout Delta, undo: inout Undo,
        diagnostics: inout [String]
    ) {
        var newByKey: [Frontend.Key: Frontend] = [:]
        if !old.frontends.isEmpty {
            newByKey.reserveCapacity(new.frontends.count)
            for frontend in new.frontends { newByKey[frontend.key] = frontend }
        }
        var oldKeys = Set<Frontend.Key>()
        for frontend in old.frontends {
            oldKeys.insert(frontend.key)
            let replacement = newByKey[frontend.key]
            guard replacement != frontend else { continue }
            if undo.claims.index(forKey: frontend.key) == nil {
                undo.claims[frontend.key] = .some(claims[frontend.key])
            }
            var list = claims.removeValue(forKey: frontend.key) ?? []
            let before = list.first?.frontend
            if let index = list.firstIndex(where: { $0.service == name }) {
                if let replacement {
                    list[index].frontend = replacement
                } else {
                    list.remove(at: index)
                }
            }
            let after = list.first?.frontend
            if !list.isEmpty { claims[frontend.key] = list }
            if before != after { delta.change(from: before, to: after) }
        }
        for frontend in new.frontends where !oldKeys.contains(frontend.key) {
            if undo.claims.index(forKey: frontend.key) == nil {
                undo.claims[frontend.key] = .some(claims[frontend.key])
            }
            // One hash lookup: claim a free frontend, or queue behind its owner.
            let conflict = Self.appendClaim(
                Claim(service: name, frontend: frontend), to: &claims[frontend.key, default: []])
            if let conflict {
                diagnostics.append(
                    "Service \(name): frontend \(frontend.key) conflicts with Service \(conflict); not programmed")
            } else {
                delta.change(from: nil, to: frontend)
            }
        }
    }
}

/// The element operations, chains and hairpin entries that one sync's changed frontends add up to.
struct Delta {
    let layout: DatapathLayout
    var adds: ElementLists
    var deletes: ElementLists
    var rangeAdds: [String: [SetElement]] = [:]
    var rangeDeletes: [String: [SetElement]] = [:]
    var hairpin: [IPAddress: Int] = [:]
    /// Hairpin addresses in the order first touched, so the batch does not depend on hash order.
    var hairpinOrder: [IPAddress] = []
    var chains: [DatapathLayout.DynamicChain: Int] = [:]

    init(layout: DatapathLayout) {
        self.layout = layout
        adds = ElementLists(layout: layout)
        deletes = ElementLists(layout: layout, keysOnly: true)
    }

    private mutating func count(_ address: IPAddress, _ change: Int) {
        if let current = hairpin[address] {
            hairpin[address] = current + change
        } else {
            hairpin[address] = change
            hairpinOrder.append(address)
        }
    }

    /// A frontend's programmed record goes from `before` to `after` (either may be absent).
    mutating func change(from before: Frontend?, to after: Frontend?) {
        for chain in before?.chains ?? [] { chains[chain, default: 0] -= 1 }
        for chain in after?.chains ?? [] { chains[chain, default: 0] += 1 }
        for address in before?.hairpinAddresses ?? [] { count(address, -1) }
        for address in after?.hairpinAddresses ?? [] { count(address, 1) }
        switch (before, after) {
        case (nil, let added?):
            // The cold-sync path: straight into the packed lists.
            added.forEachElement { adds.add($0, $1, $2) }
            let f = DatapathLayout.Family.of(added.key.family)
            let ranges = added.rangeElements()
            if !ranges.isEmpty { rangeAdds[f.sourceRanges, default: []] += ranges }
        case (let removed?, nil):
            removed.forEachElement { set, key, _ in deletes.add(set, key, .none) }
            let f = DatapathLayout.Family.of(removed.key.family)
            let ranges = removed.rangeElements()
            if !ranges.isEmpty { rangeDeletes[f.sourceRanges, default: []] += ranges }
        case (let old?, let new?):
            // Same key, different record: only the elements that differ (a changed map value is deleted and
            // added again in the same batch).
            let oldElements = old.elements()
            let newElements = new.elements()
            let kept = Set(oldElements).intersection(newElements)
            let ranges = DatapathLayout.Family.of(new.key.family).sourceRanges
            for named in oldElements where !kept.contains(named) {
                if named.set == ranges {
                    rangeDeletes[named.set, default: []].append(named.element)
                } else {
                    deletes.add(named.set, named.element)
                }
            }
            for named in newElements where !kept.contains(named) {
                if named.set == ranges {
                    rangeAdds[named.set, default: []].append(named.element)
                } else {
                    adds.add(named.set, named.element)
                }
            }
        case (nil, nil):
            break
        }
    }

    /// Applies the counted hairpin and chain changes to the proxier's tallies and writes the batch: new chains
    /// before the elements that jump to them, deletions before additions of the same keys, and chains removed
    /// last, once nothing references them.
    mutating func finish(
        hairpinUse: inout [IPAddress: Int], chainUse: inout [DatapathLayout.DynamicChain: Int],
        undo: inout ServiceProxy.Undo,
        into tx: inout Transaction
    ) {
        for address in hairpinOrder {
            let change = hairpin[address] ?? 0
            guard change != 0 else { continue }
            undo.hairpinUse[address] = .some(hairpinUse[address])
            let before = hairpinUse[address] ?? 0
            let after = before + change
            hairpinUse[address] = after > 0 ? after : nil
            let v = value(address)
            let set = DatapathLayout.Family.of(address.family).hairpin
            if before == 0 && after > 0 { adds.add(set, ElementList.Fields(v, v), .none) }
            if before > 0 && after <= 0 { deletes.add(set, ElementList.Fields(v, v), .none) }
        }
        var chainAdds: [DatapathLayout.DynamicChain] = []
        var chainDeletes: [DatapathLayout.DynamicChain] = []
        for (chain, change) in chains where change != 0 {
            undo.chainUse[chain] = .some(chainUse[chain])
            let before = chainUse[chain] ?? 0
            let after = before + change
            chainUse[chain] = after > 0 ? after : nil
            if before == 0 && after > 0 { chainAdds.append(chain) }
            if before > 0 && after <= 0 { chainDeletes.append(chain) }
        }
        for dynamic in chainAdds.sorted() {
            let (chain, rules) = layout.dynamicChain(dynamic)
            tx.add(chain)
            for rule in rules { tx.add(rule) }
        }
        for (set, list) in deletes.sorted where !list.isEmpty { tx.deleteElements(list, from: layout.setRef(set)) }
        for set in rangeDeletes.keys.sorted() { tx.deleteElements(rangeDeletes[set]!, from: layout.setRef(set)) }
        for (set, list) in adds.sorted where !list.isEmpty { tx.addElements(list, to: layout.setRef(set)) }
        for set in rangeAdds.keys.sorted() { tx.addElements(rangeAdds[set]!, to: layout.setRef(set)) }
        for dynamic in chainDeletes.sorted() {
            let ref = ChainRef(table: layout.table, name: dynamic.name)
            tx.flush(ref)
            tx.delete(ref)
        }
    }
}

/// One packed element list per set of the layout, filled as frontends are walked.
struct ElementLists {
    private var lists: [String: ElementList] = [:]
    private let sets: [String: NFTSet]
    private let keysOnly: Bool
    /// The list last appended to, kept out of the dictionary: elements arrive in runs for one set (the ten
    /// endpoint slots of a frontend), so most appends skip hashing the set name.
    private var recentName: String?
    private var recent = ElementList()

    init(layout: DatapathLayout, keysOnly: Bool = false) {
        sets = Dictionary(layout.sets().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.keysOnly = keysOnly
    }

    mutating func add(_ set: String, _ key: ElementList.Fields, _ payload: ElementList.Payload) {
        select(set)
        recent.append(key, keysOnly ? .none : payload)
    }

    mutating func add(_ set: String, _ element: SetElement) {
        select(set)
        recent.append(keysOnly ? SetElement(key: element.key) : element)
    }

    private mutating func select(_ set: String) {
        guard recentName != set else { return }
        if let recentName { lists[recentName] = recent }
        recent = lists.removeValue(forKey: set) ?? makeList(set)
        recentName = set
    }

    private func makeList(_ set: String) -> ElementList {
        sets[set].map { ElementList(for: $0, keysOnly: keysOnly) } ?? []
    }

    var sorted: [(String, ElementList)] {
        var all = lists
        if let recentName { all[recentName] = recent }
        return all.keys.sorted().map { ($0, all[$0]!) }
    }
}

/// One change from a watch: what an API source delivers object by object (a relist delivers `replaceAll`).
public enum ServiceEvent: Sendable {
    case service(Service)
    case serviceDeleted(ServiceName)
    case endpointSlice(EndpointSlice)
    case endpointSliceDeleted(EndpointSlice)
    case endpoints(Endpoints)
    case endpointsDeleted(ServiceName)
}

extension ServiceProxy {
    /// Folds one watch event into the desired state; the next `sync()` programs it.
    public mutating func apply(_ event: ServiceEvent) {
        switch event {
        case .service(let service): upsert(service)
        case .serviceDeleted(let name): remove(service: name)
        case .endpointSlice(let slice): upsert(slice)
        case .endpointSliceDeleted(let slice): remove(slice: slice)
        case .endpoints(let endpoints): upsert(endpoints)
        case .endpointsDeleted(let name): remove(endpoints: name)
        }
    }
}
