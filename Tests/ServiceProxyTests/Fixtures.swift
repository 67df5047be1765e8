import KubeAPI
import NFTables
import ServiceProxy

/// Builders for Services and EndpointSlices as the API server would return them.
enum Fixture {
    static func service(
        _ name: String, namespace: String = "default", clusterIP: String = "10.96.0.10", type: ServiceType = .clusterIP,
        ports: [ServicePort] = [ServicePort(name: "http", port: 80, targetPort: .string("http"))],
        configure: @Sendable (inout ServiceSpec) -> Void = { _ in }
    ) -> Service {
        var spec = ServiceSpec(type: type, clusterIP: clusterIP, clusterIPs: [clusterIP], ports: ports)
        configure(&spec)
        return Service(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec)
    }

    struct EP {
        var ip: String
        var node: String? = "node-a"
        var ready = true
        var serving: Bool? = nil
        var terminating = false
        var zone: String? = nil
        var hints: [String] = []
    }

    static func slice(
        _ service: String, namespace: String = "default", name: String? = nil, family: EndpointSliceAddressType = .ipv4,
        port: Int = 8080, portName: String = "http", protocol: TransportProtocol = .tcp, _ endpoints: [EP]
    ) -> EndpointSlice {
        EndpointSlice(
            metadata: ObjectMeta(
                name: name ?? "\(service)-\(family.rawValue.lowercased())", namespace: namespace,
                labels: [EndpointSlice.serviceNameLabel: service]),
            addressType: family,
            endpoints: endpoints.map { ep in
                Endpoint(
                    addresses: [ep.ip],
                    conditions: EndpointConditions(
                        ready: ep.ready, serving: ep.serving ?? ep.ready, terminating: ep.terminating),
                    nodeName: ep.node, zone: ep.zone,
                    hints: ep.hints.isEmpty ? nil : EndpointHints(forZones: ep.hints.map(ForZone.init)))
            },
            ports: [EndpointSlicePort(name: portName, port: port, protocol: `protocol`)])
    }

    static func proxy(_ node: String = "node-a", zone: String? = nil, clusterCIDRs: [String] = []) -> ServiceProxy {
        ServiceProxy(
            configuration: ProxyConfiguration(
                nodeName: node, nodeZone: zone, clusterCIDRs: clusterCIDRs.compactMap(IPCIDR.init)))
    }
}

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
