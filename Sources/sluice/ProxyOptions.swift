import ArgumentParser
import KubeAPI
import ServiceProxy

/// The node-specific settings shared by commands that compile Services (`compile`, `trace`).
struct ProxyOptions: ParsableArguments {
    @Option(name: [.short, .customLong("filename")], help: "A manifest file or directory (YAML or JSON); repeatable.")
    var files: [String] = []

    @Option(help: "The node to compile for: decides local endpoints and, with its Node object, its zone.")
    var nodeName = "node"

    @Option(
        name: .customLong("cluster-cidr"),
        help: "A pod CIDR of the cluster (repeatable); ClusterIP traffic from outside is masqueraded.")
    var clusterCIDRs: [String] = []

    @Option(
        name: .customLong("nodeport-addresses"),
        help: "CIDRs whose local addresses answer NodePorts (repeatable; default: all but loopback).")
    var nodePortAddresses: [String] = []

    func configuration(nodes: [Node]) throws -> ProxyConfiguration {
        func parse(_ texts: [String], _ flag: String) throws -> [IPCIDR] {
            try texts.map { text in
                guard let cidr = IPCIDR(text) else { throw ValidationError("--\(flag) \(text): not a CIDR") }
                return cidr
            }
        }
        let zone = nodes.first { $0.metadata.name == nodeName }?.metadata.labels["topology.kubernetes.io/zone"]
        return ProxyConfiguration(
            nodeName: nodeName, nodeZone: zone, clusterCIDRs: try parse(clusterCIDRs, "cluster-cidr"),
            nodePortAddresses: try parse(nodePortAddresses, "nodeport-addresses"))
    }

    /// Loads the manifests, printing every diagnostic on stderr; `rejected` tells whether any was an error.
    func load() -> (manifests: ManifestSet, rejected: Bool) {
        let manifests = ManifestLoader().load(paths: files)
        var rejected = false
        for diagnostic in manifests.diagnostics {
            printError(diagnostic.description)
            if diagnostic.severity == .error { rejected = true }
        }
        return (manifests, rejected)
    }

    /// A proxier fed with the manifests' Services and endpoints, synced once.
    func compile(_ manifests: ManifestSet) throws -> (ServiceProxy, ServiceProxy.Sync) {
        var proxy = ServiceProxy(configuration: try configuration(nodes: manifests.nodes))
        proxy.replaceAll(
            services: manifests.services, endpointSlices: manifests.endpointSlices, endpoints: manifests.endpoints)
        let sync = proxy.sync()
        for problem in sync.diagnostics { printError(problem) }
        return (proxy, sync)
    }
}
