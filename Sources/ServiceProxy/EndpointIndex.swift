import KubeAPI

/// Turns EndpointSlices (or, for selectorless Services without slices, manual `Endpoints`) into endpoints per
/// Service port name — the input `ServiceCompiler` needs.
public enum EndpointIndex {
    /// Endpoints by Service port name from all slices of one Service (any address type).
    public static func endpoints(fromSlices slices: [EndpointSlice]) -> [String: [ServiceEndpoint]] {
        var byPort: [String: Set<ServiceEndpoint>] = [:]
        for slice in slices where slice.addressType == .ipv4 || slice.addressType == .ipv6 {
            for port in slice.ports {
                guard let number = port.port.flatMap(UInt16.init(exactly:)) else { continue }
                for endpoint in slice.endpoints {
                    for text in endpoint.addresses {
                        guard let address = IPAddress(text) else { continue }
                        byPort[port.name, default: []].insert(
                            ServiceEndpoint(
                                address: address, port: number, nodeName: endpoint.nodeName, zone: endpoint.zone,
                                isReady: endpoint.conditions.isReady, isServing: endpoint.conditions.isServing,
                                isTerminating: endpoint.conditions.isTerminating,
                                zoneHints: endpoint.hints?.forZones.map(\.name) ?? []))
                    }
                }
            }
        }
        return byPort.mapValues { $0.sorted() }
    }

    /// Endpoints by port name from a manual `Endpoints` object (ready and not-ready addresses).
    public static func endpoints(fromEndpoints object: Endpoints) -> [String: [ServiceEndpoint]] {
        var byPort: [String: Set<ServiceEndpoint>] = [:]
        for subset in object.subsets {
            for port in subset.ports {
                guard let number = UInt16(exactly: port.port) else { continue }
                let ready = subset.addresses.map { ($0, true) }
                let notReady = subset.notReadyAddresses.map { ($0, false) }
                for (address, isReady) in ready + notReady {
                    guard let ip = IPAddress(address.ip) else { continue }
                    byPort[port.name, default: []].insert(
                        ServiceEndpoint(
                            address: ip, port: number, nodeName: address.nodeName, isReady: isReady,
                            isServing: isReady))
                }
            }
        }
        return byPort.mapValues { $0.sorted() }
    }
}
