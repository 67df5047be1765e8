import Foundation

/// The real `sluiced` running in a test namespace with its output in a log file; `stop()` ends it (SIGTERM).
/// Every daemon-level test starts it this way.
public final class SluicedDaemon {
    /// `sluiced`, built next to the test bundle by `swift build --build-tests`.
    public static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sluiced")
            .path
    }

    public let process = Process()
    /// Outside any directory a test hands the daemon (a manifest directory would count its growth as a change).
    public let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluiced-\(UUID()).log")

    /// Starts `sluiced ARGUMENTS` inside `namespace`.
    public init(in namespace: TestNamespace, _ arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace.name, Self.binary] + arguments
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Everything the daemon has written so far.
    public var logged: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM (unless it has exited already), waits for the exit and removes the log.
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }
}
