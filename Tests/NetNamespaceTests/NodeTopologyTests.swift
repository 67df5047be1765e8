import Glibc
import SluiceTestSupport
import Testing

@Suite("NodeTopology", .requiresRoot)
struct NodeTopologyTests {
    @Test("pods reach each other over the bridge, TCP and UDP, IPv4 and IPv6, and see each other's addresses")
    func podToPod() throws {
        try withNodeTopology(.init(pods: ["client", "web"], hasExternal: false)) { topology in
            let (client, web) = (topology.pods[0], topology.pods[1])
            #expect((client.ipv4, web.ipv4) == ("10.244.1.2", "10.244.1.3"))
            #expect((client.ipv6, web.ipv6) == ("fd00:10:244:1::2", "fd00:10:244:1::3"))
            #expect(topology[pod: "web"]?.hostVeth == "veth1")
            try topology.startNameServers(on: [web], tcpPorts: [8080], udpPorts: [5353])

            for (target, source) in [(web.ipv4, client.ipv4), (web.ipv6, client.ipv6)] {
                #expect(tcpRequest(from: client.namespace, to: target, port: 8080) == .reply("web \(source)"))
                #expect(udpRequest(from: client.namespace, to: target, port: 5353) == .reply("web \(source)"))
            }
        }
    }

    @Test("the external host reaches pods and the node's own address through the node, over IPv4 and IPv6")
    func externalThroughNode() throws {
        try withNodeTopology(.init(pods: ["web"])) { topology in
            let web = topology.pods[0]
            let external = try #require(topology.external)
            try topology.startNameServers(on: [web], tcpPorts: [80], udpPorts: [53])
            let nodeServer = try NameServer(name: "node", in: topology.node, tcpPorts: [30080], udpPorts: [30053])
            defer { nodeServer.stop() }

            for (pod, gateway, source) in [
                (web.ipv4, topology.gatewayIPv4, external.ipv4), (web.ipv6, topology.gatewayIPv6, external.ipv6),
            ] {
                #expect(tcpRequest(from: external.namespace, to: pod, port: 80) == .reply("web \(source)"))
                #expect(udpRequest(from: external.namespace, to: pod, port: 53) == .reply("web \(source)"))
                // The node answers from the address that was asked, not from its address on the external link.
                #expect(tcpRequest(from: external.namespace, to: gateway, port: 30080) == .reply("node \(source)"))
                #expect(udpRequest(from: external.namespace, to: gateway, port: 30053) == .reply("node \(source)"))
            }
            #expect(tcpRequest(from: external.namespace, to: "10.244.2.1", port: 80) == .unreachable)
            #expect(
                tcpRequest(from: web.namespace, to: external.ipv6, port: 80, timeout: .milliseconds(500)) == .refused)
        }
    }

    @Test("300 sequential TCP requests round-robin over three pods all get answers")
    func manySequentialRequests() throws {
        try withNodeTopology(.init(pods: ["client", "web-1", "web-2", "web-3"], hasExternal: false)) { topology in
            let (client, webs) = (topology.pods[0], Array(topology.pods[1...]))
            try topology.startNameServers(on: webs, tcpPorts: [80])
            let counts = tally(300) { attempt in
                tcpRequest(from: client.namespace, to: webs[attempt % webs.count].ipv4, port: 80)
            }
            #expect(counts == ["web-1": 100, "web-2": 100, "web-3": 100])
        }
    }

    @Test("hairpin is set on every pod port only when configured")
    func hairpin() throws {
        for enabled in [false, true] {
            try withNodeTopology(.init(pods: ["a", "b"], hasExternal: false, hairpin: enabled)) { topology in
                for pod in topology.pods {
                    let details = try topology.node.ip("-d", "link", "show", pod.hostVeth)
                    #expect(details.contains("hairpin \(enabled ? "on" : "off")"))
                }
            }
        }
    }

    @Test("forwarding is on in the node namespace, and nft runs there")
    func nodeSettings() throws {
        try withNodeTopology(.init(pods: ["a"], hasExternal: false)) { topology in
            let forwarding = try topology.node.exec([
                "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
            ])
            #expect(forwarding == "1\n1\n")
            try topology.node.exec(["nft", "add table inet sluice-test"])
            #expect(try topology.node.exec(["nft", "list tables"]).contains("sluice-test"))
        }
    }

    @Test("every namespace is deleted when the body returns and when it throws")
    func cleanup() async throws {
        struct Failure: Error {}
        var names: [String] = []
        try withNodeTopology(.init(pods: ["a", "b"])) { topology in
            names = [topology.node.name, topology.external!.namespace.name] + topology.pods.map(\.namespace.name)
        }
        await #expect(throws: Failure.self) {
            try await withNodeTopology(.init(pods: ["c"], hasExternal: false)) { topology in
                names += [topology.node.name, topology.pods[0].namespace.name]
                await Task.yield()
                try topology.startNameServers(on: topology.pods, tcpPorts: [80])
                throw Failure()
            }
        }
        #expect(names.count == 6)
        let listed = try runProcess(["ip", "netns", "list"]).output()
        for name in names {
            #expect(!listed.contains(name), "\(name) was left behind")
            #expect(access("/run/netns/\(name)", F_OK) != 0)
        }
    }

    @Test("configurations outside the test ranges are refused before anything is created")
    func refusesForeignRanges() throws {
        var outside = NodeTopology.Configuration(pods: ["a"])
        outside.podCIDRv4 = "192.168.1.0/24"
        #expect(throws: NodeTopology.ConfigurationError.self) { try withNodeTopology(outside) { _ in } }

        var tooSmall = NodeTopology.Configuration(pods: ["a", "b", "c"])
        tooSmall.podCIDRv4 = "10.244.1.0/30"
        let error = try #require(throws: NodeTopology.ConfigurationError.self) {
            try withNodeTopology(tooSmall) { _ in }
        }
        #expect(error.description == "10.244.1.0/30 has no host number 3: too small for this topology")
    }
}
