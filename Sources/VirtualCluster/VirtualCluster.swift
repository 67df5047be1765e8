import Foundation
import KubeAPI

/// A Kubernetes node network in network namespaces: N nodes on an underlay bridge, each running a real `sluiced`
/// over a shared manifest directory, pods given their network by the real `sluice-cni`, each pod serving its name
/// on its container ports, and an "external" host on the underlay.
///
/// ```
///                       sl-demo-underlay (bridge br0, 198.18.0.0/24, fd00:198:18::/64)
///          ┌───────────────────┬────────────────────┬──────────────────┐
///   sl-demo-node-a (.1)   sl-demo-node-b (.2)   …              sl-demo-external (.200)
///   cni0 10.244.1.1/24    cni0 10.244.2.1/24
///   sluice.vxlan          sluice.vxlan          (VXLAN overlay, or host-gw routes)
///    └─ pods                └─ pods
/// ```
///
/// The cluster also plays the control plane a real cluster would have: it writes Node objects for its nodes, the
/// Pods with the addresses the CNI plugin gave them, and EndpointSlices for every Service with a selector (the
/// endpoint controller's job) into the manifest directory every `sluiced` watches.
public final class VirtualCluster {
    /// What to build: node count, overlay, where the binaries and state live, and how namespaces are named.
    public struct Configuration: Sendable {
        public var nodes: Int = 2
        /// `vxlan` or `host-gw`.
        public var overlay = "vxlan"
        /// Directory holding `sluiced` and `sluice-cni`.
        public var binaries: String
        /// The `sluice` executable (pods' servers run `sluice demo serve`).
        public var sluice: String
        /// Where manifests, CNI stores and logs go.
        public var stateDirectory = "/tmp/sluice-demo"
        /// Prefix of every namespace name.
        public var prefix = "sl-demo"
        /// Suffix of every namespace name (tests add `-<pid>-<hex>` so leaked namespaces are recognized).
        public var suffix = ""

        public init(binaries: String, sluice: String) {
            self.binaries = binaries
            self.sluice = sluice
        }
    }

    /// One node as built: its namespace, underlay address, pod CIDR and bridge gateway.
    public struct NodeInfo: Sendable {
        public var name: String
        public var namespace: String
        public var address: String
        public var podCIDR: String
        public var gateway: String
    }

    /// One pod as given its network: where it runs, its namespace, address and served ports.
    public struct PodInfo: Sendable {
        public var name: ObjectNameText
        public var node: String
        public var namespace: String
        public var address: String
        public var ports: [UInt16]
    }

    /// `namespace/name`.
    public typealias ObjectNameText = String

    public let configuration: Configuration
    public private(set) var nodes: [NodeInfo] = []
    public private(set) var pods: [PodInfo] = []
    public let underlay: String
    public let external: String
    public static let externalAddress = "198.18.0.200"
    /// The external host serves `outside` here: pods' egress is checked against it.
    public static let externalPort: UInt16 = 8000
    public static let clusterCIDR = "10.244.0.0/16"
    private var processes: [Process] = []
    private var manifestsDirectory: String { configuration.stateDirectory + "/manifests" }

    /// Nothing is created until `start(applying:)`.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        underlay = configuration.prefix + "-underlay" + configuration.suffix
        external = configuration.prefix + "-external" + configuration.suffix
    }

    static func nodeName(_ index: Int) -> String {
        "node-" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
    }

    // MARK: building

    /// Creates the namespaces and links, writes the Node objects and starts one `sluiced` per node.
    public func start(applying base: ManifestSet) throws {
        try FileManager.default.createDirectory(atPath: manifestsDirectory, withIntermediateDirectories: true)
        try Shell.run(["ip", "netns", "add", underlay])
        try Shell.ipBatch(underlay, ["link add br0 type bridge", "link set br0 up", "link set lo up"])
        for index in 0..<configuration.nodes {
            let name = Self.nodeName(index)
            let number = index + 1
            let node = NodeInfo(
                name: name, namespace: "\(configuration.prefix)-\(name)\(configuration.suffix)",
                address: "198.18.0.\(number)",
                podCIDR: "10.244.\(number).0/24", gateway: "10.244.\(number).1")
            try attach(node.namespace, link: "u\(number)", address: node.address, v6: "fd00:198:18::\(number)")
            nodes.append(node)
        }
        try attach(external, link: "uext", address: Self.externalAddress, v6: "fd00:198:18::200")
        try write(base.namespaces + [], named: "namespaces")
        try writeJSON(nodeObjects(), named: "nodes")
        try writeJSON(base.services, named: "services")
        try writeJSON(base.networkPolicies, named: "policies")
        for node in nodes {
            let log = "\(configuration.stateDirectory)/sluiced-\(node.name).log"
            processes.append(
                try Shell.start(
                    in: node.namespace,
                    [
                        configuration.binaries + "/sluiced", "--manifests", manifestsDirectory, "--node-name",
                        node.name, "--cluster-cidr", Self.clusterCIDR, "--overlay", configuration.overlay,
                        "--cni-data-dir", cniDirectory(node), "--resync-period", "3600",
                    ], log: log))
        }
        processes.append(
            try Shell.start(
                in: external,
                [configuration.sluice, "demo", "serve", "--name", "outside", "--port", "\(Self.externalPort)"],
                log: "\(configuration.stateDirectory)/serve-outside.log"))
        try waitForLogs(containing: "overlay synced", timeout: 20)
    }

    private func attach(_ namespace: String, link: String, address: String, v6: String) throws {
        try Shell.run(["ip", "netns", "add", namespace])
        // Before any link exists: forwarding resets per-link IPv6 settings, and DAD would hold addresses tentative.
        try Shell.run([
            "ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.accept_dad=0", "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ])
        try Shell.ipBatch(underlay, ["link add \(link) type veth peer name eth0 netns \(namespace)"])
        try Shell.ipBatch(underlay, ["link set \(link) master br0", "link set \(link) up"])
        try Shell.ipBatch(
            namespace,
            [
                "link set lo up", "address add \(address)/24 dev eth0", "address add \(v6)/64 dev eth0 nodad",
                "link set eth0 up",
            ])
    }

    private func nodeObjects() -> [Node] {
        nodes.enumerated().map { index, node in
            let number = index + 1
            return Node(
                metadata: ObjectMeta(
                    name: node.name,
                    annotations: [
                        "sluice.dev/vtep-mac": String(format: "02:00:00:00:0a:%02x", number),
                        "sluice.dev/vtep-ip": "10.244.\(number).0",
                    ]),
                spec: NodeSpec(podCIDRs: [node.podCIDR]),
                status: NodeStatus(addresses: [NodeAddress(type: .internalIP, address: node.address)]))
        }
    }

    private func cniDirectory(_ node: NodeInfo) -> String { "\(configuration.stateDirectory)/cni-\(node.name)" }

    /// Gives every pod of `base` a network on its node (`spec.nodeName`, or round-robin when it names no node of
    /// this cluster) through `sluice-cni`, starts its server, then writes the Pods with their addresses and the
    /// EndpointSlices of every Service with a selector.
    public func addPods(of base: ManifestSet) throws {
        var objects: [Pod] = []
        for (index, var pod) in base.pods.enumerated() {
            let node =
                nodes.first { $0.name == pod.spec.nodeName } ?? nodes[index % nodes.count]
            pod.spec.nodeName = node.name
            let namespace =
                "\(configuration.prefix)-pod-\(pod.metadata.namespace)-\(pod.metadata.name)\(configuration.suffix)"
            try Shell.run(["ip", "netns", "add", namespace])
            let address = try cniAdd(pod, on: node, namespace: namespace)
            pod.status = PodStatus(phase: .running, podIP: address, podIPs: [PodIP(ip: address)])
            let ports = pod.spec.containers.flatMap(\.ports).filter { $0.protocol == .tcp }
                .compactMap { UInt16(exactly: $0.containerPort) }
            let name = "\(pod.metadata.namespace)/\(pod.metadata.name)"
            if !ports.isEmpty {
                processes.append(
                    try Shell.start(
                        in: namespace,
                        [configuration.sluice, "demo", "serve", "--name", name]
                            + ports.flatMap { ["--port", "\($0)"] },
                        log: "\(configuration.stateDirectory)/serve-\(pod.metadata.namespace)-\(pod.metadata.name).log")
                )
            }
            pods.append(PodInfo(name: name, node: node.name, namespace: namespace, address: address, ports: ports))
            objects.append(pod)
        }
        try writeJSON(objects, named: "pods")
        try writeJSON(EndpointController.slices(services: base.services, pods: objects), named: "endpointslices")
    }

    /// ADD through the real plugin, as a runtime calls it, inside the node's namespace.
    private func cniAdd(_ pod: Pod, on node: NodeInfo, namespace: String) throws -> String {
        let config = """
            {"cniVersion":"1.0.0","name":"sluice","type":"sluice-cni","bridge":"cni0","isGateway":true,\
            "isDefaultGateway":true,"ipMasq":false,"hairpinMode":true,"mtu":1450,"ipam":{"type":"host-local",\
            "ranges":[[{"subnet":"\(node.podCIDR)","gateway":"\(node.gateway)"}]],\
            "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"\(cniDirectory(node))"}}
            """
        let output = try Shell.run(
            [
                "ip", "netns", "exec", node.namespace, "env", "CNI_COMMAND=ADD",
                "CNI_CONTAINERID=demo-\(pod.metadata.namespace)-\(pod.metadata.name)",
                "CNI_NETNS=/run/netns/\(namespace)", "CNI_IFNAME=eth0", "CNI_PATH=\(configuration.binaries)",
                "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=\(pod.metadata.namespace);K8S_POD_NAME=\(pod.metadata.name)",
                configuration.binaries + "/sluice-cni",
            ], stdin: config)
        guard let start = output.range(of: #""address":""#),
            let end = output[start.upperBound...].firstIndex(of: "/")
        else { throw ClusterError("sluice-cni ADD of \(pod.metadata.name) returned no address: \(output)") }
        return String(output[start.upperBound..<end])
    }

    /// Waits until every `sluiced` log shows `text` (each node has synced what it was given).
    public func waitForLogs(containing text: String, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let logs = nodes.map {
                (try? String(contentsOfFile: "\(configuration.stateDirectory)/sluiced-\($0.name).log", encoding: .utf8))
                    ?? ""
            }
            if logs.allSatisfy({ $0.contains(text) }) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ClusterError(
            "sluiced did not log \"\(text)\" within \(Int(timeout)) s (logs in \(configuration.stateDirectory))")
    }

    // MARK: manifests

    private func writeJSON<T: Encodable>(_ objects: [T], named name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let items = try objects.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let list =
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n" + items.joined(separator: ",\n") + "]}\n"
        // Written whole, then renamed: sluiced never reads half a file.
        let path = "\(manifestsDirectory)/\(name).json"
        try list.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        _ = rename(path + ".tmp", path)
    }

    private func write(_ namespaces: [Namespace], named name: String) throws { try writeJSON(namespaces, named: name) }

    // MARK: teardown

    /// Stops the processes and deletes every namespace and file of the cluster (also those of an earlier run
    /// kept with `--keep`).
    public func tearDown() {
        // Signals, not Process.terminate()/waitUntilExit(): a parent that blocks signals (test runners do) passes
        // its mask on, so a child may ignore SIGTERM, and Foundation may never notice an exit.
        let pids = processes.map(\.processIdentifier)
        Self.stop(pids)
        processes = []
        Self.tearDown(
            prefix: configuration.prefix, suffix: configuration.suffix, stateDirectory: configuration.stateDirectory)
    }

    /// SIGTERM, a short grace, then SIGKILL; reaps each child that is ours.
    static func stop(_ pids: [pid_t]) {
        for pid in pids { kill(pid, SIGTERM) }
        var running = Set(pids)
        let deadline = Date().addingTimeInterval(1)
        while !running.isEmpty {
            for pid in running {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                // Exited (reaped now, or already reaped by Foundation), or not our child and gone.
                if reaped == pid || (reaped < 0 && kill(pid, 0) != 0) || (reaped < 0 && errno == ECHILD) {
                    running.remove(pid)
                }
            }
            if Date() > deadline {
                for pid in running { kill(pid, SIGKILL) }
                for pid in running {
                    var status: Int32 = 0
                    _ = waitpid(pid, &status, 0)
                }
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Removes a kept cluster by its names: processes in its namespaces, the namespaces, the state directory.
    public static func tearDown(prefix: String, suffix: String = "", stateDirectory: String) {
        let names = ((try? Shell.run(["ip", "netns", "list"])) ?? "").split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix(prefix + "-") && $0.hasSuffix(suffix) }
        var pids: [pid_t] = []
        for name in names {
            pids += ((try? Shell.run(["ip", "netns", "pids", name])) ?? "").split(whereSeparator: \.isWhitespace)
                .compactMap { pid_t($0) }
        }
        stop(pids)
        for name in names { _ = try? Shell.run(["ip", "netns", "delete", name]) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}
