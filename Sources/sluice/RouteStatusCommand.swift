import ArgumentParser
import GatewayRouting
import KubeAPI

/// `sluice route status`: the status Sluice would write for Gateways, HTTPRoutes and Ingresses.
struct RouteStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print Gateway listener, HTTPRoute and Ingress status as Sluice would write it.",
        discussion: """
            Gateways list their listeners with attachedRoutes and conditions; HTTPRoutes list, per parentRef,
            Accepted (Accepted, NotAllowedByListeners, NoMatchingListenerHostname, NoMatchingParent,
            UnsupportedValue), PartiallyInvalid when rules were dropped, and ResolvedRefs (ResolvedRefs,
            RefNotPermitted, BackendNotFound, InvalidKind). Objects the loader rejected outright are listed under
            "rejected" with the reason.
            """)

    @OptionGroup var options: RouteOptions

    @Option(name: [.short, .customLong("output")], help: "text or json.")
    var output: RouteOutput = .text

    /// The router's status plus what never reached it.
    struct Report: Encodable {
        var gateways: [GatewayReport]
        var httpRoutes: [HTTPRouteReport]
        var ingresses: [IngressReport]
        var rejected: [Rejected]
    }

    struct Rejected: Encodable {
        var kind: String
        var name: String
        var message: String
    }

    static let routingKinds: Set<String> = [
        GatewayClass.kind, Gateway.kind, HTTPRoute.kind, ReferenceGrant.kind, Ingress.kind, IngressClass.kind,
    ]

    func run() throws {
        let manifests = options.load()
        let status = GatewayRouter(manifests, configuration: options.configuration()).status
        let rejected = manifests.errors.compactMap { diagnostic -> Rejected? in
            guard let kind = diagnostic.kind, Self.routingKinds.contains(kind) else { return nil }
            let message = diagnostic.field.map { "\($0): \(diagnostic.message)" } ?? diagnostic.message
            return Rejected(kind: kind, name: diagnostic.objectName ?? "", message: message)
        }
        let report = Report(
            gateways: status.gateways, httpRoutes: status.httpRoutes, ingresses: status.ingresses, rejected: rejected)
        switch output {
        case .json: print(try routeJSON(report))
        case .text: print(Self.text(report), terminator: "")
        }
    }

    static func text(_ report: Report) -> String {
        func describe(_ conditions: [StatusCondition]) -> String {
            conditions.map { "\($0.type)=\($0.status) (\($0.reason))" }.joined(separator: ", ")
        }
        func problems(_ conditions: [StatusCondition]) -> String {
            conditions.filter { ($0.status == "True") == ($0.type == "Conflicted" || $0.type == "PartiallyInvalid") }
                .map { "      \($0.type): \($0.message)\n" }.joined()
        }
        var text = ""
        for gateway in report.gateways {
            text += "Gateway \(gateway.namespace)/\(gateway.name) (class \(gateway.gatewayClassName)): "
            text += describe(gateway.conditions) + "\n"
            for listener in gateway.listeners {
                text += "  listener \(listener.name) \(listener.protocol)/\(listener.port) "
                text += "host \(listener.hostname ?? "*"): attachedRoutes \(listener.attachedRoutes); "
                text += describe(listener.conditions) + "\n" + problems(listener.conditions)
            }
        }
        for route in report.httpRoutes {
            text += "HTTPRoute \(route.namespace)/\(route.name)\n"
            for parent in route.parents {
                let reference = parent.parentRef
                var name = "\(reference.kind) \(reference.namespace ?? route.namespace)/\(reference.name)"
                if let section = reference.sectionName { name += " section \(section)" }
                if let port = reference.port { name += " port \(port)" }
                text += "  parent \(name): \(describe(parent.conditions))\n"
                text += parent.conditions.filter { $0.status == "False" || $0.type == "PartiallyInvalid" }
                    .map { "      \($0.type): \($0.message)\n" }.joined()
            }
        }
        for ingress in report.ingresses {
            text += "Ingress \(ingress.namespace)/\(ingress.name) (class \(ingress.ingressClassName ?? "none")): "
            text += describe(ingress.conditions) + "\n"
            text += ingress.conditions.filter { $0.status == "False" }.map { "      \($0.type): \($0.message)\n" }
                .joined()
        }
        for object in report.rejected {
            text += "rejected \(object.kind) \(object.name): \(object.message)\n"
        }
        return text
    }
}
