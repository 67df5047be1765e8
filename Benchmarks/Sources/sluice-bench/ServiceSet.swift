import KubeAPI

/// The synthetic cluster every Service scenario programs: `count` ClusterIP Services (TCP 80 → 8080, port
/// name `http`), each with `endpointsPerService` ready endpoints.
///
/// Sluice and the kube-proxy layouts are all generated from this one description, so every implementation in a
/// run programs exactly the same Services. Addresses stay inside the project's test ranges:
///
/// - ClusterIPs: `10.96.0.0/16` upwards (Service `i` gets `10.96.0.0 + i + 1`).
/// - Endpoints of ordinary Services: `10.100.0.0/14` upwards, unique per Service and slot. They are map entries
///   only: no interface has them, so no packet can reach them.
/// - The *probe* Service (index `count / 2`, the expected position in kube-proxy's linear iptables list) has
///   its endpoints on the datapath topology's server namespace, `10.244.1.2…`, so connections to its ClusterIP
///   are answered.
/// - Replacement endpoints used by the churn scenarios: `10.108.0.0/14` upwards.
struct ServiceSet: Sendable {
    let count: Int
    let endpointsPerService: Int

    /// The namespace all generated Services live in.
    static let namespace = "bench"
    static let servicePort = 80
    static let targetPort = 8080
    static let portName = "http"
    /// Pod CIDR of the benchmark cluster: client and server namespaces live inside it (no masquerade needed).
    static let clusterCIDR = "10.244.0.0/16"
    static let serviceCIDR = "10.96.0.0/12"
    /// The node's address on the server link (also the `nodeport-ips` element of the kube-proxy layout).
    static let nodeAddress = "10.244.1.1"

    var probeIndex: Int { count / 2 }
    var endpointCount: Int { count * endpointsPerService }
    var label: String { "\(count) × \(endpointsPerService)" }

    func name(_ index: Int) -> String { "svc-\(index)" }

    func clusterIP(_ index: Int) -> String { dotted(0x0A60_0000 &+ UInt32(index + 1)) }

    /// Endpoint `slot` of Service `index`; `generation` > 0 gives the replacement used by churn scenarios.
    func endpoint(_ index: Int, _ slot: Int, generation: Int = 0) -> String {
        if index == probeIndex && generation == 0 { return dotted(0x0AF4_0100 &+ UInt32(slot + 2)) }
        let base: UInt32 = generation == 0 ? 0x0A64_0000 : 0x0A6C_0000
        return dotted(base &+ UInt32(index * endpointsPerService + slot))
    }

    func service(_ index: Int) -> Service {
        let ip = clusterIP(index)
        return Service(
            metadata: ObjectMeta(name: name(index), namespace: Self.namespace),
            spec: ServiceSpec(
                type: .clusterIP, clusterIP: ip, clusterIPs: [ip], ipFamilies: [.ipv4],
                ports: [ServicePort(name: Self.portName, port: Self.servicePort, targetPort: .int(Self.targetPort))]))
    }

    /// The Service's one EndpointSlice; `changedSlot` (if any) points at a replacement address.
    func slice(_ index: Int, changedSlot: Int? = nil) -> EndpointSlice {
        let endpoints = (0..<endpointsPerService).map { slot in
            Endpoint(
                addresses: [endpoint(index, slot, generation: slot == changedSlot ? 1 : 0)],
                conditions: EndpointConditions(ready: true, serving: true, terminating: false), nodeName: "node-b")
        }
        return EndpointSlice(
            metadata: ObjectMeta(
                name: "\(name(index))-abcde", namespace: Self.namespace,
                labels: [EndpointSlice.serviceNameLabel: name(index)]),
            addressType: .ipv4, endpoints: endpoints,
            ports: [EndpointSlicePort(name: Self.portName, port: Self.targetPort)])
    }

    /// Everything, as the manifest source or an API relist hands it to the proxier.
    func manifests() -> ManifestSet {
        var set = ManifestSet()
        set.services.reserveCapacity(count)
        set.endpointSlices.reserveCapacity(count)
        for i in 0..<count {
            set.services.append(service(i))
            set.endpointSlices.append(slice(i))
        }
        return set
    }

    /// The Services a 1% churn touches: spread over the set, never the probe (its endpoints must stay real).
    var churnIndices: [Int] {
        let touched = max(1, count / 100)
        return (0..<touched).map { ($0 * 100 + 7) % count }.filter { $0 != probeIndex }
    }

    /// The Service whose one endpoint changes in the single-change scenario (the probe's neighbour).
    var changedIndex: Int { (probeIndex + 1) % count }
}

/// `a.b.c.d` of a host-order IPv4 address.
func dotted(_ address: UInt32) -> String {
    "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
}
