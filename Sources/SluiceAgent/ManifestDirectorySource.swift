import Foundation
import KubeAPI

/// The embedded default source: a directory of manifests, re-read whenever a file in it changes.
///
/// Changes are detected by polling a cheap fingerprint (paths, sizes, modification times) so editors that
/// replace files atomically, and bind-mounted ConfigMaps that swap symlinks, are seen alike.
public struct ManifestDirectorySource: Sendable {
    public let paths: [String]
    /// Also watched (a change yields a new snapshot) but not loaded: e.g. the CNI plugin's IPAM store.
    public let alsoWatch: [String]
    public let interval: Duration

    public init(paths: [String], alsoWatch: [String] = [], interval: Duration = .milliseconds(500)) {
        self.paths = paths
        self.alsoWatch = alsoWatch
        self.interval = interval
    }

    public func load() -> ManifestSet { ManifestLoader().load(paths: paths) }

    /// Snapshots: the current one at once, then one after every change, until the task is cancelled.
    public func snapshots() -> AsyncStream<ManifestSet> {
        let source = self
        return AsyncStream { continuation in
            let task = Task {
                var last = source.fingerprint()
                continuation.yield(source.load())
                while !Task.isCancelled {
                    try? await Task.sleep(for: source.interval)
                    let now = source.fingerprint()
                    if now != last {
                        last = now
                        continuation.yield(source.load())
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func fingerprint() -> [String] {
        let fm = FileManager.default
        var entries: [String] = []
        for path in paths + alsoWatch {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                entries.append("missing \(path)")
                continue
            }
            let files =
                isDirectory.boolValue
                ? (fm.enumerator(atPath: path)?.compactMap { $0 as? String }.map { path + "/" + $0 } ?? []) : [path]
            for file in files.sorted() {
                let attributes = try? fm.attributesOfItem(atPath: file)
                let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                entries.append("\(file) \(size) \(modified)")
            }
        }
        return entries
    }
}
