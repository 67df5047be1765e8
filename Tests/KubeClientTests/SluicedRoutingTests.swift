import Foundation
import KubeAPI
import SluiceTestSupport
import Testing

/// The real `sluiced --routing-controller` in a test namespace: the routing source joins readiness and the
/// status of our GatewayClass, Gateway and HTTPRoute is written through the test API server.
@Suite(.requiresRoot)
struct SluicedRoutingTests {
    @Test func theDaemonsRoutingControllerWritesStatusAndGatesReadiness() async throws {
        let namespace = try TestNamespace.make("route")
        defer { try? namespace.delete() }
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            fixture.server.gatewayAPIInstalled = true
            let objects = RoutingControllerTests.objects
            try fixture.server.apply(APIServerFixture.service("web"), in: APIServerFixture.servicesPath)
            for item in objects.gatewayClasses { try fixture.server.apply(item, in: RoutingControllerTests.classes) }
            for item in objects.gateways { try fixture.server.apply(item, in: RoutingControllerTests.gateways) }
            for item in objects.httpRoutes { try fixture.server.apply(item, in: RoutingControllerTests.routes) }
            let daemon = try SluicedDaemon(
                in: namespace,
                [
                    "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a", "--cni-data-dir", "",
                    "--min-sync-period", "0.2", "--routing-controller", "--api-discovery-period", "0.5",
                ])
            defer { daemon.stop() }
            let ready = await eventually(timeout: .seconds(60)) {
                SluicedResilienceTests.answer("/readyz", in: namespace).hasPrefix("HTTP/1.1 200")
            }
            #expect(ready, "sluiced log:\n\(daemon.logged)")
            let routeStatus = RoutingControllerTests.status(fixture, "default/web", in: RoutingControllerTests.routes)
            let parents = routeStatus?["parents"]?.arrayValue ?? []
            #expect(
                parents.map { $0["parentRef"]?["name"]?.stringValue } == ["gw"], "\(String(describing: routeStatus))")
            let gateway = RoutingControllerTests.status(fixture, "default/gw", in: RoutingControllerTests.gateways)
            #expect(gateway?["listeners"]?.arrayValue.first?["attachedRoutes"] == .number(1))
            #expect(
                RoutingControllerTests.status(fixture, "default/other-gw", in: RoutingControllerTests.gateways) == nil)
            let metrics = SluicedResilienceTests.answer("/metrics", in: namespace)
            let gatewayClass = RoutingControllerTests.status(fixture, "/sluice", in: RoutingControllerTests.classes)
            #expect(gatewayClass?["conditions"]?.arrayValue.first?["type"] == .string("Accepted"))
            #expect(metrics.contains("\nsluice_routing_status_writes_total 3\n"), "\(metrics)")
        }
    }
}
