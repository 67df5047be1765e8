import Foundation
import GatewayRouting
import KubeAPI
import KubeClient

/// Turns what `GatewayRouter` judged into the `status` the Gateway API wants written, merged with the status
/// the API server holds: a condition whose `status` did not change keeps its `lastTransitionTime` (the spec's
/// meaning: when it last transitioned), and an HTTPRoute's `status.parents` entries of other controllers are
/// kept exactly as they are. Each function answers `nil` when the merged status equals the current one, so
/// nothing is written: a status write is an event every other watcher of the object receives.
public enum GatewayStatusPatch {
    /// The `status` patch of a GatewayClass this controller serves (`conditions`), or `nil` when it already says
    /// so. Other members (`supportedFeatures`) are left to whoever sets them.
    public static func gatewayClass(
        _ report: GatewayClassReport, current: JSONValue?, generation: Int?, now: String
    ) -> JSONValue? {
        let merged = conditions(report.conditions, current: current?["conditions"], generation: generation, now: now)
        return current?["conditions"] == merged ? nil : .object(["conditions": merged])
    }

    /// The `status` members a served Gateway's patch sets (`conditions`, `listeners`), or `nil` when they are
    /// already what they would be. `addresses` is left to whoever assigns them.
    public static func gateway(
        _ report: GatewayReport, current: JSONValue?, generation: Int?, now: String
    ) -> JSONValue? {
        let currentListeners = current?["listeners"]?.arrayValue ?? []
        let listeners: [JSONValue] = report.listeners.map { listener in
            let previous = currentListeners.first { $0["name"]?.stringValue == listener.name }
            let kinds: [JSONValue] = listener.supportedKinds.map {
                .object(["group": .string(gatewayAPIGroup), "kind": .string($0)])
            }
            return .object([
                "name": .string(listener.name),
                "supportedKinds": .array(kinds),
                "attachedRoutes": .number(Double(listener.attachedRoutes)),
                "conditions": conditions(
                    listener.conditions, current: previous?["conditions"], generation: generation, now: now),
            ])
        }
        let status: [String: JSONValue] = [
            "conditions": conditions(
                report.conditions, current: current?["conditions"], generation: generation, now: now),
            "listeners": .array(listeners),
        ]
        let unchanged = status.allSatisfy { key, value in current?[key] == value }
        return unchanged ? nil : .object(status)
    }

    /// The `status` patch of an HTTPRoute (`parents`, which a merge patch replaces whole), or `nil` when
    /// nothing changes. Entries whose `controllerName` is one of `controllerNames` are this controller's: they
    /// become `report`'s parents that name a Gateway in `servedGateways` (`namespace/name`) — none when the
    /// route no longer names one. A parentRef to a Gateway that does not exist, or to another kind, is judged by
    /// the router but is nobody's here: the spec lets an implementation write only the parents it is
    /// responsible for. Every other entry is kept as it is, in its order, ahead of ours.
    public static func httpRoute(
        _ report: HTTPRouteReport?, current: JSONValue?, controllerNames: Set<String>, servedGateways: Set<String>,
        generation: Int?, now: String
    ) -> JSONValue? {
        let existing = current?["parents"]?.arrayValue ?? []
        func isOurs(_ entry: JSONValue) -> Bool {
            entry["controllerName"]?.stringValue.map(controllerNames.contains) ?? false
        }
        let foreign = existing.filter { !isOurs($0) }
        let ours = existing.filter(isOurs)
        var parents = foreign
        let responsible = (report?.parents ?? []).filter { parent in
            let reference = parent.parentRef
            return controllerNames.contains(parent.controllerName) && reference.group == gatewayAPIGroup
                && reference.kind == Gateway.kind
                && servedGateways.contains("\(reference.namespace ?? report?.namespace ?? "")/\(reference.name)")
        }
        for parent in responsible {
            guard let reference = try? JSONValue(encoding: parent.parentRef) else { continue }
            let previous = ours.first {
                $0["parentRef"] == reference && $0["controllerName"]?.stringValue == parent.controllerName
            }
            parents.append(
                .object([
                    "parentRef": reference,
                    "controllerName": .string(parent.controllerName),
                    "conditions": conditions(
                        parent.conditions, current: previous?["conditions"], generation: generation, now: now),
                ]))
        }
        // Also covers a route with no entry of ours before or now: not ours to touch.
        if parents == existing { return nil }
        return .object(["parents": .array(parents)])
    }

    /// `metav1.Condition`s from the router's conditions: `observedGeneration` is the object's generation the
    /// judgement was made for, `lastTransitionTime` the current one's when its `status` is unchanged, else `now`.
    static func conditions(
        _ conditions: [StatusCondition], current: JSONValue?, generation: Int?, now: String
    ) -> JSONValue {
        let previous = current?.arrayValue ?? []
        return .array(
            conditions.map { condition in
                let old = previous.first { $0["type"]?.stringValue == condition.type }
                let since =
                    old?["status"]?.stringValue == condition.status
                    ? (old?["lastTransitionTime"] ?? .string(now)) : .string(now)
                var object: [String: JSONValue] = [
                    "type": .string(condition.type), "status": .string(condition.status),
                    "reason": .string(condition.reason), "message": .string(condition.message),
                    "lastTransitionTime": since,
                ]
                if let generation { object["observedGeneration"] = .number(Double(generation)) }
                return .object(object)
            })
    }

    /// RFC 3339 in UTC with seconds, as `metav1.Time` is written.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
