import Foundation
import NetNamespace

/// A client and a server namespace wired to a node namespace, for timing new connections through the node's
/// Service rules:
///
/// ```
///  client ns                 node ns (rules under test)          server ns
///  eth0 10.244.2.2/24 ─ veth ─ c0 10.244.2.1   s0 10.244.1.1 ─ veth ─ eth0 10.244.1.2 … 10.244.1.(1+E)/24
/// ```
///
/// Both ends are inside the cluster CIDR (no masquerade, as pod-to-Service traffic on a node) and the node has no
/// other route: packets only travel between these three namespaces. The server's addresses are the probe
/// Service's endpoints (``ServiceSet/endpoint(_:_:generation:)``), so every DNAT target answers.
struct DatapathTopology {
    let node: NetworkNamespace
    let client: NetworkNamespace
    let server: NetworkNamespace

    static let clientAddress = "10.244.2.2"

    /// Creates client and server namespaces and links them to `node`. The caller deletes `node`; ``remove()``
    /// deletes the other two.
    static func build(node: NetworkNamespace, endpoints: Int) throws -> DatapathTopology {
        let client = try BenchNamespaces.create("client")
        let server: NetworkNamespace
        do {
            server = try BenchNamespaces.create("server")
        } catch {
            BenchNamespaces.delete(client)
            throw error
        }
        let topology = DatapathTopology(node: node, client: client, server: server)
        do {
            let n = node.name!
            let c = client.name!
            let s = server.name!
            try runTool(["ip", "-n", n, "link", "add", "c0", "type", "veth", "peer", "name", "eth0", "netns", c])
            try runTool(["ip", "-n", n, "link", "add", "s0", "type", "veth", "peer", "name", "eth0", "netns", s])
            try ipBatch(
                n,
                [
                    "address add 10.244.2.1/24 dev c0", "address add \(ServiceSet.nodeAddress)/24 dev s0",
                    "link set lo up", "link set c0 up", "link set s0 up",
                ])
            try runTool(["ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            try ipBatch(
                c,
                [
                    "address add \(clientAddress)/24 dev eth0", "link set lo up", "link set eth0 up",
                    "route add default via 10.244.2.1",
                ])
            let serverAddresses = (0..<endpoints).map { "address add 10.244.1.\($0 + 2)/24 dev eth0" }
            try ipBatch(
                s, serverAddresses + ["link set lo up", "link set eth0 up", "route add default via 10.244.1.1"])
        } catch {
            topology.remove()
            throw error
        }
        return topology
    }

    func remove() {
        BenchNamespaces.delete(client)
        BenchNamespaces.delete(server)
    }

    private static func ipBatch(_ namespace: String, _ commands: [String]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-ip-\(getpid())")
        try commands.joined(separator: "\n").appending("\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try runTool(["ip", "-n", namespace, "-batch", file.path])
    }

    /// Times `count` new TCP connections from the client to `address:port` (after `warmup` untimed ones): from
    /// `connect` to established, i.e. the SYN through the node's NAT rules and the SYN-ACK back. Each connection
    /// is then reset (linger 0) so no TIME_WAIT piles up. Returns microseconds, one per connection.
    func connectLatencies(to address: String, port: UInt16, count: Int, warmup: Int = 100) throws -> [Double] {
        let listener = try AcceptServer(in: server, port: UInt16(ServiceSet.targetPort))
        defer { listener.stop() }
        return try client.run { () throws -> [Double] in
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { throw BenchError("bad address \(address)") }
            var samples: [Double] = []
            samples.reserveCapacity(count)
            for i in 0..<(warmup + count) {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
                defer { close(fd) }
                var noLinger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &noLinger, socklen_t(MemoryLayout<linger>.size))
                var timeout = timeval(tv_sec: 3, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var start = timespec()
                var end = timespec()
                clock_gettime(CLOCK_MONOTONIC, &start)
                let status = withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                clock_gettime(CLOCK_MONOTONIC, &end)
                guard status == 0 else { throw BenchError("connect to \(address):\(port) failed: errno \(errno)") }
                if i >= warmup {
                    samples.append(Double(end.tv_sec - start.tv_sec) * 1e6 + Double(end.tv_nsec - start.tv_nsec) / 1e3)
                }
            }
            return samples
        }
    }
}

/// A TCP server that accepts and closes every connection, on a thread of its own; its socket lives in the
/// namespace it was opened in.
final class AcceptServer: @unchecked Sendable {
    private let socket: Int32
    private let finished = DispatchSemaphore(value: 0)

    init(in namespace: NetworkNamespace, port: UInt16) throws {
        socket = try namespace.run { () throws -> Int32 in
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 4096) == 0 else {
                close(fd)
                throw BenchError("bind/listen on port \(port): errno \(errno)")
            }
            return fd
        }
        let fd = socket
        let done = finished
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection >= 0 {
                    close(connection)
                } else if errno != EINTR && errno != ECONNABORTED {
                    break
                }
            }
            done.signal()
        }
    }

    /// Wakes the accept loop (shutdown makes a blocked `accept` fail), waits for it, and closes the socket.
    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        finished.wait()
        close(socket)
    }
}

/// p50/p99 of connect latencies, in microseconds.
struct LatencyFigures: Codable, Sendable {
    var connects: Int
    var p50: Double
    var p99: Double
    var mean: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        connects = sorted.count
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        mean = sorted.reduce(0, +) / Double(sorted.count)
    }

    /// The median of each figure over repeated probes (`connects` is one probe's): one probe's p50 on a shared
    /// machine can move by more than the 10% the flatness target allows; the median of several is steadier.
    init(medianOf runs: [LatencyFigures]) {
        precondition(!runs.isEmpty, "no latency probes")
        connects = runs[0].connects
        p50 = Samples(values: runs.map(\.p50)).median
        p99 = Samples(values: runs.map(\.p99)).median
        mean = Samples(values: runs.map(\.mean)).median
    }
}
