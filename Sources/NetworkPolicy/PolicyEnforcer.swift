import KubeAPI
import NFTables

/// The node's NetworkPolicy state: the namespaces, pods and policies it knows, what each local pod contributes to the
/// datapath, and which pods each selector peer currently means. Each sync turns the changes since the last one into
/// one transaction.
///
/// Pure and a value, like `ServiceProxy`: a caller keeps the copy from before `sync()` and puts it back when the
/// kernel rejects the transaction. A change recompiles only the local pods it can affect — pods of the namespace
/// whose policies changed, the changed pods themselves, and pods whose rules name a peer the change joined or
/// left — so a policy change costs what that policy touches, not what the cluster holds.
public struct PolicyEnforcer: Sendable {
    public let configuration: PolicyConfiguration
    public let layout: PolicyLayout
    private var compiler: PolicyCompiler { PolicyCompiler(layout: layout) }

    private var namespaceLabels: [String: [String: String]] = [:]
    private var pods: [ObjectName: PolicyPod] = [:]
    private var policies: [ObjectName: CompiledPolicy] = [:]
    /// Policies per namespace in name order, the order rules are reported in.
    private var policiesByNamespace: [String: [CompiledPolicy]] = [:]
    /// Member pods of every peer some contribution reads, kept current as pods and namespaces change.
    private var members: [PeerKey: Set<ObjectName>] = [:]
    /// The local pods whose contributions read each peer.
    private var dependents: [PeerKey: Set<ObjectName>] = [:]
    private var contributions: [ObjectName: PodPolicyContribution] = [:]
    /// Which local pod an address's elements belong to when two claim it (the first by name).
    private var addressOwners: [IPAddress: ObjectName] = [:]
    private var conflicts: [String] = []
    private var dirty: Set<ObjectName> = []
    private var programmedBase = false

    public init(configuration: PolicyConfiguration) {
        self.configuration = configuration
        layout = PolicyLayout(configuration: configuration)
    }

    // MARK: inputs

    /// Replaces the whole picture (a manifest directory or a relist); only what differs is recompiled at `sync()`.
    ///
    /// - Parameters:
    ///   - policies: validated here; an invalid one isolates the pods its selector still names and allows nothing.
    ///   - rejected: policies that exist but failed to load (see `RejectedPolicy.rejected(by:)`).
    /// - Parameter allocations: addresses the node's CNI plugin recorded per pod (`CNIAllocations`): a local pod
    ///   the API shows without addresses yet is enforced with these, from the moment it has a network.
    public mutating func replaceAll(
        namespaces: [Namespace], pods newPodObjects: [Pod], policies newPolicyObjects: [NetworkPolicy],
        rejected: [RejectedPolicy] = [], allocations: [ObjectName: [IPAddress]] = [:]
    ) {
        let newLabels = Dictionary(namespaces.map { ($0.metadata.name, $0.effectiveLabels) }) { first, _ in first }
        var newPods: [ObjectName: PolicyPod] = [:]
        for object in newPodObjects {
            guard
                let pod = PolicyPod(
                    object, nodeName: configuration.nodeName, allocated: allocations[ObjectName(object.metadata)] ?? []),
                newPods[pod.name] == nil
            else {
                continue
            }
            newPods[pod.name] = pod
        }
        var newPolicies: [ObjectName: CompiledPolicy] = [:]
        for object in newPolicyObjects where newPolicies[ObjectName(object.metadata)] == nil {
            newPolicies[ObjectName(object.metadata)] = CompiledPolicy(object)
        }
        for rejection in rejected where newPolicies[rejection.name] == nil {
            newPolicies[rejection.name] = CompiledPolicy(rejected: rejection)
        }

        let changedPods = Set(pods.keys).union(newPods.keys).filter { pods[$0] != newPods[$0] }
        for name in changedPods where pods[name]?.isLocal == true || newPods[name]?.isLocal == true {
            dirty.insert(name)
        }
        let before = members
        if newLabels != namespaceLabels {
            namespaceLabels = newLabels
            pods = newPods
            for key in members.keys { refresh(key) }
        } else {
            for name in changedPods {
                let namespace = labels(of: name.namespace)
                for (key, current) in members {
                    let now = newPods[name].map { key.matches($0, namespaceLabels: namespace) } ?? false
                    if current.contains(name) != now { members[key]?.formSymmetricDifference([name]) }
                }
            }
            pods = newPods
        }
        // A member that changed (addresses, named ports) or joined or left: its peers' readers recompile.
        for name in changedPods {
            for (key, current) in members where current.contains(name) || before[key]?.contains(name) == true {
                dirty.formUnion(dependents[key] ?? [])
            }
        }

        let changedPolicies = Set(policies.keys).union(newPolicies.keys).filter { policies[$0] != newPolicies[$0] }
        let touchedNamespaces = Set(changedPolicies.map(\.namespace))
        policies = newPolicies
        policiesByNamespace = Dictionary(grouping: newPolicies.values, by: \.name.namespace).mapValues {
            $0.sorted { $0.name < $1.name }
        }
        for pod in pods.values where pod.isLocal && touchedNamespaces.contains(pod.name.namespace) {
            dirty.insert(pod.name)
        }
        assignAddresses()
    }

    /// Namespace labels as selectors see them; a namespace without an object still has its name label.
    private func labels(of namespace: String) -> [String: String] {
        namespaceLabels[namespace] ?? [Namespace.nameLabel: namespace]
    }

    /// Recomputes a peer's members from scratch; its dependents are recompiled when they changed.
    private mutating func refresh(_ key: PeerKey) {
        let now = Set(
            pods.values.filter { key.matches($0, namespaceLabels: labels(of: $0.name.namespace)) }.map(\.name))
        if members[key] != now {
            members[key] = now
            dirty.formUnion(dependents[key] ?? [])
        }
    }

    /// Gives each local address to one pod (the first by name); both pods of a conflict are recompiled when the
    /// owner changes, and the conflict is reported.
    private mutating func assignAddresses() {
        var owners: [IPAddress: ObjectName] = [:]
        var claims: [IPAddress: [ObjectName]] = [:]
        for pod in pods.values where pod.isLocal {
            for address in pod.addresses { claims[address, default: []].append(pod.name) }
        }
        conflicts = []
        for (address, claimants) in claims {
            let sorted = claimants.sorted()
            owners[address] = sorted[0]
            if sorted.count > 1 {
                conflicts.append(
                    "pods \(sorted.map(\.description).joined(separator: ", ")) share address \(address); "
                        + "only \(sorted[0]) is enforced there")
            }
        }
        conflicts.sort()
        for address in Set(owners.keys).union(addressOwners.keys) where owners[address] != addressOwners[address] {
            for name in [owners[address], addressOwners[address]].compactMap({ $0 }) { dirty.insert(name) }
        }
        addressOwners = owners
    }

    // MARK: sync

    /// The result of one sync: the transaction to apply and what was noticed on the way.
    public struct Sync: Sendable {
        public var transaction: Transaction
        /// Rejected policies (and which pods stay isolated because of them), address conflicts.
        public var diagnostics: [String]
        /// Local pods recompiled in this sync.
        public var changedPods: Set<ObjectName>
    }

    /// Compiles what changed since the last sync into one transaction (the first one also creates the table).
    public mutating func sync() -> Sync {
        var tx = programmedBase ? Transaction(existingSets: layout.sets()) : layout.baseTransaction()
        programmedBase = true
        var deletes: [String: [SetElement]] = [:]
        var adds: [String: [SetElement]] = [:]
        let changed = dirty
        dirty = []
        for name in changed.sorted() {
            let old = contributions[name]
            let new = compile(name)
            for (set, elements) in old?.elements ?? [:] {
                for (key, element) in elements where new?.elements[set]?[key] != element {
                    deletes[set, default: []].append(element)
                }
            }
            for (set, elements) in new?.elements ?? [:] {
                for (key, element) in elements where old?.elements[set]?[key] != element {
                    adds[set, default: []].append(element)
                }
            }
            for key in old?.peerKeys ?? [] { dependents[key]?.remove(name) }
            for key in new?.peerKeys ?? [] { dependents[key, default: []].insert(name) }
            contributions[name] = new
        }
        for (key, users) in dependents where users.isEmpty {
            dependents[key] = nil
            members[key] = nil
        }
        for set in deletes.keys.sorted() {
            tx.deleteElements(deletes[set]!, from: SetRef(table: layout.table, name: set))
        }
        for set in adds.keys.sorted() {
            tx.addElements(adds[set]!, to: SetRef(table: layout.table, name: set))
        }
        return Sync(transaction: tx, diagnostics: diagnostics, changedPods: changed)
    }

    /// The contribution of a local pod from the current state; `nil` when nothing isolates it here.
    private mutating func compile(_ name: ObjectName) -> PodPolicyContribution? {
        guard var pod = pods[name], pod.isLocal else { return nil }
        pod.addresses = pod.addresses.filter { addressOwners[$0] == name }
        let selecting = (policiesByNamespace[name.namespace] ?? []).filter { $0.selects(pod) }
        guard !pod.addresses.isEmpty, !selecting.isEmpty else { return nil }
        for key in compiler.memberKeys(selecting) where members[key] == nil { refresh(key) }
        let contribution = compiler.contribution(for: pod, policies: selecting) { key in
            (members[key] ?? []).sorted().compactMap { pods[$0] }
        }
        return contribution
    }

    /// Everything currently desired, as one transaction (a cold start, adoption, drift repair, `sluice policy`).
    public func fullTransaction() -> Transaction {
        var tx = layout.baseTransaction()
        var elements: [String: [SetElement]] = [:]
        for contribution in contributions.values {
            for (set, byKey) in contribution.elements { elements[set, default: []] += byKey.values }
        }
        for set in elements.keys.sorted() {
            tx.addElements(elements[set]!, to: SetRef(table: layout.table, name: set))
        }
        return tx
    }

    // MARK: state for tools and tests

    /// Problems worth an operator's attention: rejected policies with the pods they keep isolated, and addresses
    /// claimed by two local pods.
    public var diagnostics: [String] {
        var lines: [String] = []
        for policy in policies.values.filter(\.isRejected).sorted(by: { $0.name < $1.name }) {
            let directions = PolicyDirection.allCases.filter { policy.isolates.contains($0) }.map(\.rawValue)
                .joined(separator: " and ")
            let scope =
                policy.podSelector == nil
                ? "its selector is unknown, so every pod of namespace \(policy.name.namespace) stays"
                : "the pods it selects stay"
            let held = contributions.values.filter { c in c.isolatedBy.values.contains { $0.contains(policy.name) } }
                .map(\.pod).sorted()
            let list = held.isEmpty ? "" : " (here: \(held.map(\.description).joined(separator: ", ")))"
            lines.append(
                "NetworkPolicy \(policy.name) rejected: \(policy.problems.joined(separator: "; ")); never failing "
                    + "open, \(scope) isolated for \(directions) as if it allowed nothing\(list)")
        }
        return lines + conflicts
    }

    /// The contribution of a local pod, `nil` when no policy isolates it on this node.
    public func contribution(of pod: ObjectName) -> PodPolicyContribution? { contributions[pod] }

    /// The addresses of a pod policy applies to (`nil` for unknown, host-network, finished or address-less pods).
    public func addresses(of pod: ObjectName) -> [IPAddress]? { pods[pod]?.addresses }

    /// Every pod policy applies to, in name order.
    public var podNames: [ObjectName] { pods.keys.sorted() }

    /// The local pod whose elements are keyed by `address`.
    public func localPod(at address: IPAddress) -> ObjectName? { addressOwners[address] }

    /// Rejected policies by name, with their problems.
    public var rejectedPolicies: [ObjectName: [String]] {
        policies.filter(\.value.isRejected).mapValues(\.problems)
    }

    public var programmedElementCount: Int { contributions.values.reduce(0) { $0 + $1.elementCount } }
}
