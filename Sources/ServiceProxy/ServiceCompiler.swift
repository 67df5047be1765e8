import KubeAPI
import NFTables

/// Compiles one Service and its endpoints into its contribution to the datapath (pure).
public struct ServiceCompiler: Sendable {
    public let layout: DatapathLayout

    public init(layout: DatapathLayout) { self.layout = layout }

    /// Services the proxy leaves alone: no virtual IP to program, or claimed by another proxy.
    public static func isProxied(_ service: Service) -> Bool {
        if service.metadata.labels["service.kubernetes.io/service-proxy-name"] != nil { return false }
        if service.spec.type == .externalName { return false }
        if service.spec.isHeadless || (service.spec.clusterIP ?? "").isEmpty { return false }
        return true
    }

    /// - Parameter endpoints: every endpoint of the Service by Service port name, both families.
    func compile(_ service: ServiceInput, endpoints: [String: [ServiceEndpoint]]) -> CompiledService {
        var out = CompiledService()
        guard service.isProxied else { return out }
        let config = layout.configuration
        let clusterIPs = service.clusterIPs
        let externalIPs = service.externalIPs
        let lbIPs = service.loadBalancerIPs
        let sourceRanges = service.sourceRanges
        let affinity = service.affinitySeconds
        let masquerade = !service.externalLocal
        var localForHealthCheck = 0
        var seen = Set<Frontend.Key>()

        for family in [AddressFamily.ipv4, .ipv6] where clusterIPs.contains(where: { $0.family == family }) {
            let clusterCIDRsKnown = config.clusterCIDRs.contains(where: { $0.family == family })
            for port in service.ports {
                guard let proto = port.proto, let servicePort = port.port else { continue }
                let candidates = (endpoints[port.name] ?? []).filter { $0.address.family == family }
                let selection = EndpointSelection.select(candidates, for: service, nodeZone: config.nodeZone)
                if service.externalLocal {
                    localForHealthCheck = max(localForHealthCheck, selection.localEndpointCount)
                }
                func targets(_ selected: [ServiceEndpoint]) -> [Frontend.Target] {
                    selected.map {
                        Frontend.Target(
                            address: $0.address, port: $0.port,
                            mayHairpin: $0.placement != .remote)
                    }
                }
                let clusterTargets = targets(selection.cluster)
                let externalTargets = targets(selection.external)
                func add(
                    _ kind: DatapathLayout.FrontendKind, _ address: IPAddress?, _ number: UInt16,
                    _ selected: [Frontend.Target], masquerade: Bool, isClusterIP: Bool = false,
                    sourceRanges: [IPCIDR]? = nil, label: String
                ) {
                    let key = Frontend.Key(family: family, kind: kind, address: address, proto: proto, port: number)
                    // The same IP listed twice (say as external IP and LoadBalancer IP) is one frontend.
                    guard seen.insert(key).inserted else { return }
                    // External frontends of a `Local` Service: in-cluster clients get the cluster endpoints.
                    let inCluster =
                        kind == .address && label == "ClusterIP" ? nil : (service.externalLocal ? clusterTargets : nil)
                    out.frontends.append(
                        Frontend(
                            key: key, endpoints: selected, internalEndpoints: inCluster,
                            rejectsWithoutEndpoints: !selection.hasUsableEndpoints,
                            affinitySeconds: affinity, masquerade: masquerade, isClusterIP: isClusterIP,
                            sourceRanges: sourceRanges, portName: port.name, label: label))
                }
                for ip in clusterIPs where ip.family == family {
                    add(
                        .address, ip, servicePort, clusterTargets, masquerade: false, isClusterIP: clusterCIDRsKnown,
                        label: "ClusterIP")
                }
                let ranges = sourceRanges.isEmpty ? nil : sourceRanges.filter { $0.family == family }
                for ip in externalIPs where ip.family == family {
                    add(
                        .address, ip, servicePort, externalTargets, masquerade: masquerade,
                        sourceRanges: lbIPs.contains(ip) ? ranges : nil, label: "externalIP")
                }
                for ip in lbIPs where ip.family == family {
                    add(
                        .address, ip, servicePort, externalTargets, masquerade: masquerade, sourceRanges: ranges,
                        label: "LoadBalancer")
                }
                if service.isExternallyReachable, let nodePort = port.nodePort {
                    add(.nodePort, nil, nodePort, externalTargets, masquerade: masquerade, label: "NodePort")
                }
            }
        }
        if service.externalLocal, service.isLoadBalancer, let port = service.healthCheckNodePort {
            out.healthCheck = HealthCheck(port: port, service: service.name, localEndpoints: localForHealthCheck)
        }
        return out
    }
}
