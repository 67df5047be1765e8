import Foundation
import KubeAPI
import KubeClient
import Testing

/// The TLS side of a kubeconfig against the test API server: a client certificate for mutual TLS, and
/// `insecure-skip-tls-verify` for a server whose certificate nobody trusts.
struct TLSCredentialTests {
    @Test func aClientCertificateFromTheKubeconfigAuthenticatesOverMutualTLS() async throws {
        var mode = TestAPIServer.TLSMode()
        mode.requireClientCertificate = true
        try await APIServerFixture.with(tlsMode: mode) { fixture in
            try fixture.server.apply(APIServerFixture.service("web"), in: APIServerFixture.servicesPath)
            // No token: the certificate (signed by the cluster's CA) is the identity.
            let withCertificate = try fixture.kubeconfig(
                "mtls", cluster: ["certificate-authority: ca.crt"],
                user: ["client-certificate: client.crt", "client-key: client.key"])
            let configuration = try ClusterConfiguration.kubeconfig(at: withCertificate)
            #expect(configuration.clientCertificate != nil && configuration.clientKey != nil)
            #expect(configuration.credential == .none)
            let page = try await fixture.withClient(kubeconfig: withCertificate) { client in
                try await client.list(Service.self, .services, limit: 10, continueToken: nil)
            }
            #expect(page.items.map(\.metadata.name) == ["web"])

            // The token alone does not get past a server that requires a certificate.
            let tokenOnly = try fixture.kubeconfig(
                "token-only", cluster: ["certificate-authority: ca.crt"], user: ["token: token-1"])
            do {
                try await fixture.withClient(kubeconfig: tokenOnly) { client in
                    _ = try await client.list(Service.self, .services, limit: 10, continueToken: nil)
                }
                Issue.record("a client without a certificate was served")
            } catch {
                let message = "\(error)"
                #expect(message.contains("https://127.0.0.1:\(fixture.port)"), "\(message)")
                #expect(message.contains("requires a client certificate"), "\(message)")
            }
            #expect(fixture.server.requests.count == 1, "only the certificate holder's request reached HTTP")
        }
    }

    @Test func insecureSkipTLSVerifyAcceptsAServerCertificateNobodyTrusts() async throws {
        var mode = TestAPIServer.TLSMode()
        mode.untrustedServerCertificate = true
        try await APIServerFixture.with(tlsMode: mode) { fixture in
            try fixture.server.apply(APIServerFixture.service("web"), in: APIServerFixture.servicesPath)
            let insecure = try fixture.kubeconfig(
                "insecure", cluster: ["insecure-skip-tls-verify: true"], user: ["token: token-1"])
            #expect(try ClusterConfiguration.kubeconfig(at: insecure).insecureSkipTLSVerify)
            let page = try await fixture.withClient(kubeconfig: insecure) { client in
                try await client.list(Service.self, .services, limit: 10, continueToken: nil)
            }
            #expect(page.items.map(\.metadata.name) == ["web"])

            // Verifying against the cluster CA (which did not sign it) fails, saying why.
            do {
                try await fixture.withClient { client in
                    _ = try await client.list(Service.self, .services, limit: 10, continueToken: nil)
                }
                Issue.record("an untrusted server certificate was accepted")
            } catch {
                let message = "\(error)"
                #expect(message.contains("certificate is not trusted"), "\(message)")
                #expect(message.contains("https://127.0.0.1:\(fixture.port)"), "\(message)")
            }
        }
    }

    @Test func insecureSkipTLSVerifyWithACertificateAuthorityIsRejectedAsKubectlDoes() async throws {
        try await APIServerFixture.with { fixture in
            let both = try fixture.kubeconfig(
                "both", cluster: ["certificate-authority: ca.crt", "insecure-skip-tls-verify: true"],
                user: ["token: token-1"])
            #expect(throws: KubeClientError.self) { try ClusterConfiguration.kubeconfig(at: both) }
        }
    }
}
