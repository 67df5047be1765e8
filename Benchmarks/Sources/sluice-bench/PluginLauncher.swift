import ArgumentParser
internal import CBenchSpawn
import Foundation
import NetNamespace

/// How a CNI plugin gets into the node namespace it must run in (it creates its bridge in its own namespace, so it
/// must never run in the host's).
enum PluginLauncher: String, ExpressibleByArgument, Codable, Sendable {
    /// The bench's child enters the namespace itself between clone and execve (`CBenchSpawn`): no program in
    /// between, the closest to a runtime exec'ing the plugin from its own namespace.
    case setns
    /// `nsenter --net=NODE -- PLUGIN`: an extra exec of a wrapper program in every invocation, kept as a
    /// cross-check that needs no C code.
    case nsenter
}

/// One plugin process to start: what a container runtime hands a CNI plugin.
struct PluginInvocation {
    var executable: String
    /// The complete environment (`NAME=value`), nothing inherited: the `CNI_*` variables and `PATH`.
    var environment: [String]
    /// The network configuration; small enough to sit in a pipe before the plugin reads it.
    var stdin: [UInt8]
}

/// How one invocation ended and how long it took.
struct PluginCompletion {
    var status: Int32
    var stdout: String
    /// From the release of the started, waiting child (``NodeLauncher``) to the moment its exit was reaped.
    var wall: Duration
    /// User plus system CPU time of the process and of the children it waited for (`wait4`'s rusage): shows
    /// whether a burst on few cores is bound by CPU or by waiting (locks, the kernel).
    var cpu: Duration
}

/// A batch of invocations started together.
struct PluginBatch {
    /// One per invocation, in order.
    var completions: [PluginCompletion]
    /// From the release to the last exit.
    var wall: Duration
    /// Share of all cores busy (any process, the kernel included) over the same interval, from `/proc/stat`: on a
    /// shared machine it tells whether the plugins had the cores to themselves.
    var machineBusy: Double?
}

/// Starts plugin processes inside one node namespace and waits for them, timing each from its start to its exit.
///
/// Everything happens on the calling thread, which never enters a namespace: the child enters the node namespace
/// itself (``PluginLauncher/setns``) or `nsenter` does. Every child of a batch is started first and waits at a
/// gate (a pipe); one write releases them all, and the clock of each starts there. So a burst really starts at
/// once — starting 30 children one after another from a busy process would otherwise spread their starts over tens
/// of milliseconds on two cores. Children share this process's memory until their execve, as a Go runtime's do
/// (`sluice_bench_spawn_in_netns`), so no timing includes copying or tearing down the bench's own address space,
/// which depends on its size, not on the plugin. The thread then drains every child's standard output with `poll`
/// while they run, so no child can block on a full pipe and no reader waits on another; every descriptor is
/// close-on-exec, so a child never holds another child's pipe open.
final class NodeLauncher {
    let node: NetworkNamespace
    let kind: PluginLauncher
    /// The node namespace, opened once; the `setns` children enter it through this descriptor.
    private let nodeDescriptor: Int32
    private let nsenter = "/usr/bin/nsenter"

    init(node: NetworkNamespace, kind: PluginLauncher) throws {
        self.node = node
        self.kind = kind
        nodeDescriptor = open(node.path, O_RDONLY | O_CLOEXEC)
        guard nodeDescriptor >= 0 else { throw BenchError("cannot open \(node.path): errno \(errno)") }
        if kind == .nsenter && access(nsenter, X_OK) != 0 {
            close(nodeDescriptor)
            throw BenchError("\(nsenter) is missing (util-linux)")
        }
    }

    deinit { close(nodeDescriptor) }

    /// Runs one invocation and waits for it.
    func run(_ invocation: PluginInvocation, timeout: Duration = .seconds(60)) throws -> PluginCompletion {
        try run([invocation], timeout: timeout).completions[0]
    }

    /// Starts a child per invocation, releases them all at once through the gate, then waits for all of them.
    ///
    /// - Throws: when a process cannot be started, or when they have not all exited within `timeout` (those
    ///   still running are killed first).
    func run(
        _ invocations: [PluginInvocation], timeout: Duration = .seconds(60)
    ) throws -> PluginBatch {
        let clock = ContinuousClock()
        var children: [Child] = []
        defer {
            // Only on an error path: reap whatever is still running so nothing outlives the scenario.
            for child in children where child.finished == nil {
                kill(child.pid, SIGKILL)
                var status: Int32 = 0
                while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
                if child.output >= 0 { close(child.output) }
                child.memory.release()
            }
        }
        guard !invocations.isEmpty else { throw BenchError("no invocations to run") }
        let prepared = try invocations.map { try Prepared($0, kind: kind, node: node, nsenter: nsenter) }
        let gate = try pipeCloseOnExec()
        defer {
            close(gate.read)
            close(gate.write)
        }
        for launch in prepared {
            children.append(try launch.start(gate: gate, namespace: kind == .setns ? nodeDescriptor : -1))
        }
        let before = CPUCounters.read()
        let release = clock.now
        let tokens = [UInt8](repeating: 1, count: children.count)
        guard write(gate.write, tokens, tokens.count) == tokens.count else {
            throw BenchError("releasing \(children.count) children: errno \(errno)")
        }
        let deadline = release + timeout
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while children.contains(where: { $0.finished == nil }) {
            let open = children.indices.filter { children[$0].output >= 0 }
            var descriptors = open.map { pollfd(fd: children[$0].output, events: Int16(POLLIN), revents: 0) }
            let left = deadline - clock.now
            guard left > .zero else {
                let names = children.filter { $0.finished == nil }.map { "pid \($0.pid)" }
                throw BenchError("plugins still running after \(timeout): \(names.joined(separator: ", ")); killed")
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(max(1, min(left.seconds * 1000, 1000))))
            if ready < 0 && errno != EINTR { throw BenchError("poll: errno \(errno)") }
            guard ready > 0 else { continue }
            for (slot, index) in open.enumerated() where descriptors[slot].revents != 0 {
                let count = read(children[index].output, &buffer, buffer.count)
                if count > 0 {
                    children[index].stdout += buffer[0..<count]
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    // End of output: the child is exiting (its descriptors close as it exits); reap it now.
                    close(children[index].output)
                    children[index].output = -1
                    var status: Int32 = 0
                    var usage = rusage()
                    while wait4(children[index].pid, &status, 0, &usage) < 0 && errno == EINTR {}
                    children[index].finished = clock.now
                    children[index].status = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                    children[index].cpu = duration(usage.ru_utime) + duration(usage.ru_stime)
                    children[index].memory.release()
                }
            }
        }
        let completions = children.map {
            PluginCompletion(
                status: $0.status, stdout: String(decoding: $0.stdout, as: UTF8.self), wall: $0.finished! - release,
                cpu: $0.cpu)
        }
        let after = CPUCounters.read()
        return PluginBatch(
            completions: completions, wall: children.map { $0.finished! }.max()! - release,
            machineBusy: before.flatMap { before in after.flatMap { $0.busyFraction(since: before) } })
    }

    private func duration(_ time: timeval) -> Duration {
        .seconds(time.tv_sec) + .microseconds(time.tv_usec)
    }

    /// A started child and what has come of it so far.
    private struct Child {
        var pid: pid_t
        var output: Int32
        /// What the child reads until its execve (it shares this process's memory): freed once it is reaped.
        var memory: ChildMemory
        var stdout: [UInt8] = []
        var finished: ContinuousClock.Instant?
        var status: Int32 = -1
        var cpu: Duration = .zero
    }

    /// An invocation turned into C strings beforehand, so that allocating them is not part of any timing.
    private struct Prepared {
        var path: String
        var argv: [String]
        var environment: [String]
        var stdin: [UInt8]

        init(_ invocation: PluginInvocation, kind: PluginLauncher, node: NetworkNamespace, nsenter: String) throws {
            guard invocation.stdin.count < 16_384 else {
                throw BenchError("configuration of \(invocation.stdin.count) bytes would not fit a pipe's buffer")
            }
            switch kind {
            case .setns:
                path = invocation.executable
                argv = [invocation.executable]
            case .nsenter:
                path = nsenter
                argv = [nsenter, "--net=\(node.path)", "--", invocation.executable]
            }
            environment = invocation.environment
            stdin = invocation.stdin
        }

        /// Writes the configuration into a pipe (it fits: the plugin reads it whenever it likes), starts a child
        /// that waits at `gate`, and returns it with the read end of its standard output.
        func start(gate: (read: Int32, write: Int32), namespace: Int32) throws -> Child {
            let input = try pipeCloseOnExec()
            var rest = stdin[...]
            while !rest.isEmpty {
                let written = rest.withUnsafeBytes { write(input.write, $0.baseAddress, $0.count) }
                if written > 0 {
                    rest = rest.dropFirst(written)
                } else if errno != EINTR {
                    close(input.read)
                    close(input.write)
                    throw BenchError("writing the configuration: errno \(errno)")
                }
            }
            close(input.write)
            let output: (read: Int32, write: Int32)
            do { output = try pipeCloseOnExec() } catch {
                close(input.read)
                throw error
            }
            let memory = ChildMemory(path: path, argv: argv, environment: environment)
            memory.child.pointee = sluice_bench_child(
                gate_fd: gate.read, gate_writer_fd: gate.write, netns_fd: namespace, stdin_fd: input.read,
                stdout_fd: output.write, path: memory.path, argv: memory.argv, envp: memory.environment)
            let pid = sluice_bench_spawn_in_netns(memory.child, memory.stack, ChildMemory.stackSize)
            let spawnError = errno
            close(input.read)
            close(output.write)
            guard pid > 0 else {
                close(output.read)
                memory.release()
                throw BenchError("clone for \(path): errno \(spawnError)")
            }
            return Child(pid: pid, output: output.read, memory: memory)
        }
    }
}

/// The C strings, argument block and stack a child started by `sluice_bench_spawn_in_netns` reads before its execve.
/// It shares this process's memory and keeps running after the call returns, so all of it is allocated by hand and
/// freed only after the child has been reaped.
private struct ChildMemory {
    static let stackSize = 64 * 1024

    let child: UnsafeMutablePointer<sluice_bench_child>
    let path: UnsafeMutablePointer<CChar>
    let argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let environment: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let stack: UnsafeMutableRawPointer
    private let argumentCount: Int
    private let environmentCount: Int

    init(path: String, argv arguments: [String], environment variables: [String]) {
        child = .allocate(capacity: 1)
        self.path = strdup(path)
        argumentCount = arguments.count
        environmentCount = variables.count
        argv = .allocate(capacity: arguments.count + 1)
        for (index, argument) in arguments.enumerated() { argv[index] = strdup(argument) }
        argv[arguments.count] = nil
        environment = .allocate(capacity: variables.count + 1)
        for (index, variable) in variables.enumerated() { environment[index] = strdup(variable) }
        environment[variables.count] = nil
        stack = .allocate(byteCount: Self.stackSize, alignment: 16)
    }

    func release() {
        free(path)
        for index in 0..<argumentCount { free(argv[index]) }
        argv.deallocate()
        for index in 0..<environmentCount { free(environment[index]) }
        environment.deallocate()
        child.deallocate()
        stack.deallocate()
    }
}

/// A pipe whose ends are closed on exec. Only one thread starts children (``NodeLauncher``), so setting the flag
/// right after `pipe` leaves no window in which another child could inherit the ends.
private func pipeCloseOnExec() throws -> (read: Int32, write: Int32) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { throw BenchError("pipe: errno \(errno)") }
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    return (ends[0], ends[1])
}

/// The machine's CPU time so far (the `cpu` line of `/proc/stat`, in clock ticks): busy is everything but idle and
/// I/O wait.
struct CPUCounters {
    var busy: UInt64
    var total: UInt64

    static func read() -> CPUCounters? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 5 else { return nil }
        let total = fields.prefix(8).reduce(0, +)
        return CPUCounters(busy: total - fields[3] - fields[4], total: total)
    }

    /// Busy share of all cores since `earlier`; nil when no tick passed (the interval was too short to tell).
    func busyFraction(since earlier: CPUCounters) -> Double? {
        guard total > earlier.total else { return nil }
        return Double(busy - earlier.busy) / Double(total - earlier.total)
    }
}
