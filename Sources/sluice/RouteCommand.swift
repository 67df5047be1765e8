import ArgumentParser
import Foundation
import GatewayRouting
import KubeAPI

/// `sluice route`: HTTP routing questions answered from manifests by the table the data plane would serve.
/// `sluice route -f … --host … --path …` runs the default subcommand, `request`.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Answer where HTTP requests would go through a Gateway or the Ingresses, or print route status.",
        subcommands: [RouteRequestCommand.self, RouteStatusCommand.self, RouteBenchmarkCommand.self],
        defaultSubcommand: RouteRequestCommand.self)
}

/// `sluice route [request]`: what would happen to this HTTP request, through a Gateway port or the Ingresses?
struct RouteRequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract:
            "Answer where an HTTP request would go through a Gateway or the Ingresses (status, backend, rewrites).",
        discussion: """
            Compiles the Gateways, HTTPRoutes and Ingresses of the manifests into the route table the data plane
            serves, then matches the request and applies the rule's filters: the answer has the status (200, a
            3xx redirect, 404, 500), the chosen backend and the weighted candidates, the route and rule that
            matched, the redirect, and the path, Host and headers the backend would see and the response headers
            the client would see. A port in --host is ignored for matching and kept for the backend.
            --requests FILE.json answers a JSON list of requests ({"gateway", "port", "scheme", "host", "method",
            "path", "headers", "backend_response_headers", or "ingress": true}) with a JSON list of answers.
            Objects naming a class absent from the manifests are served; invalid objects are reported on stderr
            and the rest still routes. See docs/routing.md.
            """)

    @OptionGroup var options: RouteOptions

    @Option(help: "The Gateway that receives the request, as NAMESPACE/NAME (or NAME in namespace default).")
    var gateway: String?

    @Option(help: "The Gateway port (default: the Gateway's only HTTP port).")
    var port: Int?

    @Flag(help: "Route through the served Ingresses instead of a Gateway.")
    var ingress = false

    @Option(name: .customLong("ingress-class"), help: "Serve exactly the Ingresses of this IngressClass.")
    var ingressClass: String?

    @Option(help: "The scheme the client used: http or https (default: the listener's protocol).")
    var scheme: String?

    @Option(help: "The Host header (a port in it is ignored for matching).")
    var host: String?

    @Option(help: "The request method.")
    var method = "GET"

    @Option(help: "The request target: a path, optionally with ?query.")
    var path: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: "A request header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(
        name: .customLong("backend-response-header"),
        help: "A header the backend answers with, 'Name: value' (repeatable), to see the response filters' effect.")
    var backendResponseHeaders: [String] = []

    @Option(name: .customLong("requests"), help: "A JSON file with a list of requests to answer in order.")
    var requestsFile: String?

    @Option(name: [.short, .customLong("output")], help: "text or json.")
    var output: RouteOutput = .text

    func validate() throws {
        if let scheme, scheme != "http" && scheme != "https" {
            throw ValidationError("--scheme \(scheme): expected http or https")
        }
        if gateway != nil && ingress { throw ValidationError("give either --gateway or --ingress, not both") }
        if ingressClass != nil && gateway != nil { throw ValidationError("--ingress-class goes with --ingress") }
        guard requestsFile == nil else { return }
        if gateway == nil && !ingress && ingressClass == nil {
            throw ValidationError("give --gateway NAMESPACE/NAME [--port N] or --ingress")
        }
        if host == nil { throw ValidationError("give the request's --host") }
        if path == nil { throw ValidationError("give the request's --path") }
        if let path, !path.hasPrefix("/") { throw ValidationError("--path \(path): must start with '/'") }
    }

    func run() throws {
        var session = RouteSession(manifests: options.load(), options: options)
        let defaults = RouteQuestion(
            gateway: gateway, port: port, ingress: ingress || ingressClass != nil, ingressClass: ingressClass,
            request: RouteRequest(
                scheme: scheme, host: host ?? "", method: method, path: path ?? "/",
                headers: try headers.map { try parseHeader($0, flag: "-H") }),
            backendResponseHeaders: try backendResponseHeaders.map {
                try parseHeader($0, flag: "--backend-response-header")
            })
        if let requestsFile {
            let questions = try RouteQuestion.list(fromFile: requestsFile, defaults: defaults)
            let answers = try questions.map { try session.answer($0) }
            print(try routeJSON(answers))
            return
        }
        let answer = try session.answer(defaults)
        switch output {
        case .json: print(try routeJSON(answer))
        case .text: print(Self.text(answer), terminator: "")
        }
    }

    static func text(_ answer: RouteAnswer) -> String {
        var text = "\(answer.status)"
        if let backend = answer.backend { text += " -> \(backend)" }
        if let redirect = answer.redirect { text += " -> Location: \(redirect.location)" }
        if let route = answer.route {
            text += " (\(answer.routeKind ?? "route") \(route)"
            if let rule = answer.rule { text += " rule \(rule)" + (answer.ruleName.map { " \"\($0)\"" } ?? "") }
            if let listener = answer.listener { text += ", listener \(listener)" }
            text += ")"
        }
        text += "\n  \(answer.reason)\n"
        if answer.backends.count > 1 || answer.backends.contains(where: { $0.backend == nil }) {
            let total = answer.backends.reduce(0) { $0 + $1.weight }
            for candidate in answer.backends {
                let share = String(format: "%.1f%%", Double(candidate.weight) * 100 / Double(max(total, 1)))
                text += "    \(candidate.backend ?? "invalid backendRef (500)")  weight \(candidate.weight)  \(share)\n"
            }
        }
        if let path = answer.path, let host = answer.host {
            text += "  backend sees: \(path)  Host: \(host)\n"
            for (name, value) in (answer.requestHeaders ?? [:]).sorted(by: { $0.key < $1.key }) {
                text += "    \(name): \(value)\n"
            }
        }
        if !answer.responseHeaders.isEmpty {
            text += "  client sees:\n"
            for (name, value) in answer.responseHeaders.sorted(by: { $0.key < $1.key }) {
                text += "    \(name): \(value)\n"
            }
        }
        for mirror in answer.mirrors { text += "  mirrored to \(mirror.backend) (\(mirror.percent)%)\n" }
        if let secret = answer.tlsSecret { text += "  TLS secret: \(secret)\n" }
        return text
    }
}

/// One request to answer and where it enters.
struct RouteQuestion {
    var gateway: String?
    var port: Int?
    var ingress: Bool
    var ingressClass: String?
    var request: RouteRequest
    var backendResponseHeaders: [HTTPField]

    /// Reads a JSON list of request objects; missing fields take the command line's values. Headers may be an
    /// object (`{"Name": "value"}`), a list of `"Name: value"` strings, or a list of `[name, value]` pairs.
    static func list(fromFile file: String, defaults: RouteQuestion) throws -> [RouteQuestion] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("--requests \(file): could not read the file")
        }
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw ValidationError("--requests \(file): expected a JSON list of request objects")
        }
        return try list.enumerated().map { position, item in
            guard let object = item as? [String: Any] else {
                throw ValidationError("--requests \(file)[\(position)]: expected an object")
            }
            func string(_ key: String) throws -> String? {
                guard let value = object[key], !(value is NSNull) else { return nil }
                guard let text = value as? String else {
                    throw ValidationError("--requests \(file)[\(position)].\(key): expected a string")
                }
                return text
            }
            func headers(_ key: String) throws -> [HTTPField]? {
                guard let value = object[key], !(value is NSNull) else { return nil }
                if let map = value as? [String: Any] {
                    return map.sorted { $0.key < $1.key }.map { HTTPField(name: $0.key, value: "\($0.value)") }
                }
                guard let items = value as? [Any] else {
                    throw ValidationError("--requests \(file)[\(position)].\(key): expected an object or a list")
                }
                return try items.map { item in
                    if let text = item as? String { return try parseHeader(text, flag: "\(key)") }
                    if let pair = item as? [Any], pair.count == 2, let name = pair[0] as? String {
                        return HTTPField(name: name, value: "\(pair[1])")
                    }
                    if let field = item as? [String: Any], let name = field["name"] as? String {
                        return HTTPField(name: name, value: "\(field["value"] ?? "")")
                    }
                    throw ValidationError("--requests \(file)[\(position)].\(key): unreadable header \(item)")
                }
            }
            var question = defaults
            if let gateway = try string("gateway") {
                question.gateway = gateway
                question.ingress = false
            }
            if let port = object["port"] {
                guard let number = (port as? Int) ?? (port as? String).flatMap(Int.init) else {
                    throw ValidationError("--requests \(file)[\(position)].port: expected a number")
                }
                question.port = number
            }
            if let ingress = object["ingress"] as? Bool {
                question.ingress = ingress
                if ingress { question.gateway = nil }
            }
            if let ingressClass = try string("ingress_class") ?? string("ingressClass") {
                question.ingressClass = ingressClass
                question.ingress = true
                question.gateway = nil
            }
            if let scheme = try string("scheme") { question.request.scheme = scheme }
            if let host = try string("host") { question.request.host = host }
            if let method = try string("method") { question.request.method = method }
            if let path = try string("path") { question.request.path = path }
            if let fields = try headers("headers") { question.request.headers = fields }
            if let fields = try headers("backend_response_headers") ?? headers("backendResponseHeaders") {
                question.backendResponseHeaders = fields
            }
            return question
        }
    }
}

/// The compiled tables for one run: one per Ingress class asked about.
struct RouteSession {
    let manifests: ManifestSet
    let options: RouteOptions
    private var tables: [String: RouteTable] = [:]

    init(manifests: ManifestSet, options: RouteOptions) {
        self.manifests = manifests
        self.options = options
    }

    private mutating func table(ingressClass: String?) -> RouteTable {
        let key = ingressClass ?? ""
        if let table = tables[key] { return table }
        let table = GatewayRouter(manifests, configuration: options.configuration(ingressClass: ingressClass)).table
        tables[key] = table
        return table
    }

    mutating func answer(_ question: RouteQuestion) throws -> RouteAnswer {
        if question.ingress || question.gateway == nil {
            guard question.ingress || question.ingressClass != nil else {
                throw ValidationError("a request names neither a gateway nor ingress")
            }
            return table(ingressClass: question.ingressClass).answerIngress(
                question.request, backendResponseHeaders: question.backendResponseHeaders)
        }
        let table = table(ingressClass: nil)
        var name = question.gateway!
        if !name.contains("/") { name = "default/" + name }
        let port: Int
        if let given = question.port {
            port = given
        } else {
            let ports = table.gatewayPorts.filter { $0.gateway == name }.map(\.port)
            if ports.isEmpty {
                return .notFound(
                    "Gateway \(name) is not served (missing, another controller's class, or no HTTP listener)")
            }
            guard ports.count == 1 else {
                throw ValidationError(
                    "Gateway \(name) listens on ports \(ports.map(String.init).joined(separator: ", ")): give --port")
            }
            port = ports[0]
        }
        return table.answer(
            question.request, on: GatewayPort(gateway: name, port: port),
            backendResponseHeaders: question.backendResponseHeaders)
    }
}
