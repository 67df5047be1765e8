import Foundation
import Yams

/// How to reach and authenticate to one API server: its URL, the CA that signs its certificate, and the
/// client's credential. Built from a kubeconfig (`--kubeconfig`) or from a pod's service account
/// (`--in-cluster`); paths are parameters so tests can point them at files they made.
public struct ClusterConfiguration: Sendable, Equatable {
    /// `https://host:port`, without a trailing slash.
    public var server: String
    /// PEM certificates trusted for the server; `nil` uses the system's trust store.
    public var certificateAuthority: Data?
    /// PEM client certificate chain and key for mutual TLS, or `nil`.
    public var clientCertificate: Data?
    /// PEM private key of `clientCertificate`.
    public var clientKey: Data?
    /// The bearer token, if any (sent with or instead of a client certificate).
    public var credential: Credential
    /// Skips server certificate verification (kubeconfig's `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool

    /// A bearer token, given once or read from a file before every request, so a rotated (projected,
    /// expiring) service account token is picked up without a restart.
    public enum Credential: Sendable, Equatable {
        case none
        case token(String)
        case tokenFile(String)
    }

    /// A configuration from its parts (tests; kubeconfig and in-cluster build one too).
    public init(
        server: String, certificateAuthority: Data? = nil, clientCertificate: Data? = nil, clientKey: Data? = nil,
        credential: Credential = .none, insecureSkipTLSVerify: Bool = false
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.credential = credential
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }

    /// The bearer token to send now (`nil`: none). A token file is read on every call.
    public func bearerToken() throws -> String? {
        switch credential {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile(let path):
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else { throw KubeClientError.configuration("cannot read token file \(path)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    // MARK: - In-cluster

    /// Where a pod finds its service account: the kubelet mounts these files.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a pod: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the service account's
    /// `ca.crt`, and its `token` (re-read before each request, since projected tokens expire and rotate).
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws -> ClusterConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeClientError.configuration(
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod")
        }
        let caPath = serviceAccountDirectory + "/ca.crt"
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw KubeClientError.configuration("cannot read \(caPath)")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ClusterConfiguration(
            server: "https://\(hostPart):\(port)", certificateAuthority: ca,
            credential: .tokenFile(serviceAccountDirectory + "/token"))
    }

    // MARK: - kubeconfig

    /// The current context of a kubeconfig file: its cluster's server and CA, its user's client certificate,
    /// token or token file. Relative paths in the file are relative to the file's directory, as kubectl reads them.
    public static func kubeconfig(at path: String) throws -> ClusterConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw KubeClientError.configuration("cannot read kubeconfig \(path)") }
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: text)
        } catch {
            throw KubeClientError.configuration("kubeconfig \(path): \(error)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try file.currentConfiguration(directory: directory, source: path)
    }
}

/// The parts of a kubeconfig file (`clientcmdapi.Config`) the agent uses.
struct KubeconfigFile: Decodable {
    struct Named<Value: Decodable>: Decodable {
        var name: String
        var value: Value

        enum CodingKeys: String, CodingKey { case name, cluster, user, context }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            let key: CodingKeys =
                Value.self == Cluster.self ? .cluster : Value.self == User.self ? .user : .context
            value = try container.decode(Value.self, forKey: key)
        }
    }

    struct Cluster: Decodable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
        }
    }

    struct Context: Decodable {
        var cluster: String
        var user: String?
    }

    var clusters: [Named<Cluster>]?
    var users: [Named<User>]?
    var contexts: [Named<Context>]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    func currentConfiguration(directory: String, source: String) throws -> ClusterConfiguration {
        guard let currentContext, !currentContext.isEmpty else {
            throw KubeClientError.configuration("kubeconfig \(source): no current-context")
        }
        guard let context = contexts?.first(where: { $0.name == currentContext })?.value else {
            throw KubeClientError.configuration("kubeconfig \(source): context \"\(currentContext)\" is not defined")
        }
        guard let cluster = clusters?.first(where: { $0.name == context.cluster })?.value else {
            throw KubeClientError.configuration("kubeconfig \(source): cluster \"\(context.cluster)\" is not defined")
        }
        let user = context.user.flatMap { name in users?.first(where: { $0.name == name })?.value }
        if cluster.insecureSkipTLSVerify == true
            && (cluster.certificateAuthority != nil || cluster.certificateAuthorityData != nil)
        {
            // kubectl refuses this too: which of the two was meant is anyone's guess.
            throw KubeClientError.configuration(
                "kubeconfig \(source): cluster \"\(context.cluster)\" sets both insecure-skip-tls-verify and a "
                    + "certificate-authority")
        }

        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }
        func material(inline: String?, file: String?, _ what: String) throws -> Data? {
            if let inline {
                guard let data = Data(base64Encoded: inline, options: .ignoreUnknownCharacters) else {
                    throw KubeClientError.configuration("kubeconfig \(source): \(what)-data is not base64")
                }
                return data
            }
            guard let file else { return nil }
            guard let data = FileManager.default.contents(atPath: resolve(file)) else {
                throw KubeClientError.configuration("kubeconfig \(source): cannot read \(what) \(resolve(file))")
            }
            return data
        }

        let credential: ClusterConfiguration.Credential =
            if let token = user?.token { .token(token) } else if let file = user?.tokenFile {
                .tokenFile(resolve(file))
            } else { .none }
        return ClusterConfiguration(
            server: cluster.server,
            certificateAuthority: try material(
                inline: cluster.certificateAuthorityData, file: cluster.certificateAuthority, "certificate-authority"),
            clientCertificate: try material(
                inline: user?.clientCertificateData, file: user?.clientCertificate, "client-certificate"),
            clientKey: try material(inline: user?.clientKeyData, file: user?.clientKey, "client-key"),
            credential: credential, insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false)
    }
}
