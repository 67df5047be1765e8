import Foundation
import KubeAPI
import NetworkPolicy

/// Every connection the demo tries, what the manifests say should happen, and what the kernel did.
public struct ConnectivityMatrix: Sendable {
    /// One connection attempt: from where to where, what the manifests say, what happened.
    public struct Cell: Sendable {
        public var from: String
        public var to: String
        public var kind: String
        /// Namespace (by path) the connection starts in, destination and port.
        var namespace: String
        var address: String
        var port: UInt16
        /// Whether it should get through, and which servers may answer.
        public var expectAllowed: Bool
        var servers: Set<String>
        /// The client address the server must see, when it matters (masquerade).
        var peer: String? = nil
        public var observed: ProbeResult = .timedOut

        public var matches: Bool {
            switch observed {
            case .answered(let server, let seen): expectAllowed && servers.contains(server) && (peer ?? seen) == seen
            case .timedOut, .refused: !expectAllowed
            case .failed: false
            }
        }
    }

    /// In plan order: pod → pod, pod → outside, then per Service pod → ClusterIP and outside → NodePort.
    public var cells: [Cell] = []

    /// The cells for `cluster` running `manifests` (with the pods' assigned addresses): pod to pod across and
    /// within nodes, pod to every ClusterIP, the external host to every NodePort on every node. Expectations come
    /// from `PolicyChecker`, which evaluates the same compiled policy structures the kernel is given.
    public static func plan(_ cluster: VirtualCluster, manifests: ManifestSet) throws -> ConnectivityMatrix {
        let checker = try PolicyChecker(manifests: manifests)
        func allowed(_ from: PolicyEndpoint, _ to: String, port: UInt16) -> Bool {
            guard let name = ObjectName(to) else { return false }
            return (try? checker.check(from: from, to: .pod(name), protocol: .tcp, port: port).allowed) ?? false
        }
        var matrix = ConnectivityMatrix()
        let servers = cluster.pods.filter { !$0.ports.isEmpty }
        for source in cluster.pods {
            for target in servers where target.name != source.name {
                let port = target.ports[0]
                let sameNode = source.node == target.node
                matrix.cells.append(
                    Cell(
                        from: source.name, to: "\(target.name) \(target.address):\(port)",
                        kind: sameNode ? "pod → pod, same node" : "pod → pod, other node",
                        namespace: "/run/netns/\(source.namespace)",
                        address: target.address, port: port,
                        expectAllowed: allowed(.pod(ObjectName(source.name)!), target.name, port: port),
                        servers: [target.name]))
            }
        }
        // Leaving the cluster network: masqueraded to the node's address (the outside has no route to pods).
        let outside = IPAddress(VirtualCluster.externalAddress)!
        for source in cluster.pods {
            guard let node = cluster.nodes.first(where: { $0.name == source.node }) else { continue }
            let allowed =
                (try? checker.check(
                    from: .pod(ObjectName(source.name)!), to: .address(outside), protocol: .tcp,
                    port: VirtualCluster.externalPort
                ).allowed) ?? false
            matrix.cells.append(
                Cell(
                    from: source.name, to: "outside \(VirtualCluster.externalAddress):\(VirtualCluster.externalPort)",
                    kind: "pod → outside", namespace: "/run/netns/\(source.namespace)",
                    address: VirtualCluster.externalAddress, port: VirtualCluster.externalPort, expectAllowed: allowed,
                    servers: ["outside"], peer: node.address))
        }
        let slices = manifests.endpointSlices
        for service in manifests.services {
            guard let clusterIP = service.spec.clusterIP, clusterIP != "None", !clusterIP.isEmpty else { continue }
            let label = "\(service.metadata.namespace)/\(service.metadata.name)"
            let slice = slices.first {
                $0.metadata.namespace == service.metadata.namespace && $0.serviceName == service.metadata.name
            }
            for port in service.spec.ports where port.protocol == .tcp {
                let target = UInt16(slice?.ports.first { $0.name == port.name }?.port ?? 0)
                let endpoints = (slice?.endpoints ?? []).flatMap(\.addresses).compactMap { address in
                    cluster.pods.first { $0.address == address }?.name
                }
                guard !endpoints.isEmpty, let servicePort = UInt16(exactly: port.port) else { continue }
                for source in cluster.pods {
                    let verdicts = endpoints.map { allowed(.pod(ObjectName(source.name)!), $0, port: target) }
                    // Endpoints judged differently would make the outcome depend on the pick: left out.
                    guard Set(verdicts).count == 1 else { continue }
                    matrix.cells.append(
                        Cell(
                            from: source.name, to: "\(label) \(clusterIP):\(servicePort)", kind: "pod → ClusterIP",
                            namespace: "/run/netns/\(source.namespace)", address: clusterIP, port: servicePort,
                            expectAllowed: verdicts[0], servers: Set(endpoints)))
                }
                guard let nodePort = port.nodePort.flatMap(UInt16.init(exactly:)) else { continue }
                let external = IPAddress(VirtualCluster.externalAddress)!
                let verdicts = endpoints.map { allowed(.address(external), $0, port: target) }
                guard Set(verdicts).count == 1 else { continue }
                for node in cluster.nodes {
                    matrix.cells.append(
                        Cell(
                            from: "external \(VirtualCluster.externalAddress)",
                            to: "\(label) NodePort \(node.name) \(node.address):\(nodePort)",
                            kind: "external → NodePort",
                            namespace: "/run/netns/\(cluster.external)", address: node.address, port: nodePort,
                            expectAllowed: verdicts[0], servers: Set(endpoints)))
                }
            }
        }
        return matrix
    }

    /// Tries every cell at once (denied ones each wait out a timeout); an allowed cell that did not answer is
    /// retried alone, in case the network was still converging.
    public mutating func run() {
        let results = Results(count: cells.count)
        let group = DispatchGroup()
        for (index, cell) in cells.enumerated() {
            group.enter()
            Thread.detachNewThread {
                results.set(index, Echo.probe(from: cell.namespace, to: cell.address, port: cell.port))
                group.leave()
            }
        }
        group.wait()
        for index in cells.indices {
            cells[index].observed = results.get(index)
            var attempts = 0
            while cells[index].expectAllowed && !cells[index].matches && attempts < 5 {
                Thread.sleep(forTimeInterval: 0.5)
                cells[index].observed = Echo.probe(
                    from: cells[index].namespace, to: cells[index].address, port: cells[index].port)
                attempts += 1
            }
        }
    }

    /// Probe results filled in by concurrent threads.
    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [ProbeResult]

        init(count: Int) { values = Array(repeating: .timedOut, count: count) }

        func set(_ index: Int, _ value: ProbeResult) {
            lock.lock()
            values[index] = value
            lock.unlock()
        }

        func get(_ index: Int) -> ProbeResult {
            lock.lock()
            defer { lock.unlock() }
            return values[index]
        }
    }

    /// Cells whose outcome differs from the expectation: `sluice demo` exits 1 when any.
    public var mismatches: Int { cells.filter { !$0.matches }.count }

    /// The matrix as a table a person reads, with a summary line.
    public var table: String {
        let headers = ["CONNECTION", "FROM", "TO", "EXPECTED", "OBSERVED"]
        let rows = cells.map { cell -> [String] in
            let observed =
                switch cell.observed {
                case .answered(let server, let peer): "answered by \(server) (saw \(peer))"
                case let other: other.description
                }
            return [
                cell.kind, cell.from, cell.to, cell.expectAllowed ? "allow" : "deny",
                (cell.matches ? "ok  " : "FAIL ") + observed,
            ]
        }
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ fields: [String]) -> String {
            zip(fields, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        var out = line(headers) + "\n" + rows.map(line).joined(separator: "\n") + "\n"
        let allowed = cells.filter(\.expectAllowed).count
        out +=
            "\n\(cells.count - mismatches) of \(cells.count) connections behaved as expected "
            + "(\(allowed) to be allowed, \(cells.count - allowed) to be denied)"
            + (mismatches == 0 ? "." : "; \(mismatches) did not.") + "\n"
        return out
    }
}
