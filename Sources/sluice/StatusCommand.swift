import ArgumentParser
import Foundation

/// `sluice status`: what the node's running `sluiced` has programmed, read from its local metrics endpoint.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the local sluiced has programmed (counts, last sync, errors, health).",
        discussion: """
            Reads sluiced's /metrics, /healthz and /readyz on its --metrics-bind-address (run it where sluiced \
            runs: the node, or `ip netns exec NODE sluice status` for a namespace-local daemon). Exits 1 when \
            the daemon reports itself unhealthy, so it can serve as a liveness probe.
            """)

    @Option(help: "sluiced's --metrics-bind-address.")
    var address = "127.0.0.1:10249"

    @Option(name: [.short, .customLong("output")], help: "text or json.")
    var output = "text"

    func run() throws {
        let metrics = try HTTPGet.fetch(address, path: "/metrics")
        guard metrics.status == 200 else {
            throw ValidationError("\(address)/metrics answered \(metrics.status)")
        }
        let health = try HTTPGet.fetch(address, path: "/healthz")
        let ready = try HTTPGet.fetch(address, path: "/readyz")
        var values: [String: Double] = [:]
        for line in metrics.body.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        func int(_ name: String) -> Int { Int(values[name] ?? 0) }
        let last = values["sluice_sync_proxy_rules_last_timestamp_seconds"] ?? 0
        let syncs = int("sluice_sync_proxy_rules_duration_seconds_count")
        let mean = syncs > 0 ? (values["sluice_sync_proxy_rules_duration_seconds_sum"] ?? 0) / Double(syncs) : 0
        if output == "json" {
            let object: [String: Any] = [
                "healthy": health.status == 200, "ready": ready.status == 200,
                "services": int("sluice_programmed_services"),
                "serviceElements": int("sluice_programmed_service_elements"),
                "policyElements": int("sluice_programmed_policy_elements"),
                "cniAllocations": int("sluice_cni_allocations"), "syncs": syncs,
                "syncErrors": int("sluice_sync_errors_total"), "lastSync": last,
                "watchRestarts": int("sluice_watch_restarts_total"),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            if health.status != 200 { throw ExitCode(1) }
            return
        }
        let ago = last > 0 ? String(format: "%.0f s ago", Date().timeIntervalSince1970 - last) : "never"
        print(
            "sluiced at \(address): \(health.status == 200 ? "healthy" : "UNHEALTHY"), \(ready.status == 200 ? "ready" : "not ready")"
        )
        print(
            "  Services programmed:     \(int("sluice_programmed_services")) (\(int("sluice_programmed_service_elements")) map elements)"
        )
        print("  NetworkPolicy elements:  \(int("sluice_programmed_policy_elements"))")
        print("  CNI allocations:         \(int("sluice_cni_allocations"))")
        print("  last successful sync:    \(ago)")
        print(
            "  syncs:                   \(syncs) (mean \(String(format: "%.1f ms", mean * 1000)), \(int("sluice_sync_errors_total")) failed)"
        )
        print("  watch restarts:          \(int("sluice_watch_restarts_total"))")
        if health.status != 200 { throw ExitCode(1) }
    }
}

/// A minimal HTTP/1.1 GET over a TCP socket: the daemon's endpoint is local plain HTTP, and this keeps the CLI
/// free of an HTTP client dependency.
enum HTTPGet {
    struct Response {
        var status: Int
        var body: String
    }

    static func fetch(_ address: String, path: String) throws -> Response {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
        else { throw ValidationError("--address \(address): expected HOST:PORT") }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw ValidationError("\(address): cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw ValidationError("socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw ValidationError(
                "cannot reach sluiced at \(address) (\(String(cString: strerror(errno)))): is it running here, with "
                    + "--metrics-bind-address \(address)?")
        }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            data += buffer[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Response(status: status, body: body)
    }
}
