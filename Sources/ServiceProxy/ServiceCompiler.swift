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
    public func compile(_ service: Service, endpoints: [String: [ServiceEndpoint]]) -> CompiledService {
        var out = CompiledService()
        let config = layout.configuration
        let name = ServiceName(namespace: service.metadata.namespace, name: service.metadata.name)
        let clusterIPs = service.spec.clusterIPs.compactMap(IPAddress.init)
        let externalIPs = service.spec.externalIPs.compactMap(IPAddress.init)
        let lbIPs =
            service.spec.type == .loadBalancer
            ? service.status.loadBalancer.ingress.compactMap { $0.ip }.compactMap(IPAddress.init) : []
        let sourceRanges = service.spec.loadBalancerSourceRanges.compactMap(IPCIDR.init)
        let affinity =
            service.spec.sessionAffinity == .clientIP
            ? (service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : nil
        let masquerade = service.spec.externalTrafficPolicy != .local
        var localForHealthCheck = 0
        var seen = Set<Frontend.Key>()

        for family in [AddressFamily.ipv4, .ipv6] where clusterIPs.contains(where: { $0.family == family }) {
            let clusterCIDRsKnown = config.clusterCIDRs.contains(where: { $0.family == family })
            for port in service.spec.ports {
                guard let proto = protocolNumber(port.protocol), let servicePort = UInt16(exactly: port.port) else {
                    continue
                }
                let candidates = (endpoints[port.name] ?? []).filter { $0.address.family == family }
                let selection = EndpointSelection.select(
                    candidates, for: service, nodeName: config.nodeName, nodeZone: config.nodeZone)
                if service.spec.externalTrafficPolicy == .local {
                    localForHealthCheck = max(localForHealthCheck, selection.localEndpointCount)
                }
                func targets(_ selected: [ServiceEndpoint]) -> [Frontend.Target] {
                    selected.map {
                        Frontend.Target(
                            address: $0.address, port: $0.port,
                            mayHairpin: $0.nodeName == nil || $0.nodeName == config.nodeName)
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
                    out.frontends.append(
                        Frontend(
                            key: key, endpoints: selected, rejectsWithoutEndpoints: !selection.hasUsableEndpoints,
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
                if service.spec.type.isExternallyReachable, let nodePort = port.nodePort.flatMap(UInt16.init(exactly:))
                {
                    add(.nodePort, nil, nodePort, externalTargets, masquerade: masquerade, label: "NodePort")
                }
            }
        }
        if service.spec.externalTrafficPolicy == .local, service.spec.type == .loadBalancer,
            let port = service.spec.healthCheckNodePort.flatMap(UInt16.init(exactly:))
        {
            out.healthCheck = HealthCheck(port: port, service: name, localEndpoints: localForHealthCheck)
        }
        return out
    }

    private func protocolNumber(_ p: TransportProtocol) -> UInt8? {
        switch p {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .unrecognized: nil
        }
    }
}
