import KubeAPI
import LinkNetlink
import Logging
import Overlay
import SluiceAgent
import SluiceTestSupport
import Testing

/// Two nodes on an underlay bridge, one pod behind each, programmed by `OverlaySyncer`: pod-to-pod traffic across
/// nodes over VXLAN and over host-gw, MTU, and removal of exactly a departed node's entries.
///
/// Topology (every namespace made by the test): an underlay namespace with bridge `br0`; node namespaces with
/// `eth0` on it (198.18.0.1 and .2) and a veth `pod0` that is the gateway of their pod CIDR (10.244.1.1/24,
/// 10.244.2.1/24); a pod namespace behind each (10.244.1.2, 10.244.2.2), MTU 1450. A third Node object `c` exists
/// only in the API (no namespace), so that removing it can be checked against `b`'s entries staying.
@Suite(.requiresRoot, .serialized) struct OverlayDatapathTests {
    static let vxlanDevice = "sluice.vxlan"

    /// The node namespaces, their pods and an open LinkConnection per node.
    struct Cluster {
        let nodes: [TestNamespace]
        let pods: [TestNamespace]
        let connections: [LinkConnection]
    }

    static func build(_ namespaces: [TestNamespace]) throws -> Cluster {
        let underlay = namespaces[0]
        let nodes = [namespaces[1], namespaces[2]]
        let pods = [namespaces[3], namespaces[4]]
        try underlay.addBridge("br0")
        try underlay.setUp("br0")
        // Before any link exists: forwarding changes each link's IPv6 settings, and DAD would hold new addresses
        // (link-local ones included) tentative for a second.
        for namespace in nodes + pods {
            try namespace.setSysctls([
                "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0",
                "net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.default.accept_dad": "0",
            ])
        }
        var connections: [LinkConnection] = []
        for index in 0..<2 {
            let number = index + 1
            try underlay.addVethPair("u\(number)", peer: "eth0", in: nodes[index])
            try underlay.attach("u\(number)", toBridge: "br0")
            try underlay.setUp("u\(number)")
            try nodes[index].addVethPair("pod0", peer: "eth0", in: pods[index])
            try nodes[index].ipBatch([
                "address add 198.18.0.\(number)/24 dev eth0", "link set eth0 up",
                "address add 10.244.\(number).1/24 dev pod0", "link set pod0 mtu 1450 up",
                "address add fd00:198:18::\(number)/64 dev eth0 nodad",
                "address add fd00:10:244:\(number)::1/64 dev pod0 nodad",
            ])
            try pods[index].ipBatch([
                "address add 10.244.\(number).2/24 dev eth0", "link set eth0 mtu 1450 up",
                "route add 10.244.0.0/16 via 10.244.\(number).1",
                "address add fd00:10:244:\(number)::2/64 dev eth0 nodad",
                "route add fd00:10:244::/48 via fd00:10:244:\(number)::1",
            ])
            connections.append(try nodes[index].run { try LinkConnection() })
        }
        return Cluster(nodes: nodes, pods: pods, connections: connections)
    }

    static func node(_ name: String, number: Int, vtepMAC: String? = nil, dualStack: Bool = false) -> Node {
        var annotations: [String: String] = [:]
        if let vtepMAC {
            annotations[VTEPAnnotation.mac] = vtepMAC
            annotations[VTEPAnnotation.address] = "10.244.\(number).0"
        }
        return Node(
            metadata: ObjectMeta(name: name, annotations: annotations),
            spec: NodeSpec(podCIDRs: ["10.244.\(number).0/24"] + (dualStack ? ["fd00:10:244:\(number)::/64"] : [])),
            status: NodeStatus(
                addresses: [NodeAddress(type: .internalIP, address: "198.18.0.\(number)")]
                    + (dualStack ? [NodeAddress(type: .internalIP, address: "fd00:198:18::\(number)")] : [])))
    }

    static let labels = ["ov-under", "ov-node-a", "ov-node-b", "ov-pod-a", "ov-pod-b"]
    static let logger = Logger(label: "overlay-test")

    /// TCP and UDP both ways, source addresses kept, and a full-size ping (1400 bytes by default) with DF set.
    static func expectPodToPodTraffic(_ cluster: Cluster, ipv6: Bool = false, pingSize: Int = 1400) throws {
        let servers = try (0..<2).map { index in
            try NameServer(name: "pod-\(index + 1)", in: cluster.pods[index], tcpPorts: [8080], udpPorts: [8081])
        }
        defer { servers.forEach { $0.stop() } }
        for (from, to) in [(0, 1), (1, 0)] {
            let target = ipv6 ? "fd00:10:244:\(to + 1)::2" : "10.244.\(to + 1).2"
            let source = ipv6 ? "fd00:10:244:\(from + 1)::2" : "10.244.\(from + 1).2"
            let tcp = tcpRequest(from: cluster.pods[from], to: target, port: 8080)
            #expect(tcp == .reply("pod-\(to + 1) \(source)"), "TCP pod \(from + 1) → pod \(to + 1)")
            let udp = udpRequest(from: cluster.pods[from], to: target, port: 8081)
            #expect(udp == .reply("pod-\(to + 1) \(source)"), "UDP pod \(from + 1) → pod \(to + 1)")
            let ping = try cluster.pods[from].execStatus([
                "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "\(pingSize)", target,
            ])
            #expect(ping.status == 0, "\(pingSize)-byte ping pod \(from + 1) → pod \(to + 1): \(ping)")
        }
    }

    @Test func vxlanCarriesPodTrafficAcrossNodesAndRemovingANodeRemovesExactlyItsEntries() throws {
        try withTestNamespaces(Self.labels) { namespaces in
            let cluster = try Self.build(namespaces)
            var syncers: [OverlaySyncer] = []
            var macs: [String] = []
            var device0Index: Int32 = 0
            for index in 0..<2 {
                let settings = OverlaySyncer.VXLANSettings(
                    underlayDevice: "eth0", localAddress: InetAddress("198.18.0.\(index + 1)")!,
                    vtepAddress: InetAddress("10.244.\(index + 1).0")!)
                let syncer = OverlaySyncer(
                    mode: .vxlan(settings), connection: cluster.connections[index], logger: Self.logger)
                let device = try #require(try syncer.prepareDevice())
                #expect(device.mtu == 1450)
                macs.append(try #require(device.mac).description)
                if index == 0 {
                    device0Index = device.index
                }
                syncers.append(syncer)
            }
            let details = try cluster.nodes[0].ip("-d", "link", "show", Self.vxlanDevice)
            #expect(details.contains("vxlan id 1 "), "\(details)")
            #expect(details.contains("dstport 8472"), "\(details)")
            #expect(details.contains("nolearning"), "\(details)")

            let ghostMAC = "02:00:00:00:00:03"
            let everyone = [
                Self.node("a", number: 1, vtepMAC: macs[0]), Self.node("b", number: 2, vtepMAC: macs[1]),
                Self.node("c", number: 3, vtepMAC: ghostMAC),
            ]
            for (index, name) in ["a", "b"].enumerated() {
                let plan = OverlayCompiler.compile(nodes: everyone, localNode: name, backend: .vxlan)
                let report = try syncers[index].sync(plan)
                #expect(report.failures.isEmpty)
                #expect(report.added == 6)
            }
            #expect(
                try syncers[0].sync(OverlayCompiler.compile(nodes: everyone, localNode: "a", backend: .vxlan))
                    == .init())

            let nodeA = cluster.nodes[0]
            func entries() throws -> (routes: String, neighbours: String, fdb: String) {
                (
                    try nodeA.ip("route", "show", "dev", Self.vxlanDevice),
                    try nodeA.ip("neigh", "show", "dev", Self.vxlanDevice),
                    try nodeA.exec(["bridge", "fdb", "show", "dev", Self.vxlanDevice])
                )
            }
            let listed = try cluster.connections[0].routes().filter { $0.index == device0Index }
            #expect(
                Set(listed.map(\.description)) == [
                    "10.244.2.0/24 via 10.244.2.0 dev #\(device0Index) onlink",
                    "10.244.3.0/24 via 10.244.3.0 dev #\(device0Index) onlink",
                ])
            var kernel = try entries()
            #expect(kernel.routes.contains("10.244.2.0/24 via 10.244.2.0 onlink"), "\(kernel.routes)")
            #expect(kernel.routes.contains("10.244.3.0/24 via 10.244.3.0 onlink"), "\(kernel.routes)")
            #expect(kernel.neighbours.contains("10.244.2.0 lladdr \(macs[1]) PERMANENT"), "\(kernel.neighbours)")
            #expect(kernel.neighbours.contains("10.244.3.0 lladdr \(ghostMAC) PERMANENT"), "\(kernel.neighbours)")
            #expect(kernel.fdb.contains("\(macs[1]) dst 198.18.0.2 self permanent"), "\(kernel.fdb)")
            #expect(kernel.fdb.contains("\(ghostMAC) dst 198.18.0.3 self permanent"), "\(kernel.fdb)")

            try Self.expectPodToPodTraffic(cluster)

            let report = try syncers[0].sync(
                OverlayCompiler.compile(nodes: Array(everyone.prefix(2)), localNode: "a", backend: .vxlan))
            #expect(report == .init(added: 0, removed: 3, failures: []))
            kernel = try entries()
            #expect(!kernel.routes.contains("10.244.3.0"), "\(kernel.routes)")
            #expect(!kernel.neighbours.contains("10.244.3.0"), "\(kernel.neighbours)")
            #expect(!kernel.fdb.contains(ghostMAC), "\(kernel.fdb)")
            #expect(kernel.routes.contains("10.244.2.0/24 via 10.244.2.0 onlink"), "\(kernel.routes)")
            #expect(kernel.neighbours.contains("10.244.2.0 lladdr \(macs[1]) PERMANENT"), "\(kernel.neighbours)")
            #expect(kernel.fdb.contains("\(macs[1]) dst 198.18.0.2 self permanent"), "\(kernel.fdb)")

            try Self.expectPodToPodTraffic(cluster)

            // A restarted agent adopts the device and converges over the entries its predecessor left.
            let restarted = OverlaySyncer(
                mode: .vxlan(
                    .init(
                        underlayDevice: "eth0", localAddress: InetAddress("198.18.0.1")!,
                        vtepAddress: InetAddress("10.244.1.0")!)),
                connection: try nodeA.run { try LinkConnection() }, logger: Self.logger)
            #expect(try restarted.prepareDevice()?.mac?.description == macs[0])
            let again = try restarted.sync(
                OverlayCompiler.compile(nodes: Array(everyone.prefix(2)), localNode: "a", backend: .vxlan))
            #expect(again == .init(added: 3, removed: 0, failures: []))
            #expect(try entries() == kernel)
            try Self.expectPodToPodTraffic(cluster)
        }
    }

    @Test func hostGatewayCarriesPodTrafficAcrossNodesAndRemovingANodeRemovesExactlyItsRoute() throws {
        try withTestNamespaces(Self.labels) { namespaces in
            let cluster = try Self.build(namespaces)
            let everyone = [Self.node("a", number: 1), Self.node("b", number: 2), Self.node("c", number: 3)]
            var syncers: [OverlaySyncer] = []
            for (index, name) in ["a", "b"].enumerated() {
                let syncer = OverlaySyncer(
                    mode: .hostGateway, connection: cluster.connections[index], logger: Self.logger)
                #expect(try syncer.prepareDevice() == nil)
                let report = try syncer.sync(
                    OverlayCompiler.compile(nodes: everyone, localNode: name, backend: .hostGateway))
                #expect(report == .init(added: 2, removed: 0, failures: []))
                syncers.append(syncer)
            }
            let nodeA = cluster.nodes[0]
            var routes = try nodeA.ip("route", "show")
            #expect(routes.contains("10.244.2.0/24 via 198.18.0.2 dev eth0"), "\(routes)")
            #expect(routes.contains("10.244.3.0/24 via 198.18.0.3 dev eth0"), "\(routes)")
            #expect(!routes.contains(Self.vxlanDevice))

            try Self.expectPodToPodTraffic(cluster)

            let report = try syncers[0].sync(
                OverlayCompiler.compile(nodes: Array(everyone.prefix(2)), localNode: "a", backend: .hostGateway))
            #expect(report == .init(added: 0, removed: 1, failures: []))
            routes = try nodeA.ip("route", "show")
            #expect(!routes.contains("10.244.3.0"), "\(routes)")
            #expect(routes.contains("10.244.2.0/24 via 198.18.0.2 dev eth0"), "\(routes)")

            try Self.expectPodToPodTraffic(cluster)
        }
    }

    @Test func hostGatewayRoutesDualStackPodCIDRsViaTheNodeAddressOfEachFamily() throws {
        try withTestNamespaces(Self.labels) { namespaces in
            let cluster = try Self.build(namespaces)
            let everyone = [
                Self.node("a", number: 1, dualStack: true), Self.node("b", number: 2, dualStack: true),
                Self.node("c", number: 3, dualStack: true),
            ]
            var syncers: [OverlaySyncer] = []
            for (index, name) in ["a", "b"].enumerated() {
                let syncer = OverlaySyncer(
                    mode: .hostGateway, connection: cluster.connections[index], logger: Self.logger)
                let report = try syncer.sync(
                    OverlayCompiler.compile(nodes: everyone, localNode: name, backend: .hostGateway))
                #expect(report == .init(added: 4, removed: 0, failures: []))
                syncers.append(syncer)
            }
            var routes = try cluster.nodes[0].ip("-6", "route", "show")
            #expect(routes.contains("fd00:10:244:2::/64 via fd00:198:18::2 dev eth0"), "\(routes)")
            #expect(routes.contains("fd00:10:244:3::/64 via fd00:198:18::3 dev eth0"), "\(routes)")

            try Self.expectPodToPodTraffic(cluster, ipv6: true)
            try Self.expectPodToPodTraffic(cluster)

            let report = try syncers[0].sync(
                OverlayCompiler.compile(nodes: Array(everyone.prefix(2)), localNode: "a", backend: .hostGateway))
            #expect(report == .init(added: 0, removed: 2, failures: []))
            routes = try cluster.nodes[0].ip("-6", "route", "show")
            #expect(!routes.contains("fd00:10:244:3::"), "\(routes)")
            #expect(routes.contains("fd00:10:244:2::/64 via fd00:198:18::2 dev eth0"), "\(routes)")
            try Self.expectPodToPodTraffic(cluster, ipv6: true)
        }
    }

    /// VXLAN between nodes that talk IPv6 only: the device takes 70 bytes of overhead (MTU 1430 on a 1500-byte
    /// underlay), routes, neighbours and FDB entries are IPv6, and IPv6 pods reach each other with full-size
    /// packets (1380 bytes of ICMPv6 payload: 1428 on the wire, no fragmentation).
    @Test func vxlanOverAnIPv6UnderlayCarriesIPv6PodTraffic() throws {
        try withTestNamespaces(Self.labels) { namespaces in
            let cluster = try Self.build(namespaces)
            var macs: [String] = []
            var syncers: [OverlaySyncer] = []
            for index in 0..<2 {
                let number = index + 1
                try cluster.pods[index].ipBatch(["link set eth0 mtu 1430"])
                try cluster.nodes[index].ipBatch(["link set pod0 mtu 1430"])
                let settings = OverlaySyncer.VXLANSettings(
                    underlayDevice: "eth0", localAddress: InetAddress("fd00:198:18::\(number)")!,
                    vtepAddress: InetAddress("fd00:10:244:\(number)::")!)
                let syncer = OverlaySyncer(
                    mode: .vxlan(settings), connection: cluster.connections[index], logger: Self.logger)
                let device = try #require(try syncer.prepareDevice())
                #expect(device.mtu == 1430, "IPv6 encapsulation: 1500 - 70")
                macs.append(try #require(device.mac).description)
                syncers.append(syncer)
            }
            let nodes = (0..<2).map { index in
                Node(
                    metadata: ObjectMeta(
                        name: ["a", "b"][index],
                        annotations: [
                            VTEPAnnotation.mac: macs[index], VTEPAnnotation.address: "fd00:10:244:\(index + 1)::",
                        ]),
                    spec: NodeSpec(podCIDRs: ["fd00:10:244:\(index + 1)::/64"]),
                    status: NodeStatus(addresses: [NodeAddress(type: .internalIP, address: "fd00:198:18::\(index + 1)")]
                    ))
            }
            for (index, name) in ["a", "b"].enumerated() {
                let report = try syncers[index].sync(
                    OverlayCompiler.compile(nodes: nodes, localNode: name, backend: .vxlan))
                #expect(report.failures.isEmpty, "\(report)")
                #expect(report.added == 3)
            }
            let fdb = try cluster.nodes[0].execStatus(["bridge", "fdb", "show", "dev", Self.vxlanDevice])
            #expect(fdb.stdout.contains("dst fd00:198:18::2"), "\(fdb)")
            try Self.expectPodToPodTraffic(cluster, ipv6: true, pingSize: 1380)
        }
    }

    @Test func aNodeWhoseAddressChangesGetsItsEntriesReplaced() throws {
        try withTestNamespaces(Self.labels) { namespaces in
            let cluster = try Self.build(namespaces)
            let syncer = OverlaySyncer(mode: .hostGateway, connection: cluster.connections[0], logger: Self.logger)
            var b = Self.node("b", number: 2)
            b.status.addresses = [NodeAddress(type: .internalIP, address: "198.18.0.9")]
            try syncer.sync(
                OverlayCompiler.compile(nodes: [Self.node("a", number: 1), b], localNode: "a", backend: .hostGateway))
            #expect(try cluster.nodes[0].ip("route", "show").contains("10.244.2.0/24 via 198.18.0.9 dev eth0"))
            let report = try syncer.sync(
                OverlayCompiler.compile(
                    nodes: [Self.node("a", number: 1), Self.node("b", number: 2)], localNode: "a", backend: .hostGateway
                ))
            #expect(report == .init(added: 1, removed: 1, failures: []))
            let routes = try cluster.nodes[0].ip("route", "show")
            #expect(
                routes.contains("10.244.2.0/24 via 198.18.0.2 dev eth0") && !routes.contains("198.18.0.9"), "\(routes)")
        }
    }
}
