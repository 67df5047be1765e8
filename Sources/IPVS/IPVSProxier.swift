import KubeAPI
import ServiceProxy

/// The IPVS mode's desired state, built from ServiceProxy's compiled frontends one Service at a time, and what
/// changed since the last look. Pure and a value, like `ServiceProxy`: the syncer owns the kernel side.
///
/// Two Services may claim the same virtual service (the same IP, protocol and port): the first keeps it, the
/// other is reported and programmed once the first lets go — the same rule as the nftables backend.
public struct IPVSProxier: Sendable {
    public private(set) var configuration: IPVSConfiguration
    private var compiler: IPVSCompiler { IPVSCompiler(configuration: configuration) }

    /// The frontends each Service compiled to (kept to recompile NodePorts when node addresses change).
    private var frontends: [ServiceName: [Frontend]] = [:]
    private var contributions: [ServiceName: IPVSContribution] = [:]
    /// Per virtual service, the Services claiming it, the programmed one first.
    private var claims: [VirtualServiceKey: [ServiceName]] = [:]
    private var addressUse: [IPAddress: Int] = [:]
    private var elementUse: [IPVSFilterTable.Element: Int] = [:]

    /// What one round of updates changed.
    public struct Changes: Sendable {
        /// Virtual services whose desired entry may differ from before.
        public var keys: Set<VirtualServiceKey> = []
        public var addressesAdded: Set<IPAddress> = []
        public var addressesRemoved: Set<IPAddress> = []
        public var elementsAdded: Set<IPVSFilterTable.Element> = []
        public var elementsRemoved: Set<IPVSFilterTable.Element> = []
        public var diagnostics: [String] = []
        public init() {}
    }

    public init(configuration: IPVSConfiguration) { self.configuration = configuration }

    /// The desired entry of a virtual service, if any Service programs it.
    public func entry(_ key: VirtualServiceKey) -> ServiceEntry? {
        guard let owner = claims[key]?.first else { return nil }
        return contributions[owner]?.entries[key]
    }

    /// Every desired virtual service (for adoption and drift repair).
    public var desired: [VirtualServiceKey: ServiceEntry] {
        var out: [VirtualServiceKey: ServiceEntry] = [:]
        for key in claims.keys { out[key] = entry(key) }
        return out
    }

    /// The Service (and how it was reached) that programs a virtual service: what errors name.
    public func owner(of key: VirtualServiceKey) -> String? {
        guard let owner = claims[key]?.first else { return nil }
        let label = contributions[owner]?.labels[key].map { " (\($0))" } ?? ""
        return "Service \(owner)\(label)"
    }

    /// Every address the dummy interface should hold.
    public var addresses: Set<IPAddress> { Set(addressUse.keys) }
    /// Every nftables set element the mode's table should hold.
    public var elements: Set<IPVSFilterTable.Element> { Set(elementUse.keys) }
    public var serviceCount: Int { contributions.count }
    public var virtualServiceCount: Int { claims.count }

    /// Replaces one Service's frontends (empty: the Service is gone or programs nothing).
    public mutating func update(_ name: ServiceName, frontends new: [Frontend], into changes: inout Changes) {
        frontends[name] = new.isEmpty ? nil : new
        let contribution = new.isEmpty ? IPVSContribution() : compiler.compile(name, frontends: new)
        replace(name, with: contribution, into: &changes)
    }

    /// New node addresses: every Service with a NodePort is recompiled.
    public mutating func setNodeAddresses(_ addresses: [IPAddress], into changes: inout Changes) {
        guard Set(addresses) != Set(configuration.nodeAddresses) else { return }
        configuration.nodeAddresses = addresses
        for name in frontends.keys.sorted() where frontends[name]!.contains(where: { $0.key.address == nil }) {
            replace(name, with: compiler.compile(name, frontends: frontends[name]!), into: &changes)
        }
    }

    private mutating func replace(_ name: ServiceName, with new: IPVSContribution, into changes: inout Changes) {
        let old = contributions[name] ?? IPVSContribution()
        contributions[name] = new.entries.isEmpty && new.elements.isEmpty ? nil : new
        changes.diagnostics += new.diagnostics
        for key in old.entries.keys where new.entries[key] == nil {
            changes.keys.insert(key)
            claims[key]?.removeAll { $0 == name }
            if claims[key]?.isEmpty == true { claims[key] = nil }
        }
        for key in new.entries.keys.sorted() {
            if old.entries[key] == nil {
                claims[key, default: []].append(name)
                if let first = claims[key]?.first, first != name {
                    changes.diagnostics.append(
                        "Service \(name): virtual service \(key) conflicts with Service \(first); not programmed")
                }
            }
            if old.entries[key] != new.entries[key] { changes.keys.insert(key) }
        }
        for address in new.addresses.subtracting(old.addresses) {
            addressUse[address, default: 0] += 1
            if addressUse[address] == 1, changes.addressesRemoved.remove(address) == nil {
                changes.addressesAdded.insert(address)
            }
        }
        for address in old.addresses.subtracting(new.addresses) {
            addressUse[address, default: 0] -= 1
            if addressUse[address]! <= 0 {
                addressUse[address] = nil
                if changes.addressesAdded.remove(address) == nil { changes.addressesRemoved.insert(address) }
            }
        }
        for element in new.elements.subtracting(old.elements) {
            elementUse[element, default: 0] += 1
            if elementUse[element] == 1, changes.elementsRemoved.remove(element) == nil {
                changes.elementsAdded.insert(element)
            }
        }
        for element in old.elements.subtracting(new.elements) {
            elementUse[element, default: 0] -= 1
            if elementUse[element]! <= 0 {
                elementUse[element] = nil
                if changes.elementsAdded.remove(element) == nil { changes.elementsRemoved.insert(element) }
            }
        }
    }
}
