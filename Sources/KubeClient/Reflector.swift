import KubeAPI
import Logging

/// What a reflector tells its consumer: the whole state after a (re)list, then one change at a time.
public enum InformerEvent<Object: KubernetesObject>: Sendable {
    /// Every object the list returned, and the metadata of objects delivered before that are gone now (a
    /// relist after 410 may have missed their deletion). `initial` is true for the first list only.
    case listed([Object], removed: [ObjectMeta], initial: Bool)
    case added(Object)
    case modified(Object)
    case deleted(Object)
}

/// Why a watch was started again, for logs and `sluice_watch_restarts_total`.
public enum WatchRestart: Sendable, Equatable {
    /// The stream ended or dropped: watch again from the last resourceVersion seen (no relist).
    case resumed(fromResourceVersion: String)
    /// The resourceVersion is gone (410): list again.
    case relisted
}

/// Keeps one resource's consumer in step with the API server, client-go's reflector in spirit: LIST with
/// pagination, WATCH from the list's resourceVersion with bookmarks, resume from the last resourceVersion
/// seen when a stream ends or fails (with exponential backoff for failures), and relist only on 410 Gone.
///
/// It remembers the metadata of delivered objects only (not the objects), so a relist can report what
/// vanished meanwhile without holding a second copy of the cluster.
public struct Reflector<Object: KubernetesObject>: Sendable {
    /// The connection it lists and watches through.
    public let client: KubernetesClient
    /// What it watches.
    public let resource: APIResource
    /// Objects per LIST page: large clusters are listed in bounded responses.
    public var pageSize: Int
    /// The server closes each watch after this long (jittered by the server in real clusters); we resume.
    public var watchTimeoutSeconds: Int
    /// The first retry delay after a failure; it doubles per failure in a row.
    public var initialBackoff: Duration
    /// The longest retry delay.
    public var maximumBackoff: Duration
    private let logger: Logger

    /// A reflector for `type` objects at `resource`; `run` starts it.
    public init(
        _ type: Object.Type, client: KubernetesClient, resource: APIResource, pageSize: Int = 500,
        watchTimeoutSeconds: Int = 300, initialBackoff: Duration = .milliseconds(200),
        maximumBackoff: Duration = .seconds(30), logger: Logger
    ) {
        self.client = client
        self.resource = resource
        self.pageSize = pageSize
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.logger = logger
    }

    /// Lists every page of the resource; the resourceVersion is the first page's (the list's snapshot).
    public func listAll() async throws -> (items: [Object], resourceVersion: String) {
        var items: [Object] = []
        var token: String?
        var resourceVersion: String?
        repeat {
            let page = try await client.list(Object.self, resource, limit: pageSize, continueToken: token)
            items += page.items
            resourceVersion = resourceVersion ?? page.resourceVersion
            token = page.continueToken
        } while token != nil
        return (items, resourceVersion ?? "")
    }

    /// Runs until the task is cancelled, delivering events to `handle` in order. `restarted` is called each
    /// time a watch is started again after the first. `reachable` hears `true` whenever the server answered (a
    /// list, an accepted watch, an event, an error status) and `false` when it could not be reached, so the agent can tell an API
    /// server it has lost for a while (unhealthy) from one that just has nothing to say.
    public func run(
        handle: @Sendable (InformerEvent<Object>) async -> Void,
        restarted: @Sendable (WatchRestart) async -> Void = { _ in },
        reachable: @Sendable (Bool) async -> Void = { _ in }
    ) async {
        var known: [String: ObjectMeta] = [:]
        var resourceVersion: String?
        var listedOnce = false
        var failures = 0
        // 410s since the last event: a server that keeps answering 410 to fresh lists is backed off, not hammered.
        var goneInARow = 0
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let (items, listVersion) = try await listAll()
                    await reachable(true)
                    var now: [String: ObjectMeta] = [:]
                    for item in items { now[Self.key(item.metadata)] = item.metadata }
                    let removed = known.filter { now[$0.key] == nil }.map(\.value)
                    known = now
                    await handle(.listed(items, removed: removed, initial: !listedOnce))
                    listedOnce = true
                    resourceVersion = listVersion
                    failures = 0
                    logger.debug("listed \(resource)", metadata: ["objects": "\(items.count)", "rv": "\(listVersion)"])
                }
                try await client.watch(
                    Object.self, resource, from: resourceVersion!, timeoutSeconds: watchTimeoutSeconds,
                    opened: { await reachable(true) }
                ) { event in
                    failures = 0
                    goneInARow = 0
                    switch event {
                    case .added(let object), .modified(let object):
                        known[Self.key(object.metadata)] = object.metadata
                    case .deleted(let object):
                        known[Self.key(object.metadata)] = nil
                    case .bookmark: break
                    }
                    switch event {
                    case .added(let object): await handle(.added(object))
                    case .modified(let object): await handle(.modified(object))
                    case .deleted(let object): await handle(.deleted(object))
                    case .bookmark: break
                    }
                    switch event {
                    case .added(let object), .modified(let object), .deleted(let object):
                        if let version = object.metadata.resourceVersion { resourceVersion = version }
                    case .bookmark(let version):
                        if !version.isEmpty { resourceVersion = version }
                    }
                }
                logger.debug("watch of \(resource) ended; resuming", metadata: ["rv": "\(resourceVersion ?? "")"])
            } catch KubeClientError.gone(let message) {
                logger.info("\(resource): \(message); relisting")
                resourceVersion = nil
                goneInARow += 1
                if goneInARow > 1 { try? await Task.sleep(for: backoff(after: goneInARow - 1)) }
            } catch {
                if Task.isCancelled { return }
                await reachable(KubeClientError.isAnswer(error))
                failures += 1
                let delay = backoff(after: failures)
                logger.warning("\(resource): \(error); retrying in \(delay)")
                try? await Task.sleep(for: delay)
            }
            if Task.isCancelled { return }
            await restarted(resourceVersion.map { .resumed(fromResourceVersion: $0) } ?? .relisted)
        }
    }

    private func backoff(after failures: Int) -> Duration {
        var delay = initialBackoff
        for _ in 1..<max(1, min(failures, 20)) where delay < maximumBackoff { delay *= 2 }
        return min(delay, maximumBackoff)
    }

    static func key(_ metadata: ObjectMeta) -> String { "\(metadata.namespace)/\(metadata.name)" }
}
