import Glibc
import NetNamespace
import SluiceTestSupport
import Testing

@Suite("TestNamespace harness", .requiresRoot)
struct TestNamespaceTests {
    @Test("make gives a short unique sl- name with lo up")
    func makeBringsLoopbackUp() throws {
        let namespace = try TestNamespace.make("harness")
        defer { try? namespace.delete() }

        #expect(namespace.name.hasPrefix("sl-harness-\(getpid())-"))
        #expect(namespace.name.count <= 30)
        try namespace.exec(["ping", "-c1", "-W1", "127.0.0.1"])
    }

    @Test("withTestNamespaces deletes its namespaces when the body returns")
    func cleanupOnReturn() throws {
        let paths = try withTestNamespaces("ret-a", "ret-b") { namespaces in
            namespaces.map(\.namespace.path)
        }
        for path in paths {
            #expect(access(path, F_OK) != 0, "\(path) was left behind")
        }
    }

    @Test("an error thrown inside run propagates out of withTestNamespaces, which still deletes its namespaces")
    func cleanupOnThrow() async throws {
        struct Failure: Error {
            let paths: [String]
        }
        let error = try await #require(throws: Failure.self) {
            try await withTestNamespaces("thr-a", "thr-b") { namespaces in
                await Task.yield()
                let paths = namespaces.map(\.namespace.path)
                try namespaces[1].run { () throws -> Void in throw Failure(paths: paths) }
            }
        }
        #expect(error.paths.count == 2)
        for path in error.paths {
            #expect(access(path, F_OK) != 0, "\(path) was left behind")
        }
    }

    @Test("delete is idempotent and a dropped TestNamespace deletes itself")
    func deinitCleansUp() throws {
        var namespace: TestNamespace? = try TestNamespace.make("deinit")
        let path = namespace!.namespace.path
        #expect(access(path, F_OK) == 0)
        namespace = nil
        #expect(access(path, F_OK) != 0)

        let deleted = try TestNamespace.make("twice")
        try deleted.delete()
        try deleted.delete()
    }

    @Test("exec returns stdout; failures carry status and stderr")
    func execReportsFailures() throws {
        try withTestNamespaces("exec") { namespaces in
            let namespace = namespaces[0]
            #expect(try namespace.exec(["cat"], stdin: "hello\n") == "hello\n")

            let result = try namespace.execStatus(["sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(result.status == 3)
            #expect(result.stdout == "out\n")
            #expect(result.stderr == "err\n")

            let error = try #require(throws: ProcessError.self) {
                try namespace.exec(["sh", "-c", "echo broken >&2; exit 4"])
            }
            #expect(error.description.contains("status 4"))
            #expect(error.description.contains("broken"))
        }
    }

    @Test("exec runs the program inside the namespace")
    func execIsInside() throws {
        try withTestNamespaces("inside") { namespaces in
            let namespace = namespaces[0]
            try namespace.addVethPair("sl-x0", peer: "sl-x1")
            let links = try namespace.exec(["ip", "-o", "link", "show"])
            #expect(links.contains("sl-x0"))
            #expect(try namespace.exec(["ls", "/sys/class/net"]).contains("sl-x1"))
        }
    }

    @Test("two namespaces joined by a veth pair ping each other")
    func vethPing() throws {
        try withTestNamespaces("ping-a", "ping-b") { namespaces in
            let (a, b) = (namespaces[0], namespaces[1])
            try a.addVethPair("sl-pa", peer: "sl-pb", in: b)
            try a.addAddress("198.18.0.1/30", to: "sl-pa")
            try b.addAddress("198.18.0.2/30", to: "sl-pb")
            try a.setUp("sl-pa")
            try b.setUp("sl-pb")

            try a.exec(["ping", "-c1", "-W1", "198.18.0.2"])
            try b.exec(["ping", "-c1", "-W1", "198.18.0.1"])
        }
    }

    @Test("pods on a node bridge reach each other, the gateway, and a routed node address")
    func bridgeTopology() throws {
        try withTestNamespaces("node", "pod-1", "pod-2") { namespaces in
            let (node, pods) = (namespaces[0], Array(namespaces[1...]))
            try node.addBridge("sl-br0")
            try node.addAddress("198.18.1.1/24", to: "sl-br0")
            try node.addAddress("198.18.2.1/32", to: "lo")
            try node.setUp("sl-br0")
            for (index, pod) in pods.enumerated() {
                let hostSide = "sl-h\(index)"
                try pod.addVethPair("eth0", peer: hostSide, in: node)
                try node.attach(hostSide, toBridge: "sl-br0")
                try node.setUp(hostSide)
                try pod.addAddress("198.18.1.\(10 + index)/24", to: "eth0")
                try pod.setUp("eth0")
                try pod.addRoute("198.18.2.0/24", via: "198.18.1.1")
            }

            try pods[0].exec(["ping", "-c1", "-W1", "198.18.1.11"])
            try pods[1].exec(["ping", "-c1", "-W1", "198.18.1.1"])
            try pods[0].exec(["ping", "-c1", "-W1", "198.18.2.1"])
            let unrouted = try pods[0].execStatus(["ping", "-c1", "-W1", "198.18.3.1"])
            #expect(!unrouted.succeeded)
        }
    }
}
