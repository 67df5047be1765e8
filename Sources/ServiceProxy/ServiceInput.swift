import KubeAPI

/// What the compiler needs from a Service, parsed once when the object arrives.
///
/// The proxier keeps these instead of the API objects: a Service object with its metadata is a few kilobytes,
/// and an EndpointSlice of ten endpoints several more (names, target references, hints, labels), while the
/// datapath needs addresses, ports and a few flags. Equal inputs compile to equal frontends, so comparing
/// inputs is also how a changed Service is found.
struct ServiceInput: Sendable, Hashable {
    struct Port: Sendable, Hashable {
        var name: String
        /// `nil` for a protocol the datapath cannot match (the port is skipped).
        var proto: UInt8?
        var port: UInt16?
        var nodePort: UInt16?
    }

    var name: ServiceName
    var isProxied: Bool
    var isExternallyReachable: Bool
    var isLoadBalancer: Bool
    var clusterIPs: [IPAddress]
    var externalIPs: [IPAddress]
    var loadBalancerIPs: [IPAddress]
    var sourceRanges: [IPCIDR]
    var ports: [Port]
    var affinitySeconds: Int?
    var externalLocal: Bool
    var internalLocal: Bool
    /// The Service asks for topology-aware routing (`trafficDistribution` or the `topology-mode` annotation).
    var wantsHints: Bool
    var healthCheckNodePort: UInt16?

    init(_ service: Service) {
        let spec = service.spec
        name = ServiceName(namespace: service.metadata.namespace, name: service.metadata.name)
        isProxied = ServiceCompiler.isProxied(service)
        isExternallyReachable = spec.type.isExternallyReachable
        isLoadBalancer = spec.type == .loadBalancer
        clusterIPs = spec.clusterIPs.compactMap(IPAddress.init)
        externalIPs = spec.externalIPs.compactMap(IPAddress.init)
        loadBalancerIPs =
            isLoadBalancer ? service.status.loadBalancer.ingress.compactMap { $0.ip }.compactMap(IPAddress.init) : []
        sourceRanges = spec.loadBalancerSourceRanges.compactMap(IPCIDR.init)
        ports = spec.ports.map { port in
            Port(
                name: port.name, proto: Self.protocolNumber(port.protocol), port: UInt16(exactly: port.port),
                nodePort: port.nodePort.flatMap(UInt16.init(exactly:)))
        }
        affinitySeconds =
            spec.sessionAffinity == .clientIP ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : nil
        externalLocal = spec.externalTrafficPolicy == .local
        internalLocal = spec.internalTrafficPolicy == .local
        let mode = service.metadata.annotations[EndpointSelection.topologyModeAnnotation]?.lowercased()
        wantsHints =
            mode == "auto" || spec.trafficDistribution == .preferClose || spec.trafficDistribution == .preferSameZone
        healthCheckNodePort = spec.healthCheckNodePort.flatMap(UInt16.init(exactly:))
    }

    static func protocolNumber(_ p: TransportProtocol) -> UInt8? {
        switch p {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .unrecognized: nil
        }
    }
}

/// The endpoints of one EndpointSlice (or one subset of a manual `Endpoints` object), parsed once.
struct EndpointsInput: Sendable, Hashable {
    struct Port: Sendable, Hashable {
        var name: String
        var number: UInt16
    }

    var ports: [Port]
    var endpoints: [ServiceEndpoint]

    /// An EndpointSlice; FQDN slices and unparsable addresses contribute nothing.
    init(_ slice: EndpointSlice, nodeName: String) {
        ports = slice.ports.compactMap { port in
            port.port.flatMap(UInt16.init(exactly:)).map { Port(name: port.name, number: $0) }
        }
        guard slice.addressType == .ipv4 || slice.addressType == .ipv6 else {
            endpoints = []
            return
        }
        endpoints = []
        endpoints.reserveCapacity(slice.endpoints.count)
        for endpoint in slice.endpoints {
            let hints = endpoint.hints?.forZones.map(\.name) ?? []
            for text in endpoint.addresses {
                guard let address = IPAddress(text) else { continue }
                endpoints.append(
                    ServiceEndpoint(
                        address: address, port: 0, placement: .of(endpoint.nodeName, local: nodeName),
                        isReady: endpoint.conditions.isReady, isServing: endpoint.conditions.isServing,
                        isTerminating: endpoint.conditions.isTerminating, zoneHints: hints))
            }
        }
    }

    /// One subset of a manual `Endpoints` object (ready and not-ready addresses).
    init(_ subset: EndpointSubset, nodeName: String) {
        ports = subset.ports.compactMap { port in
            UInt16(exactly: port.port).map { Port(name: port.name, number: $0) }
        }
        let ready = subset.addresses.map { ($0, true) }
        let notReady = subset.notReadyAddresses.map { ($0, false) }
        endpoints = (ready + notReady).compactMap { address, isReady in
            IPAddress(address.ip).map {
                ServiceEndpoint(
                    address: $0, port: 0, placement: .of(address.nodeName, local: nodeName), isReady: isReady,
                    isServing: isReady)
            }
        }
    }

    /// Endpoints by Service port name from several inputs of one Service, deduplicated and in slot order.
    static func byPort(_ inputs: [EndpointsInput]) -> [String: [ServiceEndpoint]] {
        var byPort: [String: [ServiceEndpoint]] = [:]
        for input in inputs {
            for port in input.ports {
                var list = byPort.removeValue(forKey: port.name) ?? []
                list.reserveCapacity(list.count + input.endpoints.count)
                for endpoint in input.endpoints {
                    var copy = endpoint
                    copy.port = port.number
                    list.append(copy)
                }
                byPort[port.name] = list
            }
        }
        // Sorted, then the same endpoint listed twice (two slices, or twice in one) kept once: cheaper than
        // hashing every endpoint into a set, and the result is in slot order anyway.
        return byPort.mapValues { list in
            var sorted = list.sorted()
            var unique = 0
            for i in sorted.indices {
                if unique > 0 && sorted[unique - 1] == sorted[i] { continue }
                if unique != i { sorted.swapAt(unique, i) }
                unique += 1
            }
            sorted.removeLast(sorted.count - unique)
            return sorted
        }
    }
}
