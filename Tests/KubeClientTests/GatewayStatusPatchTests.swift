import Foundation
import GatewayRouting
import KubeAPI
import KubeClient
import Testing

@testable import SluiceAgent

/// How router judgements merge into the status the API holds, without a server.
struct GatewayStatusPatchTests {
    static let ours: Set = [RoutingConfiguration.gatewayControllerName]

    static func entry(_ gateway: String, controller: String, since: String = "2020-01-01T00:00:00Z") -> JSONValue {
        .object([
            "parentRef": .object([
                "group": .string(gatewayAPIGroup), "kind": .string("Gateway"), "name": .string(gateway),
            ]),
            "controllerName": .string(controller),
            "conditions": .array([
                .object([
                    "type": .string("Accepted"), "status": .string("True"), "reason": .string("Accepted"),
                    "message": .string("ok"), "lastTransitionTime": .string(since),
                ])
            ]),
        ])
    }

    @Test func ourEntryLeavesWhenTheRouteNoLongerNamesOurGatewayAndTheOthersStay() throws {
        let theirs = Self.entry("their-gw", controller: "example.com/other")
        let current: JSONValue = .object([
            "parents": .array([Self.entry("gw", controller: RoutingConfiguration.gatewayControllerName), theirs])
        ])
        let patch = try #require(
            GatewayStatusPatch.httpRoute(
                nil, current: current, controllerNames: Self.ours, servedGateways: ["default/gw"], generation: 3,
                now: "2030-01-01T00:00:00Z"))
        #expect(patch == .object(["parents": .array([theirs])]))
        // A route with only other controllers' entries is not ours to write.
        #expect(
            GatewayStatusPatch.httpRoute(
                nil, current: .object(["parents": .array([theirs])]), controllerNames: Self.ours,
                servedGateways: ["default/gw"], generation: 3, now: "2030-01-01T00:00:00Z") == nil)
    }

    @Test func aConditionTurningFalseGetsANewTransitionTimeAndTheOthersKeepTheirs() throws {
        let old: JSONValue = .array([
            .object([
                "type": .string("Accepted"), "status": .string("True"), "reason": .string("Accepted"),
                "message": .string("ok"), "lastTransitionTime": .string("2020-01-01T00:00:00Z"),
            ]),
            .object([
                "type": .string("ResolvedRefs"), "status": .string("True"), "reason": .string("ResolvedRefs"),
                "message": .string("ok"), "lastTransitionTime": .string("2020-01-01T00:00:00Z"),
            ]),
        ])
        let merged = GatewayStatusPatch.conditions(
            [
                StatusCondition(type: "Accepted", status: true, reason: "Accepted", message: "still ok"),
                StatusCondition(type: "ResolvedRefs", status: false, reason: "BackendNotFound", message: "gone"),
            ], current: old, generation: 2, now: "2030-01-01T00:00:00Z"
        ).arrayValue
        #expect(merged[0]["lastTransitionTime"] == .string("2020-01-01T00:00:00Z"))
        #expect(merged[0]["message"] == .string("still ok") && merged[0]["observedGeneration"] == .number(2))
        #expect(merged[1]["lastTransitionTime"] == .string("2030-01-01T00:00:00Z"))
        #expect(merged[1]["reason"] == .string("BackendNotFound"))
    }
}
