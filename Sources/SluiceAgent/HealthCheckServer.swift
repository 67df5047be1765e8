import Foundation
import ServiceProxy
import Synchronization

/// Answers `externalTrafficPolicy: Local` health checks like kube-proxy: an HTTP server per
/// `healthCheckNodePort` that reports the node's local endpoints, 200 when there is one, 503 when not — so
/// cloud load balancers only send traffic to nodes that can serve it without a second hop.
public final class HealthCheckServer: Sendable {
    private struct Listener {
        var fd: Int32
        var check: HealthCheck
    }

    private let state = Mutex<[UInt16: Listener]>([:])
    private let wake: (read: Int32, write: Int32)
    private let running = Atomic<Bool>(true)

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HealthCheckError.system("pipe", errno) }
        wake = (fds[0], fds[1])
        let thread = Thread { [self] in serve() }
        thread.name = "sluice-healthcheck"
        thread.start()
    }

    /// Opens listeners for new ports, closes those no longer needed, updates the counts of the rest.
    /// Returns the ports that could not be opened (already in use), which the caller reports.
    @discardableResult
    public func update(_ checks: [HealthCheck]) -> [UInt16: String] {
        var failures: [UInt16: String] = [:]
        state.withLock { listeners in
            let wanted = Dictionary(checks.map { ($0.port, $0) }, uniquingKeysWith: { a, _ in a })
            for (port, listener) in listeners where wanted[port] == nil {
                close(listener.fd)
                listeners[port] = nil
            }
            for (port, check) in wanted {
                if listeners[port] != nil {
                    listeners[port]?.check = check
                    continue
                }
                do {
                    listeners[port] = Listener(fd: try Self.listen(port: port), check: check)
                } catch {
                    failures[port] = "\(error)"
                }
            }
        }
        _ = write(wake.write, "x", 1)
        return failures
    }

    public func stop() {
        running.store(false, ordering: .relaxed)
        _ = write(wake.write, "x", 1)
    }

    private static func listen(port: UInt16) throws -> Int32 {
        try LocalHTTP.listen(host: nil, port: port, what: "health check port \(port)")
    }

    private func serve() {
        while running.load(ordering: .relaxed) {
            let listeners = state.withLock { $0 }
            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            fds += listeners.values.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 1000) > 0 else { continue }
            if fds[0].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                _ = read(wake.read, &buffer, buffer.count)
            }
            for entry in fds.dropFirst() where entry.revents & Int16(POLLIN) != 0 {
                let client = accept(entry.fd, nil, nil)
                guard client >= 0 else { continue }
                let check = state.withLock { $0.values.first { $0.fd == entry.fd }?.check }
                respond(client, check)
            }
        }
        state.withLock { listeners in
            for listener in listeners.values { close(listener.fd) }
            listeners = [:]
        }
    }

    private func respond(_ client: Int32, _ check: HealthCheck?) {
        defer { close(client) }
        _ = LocalHTTP.readRequestPath(client)
        let count = check?.localEndpoints ?? 0
        let body = """
            {"service":{"namespace":"\(check?.service.namespace ?? "")","name":"\(check?.service.name ?? "")"},\
            "localEndpoints":\(count),"serviceProxyHealthy":true}
            """
        LocalHTTP.respond(
            client, status: count > 0 ? "200 OK" : "503 Service Unavailable", type: "application/json", body: body)
    }
}

/// Why a health check port could not be served (the agent logs it and keeps syncing rules).
public enum HealthCheckError: Error, CustomStringConvertible {
    case system(String, Int32)

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        }
    }
}
