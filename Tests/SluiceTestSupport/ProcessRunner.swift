import Foundation
import Synchronization

/// What a finished program did: its exit status and everything it printed.
///
/// Tests inspect the kernel through the real tools (`ip -j`, `nft -j list ruleset`, `ping`), so they need both
/// streams: stdout to parse, stderr to explain a failure.
public struct ProcessResult: Sendable, Hashable, CustomStringConvertible {
    /// The program and its arguments, as run.
    public let argv: [String]
    /// The exit status; a program killed by a signal reports `128 + signal`, as shells do.
    public let status: Int32
    /// Everything written to standard output (decoded as UTF-8).
    public let stdout: String
    /// Everything written to standard error (decoded as UTF-8).
    public let stderr: String

    /// Creates a result; ``runProcess(_:stdin:)`` is the usual source.
    public init(argv: [String], status: Int32, stdout: String, stderr: String) {
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// True when the program exited with status 0.
    public var succeeded: Bool { status == 0 }

    /// Returns standard output when the program succeeded, so callers can write `try runProcess(…).output()`.
    ///
    /// - Throws: ``ProcessError/failed(_:)`` naming the command, status and standard error otherwise.
    public func output() throws(ProcessError) -> String {
        guard succeeded else {
            throw .failed(self)
        }
        return stdout
    }

    public var description: String {
        var text = "`\(argv.joined(separator: " "))` exited with status \(status)"
        if !stderr.isEmpty {
            text += "; stderr: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        return text
    }
}

/// Why running a program did not give the expected result.
public enum ProcessError: Error, CustomStringConvertible, Sendable, Hashable {
    /// No executable of that name in `PATH` (or the sbin directories root's tools live in).
    case notFound(program: String)
    /// The program ran and exited with a non-zero status.
    case failed(ProcessResult)

    public var description: String {
        switch self {
        case .notFound(let program):
            "`\(program)` not found in PATH or sbin directories (is its package installed? see scripts/install-deps.sh)"
        case .failed(let result):
            result.description
        }
    }
}

/// Runs a program to completion and returns its status and output; a non-zero status is a result, not an error.
///
/// `argv[0]` is looked up in `PATH` and in the sbin directories (CI's environment may lack them, and `ip`, `nft`
/// and `conntrack` live there). Both output streams are drained concurrently while `stdin` is fed, so a program
/// that prints a lot (a large `nft -j list ruleset`) can never deadlock against a full pipe.
///
/// The program runs in the caller's namespaces; to run it in a test namespace use ``TestNamespace/exec(_:stdin:)``.
///
/// - Throws: ``ProcessError/notFound(program:)``, or Foundation's error when the program cannot be started.
public func runProcess(_ argv: [String], stdin input: String? = nil) throws -> ProcessResult {
    precondition(!argv.isEmpty, "runProcess needs a program to run")
    let process = Process()
    process.executableURL = try executableURL(for: argv[0])
    process.arguments = Array(argv.dropFirst())
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    let inputPipe = input.map { _ in Pipe() }
    process.standardInput = inputPipe ?? FileHandle.nullDevice
    try process.run()

    let pending = DispatchGroup()
    let errorText = PipeText()
    let errorReader = errors.fileHandleForReading
    startThread(in: pending) {
        errorText.store(errorReader.readDataToEndOfFile())
    }
    if let inputPipe, let input {
        let writer = inputPipe.fileHandleForWriting
        startThread(in: pending) {
            // A program that exits without reading all its input closes the pipe; that is its business.
            try? writer.write(contentsOf: Data(input.utf8))
            try? writer.close()
        }
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    pending.wait()
    process.waitUntilExit()

    let status =
        process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return ProcessResult(
        argv: argv, status: status, stdout: String(decoding: outputData, as: UTF8.self), stderr: errorText.text)
}

/// Runs `work` on a thread of its own, counted in `group` until it finishes.
///
/// Not on `DispatchQueue.global()`: on Linux its threads come from the pool Swift concurrency uses too, about one per
/// core. With the calling test blocked here and the standard-error reader on another thread, a 2-core machine had
/// none left for the standard-input writer, which waited about a second for Dispatch to add one (a `cat` fed through
/// stdin took 1.0 s instead of 1.2 ms).
private func startThread(in group: DispatchGroup, _ work: @escaping @Sendable () -> Void) {
    group.enter()
    Thread {
        work()
        group.leave()
    }.start()
}

/// Standard error as collected by a reader thread, handed over to the waiting caller.
private final class PipeText: Sendable {
    private let data = Mutex(Data())

    func store(_ bytes: Data) {
        data.withLock { $0 = bytes }
    }

    var text: String {
        data.withLock { String(decoding: $0, as: UTF8.self) }
    }
}

/// Finds `program` the way a root shell would, without depending on the caller's `PATH` containing sbin.
private func executableURL(for program: String) throws(ProcessError) -> URL {
    if program.contains("/") {
        return URL(fileURLWithPath: program)
    }
    let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
    let sbin = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    for directory in searchPath + sbin {
        let candidate = directory + "/" + program
        if FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
    }
    throw .notFound(program: program)
}
