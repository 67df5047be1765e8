import Foundation
import SluiceTestSupport

/// Three dual-stack pod namespaces wired to the node (the VM's root namespace) by veth pairs: a client and two
/// endpoints that answer with their name on TCP 8080 (and UDP 53).
struct Pods: @unchecked Sendable {
    let client: TestNamespace
    let endpoint1: TestNamespace
    let endpoint2: TestNamespace
    let servers: [NameServer]

    static func make() throws -> Pods {
        try "1".write(toFile: "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        try "1".write(toFile: "/proc/sys/net/ipv6/conf/all/forwarding", atomically: false, encoding: .utf8)
        var made: [TestNamespace] = []
        for (index, label) in ["client", "ep1", "ep2"].enumerated() {
            let ns = try TestNamespace.make(label)
            made.append(ns)
            let subnet = "10.244.\(index + 1)"
            let hostSide = "veth-\(label)"
            _ = try runProcess([
                "ip", "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns.name,
            ])
            .output()
            _ = try runProcess(["ip", "address", "add", "\(subnet).1/24", "dev", hostSide]).output()
            _ = try runProcess(["ip", "address", "add", "fd00:244:\(index + 1)::1/64", "dev", hostSide, "nodad"])
                .output()
            _ = try runProcess(["ip", "link", "set", hostSide, "up"]).output()
            try ns.ipBatch([
                "address add \(subnet).2/24 dev eth0", "address add fd00:244:\(index + 1)::2/64 dev eth0 nodad",
                "link set eth0 up", "route add default via \(subnet).1",
                "route add ::/0 via fd00:244:\(index + 1)::1",
            ])
        }
        let servers = [
            try NameServer(name: "ep1", in: made[1], tcpPorts: [8080], udpPorts: [53]),
            try NameServer(name: "ep2", in: made[2], tcpPorts: [8080], udpPorts: [53]),
        ]
        return Pods(client: made[0], endpoint1: made[1], endpoint2: made[2], servers: servers)
    }

    func tearDown() {
        servers.forEach { $0.stop() }
        for ns in [client, endpoint1, endpoint2] { try? ns.delete() }
    }
}
