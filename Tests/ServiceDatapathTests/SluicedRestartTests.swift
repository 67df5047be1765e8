import Foundation
import KubeAPI
import SluiceTestSupport
import Testing

/// The real `sluiced` binary in the node namespace: a restart adopts its table without breaking an open
/// connection, and drift (a deleted map element) is repaired.
@Suite(.requiresRoot)
struct SluicedRestartTests {
    @Test func restartKeepsEstablishedConnectionsAndRepairsDrift() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: SluicedDaemon.binary),
            "sluiced not built at \(SluicedDaemon.binary)")
        try await ServiceLab.run(pods: ["web-1", "client"]) { lab in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluiced-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let service = ServiceLab.service(
                "echo", ports: [ServicePort(name: "echo", port: 9000, targetPort: .int(9000))])
            let slice = lab.slice("echo", ["web-1"], port: 9000, portName: "echo")
            let encoder = JSONEncoder()
            try encoder.encode(service).write(to: directory.appendingPathComponent("service.json"))
            try encoder.encode(slice).write(to: directory.appendingPathComponent("slice.json"))

            func runSluiced() throws -> String {
                let result = try lab.topology.node.execStatus([
                    SluicedDaemon.binary, "--manifests", directory.path, "--node-name", ServiceLab.nodeName,
                    "--cluster-cidr", "10.244.0.0/16", "--once",
                ])
                #expect(result.status == 0, "\(result)")
                return result.stderr
            }
            _ = try runSluiced()

            let server = try EchoServer(in: lab.pod("web-1").namespace, port: 9000)
            defer { server.stop() }
            let connection = try EchoClient(from: lab.client, to: "10.96.0.10", port: 9000)
            defer { connection.close() }
            #expect(try connection.exchange("before restart") == "before restart")

            let restart = try runSluiced()
            #expect(restart.contains("existing=true"), "\(restart)")
            #expect(restart.contains("elements=0"), "an unchanged restart rewrites no element: \(restart)")
            #expect(try connection.exchange("after restart") == "after restart")

            _ = try lab.topology.node.exec([
                "nft", "delete", "element", "inet", "sluice", "service-ips4", "{ 10.96.0.10 . tcp . 9000 }",
            ])
            #expect(
                tcpRequest(from: lab.client, to: "10.96.0.10", port: 9000, timeout: .milliseconds(500)).serverName
                    == nil)
            let repair = try runSluiced()
            #expect(repair.contains("elements=1"), "\(repair)")
            let fresh = try EchoClient(from: lab.client, to: "10.96.0.10", port: 9000)
            defer { fresh.close() }
            #expect(try fresh.exchange("repaired") == "repaired")
            #expect(try connection.exchange("still open") == "still open")
        }
    }
}

/// A TCP echo server in a namespace that keeps connections open (unlike NameServer, which answers and closes).
final class EchoServer: Sendable {
    let listener: Int32

    init(in namespace: TestNamespace, port: UInt16) throws {
        listener = try namespace.run { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
            guard bound == 0, listen(fd, 8) == 0 else { throw EchoError("listen on :\(port): errno \(errno)") }
            return fd
        }
        let fd = listener
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 1024)
                    while true {
                        let n = recv(client, &buffer, buffer.count, 0)
                        guard n > 0 else { break }
                        _ = send(client, buffer, n, Int32(MSG_NOSIGNAL))
                    }
                    close(client)
                }
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// One long-lived TCP connection opened from a namespace.
struct EchoClient {
    let fd: Int32

    init(from namespace: TestNamespace, to address: String, port: UInt16) throws {
        fd = try namespace.run { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &target.sin_addr)
            let connected = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                let code = errno
                Glibc.close(fd)
                throw EchoError("connect to \(address):\(port): errno \(code)")
            }
            return fd
        }
    }

    func exchange(_ text: String) throws -> String {
        _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { throw EchoError("recv: errno \(errno)") }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    func close() { _ = Glibc.close(fd) }
}

struct EchoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
