import ArgumentParser
import Foundation
import GatewayRouting
import KubeAPI

/// The manifests and class selection shared by `route` and `route status`.
struct RouteOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("filename")],
        help: "A manifest file or directory (Gateways, HTTPRoutes, Ingresses, Services, …; YAML or JSON); repeatable.")
    var files: [String] = []

    @Option(
        name: .customLong("controller-name"),
        help: """
            A GatewayClass controllerName or IngressClass controller to serve (repeatable; default \
            \(RoutingConfiguration.gatewayControllerName) and \(RoutingConfiguration.ingressControllerName)).
            """)
    var controllerNames: [String] = []

    @Flag(name: .customLong("all-classes"), help: "Serve every Gateway and Ingress, whatever its class.")
    var allClasses = false

    /// Objects naming a class that is not among the manifests are served: a fragment of manifests handed to the
    /// tool is plainly meant for Sluice. A class that is present and names another controller is not served.
    func configuration(ingressClass: String? = nil) -> RoutingConfiguration {
        RoutingConfiguration(
            controllerNames: allClasses
                ? nil
                : Set(
                    controllerNames.isEmpty
                        ? [RoutingConfiguration.gatewayControllerName, RoutingConfiguration.ingressControllerName]
                        : controllerNames),
            servesUndeclaredClasses: true, ingressClassName: ingressClass)
    }

    func validate() throws {
        if files.isEmpty { throw ValidationError("give manifests with -f FILE") }
    }

    /// Loads the manifests, printing every diagnostic on stderr.
    func load() -> ManifestSet {
        let manifests = ManifestLoader().load(paths: files)
        for diagnostic in manifests.diagnostics { printError(diagnostic.description) }
        return manifests
    }
}

/// Output format of the route commands.
enum RouteOutput: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Encodes a value as pretty JSON with sorted keys and unescaped slashes (stable for scripts and diffs).
func routeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A `Name: value` header as written on the command line.
func parseHeader(_ text: String, flag: String) throws -> HTTPField {
    guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
        throw ValidationError("\(flag) \(text): expected 'Name: value'")
    }
    let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    return HTTPField(name: String(text[..<colon]).trimmingCharacters(in: .whitespaces), value: value)
}
