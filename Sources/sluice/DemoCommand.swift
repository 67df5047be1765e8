import ArgumentParser
import Foundation
import KubeAPI
import VirtualCluster

/// `sluice demo`: the whole data plane on one machine — a virtual multi-node cluster in network namespaces, the
/// example manifests applied, and a connectivity matrix checked against what the manifests say.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a virtual multi-node cluster in network namespaces and check its connectivity (needs root).",
        discussion: """
            Creates N node namespaces on an underlay bridge, runs a real sluiced in each (VXLAN overlay), gives \
            every pod of the manifests a network with the real sluice-cni and a tiny server that answers with its \
            name, writes the Pods' addresses and the Services' EndpointSlices as a control plane would, then tries \
            pod → pod, pod → ClusterIP and external → NodePort connections and compares each with what the \
            NetworkPolicies allow. Exits non-zero when any connection did not behave as expected.
            """,
        subcommands: [DemoServeCommand.self])

    @Option(help: "Number of nodes.")
    var nodes = 2

    @Option(help: "Manifests to apply (Namespaces, Pods, Services, NetworkPolicies).")
    var manifests = "examples"

    @Option(help: "The pod network between nodes: vxlan or host-gw.")
    var overlay = "vxlan"

    @Flag(help: "Leave the cluster running (remove it later with --teardown).")
    var keep = false

    @Flag(help: "Remove a cluster left by --keep, and exit.")
    var teardown = false

    func validate() throws {
        guard (1...20).contains(nodes) else { throw ValidationError("--nodes \(nodes): between 1 and 20") }
        guard ["vxlan", "host-gw"].contains(overlay) else { throw ValidationError("--overlay: vxlan or host-gw") }
    }

    func run() throws {
        guard geteuid() == 0 else {
            throw ValidationError(
                "sluice demo needs root: it creates network namespaces, links and nftables tables (try: sudo sluice demo)"
            )
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let binaries = executable.deletingLastPathComponent().path
        var configuration = VirtualCluster.Configuration(binaries: binaries, sluice: executable.path)
        configuration.nodes = nodes
        configuration.overlay = overlay
        VirtualCluster.tearDown(prefix: configuration.prefix, stateDirectory: configuration.stateDirectory)
        if teardown {
            print("removed the demo cluster (namespaces \(configuration.prefix)-*)")
            return
        }
        for tool in ["sluiced", "sluice-cni"] where !FileManager.default.isExecutableFile(atPath: "\(binaries)/\(tool)")
        {
            throw ValidationError("\(binaries)/\(tool) is missing: build it next to sluice (swift build -c release)")
        }
        let base = ManifestLoader().load(paths: [manifests])
        for diagnostic in base.diagnostics { print("manifest: \(diagnostic)") }
        guard !base.pods.isEmpty else { throw ValidationError("\(manifests) has no Pods to run") }

        let cluster = VirtualCluster(configuration)
        defer {
            if keep {
                print("\nkept: namespaces \(configuration.prefix)-*, state in \(configuration.stateDirectory)")
                print("remove with: sluice demo --teardown")
            } else {
                cluster.tearDown()
            }
        }
        print("== \(nodes) nodes on an underlay bridge, sluiced --overlay \(overlay) on each")
        try cluster.start(applying: base)
        print("== \(base.pods.count) pods through sluice-cni")
        try cluster.addPods(of: base)
        for pod in cluster.pods {
            print("   \(pod.name) on \(pod.node): \(pod.address)")
        }
        // Every sluiced sees the Pods and EndpointSlices and programs Services and policies.
        Thread.sleep(forTimeInterval: 1.5)
        let applied = ManifestLoader().load(paths: [configuration.stateDirectory + "/manifests"])
        var matrix = try ConnectivityMatrix.plan(cluster, manifests: applied)
        print("== connectivity: \(matrix.cells.count) connections\n")
        matrix.run()
        print(matrix.table, terminator: "")
        if matrix.mismatches > 0 { throw ExitCode(1) }
    }
}

/// `sluice demo serve` (hidden): a pod's server in the demo, answering each TCP connection with its name and the
/// client address it saw.
struct DemoServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve a pod's name (started by sluice demo in a pod namespace).",
        shouldDisplay: false)

    @Option var name: String
    @Option(name: .customLong("port")) var ports: [UInt16] = []

    func run() throws {
        try Echo.serve(name: name, ports: ports)
    }
}
