import ArgumentParser
import Foundation
import KubeAPI
import NFTables
import NFTablesNetlink
import NetworkPolicy

/// `sluice-bench policies`: NetworkPolicy compile + apply at scale and the cost of one policy change, in a
/// fresh namespace, verified by reading the policy table back.
struct PolicyBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies", abstract: "NetworkPolicy: 1,000 policies × 5,000 pods compile + apply, one change.")

    @Flag(help: "A smoke run: 1,000 pods, 200 policies, 20 local pods.")
    var quick = false

    @Option(help: "Directory for the Markdown result.")
    var output = "Benchmarks/results"

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("sluice-bench needs root: it creates network namespaces") }
        let shape =
            quick
            ? PolicyWorkload(namespaces: 10, podsPerNamespace: 100, policiesPerNamespace: 20, localPerNamespace: 2)
            : PolicyWorkload(namespaces: 50, podsPerNamespace: 100, policiesPerNamespace: 20, localPerNamespace: 2)
        let result = try shape.measure(connects: quick ? 200 : 2000)
        let baseline = try PolicyWorkload.baselineLatency(connects: quick ? 200 : 2000)
        let latency = result.latency
        let growth = latency.p50 / baseline.p50 - 1
        let table = """
            | pods (local) | policies | elements | compile | encode + apply | one policy change (compile + apply) | change batch |
            |---:|---:|---:|---:|---:|---:|---:|
            | \(shape.pods) (\(shape.localPods)) | \(shape.policies) | \(result.elements) | \(ms(result.compile)) \
            | \(ms(result.apply)) | \(ms(result.changeCompile)) + \(ms(result.changeApply)) | \(result.changeBytes) B |

            Per-packet cost: new TCP connections between two local pods, the server isolated by a policy that
            allows the client (p50 / p99 over \(latency.connects) connects):

            | rules on the node | connect p50 / p99 |
            |---|---:|
            | no NetworkPolicy table | \(Self.micro(baseline)) |
            | \(shape.policies + 1) policies, \(result.elements) elements | \(Self.micro(latency)) |

            p50 growth with the policies: \(String(format: "%+.0f%%", growth * 100))
            """
        print(table)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let file = URL(fileURLWithPath: output).appendingPathComponent(
            "policies-\(quick ? "quick" : "full")-\(stamp).md")
        try ("# NetworkPolicy compile and apply\n\n" + table + "\n").write(to: file, atomically: true, encoding: .utf8)
        print("wrote \(file.path)")
    }

    private func ms(_ d: Duration) -> String { String(format: "%.1f ms", d.seconds * 1000) }

    private static func micro(_ f: LatencyFigures) -> String { String(format: "%.0f / %.0f µs", f.p50, f.p99) }
}

/// A synthetic cluster: every namespace has the same pods and policies (selectors, named ports, ipBlocks).
struct PolicyWorkload {
    var namespaces: Int
    var podsPerNamespace: Int
    var policiesPerNamespace: Int
    var localPerNamespace: Int

    var pods: Int { namespaces * podsPerNamespace }
    var policies: Int { namespaces * policiesPerNamespace }
    var localPods: Int { namespaces * localPerNamespace }

    struct Result {
        var elements: Int
        var compile: Duration
        var apply: Duration
        var changeCompile: Duration
        var changeApply: Duration
        var changeBytes: Int
        /// Connect latency between the probe pods with the whole policy set programmed.
        var latency: LatencyFigures
    }

    /// The datapath probe's two pods (``DatapathTopology``: client 10.244.2.2, server 10.244.1.2) as local pods,
    /// the server isolated by a policy that lets the client in on its port: every probe connection walks the
    /// policy table's lookups next to the workload's elements.
    static let probeManifests = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: probe, labels: {team: probe}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client, namespace: probe, labels: {app: client}}
        spec: {nodeName: node-a, containers: [{name: c}]}
        status: {podIP: \(DatapathTopology.clientAddress), podIPs: [{ip: \(DatapathTopology.clientAddress)}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: server, namespace: probe, labels: {app: server}}
        spec: {nodeName: node-a, containers: [{name: s, ports: [{name: http, containerPort: \(ServiceSet.targetPort)}]}]}
        status: {podIP: 10.244.1.2, podIPs: [{ip: 10.244.1.2}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: server, namespace: probe}
        spec:
          podSelector: {matchLabels: {app: server}}
          ingress:
          - from: [{podSelector: {matchLabels: {app: client}}}]
            ports: [{port: http}]

        """

    /// Connect latency between the probe pods with no policy table at all: the reference for flatness.
    static func baselineLatency(connects: Int) throws -> LatencyFigures {
        try withNamespace("policy-base") { namespace in
            let topology = try DatapathTopology.build(node: namespace, endpoints: 1)
            defer { topology.remove() }
            return LatencyFigures(try topology.connectLatencies(to: "10.244.1.2", port: 8080, count: connects))
        }
    }

    /// The manifests as YAML, loaded through the same loader the daemon uses; `variant` changes one policy.
    func manifests(variant: Int) -> ManifestSet {
        var yaml = ""
        for n in 0..<namespaces {
            yaml += """
                apiVersion: v1
                kind: Namespace
                metadata: {name: ns-\(n), labels: {team: t\(n % 5)}}
                ---

                """
            for p in 0..<podsPerNamespace {
                let node = p < localPerNamespace ? "node-a" : "node-b"
                yaml += """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: p-\(p), namespace: ns-\(n), labels: {app: a\(p % 10), tier: t\(p % 3)}}
                    spec:
                      nodeName: \(node)
                      containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
                    status: {podIP: 10.\(128 + n / 250).\(n % 250).\(p + 1), podIPs: [{ip: 10.\(128 + n / 250).\(n % 250).\(p + 1)}]}
                    ---

                    """
            }
            for k in 0..<policiesPerNamespace {
                let port = n == 0 && k == 0 ? 9000 + variant : 80 + k
                yaml += """
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: pol-\(k), namespace: ns-\(n)}
                    spec:
                      podSelector: {matchLabels: {app: a\(k % 10)}}
                      ingress:
                      - from:
                        - podSelector: {matchLabels: {app: a\((k + 1) % 10)}}
                          namespaceSelector: {matchLabels: {team: t\(k % 5)}}
                        ports: [{port: http}, {port: \(port), endPort: \(port + 10)}]
                      egress:
                      - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.\(128 + k % 4).0.0/16]}}]
                        ports: [{protocol: UDP, port: 53}]
                    ---

                    """
            }
        }
        return ManifestLoader().load(text: yaml + Self.probeManifests, source: "policies.yaml")
    }

    func measure(connects: Int) throws -> Result {
        let clock = ContinuousClock()
        let base = manifests(variant: 0)
        let changed = manifests(variant: 1)
        guard base.errors.isEmpty else { throw ValidationError("workload has errors: \(base.errors.first!)") }
        var enforcer = PolicyEnforcer(configuration: PolicyConfiguration(nodeName: "node-a"))
        var transaction = Transaction()
        let compile = clock.measure {
            enforcer.replaceAll(namespaces: base.namespaces, pods: base.pods, policies: base.networkPolicies)
            transaction = enforcer.sync().transaction
        }
        let first = transaction
        var second = Transaction()
        let changeCompile = clock.measure {
            enforcer.replaceAll(namespaces: changed.namespaces, pods: changed.pods, policies: changed.networkPolicies)
            second = enforcer.sync().transaction
        }
        let sets = enforcer.layout.sets()
        let table = enforcer.layout.table
        let change = second
        let (apply, changeApply, changeBytes, readBack, latency) = try withNamespace("policy") { namespace in
            let (apply, changeApply, bytes, elements) = try namespace.run {
                () throws -> (Duration, Duration, Int, Int) in
                let connection = try NFTablesConnection()
                let apply = try clock.measure { try connection.apply(first, existingSets: sets) }
                var bytes = 0
                let changeApply = try clock.measure { bytes = try connection.apply(change, existingSets: sets).bytes }
                let kernel = try connection.listTable(table)
                let elements = kernel?.sets.reduce(0) { $0 + $1.elements.count } ?? 0
                // The probe server must be isolated (its address dispatched to a policy chain), or the latency
                // below would measure an unfiltered path.
                let isolated = kernel?.set(named: "ingress-pods4")?.elements.contains {
                    $0.key.firsts.first == Value.ipv4(10, 244, 1, 2)
                }
                guard isolated == true else { throw ValidationError("probe server not isolated by the policy table") }
                return (apply, changeApply, bytes, elements)
            }
            let topology = try DatapathTopology.build(node: namespace, endpoints: 1)
            defer { topology.remove() }
            let latency = LatencyFigures(try topology.connectLatencies(to: "10.244.1.2", port: 8080, count: connects))
            return (apply, changeApply, bytes, elements, latency)
        }
        guard readBack > 0 else { throw ValidationError("policy table read back empty") }
        return Result(
            elements: first.elementCount, compile: compile, apply: apply, changeCompile: changeCompile,
            changeApply: changeApply, changeBytes: changeBytes, latency: latency)
    }
}
