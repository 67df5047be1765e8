import Foundation

/// A failed command, with what it printed: topology set-up is a long list of `ip` commands and the one that
/// failed must be obvious.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// Runs short set-up commands and starts the long-running processes of the virtual cluster.
///
/// Everything is started from the calling thread (never from a thread that entered a namespace) through
/// `ip netns exec`, so each process lives in its namespace while the caller stays in its own.
enum Shell {
    /// `env` with a root shell's search path: `ip` and `sysctl` live in sbin, which a caller's `PATH` may lack.
    static let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

    /// Runs `argv` to completion; throws with its output when it fails.
    @discardableResult
    static func run(_ argv: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = env + argv
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ClusterError("`\(argv.joined(separator: " "))` failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }

    /// `ip -n NAMESPACE -batch` of the given commands (one process for many links and addresses).
    static func ipBatch(_ namespace: String, _ commands: [String]) throws {
        try run(["ip", "-n", namespace, "-force", "-batch", "-"], stdin: commands.joined(separator: "\n") + "\n")
    }

    /// Starts a long-running process in `namespace` with its output appended to `log`.
    static func start(in namespace: String, _ argv: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = env + ["ip", "netns", "exec", namespace] + argv
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}
