import KubeAPI
import ServiceProxy

/// What the daemon's sync loop needs from a Service backend, so `--proxy-mode` picks one without the loop
/// knowing which: nftables (`ServiceSyncer`) or IPVS (`IPVSServiceSyncer`).
public protocol ServiceBackend: Actor {
    /// Compiles a snapshot and programs the difference (the first call adopts the kernel's state).
    func syncServices(_ snapshot: ManifestSet) throws
    /// Folds watch events into the desired state without programming them (the API source).
    func receive(_ events: [ServiceEvent])
    /// Programs what `receive` folded in.
    func flushServices() throws
    /// Re-reads the kernel and repairs drift from the desired state.
    func repairServiceDrift() throws
    var healthChecks: [HealthCheck] { get }
    var programmedServiceCount: Int { get }
    /// nftables: map elements; IPVS: virtual services.
    var programmedElementCount: Int { get }
    /// The node's zone as the Services were compiled for it.
    var nodeZone: String? { get }
    /// Follows a change of the node's zone label: topology-hinted Services are recompiled at the next flush.
    func setNodeZone(_ zone: String?)
}

extension ServiceSyncer: ServiceBackend {
    public func syncServices(_ snapshot: ManifestSet) throws { try sync(snapshot) }
    public func flushServices() throws { try flush() }
    public func repairServiceDrift() throws { try repairDrift() }
}

extension IPVSServiceSyncer: ServiceBackend {
    public func syncServices(_ snapshot: ManifestSet) throws { try sync(snapshot) }
    public func flushServices() throws { try flush() }
    public func repairServiceDrift() throws { try repairDrift() }
    public var programmedElementCount: Int { virtualServiceCount }
}
