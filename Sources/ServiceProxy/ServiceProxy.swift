import KubeAPI
import NFTables

/// The node's proxier state: the Services and endpoints it knows, what each contributed to the datapath, and
/// the desired ruleset that results. Each sync turns the changes since the last one into one transaction.
///
/// Pure: it never touches the kernel. It is a value, so a caller keeps the copy from before `sync()` and puts
/// it back when the kernel rejects the transaction: the kernel still holds that state, and the changes stay
/// pending for the next sync. Tests and `sluice compile`/`trace` use the same values.
public struct ServiceProxy: Sendable {
    public let layout: DatapathLayout
    private var compiler: ServiceCompiler { ServiceCompiler(layout: layout) }

    private var services: [ServiceName: Service] = [:]
    private var slices: [ServiceName: [String: EndpointSlice]] = [:]
    private var manualEndpoints: [ServiceName: Endpoints] = [:]
    private var dirty: Set<ServiceName> = []

    private var contributions: [ServiceName: ServiceContribution] = [:]
    /// Per set, per key: the Services that want the element, first one wins (conflicts are reported).
    private var owners: [String: [ElementKey: Owners]] = [:]
    private var chainUse: [DatapathLayout.DynamicChain: Int] = [:]
    private var programmedBase = false

    public init(configuration: ProxyConfiguration) {
        layout = DatapathLayout(configuration: configuration)
    }

    // MARK: inputs

    /// Replaces the whole picture (what a manifest directory or a relist provides); only Services whose object
    /// or endpoints differ from before are recompiled.
    public mutating func replaceAll(
        services newServices: [Service], endpointSlices: [EndpointSlice], endpoints: [Endpoints] = []
    ) {
        var byName: [ServiceName: Service] = [:]
        for s in newServices { byName[ServiceName(namespace: s.metadata.namespace, name: s.metadata.name)] = s }
        var newSlices: [ServiceName: [String: EndpointSlice]] = [:]
        for slice in endpointSlices {
            guard let owner = slice.serviceName else { continue }
            newSlices[ServiceName(namespace: slice.metadata.namespace, name: owner), default: [:]][
                slice.metadata.name] = slice
        }
        var newManual: [ServiceName: Endpoints] = [:]
        for e in endpoints { newManual[ServiceName(namespace: e.metadata.namespace, name: e.metadata.name)] = e }

        for name in Set(services.keys).union(byName.keys) where services[name] != byName[name] { dirty.insert(name) }
        for name in Set(slices.keys).union(newSlices.keys) where slices[name] != newSlices[name] { dirty.insert(name) }
        for name in Set(manualEndpoints.keys).union(newManual.keys) where manualEndpoints[name] != newManual[name] {
            dirty.insert(name)
        }
        services = byName
        slices = newSlices
        manualEndpoints = newManual
    }

    public mutating func upsert(_ service: Service) {
        let name = ServiceName(namespace: service.metadata.namespace, name: service.metadata.name)
        if services[name] != service { dirty.insert(name) }
        services[name] = service
    }

    public mutating func remove(service name: ServiceName) {
        if services.removeValue(forKey: name) != nil { dirty.insert(name) }
    }

    public mutating func upsert(_ slice: EndpointSlice) {
        guard let owner = slice.serviceName else { return }
        let name = ServiceName(namespace: slice.metadata.namespace, name: owner)
        if slices[name]?[slice.metadata.name] != slice { dirty.insert(name) }
        slices[name, default: [:]][slice.metadata.name] = slice
    }

    public mutating func remove(slice: EndpointSlice) {
        guard let owner = slice.serviceName else { return }
        let name = ServiceName(namespace: slice.metadata.namespace, name: owner)
        if slices[name]?.removeValue(forKey: slice.metadata.name) != nil { dirty.insert(name) }
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
    }

    /// Compiles what changed since the last sync into one transaction. The first sync also creates the table
    /// and fixed objects (and, with `flushExisting`, replaces whatever table of that name exists).
    public mutating func sync() -> Sync {
        var tx = Transaction(existingSets: layout.sets())
        var diagnostics: [String] = []
        if !programmedBase {
            tx = layout.baseTransaction()
            programmedBase = true
        }
        var chainAdds: [DatapathLayout.DynamicChain] = []
        var chainDeletes: [DatapathLayout.DynamicChain] = []
        var deletes: [String: [SetElement]] = [:]
        var adds: [String: [SetElement]] = [:]
        var udpBefore: Set<UDPFrontend> = []
        var udpAfter: Set<UDPFrontend> = []
        var affinityChanged = false
        let changed = dirty
        for name in changed.sorted() {
            let old = contributions[name] ?? ServiceContribution()
            udpBefore.formUnion(old.udpFrontends)
            let new = compileService(name, previous: old)
            udpAfter.formUnion(new.udpFrontends)
            affinityChanged = affinityChanged || (old.chains.union(new.chains)).contains { $0.isRemember }
            contributions[name] = new.elementCount == 0 && new.chains.isEmpty ? nil : new
            replace(name, old: old, new: new, deletes: &deletes, adds: &adds, diagnostics: &diagnostics)
            for chain in new.chains.subtracting(old.chains) {
                chainUse[chain, default: 0] += 1
                if chainUse[chain] == 1 { chainAdds.append(chain) }
            }
            for chain in old.chains.subtracting(new.chains) {
                chainUse[chain, default: 1] -= 1
                if chainUse[chain] == 0 {
                    chainUse[chain] = nil
                    chainDeletes.append(chain)
                }
            }
        }
        dirty = []
        // Order for one batch: new chains before elements that jump to them; deletions before additions of
        // the same keys; chains removed last, once nothing references them.
        for dynamic in chainAdds.sorted() {
            let (chain, rules) = layout.dynamicChain(dynamic)
            tx.add(chain)
            for rule in rules { tx.add(rule) }
        }
        for set in deletes.keys.sorted() where !(deletes[set] ?? []).isEmpty {
            tx.deleteElements(deletes[set]!, from: SetRef(table: layout.table, name: set))
        }
        for set in adds.keys.sorted() where !(adds[set] ?? []).isEmpty {
            tx.addElements(adds[set]!, to: SetRef(table: layout.table, name: set))
        }
        for dynamic in chainDeletes.sorted() {
            let ref = ChainRef(table: layout.table, name: dynamic.name)
            tx.flush(ref)
            tx.delete(ref)
        }
        return Sync(
            transaction: tx, diagnostics: diagnostics, changedServices: changed, udpBefore: udpBefore,
            udpAfter: udpAfter, affinityChanged: affinityChanged)
    }

    /// Everything currently desired, as one transaction (for a cold start, adoption or drift repair).
    public func fullTransaction() -> Transaction {
        var tx = layout.baseTransaction()
        for dynamic in chainUse.keys.sorted() {
            let (chain, rules) = layout.dynamicChain(dynamic)
            tx.add(chain)
            for rule in rules { tx.add(rule) }
        }
        for set in owners.keys.sorted() {
            let elements = owners[set]!.values.map(\.element)
            if !elements.isEmpty { tx.addElements(elements, to: SetRef(table: layout.table, name: set)) }
        }
        return tx
    }

    /// Counts for metrics and tests.
    public var serviceCount: Int { services.count }
    public var programmedElementCount: Int { owners.values.reduce(0) { $0 + $1.count } }
    public var dynamicChains: [DatapathLayout.DynamicChain] { chainUse.keys.sorted() }
    public var healthChecks: [HealthCheck] { contributions.values.compactMap(\.healthCheck) }
    public func contribution(of name: ServiceName) -> ServiceContribution? { contributions[name] }
    public func service(named name: ServiceName) -> Service? { services[name] }
    /// Services with a contribution, in name order.
    public var serviceNames: [ServiceName] { contributions.keys.sorted() }

    /// Entries of a kernel-filled affinity map (`affinity4`/`affinity6`) whose endpoint no longer serves
    /// their frontend: deleting them sends that client's next connection to a live endpoint.
    public func staleAffinityEntries(_ entries: [SetElement], family: AddressFamily) -> [SetElement] {
        let f = DatapathLayout.Family.of(family)
        let endpoints = owners[f.endpoints] ?? [:]
        let nodePortEndpoints = owners[f.nodePortEndpoints] ?? [:]
        var valid: Set<[Value]> = []
        for (key, entry) in endpoints {
            guard case .values(let target) = entry.element.data else { continue }
            valid.insert(Array(key.firsts.dropLast()) + target)
        }
        var validNodePorts: Set<[Value]> = []
        for (key, entry) in nodePortEndpoints {
            guard case .values(let target) = entry.element.data else { continue }
            validNodePorts.insert(Array(key.firsts.dropLast()) + target)
        }
        let frontends = Set((owners[f.serviceIPs] ?? [:]).keys.map(\.firsts))
        return entries.filter { entry in
            guard case .values(let target) = entry.data, entry.key.firsts.count == 4 else { return false }
            let frontend = Array(entry.key.firsts.dropFirst())
            if frontends.contains(frontend) { return !valid.contains(frontend + target) }
            return !validNodePorts.contains(Array(frontend.dropFirst()) + target)
        }
    }

    // MARK: internals

    private mutating func compileService(_ name: ServiceName, previous: ServiceContribution) -> ServiceContribution {
        guard let service = services[name], ServiceCompiler.isProxied(service) else { return ServiceContribution() }
        var endpoints: [String: [ServiceEndpoint]]
        if let serviceSlices = slices[name], !serviceSlices.isEmpty {
            endpoints = EndpointIndex.endpoints(fromSlices: Array(serviceSlices.values))
        } else if let manual = manualEndpoints[name] {
            endpoints = EndpointIndex.endpoints(fromEndpoints: manual)
        } else {
            endpoints = [:]
        }
        let contribution = compiler.compile(service, endpoints: endpoints)
        return contribution
    }

    /// Moves the element ownership from `old` to `new` and records the kernel operations that follow.
    private mutating func replace(
        _ name: ServiceName, old: ServiceContribution, new: ServiceContribution, deletes: inout [String: [SetElement]],
        adds: inout [String: [SetElement]], diagnostics: inout [String]
    ) {
        for (set, elements) in old.elements {
            let newElements = new.elements[set]
            for (key, element) in elements where newElements?[key] != element {
                guard let entry = owners[set]?[key] else { continue }
                let wasActive = entry.active == name
                let remaining = entry.removing(name)
                owners[set]![key] = remaining
                guard wasActive, remaining?.element != element else { continue }
                deletes[set, default: []].append(element)
                if let successor = remaining { adds[set, default: []].append(successor.element) }
            }
        }
        for (set, elements) in new.elements {
            let oldElements = old.elements[set]
            // Hoisted out of the per-element loop: this runs for every element of a cold sync.
            var table = owners.removeValue(forKey: set) ?? [:]
            var added = adds.removeValue(forKey: set) ?? []
            if oldElements == nil { table.reserveCapacity(table.count + elements.count) }
            for (key, element) in elements where oldElements?[key] != element {
                var created = false
                // One hash lookup: insert as active owner, or join the existing owners.
                let conflict = { (entry: inout Owners) -> ServiceName? in
                    if created { return nil }
                    entry.others.append((name, element))
                    return entry.element == element ? nil : entry.active
                }(
                    &table[
                        key,
                        default: {
                            created = true; return Owners(active: name, element: element)
                        }()])
                if created {
                    added.append(element)
                } else if let conflict {
                    diagnostics.append(
                        "Service \(name): \(set) element \(key) conflicts with Service \(conflict); not programmed")
                }
            }
            owners[set] = table
            if !added.isEmpty { adds[set] = added }
        }
    }
}

/// Who wants one element: the active owner's element is programmed; others wait (shared hairpin entries,
/// or a conflicting claim that takes over when the active owner leaves).
struct Owners: Sendable {
    var active: ServiceName
    var element: SetElement
    var others: [(service: ServiceName, element: SetElement)] = []

    /// The owners left when `name` goes; `nil` when nobody is left.
    func removing(_ name: ServiceName) -> Owners? {
        if active != name {
            var copy = self
            copy.others.removeAll { $0.service == name }
            return copy
        }
        guard let next = others.first else { return nil }
        return Owners(active: next.service, element: next.element, others: Array(others.dropFirst()))
    }
}
