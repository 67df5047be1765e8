import Glibc
import NetNamespace
import SluiceTestSupport
import Testing

@Suite("NetworkNamespace")
struct NetworkNamespaceTests {
    @Test("entering a missing namespace file throws a typed error naming the path")
    func missingPath() throws {
        let namespace = NetworkNamespace(path: "/run/netns/sl-no-such-namespace")
        let error = try #require(throws: NetNamespaceError.self) {
            try namespace.run { () -> Int in 1 }
        }
        #expect(error.operation == .open)
        #expect(error.path == namespace.path)
        #expect(error.code == ENOENT)
        #expect(error.isNotFound)
        #expect(error.description.contains("/run/netns/sl-no-such-namespace"))
        #expect(error.description.contains("No such file or directory"))
    }

    @Test("entering a file that is not a network namespace throws EINVAL from setns")
    func notANamespace() throws {
        let error = try #require(throws: NetNamespaceError.self) {
            try NetworkNamespace(path: "/proc/self/status").run { () -> Int in 1 }
        }
        #expect(error.operation == .enter)
        #expect(error.code == EINVAL)
    }

    @Test("names iproute2 would refuse are rejected before touching the system", arguments: ["", ".", "..", "a/b"])
    func invalidName(_ name: String) throws {
        let error = try #require(throws: NetNamespaceError.self) {
            try NetworkNamespace.create(named: name)
        }
        #expect(error.operation == .validateName)
        #expect(error.code == EINVAL)
    }

    @Test("a created namespace is listed by ip netns until it is deleted", .requiresRoot)
    func createListDelete() throws {
        let name = TestNamespace.uniqueName("list")
        let namespace = try NetworkNamespace.create(named: name)
        defer { try? namespace.delete() }
        #expect(namespace.name == name)
        #expect(namespace.path == "/run/netns/\(name)")
        #expect(try listedNamespaces().contains(name))

        try namespace.delete()
        #expect(try !listedNamespaces().contains(name))
        #expect(access(namespace.path, F_OK) != 0)
        let again = try #require(throws: NetNamespaceError.self) { try namespace.delete() }
        #expect(again.isNotFound)
    }

    @Test("creating a name that exists fails with EEXIST and leaves the existing one alone", .requiresRoot)
    func createExisting() throws {
        try withTestNamespaces("dup") { namespaces in
            let existing = namespaces[0]
            let error = try #require(throws: NetNamespaceError.self) {
                try NetworkNamespace.create(named: existing.name)
            }
            #expect(error.code == EEXIST)
            #expect(try existing.run { currentThreadNamespaceInode() } == inode(of: existing.namespace.path))
        }
    }

    @Test("run switches only its own thread into the namespace", .requiresRoot)
    func runSwitchesNamespace() throws {
        try withTestNamespaces("switch") { namespaces in
            let namespace = namespaces[0]
            let outside = currentThreadNamespaceInode()
            let inside = try namespace.run { currentThreadNamespaceInode() }

            #expect(inside == inode(of: namespace.namespace.path))
            #expect(inside != outside)
            #expect(currentThreadNamespaceInode() == outside)
        }
    }

    @Test("runOnCallingThread enters on this thread and returns, also when the body throws", .requiresRoot)
    func runOnCallingThreadReturns() throws {
        struct Marker: Error, Equatable {}
        try withTestNamespaces("here") { namespaces in
            let namespace = namespaces[0]
            let outside = currentThreadNamespaceInode()
            try namespace.addVethPair("sl-here0", peer: "sl-here1")
            let (inside, sawLink) = try namespace.namespace.runOnCallingThread {
                (currentThreadNamespaceInode(), hasInterface("sl-here0"))
            }
            #expect(inside == inode(of: namespace.namespace.path))
            #expect(sawLink)
            #expect(currentThreadNamespaceInode() == outside)
            #expect(throws: Marker()) {
                try namespace.namespace.runOnCallingThread { () throws -> Void in throw Marker() }
            }
            #expect(currentThreadNamespaceInode() == outside)
            #expect(!hasInterface("sl-here0"))
            #expect(throws: NetNamespaceError.self) {
                try NetworkNamespace(path: "/nonexistent/netns").runOnCallingThread {}
            }
            #expect(currentThreadNamespaceInode() == outside)
        }
    }

    @Test("links created in the namespace are visible inside run and not outside", .requiresRoot)
    func linksAreScoped() throws {
        try withTestNamespaces("links") { namespaces in
            let namespace = namespaces[0]
            try namespace.addVethPair("sl-in0", peer: "sl-in1")

            #expect(try namespace.run { hasInterface("sl-in0") && hasInterface("sl-in1") })
            #expect(!hasInterface("sl-in0"))
        }
    }

    @Test("a socket created inside run stays in the namespace when used from another thread", .requiresRoot)
    func socketsKeepTheirNamespace() throws {
        try withTestNamespaces("socket") { namespaces in
            let namespace = namespaces[0]
            try namespace.addAddress("198.18.255.1/32", to: "lo")
            let inside = try namespace.run { udpSocket() }
            defer { close(inside) }
            let outside = udpSocket()
            defer { close(outside) }
            try #require(inside >= 0 && outside >= 0)

            #expect(bind(inside, toIPv4: "198.18.255.1") == 0)
            #expect(bind(outside, toIPv4: "198.18.255.1") == EADDRNOTAVAIL)
        }
    }

    @Test("errors thrown by the body propagate unchanged", .requiresRoot)
    func bodyErrorsPropagate() throws {
        struct Marker: Error, Equatable {
            let value: Int
        }
        try withTestNamespaces("throws") { namespaces in
            #expect(throws: Marker(value: 7)) {
                try namespaces[0].run { () throws -> Int in throw Marker(value: 7) }
            }
        }
    }

    @Test("concurrent runs in two namespaces never see each other's namespace", .requiresRoot)
    func concurrentRuns() async throws {
        try await withTestNamespaces("conc-a", "conc-b") { namespaces in
            try namespaces[0].addVethPair("sl-ca0", peer: "sl-ca1")
            try namespaces[1].addVethPair("sl-cb0", peer: "sl-cb1")
            let expected = namespaces.map { inode(of: $0.namespace.path) }
            let markers = ["sl-ca0", "sl-cb0"]

            try await withThrowingTaskGroup(of: Bool.self) { group in
                for task in 0..<64 {
                    let index = task % 2
                    let namespace = namespaces[index]
                    let (own, other) = (markers[index], markers[1 - index])
                    let inode = expected[index]
                    group.addTask {
                        try namespace.run {
                            currentThreadNamespaceInode() == inode && hasInterface(own) && !hasInterface(other)
                        }
                    }
                }
                for try await sawOnlyItsOwnNamespace in group {
                    #expect(sawOnlyItsOwnNamespace)
                }
            }
        }
    }

    private func listedNamespaces() throws -> [String] {
        try runProcess(["ip", "netns", "list"]).output().split(separator: "\n").map {
            String($0.split(separator: " ")[0])
        }
    }
}
