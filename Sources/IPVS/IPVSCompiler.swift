import KubeAPI
import NFTables
import ServiceProxy

/// What the IPVS backend needs beyond the compiled Services: the scheduler and the addresses NodePorts answer on.
public struct IPVSConfiguration: Sendable, Hashable {
    /// `--ipvs-scheduler`: every virtual service uses it (kube-proxy has one scheduler per node too).
    public var scheduler: String
    /// Local addresses NodePorts answer on: one virtual service per address, as kube-proxy's IPVS mode does
    /// (IPVS matches exact addresses; there is no "any local address" service).
    public var nodeAddresses: [IPAddress]
    /// Pod CIDRs of the cluster: ClusterIP traffic from outside them is masqueraded.
    public var clusterCIDRs: [IPCIDR]
    /// The packet mark bit that asks postrouting to masquerade.
    public var masqueradeMark: UInt32
    /// The nftables table of the IPVS mode (masquerade, source ranges, reject).
    public var tableName: String
    /// Masquerade pods' traffic leaving the cluster CIDRs (the overlay's egress), as the nftables mode's table does
    /// (`ProxyConfiguration.masqueradePodEgress`): in IPVS mode that table is gone, so this one carries the rule.
    public var masqueradePodEgress = false

    /// The schedulers `--ipvs-scheduler` accepts (those kube-proxy documents; all ship with Debian's kernel).
    public static let schedulers = [
        "rr", "wrr", "lc", "wlc", "sh", "mh", "dh", "sed", "nq", "lblc", "lblcr", "fo", "ovf",
    ]

    public init(
        scheduler: String = "rr", nodeAddresses: [IPAddress] = [], clusterCIDRs: [IPCIDR] = [],
        masqueradeMark: UInt32 = 0x4000, tableName: String = "sluice-ipvs"
    ) {
        self.scheduler = scheduler
        self.nodeAddresses = nodeAddresses
        self.clusterCIDRs = clusterCIDRs
        self.masqueradeMark = masqueradeMark
        self.tableName = tableName
    }
}

/// What one Service contributes in IPVS mode: virtual services, addresses for the dummy interface, and
/// elements of the mode's nftables sets. Derived from the same `Frontend` records the nftables backend uses.
public struct IPVSContribution: Sendable, Hashable {
    /// Virtual services with their destinations, by key.
    public var entries: [VirtualServiceKey: ServiceEntry] = [:]
    /// For people and errors: how each virtual service was reached (`ClusterIP`, `NodePort`, … and port name).
    public var labels: [VirtualServiceKey: String] = [:]
    /// Service IPs to bind on the dummy interface so the kernel accepts them as local.
    public var addresses: Set<IPAddress> = []
    /// Elements of the IPVS mode's nftables sets (masquerade, reject, source ranges, hairpin).
    public var elements: Set<IPVSFilterTable.Element> = []
    /// Problems that kept a frontend out (an unsupported protocol).
    public var diagnostics: [String] = []

    public init() {}
}

/// Compiles a Service's frontends (ServiceProxy's compiled model) into its IPVS contribution. Pure.
public struct IPVSCompiler: Sendable {
    public let configuration: IPVSConfiguration

    public init(configuration: IPVSConfiguration) { self.configuration = configuration }

    /// - Parameters:
    ///   - name: the Service, named in diagnostics.
    ///   - frontends: `CompiledService.frontends` of that Service.
    public func compile(_ name: ServiceName, frontends: [Frontend]) -> IPVSContribution {
        var out = IPVSContribution()
        for frontend in frontends {
            guard let proto = IPVSProtocol(rawValue: UInt16(frontend.key.proto)) else {
                out.diagnostics.append(
                    "Service \(name): \(frontend.label) port \(frontend.portName) \(frontend.key): protocol "
                        + "\(frontend.key.proto) is not supported by IPVS (TCP, UDP and SCTP are); not programmed")
                continue
            }
            let destinations = frontend.endpoints.map {
                Destination(key: DestinationKey(address: $0.address, port: $0.port))
            }
            let persistence = frontend.affinitySeconds.map { UInt32(clamping: $0) }
            var addresses: [IPAddress] = []
            if let address = frontend.key.address {
                addresses = [address]
                out.addresses.insert(address)
            } else {
                addresses = configuration.nodeAddresses.filter { $0.family == frontend.key.family }
            }
            for address in addresses {
                let key = VirtualServiceKey(address: address, proto: proto, port: frontend.key.port)
                let service = VirtualService(
                    key: key, scheduler: configuration.scheduler, persistence: persistence,
                    flags: Self.schedulerFlags(configuration.scheduler))
                out.entries[key] = ServiceEntry(service: service, destinations: destinations)
                let portName = frontend.portName.isEmpty ? "" : " port \(frontend.portName)"
                out.labels[key] = "\(frontend.label)\(portName)"
            }
            out.elements.formUnion(IPVSFilterTable.elements(of: frontend, configuration: configuration))
        }
        return out
    }

    /// `sh` and `mh` hash a client to one destination: with the fallback flag a weight-0 (draining) destination
    /// hands its new clients to another one instead of dropping them, and hashing the port spreads one client's
    /// connections (`ipvsadm -b sh-fallback,sh-port`). Sluice always sets both for these two schedulers.
    static func schedulerFlags(_ scheduler: String) -> ServiceFlags {
        scheduler == "sh" || scheduler == "mh" ? [.schedulerFallback, .schedulerPort] : []
    }
}
