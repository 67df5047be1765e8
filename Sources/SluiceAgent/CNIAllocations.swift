import Foundation
import KubeAPI
import NetworkPolicy

/// The addresses this node's `sluice-cni` handed to pods, read from its IPAM store.
///
/// The API server learns a pod's addresses only after the kubelet reports them, a second or so after the CNI
/// ADD; a policy isolating the pod would leave it open meanwhile. `sluice-cni` records, next to each address
/// record (`<dataDir>/<network>/<address>`, host-local's `containerID\r\nifname`), a pod record
/// `<address>.pod` holding `namespace/name\r\ncontainerID` when the runtime passed `K8S_POD_NAMESPACE` and
/// `K8S_POD_NAME`. A pod record counts only while the address record names the same container: a stale one
/// (its address released and handed to someone else) is ignored.
public enum CNIAllocations {
    /// Where kubelet's runtimes keep CNI IPAM stores by default.
    public static let defaultDataDirectory = "/var/lib/cni/networks"

    /// Pod → addresses, over every network directory under `dataDirectory` (empty when it does not exist).
    public static func read(dataDirectory: String) -> [ObjectName: [IPAddress]] {
        let fm = FileManager.default
        var result: [ObjectName: [IPAddress]] = [:]
        guard let networks = try? fm.contentsOfDirectory(atPath: dataDirectory) else { return result }
        for network in networks.sorted() {
            let directory = dataDirectory + "/" + network
            guard let names = try? fm.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where name.hasSuffix(".pod") && !name.hasPrefix(".") {
                let addressText = String(name.dropLast(4))
                guard let address = IPAddress(addressText),
                    let record = lines(directory + "/" + name), record.count >= 2,
                    let pod = ObjectName(record[0]), record[0].contains("/"),
                    let holder = lines(directory + "/" + addressText)?.first, holder == record[1]
                else { continue }
                if !(result[pod]?.contains(address) ?? false) { result[pod, default: []].append(address) }
            }
        }
        return result
    }

    private static func lines(_ path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r\n" || $0 == "\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Yields whenever what `read(dataDirectory:)` returns changes (polled every `interval`): a source with no
    /// other reason to resync policies learns of a new pod's network at once.
    public static func changes(dataDirectory: String, interval: Duration = .milliseconds(500)) -> AsyncStream<Void> {
        AsyncStream { continuation in
            let task = Task {
                var last = read(dataDirectory: dataDirectory)
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    let now = read(dataDirectory: dataDirectory)
                    if now != last {
                        last = now
                        continuation.yield()
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
