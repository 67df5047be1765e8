import Dispatch
import Foundation
import NetNamespace
import Synchronization

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: processes

/// What a finished child process left: its exit status, its standard output, its peak memory and how long it ran.
struct ProcessOutcome {
    var status: Int32
    var output: String
    /// `ru_maxrss` of the child (KiB): peak RSS of the program `ip netns exec` execs into, so the peers' memory is
    /// measured the same way as Sluice's.
    var maxRSSKiB: Int
    /// This process's RSS when the child started: the floor under ``maxRSSKiB`` (see ``spawn(_:)``).
    var parentRSSKiB: Int
    var wall: Duration
}

/// Runs `argv` (looked up in `PATH`) and waits for it, with `posix_spawn` and `wait4` so that its peak RSS is
/// known; standard error passes through so a failing `nft` or `iptables-restore` explains itself.
///
/// The kernel counts a child's peak RSS from the memory it started with: a spawned child begins as this process
/// (vfork), so its `ru_maxrss` is at least this process's high-water mark. Returning freed memory to the kernel
/// and resetting that mark first (`clear_refs` 5) leaves this process's current RSS as the floor, which
/// ``ProcessOutcome/parentRSSKiB`` records: a peer's figure is its own unless it is close to that floor.
func spawn(_ argv: [String]) throws -> ProcessOutcome {
    releaseFreedMemory()
    if let clear = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
        clear.write(Data("5".utf8))
        try? clear.close()
    }
    let parentRSSKiB = currentRSSBytes() / 1024
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { throw BenchError("pipe: errno \(errno)") }
    // Close-on-exec, so children started meanwhile by other threads never hold the write end open.
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let clock = ContinuousClock()
    let start = clock.now
    var pid: pid_t = 0
    let status = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
    close(ends[1])
    guard status == 0 else {
        close(ends[0])
        throw BenchError("cannot run \(argv[0]): errno \(status)")
    }
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = read(ends[0], &buffer, buffer.count)
        if n > 0 {
            output.append(contentsOf: buffer[0..<n])
        } else if n == 0 || errno != EINTR {
            break
        }
    }
    close(ends[0])
    var waitStatus: Int32 = 0
    var usage = rusage()
    while wait4(pid, &waitStatus, 0, &usage) < 0 && errno == EINTR {}
    let wall = clock.now - start
    let exited = (waitStatus & 0x7f) == 0
    return ProcessOutcome(
        status: exited ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f),
        output: String(decoding: output, as: UTF8.self), maxRSSKiB: Int(usage.ru_maxrss), parentRSSKiB: parentRSSKiB,
        wall: wall)
}

/// glibc's `malloc_trim(0)` (declared in malloc.h, which Swift's Glibc module does not export): hands freed heap
/// pages back to the kernel so they stop counting as resident.
private func releaseFreedMemory() {
    typealias Trim = @convention(c) (Int) -> Int32
    if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }
}

/// Runs `argv` and returns its output; throws naming the command when it fails.
@discardableResult
func runTool(_ argv: [String]) throws -> String {
    let outcome = try spawn(argv)
    guard outcome.status == 0 else {
        throw BenchError("\(argv.joined(separator: " ")) exited with status \(outcome.status)")
    }
    return outcome.output
}

/// Peak resident set size of this process so far (`VmHWM` of /proc/self/status), in bytes.
func peakRSSBytes() -> Int { statusBytes("VmHWM:") }

/// Current resident set size (`VmRSS`), in bytes: taken between phases, it shows which phase holds the memory.
func currentRSSBytes() -> Int { statusBytes("VmRSS:") }

private func statusBytes(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field) {
        let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        return (kib ?? 0) * 1024
    }
    return 0
}

// MARK: namespaces

/// Every namespace the bench creates, so that an interrupt (Ctrl-C, a CI timeout's SIGTERM) still deletes them.
enum BenchNamespaces {
    private static let live = Mutex<Set<String>>([])
    /// Kept alive for the whole run; written once, at start, before any other thread exists.
    private nonisolated(unsafe) static var handlers: [any DispatchSourceSignal] = []

    /// A fresh namespace named `sl-bench-ROLE-PID-HEX` (the pattern `scripts/test.sh` recognises as a test
    /// namespace, so a leak from a killed run is cleaned up by the next test run).
    static func create(_ role: String) throws -> NetworkNamespace {
        let name = "sl-bench-\(role)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let namespace = try NetworkNamespace.create(named: name)
        live.withLock { _ = $0.insert(name) }
        return namespace
    }

    static func delete(_ namespace: NetworkNamespace) {
        try? namespace.delete()
        if let name = namespace.name { live.withLock { _ = $0.remove(name) } }
    }

    /// Deletes whatever is still registered and exits when SIGINT or SIGTERM arrives.
    static func installSignalCleanup() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let names = live.withLock { $0 }
                for name in names { try? NetworkNamespace(path: "/run/netns/\(name)").delete() }
                BenchScratchDirectories.removeAll()
                FileHandle.standardError.write(
                    Data("sluice-bench: interrupted, deleted \(names.count) namespaces\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            handlers.append(source)
        }
    }
}

/// Scratch directories under /tmp (the CNI scenario's IPAM stores), registered like namespaces so that an
/// interrupt removes them too.
enum BenchScratchDirectories {
    private static let live = Mutex<Set<String>>([])

    /// Creates `/tmp/sluice-bench-ROLE-PID-HEX`; its name says which run left it should removal ever fail.
    static func create(_ role: String) throws -> String {
        let path = "/tmp/sluice-bench-\(role)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        live.withLock { _ = $0.insert(path) }
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        live.withLock { _ = $0.remove(path) }
    }

    /// Removes every registered directory (the signal handler's cleanup).
    static func removeAll() {
        for path in live.withLock({ $0 }) { remove(path) }
    }
}

/// Runs `body` with a fresh namespace and deletes it afterwards, whatever happens.
func withNamespace<T>(_ role: String, _ body: (NetworkNamespace) throws -> T) throws -> T {
    let namespace = try BenchNamespaces.create(role)
    defer { BenchNamespaces.delete(namespace) }
    return try body(namespace)
}

// MARK: the machine

/// The parts of the machine every figure depends on: CPU, kernel, and how busy it was. Scenarios that program no
/// kernel rules (routing) record only these; the Service report adds the nft and iptables versions.
struct HostDescription: Codable {
    var cores: Int
    var cpu: String
    var kernel: String
    /// 1-, 5- and 15-minute load averages when taken: other work on the machine shows up in every figure.
    var loadAverage: String

    static func current() -> HostDescription {
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let model = cpuinfo?.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) }
        return HostDescription(
            cores: ProcessInfo.processInfo.activeProcessorCount, cpu: model ?? "?",
            kernel: firstLine(try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)),
            loadAverage: currentLoadAverage())
    }

    /// `/proc/loadavg`'s three load averages, e.g. `1.17 2.33 3.25`.
    static func currentLoadAverage() -> String {
        firstLine(try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).split(separator: " ").prefix(3)
            .joined(separator: " ")
    }
}

/// The first line of a tool's output or a /proc file, trimmed; `?` when there is none.
func firstLine(_ text: String?) -> String {
    text?.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
}

// MARK: statistics and formatting

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Repeated measurements of one figure, in seconds (or bytes, or microseconds: the unit is the caller's).
struct Samples: Codable, Sendable {
    var values: [Double] = []

    var isEmpty: Bool { values.isEmpty }
    var median: Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    var min: Double { values.min() ?? .nan }
    var max: Double { values.max() ?? .nan }

    mutating func append(_ value: Double) { values.append(value) }
    mutating func append(_ value: Double?) { if let value { values.append(value) } }
}

/// A duration in seconds for people: µs below a millisecond, ms below ten seconds, then s.
func human(_ seconds: Double) -> String {
    if seconds.isNaN { return "–" }
    if seconds < 0.001 { return String(format: "%.0f µs", seconds * 1e6) }
    if seconds < 0.01 { return String(format: "%.2f ms", seconds * 1000) }
    if seconds < 10 { return String(format: "%.0f ms", seconds * 1000) }
    return String(format: "%.1f s", seconds)
}

/// Median with the range of the repetitions, e.g. `212 ms (205–230)`; the median alone for one sample.
func humanSpread(_ samples: Samples) -> String {
    guard !samples.isEmpty else { return "–" }
    if samples.values.count == 1 { return human(samples.median) }
    return "\(human(samples.median)) (\(human(samples.min))–\(human(samples.max)))"
}

/// Microseconds (connect latencies) as the median with the range of repeated probes, e.g. `31 (29–34)`; the
/// value alone for one probe.
func microsecondsSpread(_ samples: Samples) -> String {
    guard !samples.isEmpty else { return "–" }
    let median = String(format: "%.0f", samples.median)
    return samples.values.count > 1 ? median + String(format: " (%.0f–%.0f)", samples.min, samples.max) : median
}

func ratio(_ a: Double, _ b: Double) -> String {
    guard a.isFinite, b.isFinite, b > 0 else { return "–" }
    return a / b >= 10 ? String(format: "%.0f×", a / b) : String(format: "%.2f×", a / b)
}

func mebibytes(_ bytes: Double) -> String {
    bytes.isNaN ? "–" : String(format: "%.1f MiB", bytes / 1_048_576)
}
