import Foundation
import SluiceTestSupport

/// The real `sluiced` running in a test namespace with its output in a log file; `stop()` ends it (SIGTERM).
/// Every daemon-level API test starts it this way.
final class SluicedDaemon {
    let process = Process()
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluiced-\(UUID()).log")

    init(in namespace: TestNamespace, _ arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace.name, SluicedAPISourceTests.sluiced] + arguments
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var logged: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }
}
