import SluiceTestSupport
import Testing

@Suite("NameServer and test clients", .requiresRoot)
struct NameServerTests {
    @Test("answers TCP and UDP on every port, over IPv4 and IPv6, with its name and the peer's address")
    func answersWithNameAndPeer() throws {
        try withTestNamespaces("names") { namespaces in
            let namespace = namespaces[0]
            let server = try NameServer(name: "web", in: namespace, tcpPorts: [8080, 8081], udpPorts: [5353, 5354])
            defer { server.stop() }

            for port: UInt16 in [8080, 8081] {
                #expect(tcpRequest(from: namespace, to: "127.0.0.1", port: port) == .reply("web 127.0.0.1"))
                #expect(tcpRequest(from: namespace, to: "::1", port: port) == .reply("web ::1"))
            }
            for port: UInt16 in [5353, 5354] {
                #expect(udpRequest(from: namespace, to: "127.0.0.1", port: port) == .reply("web 127.0.0.1"))
                #expect(udpRequest(from: namespace, to: "::1", port: port) == .reply("web ::1"))
            }
            let reply = tcpRequest(from: namespace, to: "127.0.0.1", port: 8080)
            #expect(reply.serverName == "web")
            #expect(reply.peerAddress == "127.0.0.1")
        }
    }

    @Test("a client bound to a source port can repeat its request from that port")
    func sourcePort() throws {
        try withTestNamespaces("srcport") { namespaces in
            let namespace = namespaces[0]
            let server = try NameServer(name: "web", in: namespace, tcpPorts: [80], udpPorts: [53])
            defer { server.stop() }

            for _ in 0..<2 {
                #expect(
                    tcpRequest(from: namespace, to: "127.0.0.1", port: 80, sourcePort: 40_000)
                        == .reply("web 127.0.0.1"))
                #expect(udpRequest(from: namespace, to: "::1", port: 53, sourcePort: 40_000) == .reply("web ::1"))
            }
        }
    }

    @Test("a stopped or released server refuses, and its ports can be listened on again")
    func stopReleasesPorts() throws {
        try withTestNamespaces("stop") { namespaces in
            let namespace = namespaces[0]
            let server = try NameServer(name: "first", in: namespace, tcpPorts: [80], udpPorts: [53])
            server.stop()
            server.stop()
            #expect(tcpRequest(from: namespace, to: "127.0.0.1", port: 80) == .refused)
            #expect(udpRequest(from: namespace, to: "127.0.0.1", port: 53) == .refused)

            do {
                _ = try NameServer(name: "released", in: namespace, tcpPorts: [80])
            }
            #expect(tcpRequest(from: namespace, to: "127.0.0.1", port: 80) == .refused)

            let again = try NameServer(name: "again", in: namespace, tcpPorts: [80])
            defer { again.stop() }
            #expect(tcpRequest(from: namespace, to: "::1", port: 80) == .reply("again ::1"))
        }
    }

    @Test("a port in use is reported by the server that cannot listen")
    func portInUse() throws {
        try withTestNamespaces("inuse") { namespaces in
            let server = try NameServer(name: "first", in: namespaces[0], tcpPorts: [80])
            defer { server.stop() }
            let error = try #require(throws: SocketError.self) {
                try NameServer(name: "second", in: namespaces[0], tcpPorts: [81, 80])
            }
            #expect(error.operation == "bind")
            #expect(error.description.contains("0.0.0.0:80/tcp"))
        }
    }

    @Test("a closed port is refused, a dropped one times out, a rejected or unrouted one is unreachable")
    func failureKinds() throws {
        try withTestNamespaces("fail-cli", "fail-srv") { namespaces in
            let (client, server) = (namespaces[0], namespaces[1])
            try client.addVethPair("eth0", peer: "eth0", in: server)
            try client.ipBatch(["address add 198.18.0.1/30 dev eth0", "link set eth0 up"])
            try server.ipBatch(["address add 198.18.0.2/30 dev eth0", "link set eth0 up"])
            let names = try NameServer(name: "srv", in: server, tcpPorts: [80], udpPorts: [53])
            defer { names.stop() }
            #expect(tcpRequest(from: client, to: "198.18.0.2", port: 80) == .reply("srv 198.18.0.1"))

            #expect(tcpRequest(from: client, to: "198.18.0.2", port: 81) == .refused)
            #expect(udpRequest(from: client, to: "198.18.0.2", port: 54) == .refused)
            #expect(tcpRequest(from: client, to: "10.96.0.1", port: 80) == .unreachable)
            #expect(
                tcpRequest(from: client, to: "not-an-address", port: 80)
                    == .error("not a numeric IP address: not-an-address"))

            try server.exec(
                ["nft", "-f", "-"],
                stdin: """
                    table inet filter {
                        chain input {
                            type filter hook input priority 0;
                            tcp dport 80 drop
                            udp dport 53 drop
                            tcp dport 81 reject with icmpx host-unreachable
                            udp dport 54 reject with icmpx host-unreachable
                        }
                    }
                    """)
            #expect(tcpRequest(from: client, to: "198.18.0.2", port: 80, timeout: .milliseconds(200)) == .timedOut)
            #expect(udpRequest(from: client, to: "198.18.0.2", port: 53, timeout: .milliseconds(200)) == .timedOut)
            #expect(tcpRequest(from: client, to: "198.18.0.2", port: 81) == .unreachable)
            #expect(udpRequest(from: client, to: "198.18.0.2", port: 54) == .unreachable)
        }
    }

    @Test("tally counts replies by server name and failures by kind")
    func tallies() throws {
        try withTestNamespaces("tally") { namespaces in
            let namespace = namespaces[0]
            let server = try NameServer(name: "web", in: namespace, tcpPorts: [80])
            defer { server.stop() }
            let ports: [UInt16] = [80, 81]
            let counts = tally(10) { attempt in
                tcpRequest(from: namespace, to: "127.0.0.1", port: ports[attempt % 2])
            }
            #expect(counts == ["web": 5, "[refused]": 5])
        }
    }
}
