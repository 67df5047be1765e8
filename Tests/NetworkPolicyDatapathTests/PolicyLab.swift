import Foundation
import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import NetworkPolicy
import SluiceAgent
import SluiceTestSupport
import Synchronization

/// The upstream e2e layout on one node: namespaces x, y, z with pods a, b, c each (nine pod namespaces on one
/// bridge), every pod serving TCP and UDP on 80 and 81 with its name, and a PolicySyncer programming the node.
struct PolicyLab {
    let topology: NodeTopology
    let syncer: PolicySyncer
    static let nodeName = "node-a"
    static let namespaces = ["x", "y", "z"]
    static let podNames = ["a", "b", "c"]
    static let ports: [UInt16] = [80, 81]
    static let protocols: [TransportProtocol] = [.tcp, .udp]

    static func run(_ body: (PolicyLab) async throws -> Void) async throws {
        let pods = namespaces.flatMap { n in podNames.map { "\(n)-\($0)" } }
        try await withNodeTopology(NodeTopology.Configuration(pods: pods, hasExternal: false)) { topology in
            try topology.startNameServers(on: topology.pods, tcpPorts: ports, udpPorts: ports)
            let syncer = try topology.node.run { () throws -> PolicySyncer in
                var logger = Logger(label: "policy-test")
                logger.logLevel = .critical
                return PolicySyncer(nodeName: nodeName, connection: try NFTablesConnection(), logger: logger)
            }
            try await body(PolicyLab(topology: topology, syncer: syncer))
        }
    }

    /// The topology pod behind `namespace/name` (named `namespace-name` there).
    func pod(_ name: ObjectName) -> NodeTopology.Pod { topology[pod: "\(name.namespace)-\(name.name)"]! }

    /// Namespaces labelled `ns`, pods labelled `pod` with their topology addresses and `serve-<port>-<proto>`
    /// container ports, and the given policies: what `sluiced` would read from a manifest directory.
    func manifests(_ policies: [NetworkPolicy]) -> ManifestSet {
        var set = ManifestSet()
        set.namespaces = Self.namespaces.map { Namespace(metadata: ObjectMeta(name: $0, labels: ["ns": $0])) }
        for namespace in Self.namespaces {
            for name in Self.podNames {
                let node = pod(ObjectName(namespace: namespace, name: name))
                let ports = Self.ports.flatMap { port in
                    Self.protocols.map { proto in
                        ContainerPort(
                            name: "serve-\(port)-\(proto.rawValue.lowercased())", containerPort: Int(port),
                            protocol: proto)
                    }
                }
                set.pods.append(
                    Pod(
                        metadata: ObjectMeta(name: name, namespace: namespace, labels: ["pod": name]),
                        spec: PodSpec(nodeName: Self.nodeName, containers: [Container(name: "server", ports: ports)]),
                        status: PodStatus(
                            phase: .running, podIP: node.ipv4, podIPs: [PodIP(ip: node.ipv4), PodIP(ip: node.ipv6)])))
            }
        }
        set.networkPolicies = policies
        return set
    }

    /// Probes every cell of the matrix with real connections, all at once, and returns the cells whose outcome
    /// differs from `expected` (each named with what the kernel did).
    func mismatches(_ expected: [PolicyMatrixCell], family: AddressFamily) -> [String] {
        let observed = concurrently(expected.map { cell in { probe(cell, family: family, timeout: .seconds(1)) } })
        var wrong: [String] = []
        for (cell, outcome) in zip(expected, observed) where (outcome.serverName == pod(cell.to).name) != cell.allowed {
            // A reply that was only slow under load is retried alone before it counts.
            let again = cell.allowed ? probe(cell, family: family, timeout: .seconds(3)) : outcome
            if (again.serverName == pod(cell.to).name) != cell.allowed {
                wrong.append(
                    "\(cell.from) -> \(cell.to) \(cell.protocol)/\(cell.port): matrix says "
                        + "\(cell.allowed ? "allow" : "deny"), kernel: \(again)")
            }
        }
        return wrong
    }

    /// Source ports are never reused within a run: a UDP flow a previous scenario allowed lives on in conntrack,
    /// and a kernel-chosen port could pick it up again and pass as a new connection.
    private static let nextSourcePort = Atomic<UInt16>(20000)

    private func probe(_ cell: PolicyMatrixCell, family: AddressFamily, timeout: Duration) -> ConnectResult {
        let destination = pod(cell.to)
        let address = family == .ipv4 ? destination.ipv4 : destination.ipv6
        let client = pod(cell.from).namespace
        let sourcePort = Self.nextSourcePort.wrappingAdd(1, ordering: .relaxed).newValue
        return cell.protocol == .udp
            ? udpRequest(from: client, to: address, port: cell.port, sourcePort: sourcePort, timeout: timeout)
            : tcpRequest(from: client, to: address, port: cell.port, sourcePort: sourcePort, timeout: timeout)
    }
}

/// Runs blocking jobs on their own threads, at most `width` at a time, and returns their results in order: expected
/// denials take a whole timeout each, so probing a matrix one cell after another would take minutes.
func concurrently<T: Sendable>(_ jobs: [@Sendable () -> T], width: Int = 96) -> [T] {
    let results = Mutex<[Int: T]>([:])
    var start = 0
    while start < jobs.count {
        let batch = start..<min(start + width, jobs.count)
        let group = DispatchGroup()
        for index in batch {
            group.enter()
            let job = jobs[index]
            Thread.detachNewThread {
                let result = job()
                results.withLock { $0[index] = result }
                group.leave()
            }
        }
        group.wait()
        start = batch.upperBound
    }
    return results.withLock { stored in jobs.indices.map { stored[$0]! } }
}
