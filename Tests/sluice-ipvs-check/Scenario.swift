import IPVS
import KubeAPI
import ServiceProxy

/// The Services every check programs: one of each kind the IPVS mode handles.
enum Scenario {
    static let nodeName = "node-a"
    static let clusterCIDR = "10.244.0.0/16"

    static func service(
        _ name: String, clusterIP: String, type: ServiceType = .clusterIP,
        ports: [ServicePort] = [ServicePort(name: "http", port: 80, targetPort: .int(8080))],
        configure: @Sendable (inout ServiceSpec) -> Void = { _ in }
    ) -> Service {
        var spec = ServiceSpec(type: type, clusterIP: clusterIP, clusterIPs: [clusterIP], ports: ports)
        configure(&spec)
        return Service(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
    }

    static func slice(
        _ service: String, port: Int = 8080, portName: String = "http", protocol: TransportProtocol = .tcp,
        _ ips: [String], node: String = nodeName, family: EndpointSliceAddressType = .ipv4
    ) -> EndpointSlice {
        EndpointSlice(
            metadata: ObjectMeta(
                name: "\(service)-\(portName)-\(family.rawValue.lowercased())", namespace: "default",
                labels: [EndpointSlice.serviceNameLabel: service]),
            addressType: family,
            endpoints: ips.map {
                Endpoint(
                    addresses: [$0], conditions: EndpointConditions(ready: true, serving: true, terminating: false),
                    nodeName: node)
            },
            ports: [EndpointSlicePort(name: portName, port: port, protocol: `protocol`)])
    }

    /// ClusterIP, NodePort, LoadBalancer with externalIPs and source ranges, ClientIP affinity, UDP and SCTP, a
    /// Service without endpoints, and an IPv6 ClusterIP.
    static func catalogue() -> ManifestSet {
        var set = ManifestSet()
        var lb = service(
            "lb", clusterIP: "10.96.0.20", type: .loadBalancer,
            ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
        ) {
            $0.externalIPs = ["192.0.2.50"]
            $0.loadBalancerSourceRanges = ["198.51.100.0/24"]
        }
        lb.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "203.0.113.7")]
        set.services = [
            service("web", clusterIP: "10.96.0.10"),
            lb,
            service("sticky", clusterIP: "10.96.0.30") {
                $0.sessionAffinity = .clientIP
                $0.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 30))
            },
            service(
                "dns", clusterIP: "10.96.0.53",
                ports: [
                    ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: .int(53)),
                    ServicePort(name: "sig", protocol: .sctp, port: 3868, targetPort: .int(3868)),
                ]),
            service("empty", clusterIP: "10.96.0.99"),
            service("web6", clusterIP: "fd00:96::10") {
                $0.ipFamilies = [.ipv6]
            },
        ]
        set.endpointSlices = [
            slice("web", ["10.244.2.2", "10.244.3.2"]),
            slice("lb", ["10.244.2.2", "10.244.3.2"]),
            slice("sticky", ["10.244.2.2", "10.244.3.2"]),
            slice("dns", port: 53, portName: "dns", protocol: .udp, ["10.244.2.2"]),
            slice("dns", port: 3868, portName: "sig", protocol: .sctp, ["10.244.3.2"]),
            slice("web6", ["fd00:244:2::2", "fd00:244:3::2"], family: .ipv6),
        ]
        return set
    }

    /// The virtual services the catalogue must compile to, derived by the pure half alone (no kernel).
    static func expected(
        _ set: ManifestSet, scheduler: String, nodeAddresses: [IPAddress]
    ) -> (
        [VirtualServiceKey: ServiceEntry], Set<IPAddress>
    ) {
        let configuration = ProxyConfiguration(nodeName: nodeName, clusterCIDRs: [IPCIDR(clusterCIDR)!])
        var proxy = ServiceProxy(configuration: configuration)
        proxy.replaceAll(services: set.services, endpointSlices: set.endpointSlices)
        let sync = proxy.sync()
        var ipvs = IPVSProxier(
            configuration: IPVSConfiguration(
                scheduler: scheduler, nodeAddresses: nodeAddresses, clusterCIDRs: configuration.clusterCIDRs))
        var changes = IPVSProxier.Changes()
        for name in sync.changedServices.sorted() {
            ipvs.update(name, frontends: proxy.compiled(name)?.frontends ?? [], into: &changes)
        }
        return (ipvs.desired, ipvs.addresses)
    }
}
