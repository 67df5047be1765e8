import Foundation
import SluiceTestSupport

/// A throwaway CA and a server certificate for 127.0.0.1 it signed, made with the `openssl` CLI for one test run,
/// so the client under test verifies a real chain (and a wrong CA fails); plus a client certificate the CA signed
/// (mutual TLS) and a self-signed server certificate nobody trusts (`insecure-skip-tls-verify`).
struct TestCertificates {
    let directory: URL
    var caPath: String { directory.appendingPathComponent("ca.crt").path }
    var serverCertificatePath: String { directory.appendingPathComponent("server.crt").path }
    var serverKeyPath: String { directory.appendingPathComponent("server.key").path }
    var caPEM: Data { FileManager.default.contents(atPath: caPath)! }
    var clientCertificatePath: String { directory.appendingPathComponent("client.crt").path }
    var clientKeyPath: String { directory.appendingPathComponent("client.key").path }
    var untrustedCertificatePath: String { directory.appendingPathComponent("untrusted.crt").path }
    var untrustedKeyPath: String { directory.appendingPathComponent("untrusted.key").path }

    static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-tls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.path
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: path + "/san.ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for argv in [
            ["openssl", "req", "-x509"] + ec + [
                "-keyout", path + "/ca.key", "-out", path + "/ca.crt", "-days", "2", "-subj", "/CN=sluice-test-ca",
            ],
            ["openssl", "req"] + ec + [
                "-keyout", path + "/server.key", "-out", path + "/server.csr", "-subj", "/CN=kube-apiserver",
            ],
            [
                "openssl", "x509", "-req", "-in", path + "/server.csr", "-CA", path + "/ca.crt", "-CAkey",
                path + "/ca.key", "-CAcreateserial", "-out", path + "/server.crt", "-days", "2", "-extfile",
                path + "/san.ext",
            ],
            ["openssl", "req"] + ec + [
                "-keyout", path + "/client.key", "-out", path + "/client.csr", "-subj", "/CN=system:node:node-a",
            ],
            [
                "openssl", "x509", "-req", "-in", path + "/client.csr", "-CA", path + "/ca.crt", "-CAkey",
                path + "/ca.key", "-CAcreateserial", "-out", path + "/client.crt", "-days", "2",
            ],
            ["openssl", "req", "-x509"] + ec + [
                "-keyout", path + "/untrusted.key", "-out", path + "/untrusted.crt", "-days", "2", "-subj",
                "/CN=untrusted", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
        ] {
            let result = try runProcess(argv)
            guard result.status == 0 else { throw TestServerError("\(argv.joined(separator: " ")): \(result)") }
        }
        return TestCertificates(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

struct TestServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
