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
    public func compile(_ service: Service, endpoints: [String: [ServiceEndpoint]]) -> ServiceContribution {
        var out = ServiceContribution()
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
        var localForHealthCheck = 0

        for family in [AddressFamily.ipv4, .ipv6] where clusterIPs.contains(where: { $0.family == family }) {
            let f = DatapathLayout.Family.of(family)
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
                let noEndpointsVerdict: Verdict =
                    selection.hasUsableEndpoints ? .drop : .goto(DatapathLayout.rejectChain)

                let protocolValue = Value.inetProtocol(proto)
                func frontendKey(_ ip: IPAddress) -> ElementKey {
                    ElementKey([value(ip), protocolValue, .port(servicePort)])
                }
                /// Dispatch for one frontend: to a pick chain over its endpoints (each frontend has its own
                /// `frontend . slot` elements), or to reject/drop when there are none.
                func program(_ key: ElementKey, _ selected: [ServiceEndpoint], kind: DatapathLayout.FrontendKind) {
                    let (verdicts, endpointMap, none, affinityMap) =
                        kind == .address
                        ? (f.serviceIPs, f.endpoints, f.noEndpoints, f.affinityFrontends)
                        : (f.nodePorts, f.nodePortEndpoints, f.noEndpointNodePorts, f.affinityNodePorts)
                    guard !selected.isEmpty else {
                        out.add(none, SetElement(key: key, data: .verdict(noEndpointsVerdict)))
                        return
                    }
                    let pick = DatapathLayout.DynamicChain.pick(family, kind, endpoints: selected.count)
                    out.chains.insert(pick)
                    out.add(verdicts, SetElement(key: key, data: .verdict(.goto(pick.name))))
                    for (slot, endpoint) in selected.enumerated() {
                        let slotKey = ElementKey(key.firsts + [.mark(UInt32(slot))])
                        let target = ElementData.values([value(endpoint.address), .port(endpoint.port)])
                        out.add(endpointMap, SetElement(key: slotKey, data: target))
                        out.add(
                            f.hairpin, SetElement(key: ElementKey([value(endpoint.address), value(endpoint.address)])))
                    }
                    if let affinity {
                        let remember = DatapathLayout.DynamicChain.remember(family, seconds: affinity)
                        out.chains.insert(remember)
                        out.add(affinityMap, SetElement(key: key, data: .verdict(.jump(remember.name))))
                    }
                }

                for ip in clusterIPs where ip.family == family {
                    let key = frontendKey(ip)
                    program(key, selection.cluster, kind: .address)
                    if config.clusterCIDRs.contains(where: { $0.family == family }) {
                        out.add(f.clusterIPFrontends, SetElement(key: key))
                    }
                    if port.protocol == .udp {
                        out.udpFrontends.insert(
                            UDPFrontend(
                                address: ip, port: servicePort, endpoints: Set(selection.cluster.map(\.address))))
                    }
                }
                let masquerade = service.spec.externalTrafficPolicy != .local
                for ip in (externalIPs + lbIPs) where ip.family == family {
                    let key = frontendKey(ip)
                    program(key, selection.external, kind: .address)
                    if masquerade { out.add(f.masqueradeFrontends, SetElement(key: key)) }
                    if lbIPs.contains(ip) && !sourceRanges.isEmpty {
                        out.add(f.firewalledFrontends, SetElement(key: key))
                        for range in sourceRanges where range.family == family {
                            let (first, last) = value(range.network).prefixRange(length: range.prefixLength)
                            let rangeKey = ElementKey(ranges: [
                                (value(ip), value(ip)), (protocolValue, protocolValue),
                                (.port(servicePort), .port(servicePort)),
                                (first, last),
                            ])
                            out.add(f.sourceRanges, SetElement(key: rangeKey))
                        }
                    }
                    if port.protocol == .udp {
                        out.udpFrontends.insert(
                            UDPFrontend(
                                address: ip, port: servicePort, endpoints: Set(selection.external.map(\.address))))
                    }
                }
                if service.spec.type.isExternallyReachable, let nodePort = port.nodePort.flatMap(UInt16.init(exactly:))
                {
                    let key = ElementKey([protocolValue, .port(nodePort)])
                    program(key, selection.external, kind: .nodePort)
                    if masquerade { out.add(f.masqueradeNodePorts, SetElement(key: key)) }
                    if port.protocol == .udp {
                        out.udpFrontends.insert(
                            UDPFrontend(address: nil, port: nodePort, endpoints: Set(selection.external.map(\.address)))
                        )
                    }
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
