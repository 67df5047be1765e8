import KubeAPI
import ServiceProxy

/// Builders for Services and EndpointSlices as the API server would return them, shared by the test targets
/// that compile Services (the nftables layout's and the IPVS backend's) or run `sluiced` on them.
public enum Fixture {
    public static func service(
        _ name: String, namespace: String = "default", clusterIP: String = "10.96.0.10", type: ServiceType = .clusterIP,
        ports: [ServicePort] = [ServicePort(name: "http", port: 80, targetPort: .string("http"))],
        configure: @Sendable (inout ServiceSpec) -> Void = { _ in }
    ) -> Service {
        var spec = ServiceSpec(type: type, clusterIP: clusterIP, clusterIPs: [clusterIP], ports: ports)
        configure(&spec)
        return Service(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec)
    }

    /// One endpoint of a slice: ready (and serving) on node-a unless told otherwise.
    public struct EP: Sendable {
        public var ip: String
        public var node: String?
        public var ready: Bool
        public var serving: Bool?
        public var terminating: Bool
        public var zone: String?
        public var hints: [String]

        public init(
            ip: String, node: String? = "node-a", ready: Bool = true, serving: Bool? = nil, terminating: Bool = false,
            zone: String? = nil, hints: [String] = []
        ) {
            self.ip = ip
            self.node = node
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
            self.zone = zone
            self.hints = hints
        }
    }

    public static func slice(
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

    public static func proxy(
        _ node: String = "node-a", zone: String? = nil, clusterCIDRs: [String] = []
    ) -> ServiceProxy {
        ServiceProxy(
            configuration: ProxyConfiguration(
                nodeName: node, nodeZone: zone, clusterCIDRs: clusterCIDRs.compactMap(IPCIDR.init)))
    }

    /// A Node of zone `zone` and a `PreferClose` Service whose two endpoints are hinted for zones a and b: the
    /// manifest set the zone-following tests of both sources (`--manifests` and the API server) load.
    public static func zonedServiceManifests(zone: String) -> String {
        """
        apiVersion: v1
        kind: Node
        metadata: {name: node-a, labels: {topology.kubernetes.io/zone: \(zone)}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: zoned, namespace: default}
        spec:
          clusterIP: 10.96.0.20
          clusterIPs: [10.96.0.20]
          trafficDistribution: PreferClose
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: zoned-abc, namespace: default, labels: {kubernetes.io/service-name: zoned}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.1.2], zone: a, hints: {forZones: [{name: a}]}, conditions: {ready: true}}
        - {addresses: [10.244.2.2], zone: b, hints: {forZones: [{name: b}]}, conditions: {ready: true}}
        """
    }
}
