import KubeAPI
import Synchronization

/// The current objects of one resource, kept from a reflector's events, for consumers that recompile from
/// whole snapshots (the policy enforcer selects pods cluster-wide; the overlay needs every Node).
public final class ObjectCache<Object: KubernetesObject>: Sendable {
    private struct State {
        var objects: [String: Object] = [:]
        var hasSynced = false
    }
    private let state = Mutex(State())

    /// An empty cache that has not synced.
    public init() {}

    /// Folds one reflector event in.
    public func apply(_ event: InformerEvent<Object>) {
        state.withLock { state in
            switch event {
            case .listed(let objects, _, _):
                state.objects = [:]
                for object in objects { state.objects[Self.key(object)] = object }
                state.hasSynced = true
            case .added(let object), .modified(let object):
                state.objects[Self.key(object)] = object
            case .deleted(let object):
                state.objects[Self.key(object)] = nil
            }
        }
    }

    /// Whether the first list has arrived: before that, an empty cache means "unknown", not "none".
    public var hasSynced: Bool { state.withLock { $0.hasSynced } }

    /// The objects, ordered by namespace and name, so compilers see a stable order.
    public func snapshot() -> [Object] {
        let objects = state.withLock { $0.objects }
        return objects.keys.sorted().map { objects[$0]! }
    }

    /// How many objects it holds (metrics, tests).
    public var count: Int { state.withLock { $0.objects.count } }

    private static func key(_ object: Object) -> String { "\(object.metadata.namespace)/\(object.metadata.name)" }
}
