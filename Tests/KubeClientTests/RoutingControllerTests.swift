import Foundation
import GatewayRouting
import KubeAPI
import KubeClient
import Logging
import Synchronization
import Testing

@testable import SluiceAgent

/// The routing controller against the test API server: Gateway API discovery (absent CRDs are not an error and
/// are found once installed), and Gateway/HTTPRoute status written through the `/status` subresource for our
/// classes only, keeping other controllers' entries and unchanged transition times.
struct RoutingControllerTests {
    static let gatewayAPI = "/apis/gateway.networking.k8s.io/v1"
    static let classes = gatewayAPI + "/gatewayclasses"
    static let gateways = gatewayAPI + "/gateways"
    static let routes = gatewayAPI + "/httproutes"

    static let objects = ManifestLoader().load(
        text: """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: sluice, generation: 1}
            spec: {controllerName: sluice.dev/gateway-controller}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: other}
            spec: {controllerName: example.com/other}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: gw, namespace: default, generation: 1}
            spec:
              gatewayClassName: sluice
              listeners: [{name: http, port: 80, protocol: HTTP}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: other-gw, namespace: default, generation: 1}
            spec:
              gatewayClassName: other
              listeners: [{name: http, port: 80, protocol: HTTP}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: default, generation: 1}
            spec:
              parentRefs: [{name: gw}, {name: other-gw}, {name: nowhere}]
              hostnames: [web.example.com]
              rules: [{backendRefs: [{name: web, port: 80}]}]
            """, source: "routing.yaml")

    /// Another controller's entry, as it wrote it.
    static let foreignParent: JSONValue = .object([
        "parentRef": .object([
            "group": .string(gatewayAPIGroup), "kind": .string("Gateway"), "name": .string("other-gw"),
        ]),
        "controllerName": .string("example.com/other"),
        "conditions": .array([
            .object([
                "type": .string("Accepted"), "status": .string("True"), "reason": .string("Accepted"),
                "message": .string("theirs"), "lastTransitionTime": .string("2020-01-01T00:00:00Z"),
            ])
        ]),
    ])

    /// Runs a controller against the fixture with a sync loop like the agent's; `setNow` sets the clock it writes.
    func run(
        _ fixture: APIServerFixture, services: [Service],
        _ body: (RoutingController, _ syncs: @Sendable () -> Int, _ setNow: @Sendable (Date) -> Void) async throws ->
            Void
    ) async throws {
        try await fixture.withClient { client in
            let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
            let syncs = Atomic<Int>(0)
            let trigger = SyncTrigger()
            let controller = RoutingController(
                client: client, trigger: trigger, discoveryInterval: .milliseconds(100),
                initialBackoff: .milliseconds(20), logger: Logger(label: "routing-test"),
                clock: { now.withLock { $0 } })
            let informers = Task { await controller.runInformers() }
            let loop = Task {
                for await _ in trigger.rounds(minimumInterval: .milliseconds(20)) {
                    await controller.sync(namespaces: [], services: services)
                    syncs.add(1, ordering: .relaxed)
                }
            }
            defer {
                informers.cancel()
                loop.cancel()
            }
            try await body(
                controller, { syncs.load(ordering: .relaxed) }, { date in now.withLock { $0 = date } })
            informers.cancel()
            loop.cancel()
            await informers.value
            await loop.value
        }
    }

    static func status(_ fixture: APIServerFixture, _ key: String, in path: String) -> JSONValue? {
        guard let object = fixture.server.object(key, in: path),
            let data = try? JSONSerialization.data(withJSONObject: object),
            let value = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return nil }
        return value["status"]
    }

    static func statusPatches(_ fixture: APIServerFixture) -> [TestAPIServer.Request] {
        fixture.server.requests.filter { $0.method == "PATCH" && $0.path.hasSuffix("/status") }
    }

    @Test func absentGatewayAPIIsNotAnErrorAndInstallingItLaterIsPickedUp() async throws {
        #expect(Self.objects.diagnostics.isEmpty, "\(Self.objects.diagnostics)")
        try await APIServerFixture.with { fixture in
            try await run(fixture, services: [APIServerFixture.service("web")]) { controller, _, _ in
                // Ingress kinds are served; the Gateway API answers 404: synced without it.
                #expect(await eventually { controller.hasSynced })
                let asked = fixture.server.requests.map(\.path)
                #expect(asked.contains("/apis/gateway.networking.k8s.io/v1"))
                #expect(asked.contains("/apis/networking.k8s.io/v1/ingresses"))
                #expect(!asked.contains(Self.gateways), "no watch of a kind that is not served")

                // The CRDs are installed later: discovery finds them and the Gateway gets its status.
                fixture.server.gatewayAPIInstalled = true
                for item in Self.objects.gatewayClasses { try fixture.server.apply(item, in: Self.classes) }
                for item in Self.objects.gateways { try fixture.server.apply(item, in: Self.gateways) }
                let written = await eventually {
                    Self.status(fixture, "default/gw", in: Self.gateways)?["conditions"] != nil
                }
                #expect(written, "requests: \(fixture.server.requests)")
                #expect(fixture.server.requests.contains { $0.path == "/apis/gateway.networking.k8s.io/v1beta1" })
            }
        }
    }

    @Test func statusIsWrittenForOurGatewaysAndOurParentEntriesOnly() async throws {
        try await APIServerFixture.with { fixture in
            fixture.server.gatewayAPIInstalled = true
            for item in Self.objects.gatewayClasses { try fixture.server.apply(item, in: Self.classes) }
            for item in Self.objects.gateways { try fixture.server.apply(item, in: Self.gateways) }
            let route = try #require(Self.objects.httpRoutes.first)
            try fixture.server.apply(
                StatusCarrying(route, status: .object(["parents": .array([Self.foreignParent])])), in: Self.routes)
            // A route the API returned that fails validation: skipped, and nothing written for it.
            var bad = route
            bad.metadata.name = "bad"
            bad.spec.parentRefs[0].port = 70000
            try fixture.server.apply(bad, in: Self.routes)

            try await run(fixture, services: [APIServerFixture.service("web")]) { controller, syncs, setNow in
                let converged = await eventually {
                    (Self.status(fixture, "default/web", in: Self.routes)?["parents"]?.arrayValue.count ?? 0) == 2
                        && Self.status(fixture, "default/gw", in: Self.gateways)?["listeners"] != nil
                        && Self.status(fixture, "/sluice", in: Self.classes)?["conditions"] != nil
                }
                #expect(converged, "requests: \(fixture.server.requests)")

                // Our GatewayClass: Accepted for its generation; the other controller's class is not ours to touch.
                let classConditions = Self.status(fixture, "/sluice", in: Self.classes)?["conditions"]?.arrayValue ?? []
                #expect(classConditions.map { $0["type"]?.stringValue } == ["Accepted"])
                #expect(classConditions.first?["status"] == .string("True"))
                #expect(classConditions.first?["reason"] == .string("Accepted"))
                #expect(classConditions.first?["observedGeneration"] == .number(1))
                #expect(Self.status(fixture, "/other", in: Self.classes) == nil)

                // Gateway: Accepted and Programmed for generation 1; the listener counts the route.
                let gateway = try #require(Self.status(fixture, "default/gw", in: Self.gateways))
                let conditions = gateway["conditions"]?.arrayValue ?? []
                #expect(conditions.map { $0["type"]?.stringValue } == ["Accepted", "Programmed"])
                #expect(
                    conditions.allSatisfy { $0["status"] == .string("True") && $0["observedGeneration"] == .number(1) })
                #expect(conditions.allSatisfy { $0["lastTransitionTime"] == .string("2027-01-15T08:00:00Z") })
                let listener = try #require(gateway["listeners"]?.arrayValue.first)
                #expect(listener["name"] == .string("http") && listener["attachedRoutes"] == .number(1))
                #expect(
                    listener["supportedKinds"]
                        == .array([.object(["group": .string(gatewayAPIGroup), "kind": .string("HTTPRoute")])]))

                // HTTPRoute: the other controller's entry untouched and first; ours for gw only (not for the
                // Gateway "nowhere", which does not exist and so is nobody's).
                let parents = Self.status(fixture, "default/web", in: Self.routes)?["parents"]?.arrayValue ?? []
                #expect(parents.first == Self.foreignParent)
                let ours = try #require(parents.last)
                #expect(ours["controllerName"] == .string(RoutingConfiguration.gatewayControllerName))
                #expect(ours["parentRef"]?["name"] == .string("gw"))
                let routeConditions = ours["conditions"]?.arrayValue ?? []
                #expect(routeConditions.map { $0["type"]?.stringValue } == ["Accepted", "ResolvedRefs"])
                #expect(routeConditions.allSatisfy { $0["status"] == .string("True") })

                // Not ours: the other class's Gateway and the invalid route get no write.
                let patches = Self.statusPatches(fixture)
                #expect(!patches.contains { $0.path.contains("/gateways/other-gw/") })
                #expect(!patches.contains { $0.path.contains("/gatewayclasses/other/") })
                #expect(!patches.contains { $0.path.contains("/httproutes/bad/") })
                #expect(Self.status(fixture, "default/bad", in: Self.routes) == nil)
                #expect(patches.allSatisfy { $0.status == 200 || $0.status == 409 }, "\(patches)")

                // Nothing changed: a sync writes nothing.
                let written = Self.statusPatches(fixture).count
                let before = syncs()
                for item in Self.objects.gatewayClasses {
                    // Re-applied as stored (with the status it has), so the sync sees no difference.
                    let stored = Self.status(fixture, "/\(item.metadata.name)", in: Self.classes)
                    try fixture.server.apply(StatusCarrying(item, status: stored), in: Self.classes)
                }
                #expect(await eventually { syncs() > before })
                #expect(Self.statusPatches(fixture).count == written)

                // A new generation: observedGeneration follows, lastTransitionTime stays (status unchanged).
                setNow(Date(timeIntervalSince1970: 1_900_000_000))
                var next = route
                next.metadata.generation = 2
                try fixture.server.apply(
                    StatusCarrying(next, status: Self.status(fixture, "default/web", in: Self.routes)),
                    in: Self.routes)
                let bumped = await eventually {
                    let parents = Self.status(fixture, "default/web", in: Self.routes)?["parents"]?.arrayValue ?? []
                    return parents.last?["conditions"]?.arrayValue.first?["observedGeneration"] == .number(2)
                }
                #expect(bumped)
                let after = Self.status(fixture, "default/web", in: Self.routes)?["parents"]?.arrayValue ?? []
                #expect(after.first == Self.foreignParent)
                #expect(
                    after.last?["conditions"]?.arrayValue.allSatisfy {
                        $0["lastTransitionTime"] == .string("2027-01-15T08:00:00Z")
                    } == true)
                #expect(controller.table != nil)
            }
        }
    }
}
