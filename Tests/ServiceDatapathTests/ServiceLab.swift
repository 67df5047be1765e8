import ConntrackNetlink
import Foundation
import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport
import Testing

/// A node with pods running name servers, an external host, and a ServiceSyncer programming the node —
/// the kube-proxy replacement under test with real packets.
struct ServiceLab {
    let topology: NodeTopology
    let syncer: ServiceSyncer
    static let nodeName = "node-a"
    static let clusterCIDRs = ["10.244.0.0/16", "fd00:10:244::/48"]

    static func configuration() -> ProxyConfiguration {
        ProxyConfiguration(nodeName: nodeName, clusterCIDRs: clusterCIDRs.compactMap(IPCIDR.init))
    }

    /// Runs `body` with a lab whose pods serve TCP and UDP 8080 with their names.
    static func run(
        pods: [String], hairpin: Bool = false, _ body: (ServiceLab) async throws -> Void
    ) async throws {
        try await withNodeTopology(NodeTopology.Configuration(pods: pods, hairpin: hairpin)) { topology in
            try topology.startNameServers(
                on: topology.pods.filter { $0.name != "client" }, tcpPorts: [8080], udpPorts: [8080])
            let syncer = try topology.node.run { () throws -> ServiceSyncer in
                var logger = Logger(label: "test")
                logger.logLevel = .warning
                return ServiceSyncer(
                    configuration: configuration(), connection: try NFTablesConnection(),
                    conntrack: try ConntrackConnection(), logger: logger)
            }
            try await body(ServiceLab(topology: topology, syncer: syncer))
        }
    }

    var client: TestNamespace { topology[pod: "client"]!.namespace }

    func pod(_ name: String) -> NodeTopology.Pod { topology[pod: name]! }

    /// Programs the given Services and slices (as a manifest snapshot).
    @discardableResult
    func sync(_ services: [Service], _ slices: [EndpointSlice]) async throws -> ServiceSyncer.Report {
        var snapshot = ManifestSet()
        snapshot.services = services
        snapshot.endpointSlices = slices
        return try await syncer.sync(snapshot)
    }

    /// An EndpointSlice for pods of this lab, by name (ready unless listed in `notReady`).
    func slice(
        _ service: String, _ pods: [String], notReady: Set<String> = [], family: AddressFamily = .ipv4,
        port: Int = 8080, portName: String = "http", protocol: TransportProtocol = .tcp, node: String = nodeName
    ) -> EndpointSlice {
        EndpointSlice(
            metadata: ObjectMeta(
                name: "\(service)-\(family == .ipv4 ? "v4" : "v6")-\(portName)", namespace: "default",
                labels: [EndpointSlice.serviceNameLabel: service]),
            addressType: family == .ipv4 ? .ipv4 : .ipv6,
            endpoints: pods.map { name in
                let pod = self.pod(name)
                let ready = !notReady.contains(name)
                return Endpoint(
                    addresses: [family == .ipv4 ? pod.ipv4 : pod.ipv6],
                    conditions: EndpointConditions(ready: ready, serving: ready, terminating: false), nodeName: node)
            },
            ports: [EndpointSlicePort(name: portName, port: port, protocol: `protocol`)])
    }

    static func service(
        _ name: String, clusterIPs: [String] = ["10.96.0.10"], type: ServiceType = .clusterIP,
        ports: [ServicePort] = [ServicePort(name: "http", port: 80, targetPort: .int(8080))],
        configure: @Sendable (inout Service) -> Void = { _ in }
    ) -> Service {
        var service = Service(
            metadata: ObjectMeta(name: name, namespace: "default"),
            spec: ServiceSpec(
                type: type, clusterIP: clusterIPs.first, clusterIPs: clusterIPs,
                ipFamilies: clusterIPs.map { $0.contains(":") ? .ipv6 : .ipv4 }, ports: ports))
        configure(&service)
        return service
    }

    /// What `sluice trace` says about a connection, compiled from the same objects the lab programmed.
    func trace(
        _ services: [Service], _ slices: [EndpointSlice], from source: String, to destination: String, port: UInt16,
        protocol: TransportProtocol = .tcp
    ) -> ServiceTraceResult {
        var proxy = ServiceProxy(configuration: Self.configuration())
        proxy.replaceAll(services: services, endpointSlices: slices)
        _ = proxy.sync()
        let local =
            [topology.gatewayIPv4, topology.gatewayIPv6] + (topology.external.map { [$0.nodeIPv4, $0.nodeIPv6] } ?? [])
        return proxy.trace(
            ServiceTraceRequest(
                source: IPAddress(source)!, destination: IPAddress(destination)!, port: port, protocol: `protocol`,
                localAddresses: local.compactMap(IPAddress.init)))
    }

    /// Pod names of a trace's candidate endpoints.
    func podNames(_ result: ServiceTraceResult) -> Set<String> {
        Set(
            result.endpoints.compactMap { candidate in
                topology.pods.first {
                    candidate.endpoint.hasPrefix($0.ipv4 + ":") || candidate.endpoint.hasPrefix("[\($0.ipv6)]:")
                }?.name
            })
    }

    /// The node's table as the kernel holds it.
    func kernelTable() throws -> KernelTable? {
        try topology.node.run { () throws -> KernelTable? in
            try NFTablesConnection().listTable(TableRef(family: .inet, name: "sluice"))
        }
    }
}

extension Dictionary where Key == String, Value == Int {
    /// The server names that answered (failures are tallied under bracketed keys).
    var servers: Set<String> { Set(keys.filter { !$0.hasPrefix("[") }) }
}
