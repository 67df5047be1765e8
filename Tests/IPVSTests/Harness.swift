import IPVS
import KubeAPI
import ServiceProxy

/// The IPVS backend's pure half as the syncer drives it — ServiceProxy compiles, IPVSProxier derives virtual
/// services, IPVSDiff turns them into requests — against a model of the kernel's table instead of a kernel.
struct Harness {
    var proxy: ServiceProxy
    var ipvs: IPVSProxier
    var kernel: [VirtualServiceKey: ServiceEntry] = [:]
    var addresses: Set<IPAddress> = []

    init(
        scheduler: String = "rr", nodeAddresses: [String] = ["192.168.1.10"], clusterCIDRs: [String] = [],
        node: String = "node-a"
    ) {
        let cidrs = clusterCIDRs.compactMap(IPCIDR.init)
        proxy = ServiceProxy(configuration: ProxyConfiguration(nodeName: node, clusterCIDRs: cidrs))
        ipvs = IPVSProxier(
            configuration: IPVSConfiguration(
                scheduler: scheduler, nodeAddresses: nodeAddresses.compactMap(IPAddress.init), clusterCIDRs: cidrs))
    }

    struct Round {
        var operations: [IPVSOperation]
        var changes: IPVSProxier.Changes
    }

    /// One sync: the operations sent, applied to the kernel model.
    @discardableResult
    mutating func sync(_ services: [Service], _ slices: [EndpointSlice]) -> Round {
        proxy.replaceAll(services: services, endpointSlices: slices)
        let sync = proxy.sync()
        var changes = IPVSProxier.Changes()
        for name in sync.changedServices.sorted() {
            ipvs.update(name, frontends: proxy.compiled(name)?.frontends ?? [], into: &changes)
        }
        let operations = IPVSDiff.operations(from: kernel, to: ipvs.desired, keys: changes.keys)
        for operation in operations { IPVSDiff.apply(operation, to: &kernel) }
        addresses.formUnion(changes.addressesAdded)
        addresses.subtract(changes.addressesRemoved)
        return Round(operations: operations, changes: changes)
    }

    /// `ipvsadm -Ln`-like lines of the kernel model: `TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1, …`.
    var table: [String] {
        kernel.keys.sorted().map { key in
            let entry = kernel[key]!
            let destinations = entry.destinations.keys.sorted().map { "\($0) w\(entry.destinations[$0]!.weight)" }
            return "\(entry.service)" + (destinations.isEmpty ? "" : " -> " + destinations.joined(separator: ", "))
        }
    }
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
