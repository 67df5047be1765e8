import GatewayRouting
import Testing

/// Filters: header modifiers, redirects, rewrites, mirrors, and filters on individual backends.
@Suite struct FilterTests {
    /// The spec's ReplacePrefixMatch table.
    @Test(arguments: [
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"), ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"), ("/foo/", "/foo", "", "/"), ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"), ("/foo", "/foo", "/", "/"),
    ])
    func replacePrefixMatch(path: String, prefix: String, replacement: String, expected: String) {
        let routes = router(
            route(
                "rewrite",
                rules: """
                    - matches: [{path: {type: PathPrefix, value: "\(prefix)"}}]
                      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: "\(replacement)"}}}]
                      backendRefs: [{name: v1, port: 8080}]
                    """))
        #expect(ask(routes, path: path).path == expected)
    }

    /// HTTPRouteRedirectPath: the Location's path after ReplacePrefixMatch or ReplaceFullPath.
    @Test(arguments: [
        ("/original-prefix/lemon", "http://example.com/replacement-prefix/lemon"),
        ("/full/path/original", "http://example.com/full-path-replacement"),
        ("/path-and-host", "http://example.org/replacement-prefix"),
    ])
    func redirectPath(path: String, location: String) {
        let routes = router(
            route(
                "redirect-path",
                rules: """
                    - matches: [{path: {type: PathPrefix, value: /original-prefix}}]
                      filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}}]
                    - matches: [{path: {type: PathPrefix, value: /full}}]
                      filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /full-path-replacement}}}]
                    - matches: [{path: {type: PathPrefix, value: /path-and-host}}]
                      filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}}]
                    """))
        #expect(ask(routes, path: path).redirect?.location == location)
    }

    static let rewrites = route(
        "rewrite-path",
        rules: """
            - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
              filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /strip-prefix}}]
              filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /full/one}}]
              filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /one}}}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /host}}]
              filters: [{type: URLRewrite, urlRewrite: {hostname: one.example.org}}]
              backendRefs: [{name: v1, port: 8080}]
            """)

    /// HTTPRouteRewritePath and HTTPRouteRewriteHost: what the backend sees (the query string is kept).
    @Test(arguments: [
        ("/prefix/one/two", "/one/two", "example.com"), ("/strip-prefix/three", "/three", "example.com"),
        ("/strip-prefix", "/", "example.com"), ("/full/one/two", "/one", "example.com"),
        ("/prefix/one/two?a=b", "/one/two?a=b", "example.com"), ("/host/x", "/host/x", "one.example.org"),
    ])
    func urlRewrite(path: String, backendPath: String, backendHost: String) {
        let answer = ask(router(Self.rewrites), path: path)
        #expect(answer.status == 200)
        #expect(answer.path == backendPath)
        #expect(answer.host == backendHost)
    }

    static let redirects =
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: on-8080, namespace: infra}
        spec:
          gatewayClassName: sluice
          listeners: [{name: http, port: 8080, protocol: HTTP}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: https, namespace: infra}
        spec:
          gatewayClassName: sluice
          listeners:
          - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: cert, namespace: infra}
        type: kubernetes.io/tls
        data: {tls.crt: "", tls.key: ""}
        ---

        """
        + route(
            "redirects",
            rules: """
                - matches: [{path: {type: PathPrefix, value: /scheme-nil-and-port-nil}}]
                  filters: [{type: RequestRedirect, requestRedirect: {}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-nil-and-port-80}}]
                  filters: [{type: RequestRedirect, requestRedirect: {port: 80}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-nil-and-port-443}}]
                  filters: [{type: RequestRedirect, requestRedirect: {port: 443}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-nil-and-port-8080}}]
                  filters: [{type: RequestRedirect, requestRedirect: {port: 8080}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-https-and-port-nil}}]
                  filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-https-and-port-443}}]
                  filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 443}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-https-and-port-8443}}]
                  filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 8443}}]
                - matches: [{path: {type: PathPrefix, value: /scheme-http-and-port-nil}}]
                  filters: [{type: RequestRedirect, requestRedirect: {scheme: http}}]
                - matches: [{path: {type: PathPrefix, value: /hostname-and-status}}]
                  filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, statusCode: 301}}]
                - matches: [{path: {type: PathPrefix, value: /s303}}]
                  filters: [{type: RequestRedirect, requestRedirect: {statusCode: 303}}]
                - matches: [{path: {type: PathPrefix, value: /s307}}]
                  filters: [{type: RequestRedirect, requestRedirect: {statusCode: 307}}]
                - matches: [{path: {type: PathPrefix, value: /s308}}]
                  filters: [{type: RequestRedirect, requestRedirect: {statusCode: 308, path: {type: ReplaceFullPath, replaceFullPath: /new}}}]
                """,
            parentRefs: "[{name: same-namespace}, {name: on-8080}, {name: https}]")

    /// HTTPRouteRedirectPortAndScheme, HTTPRouteRedirectHostAndStatus and the 303/307/308 tests: default ports
    /// follow the scheme when it is set, else the listener's port; 80 for http and 443 for https are left out.
    @Test(arguments: [
        ("infra/same-namespace", 80, "/scheme-nil-and-port-nil", 302, "http://example.com/scheme-nil-and-port-nil", 80),
        ("infra/same-namespace", 80, "/scheme-nil-and-port-80", 302, "http://example.com/scheme-nil-and-port-80", 80),
        (
            "infra/same-namespace", 80, "/scheme-nil-and-port-8080", 302,
            "http://example.com:8080/scheme-nil-and-port-8080", 8080
        ),
        (
            "infra/same-namespace", 80, "/scheme-https-and-port-nil", 302,
            "https://example.com/scheme-https-and-port-nil", 443
        ),
        (
            "infra/same-namespace", 80, "/scheme-https-and-port-443", 302,
            "https://example.com/scheme-https-and-port-443", 443
        ),
        (
            "infra/same-namespace", 80, "/scheme-https-and-port-8443", 302,
            "https://example.com:8443/scheme-https-and-port-8443", 8443
        ),
        (
            "infra/on-8080", 8080, "/scheme-nil-and-port-nil", 302, "http://example.com:8080/scheme-nil-and-port-nil",
            8080
        ),
        ("infra/on-8080", 8080, "/scheme-nil-and-port-80", 302, "http://example.com/scheme-nil-and-port-80", 80),
        (
            "infra/on-8080", 8080, "/scheme-https-and-port-nil", 302, "https://example.com/scheme-https-and-port-nil",
            443
        ),
        ("infra/https", 443, "/scheme-nil-and-port-nil", 302, "https://example.com/scheme-nil-and-port-nil", 443),
        ("infra/https", 443, "/scheme-nil-and-port-443", 302, "https://example.com/scheme-nil-and-port-443", 443),
        ("infra/https", 443, "/scheme-http-and-port-nil", 302, "http://example.com/scheme-http-and-port-nil", 80),
        ("infra/same-namespace", 80, "/hostname-and-status?q=1", 301, "http://example.org/hostname-and-status?q=1", 80),
        ("infra/same-namespace", 80, "/s303", 303, "http://example.com/s303", 80),
        ("infra/same-namespace", 80, "/s307", 307, "http://example.com/s307", 80),
        ("infra/same-namespace", 80, "/s308/x", 308, "http://example.com/new", 80),
    ])
    func redirect(gateway: String, port: Int, path: String, status: Int, location: String, redirectPort: Int) {
        let answer = ask(router(Self.redirects), host: "example.com:\(port)", path: path, gateway: gateway, port: port)
        #expect(answer.status == status)
        #expect(answer.redirect?.location == location)
        #expect(answer.redirect?.port == redirectPort)
        #expect(answer.responseHeaders["Location"] == location)
        #expect(answer.backend == nil)
    }

    static let headerModifiers = route(
        "headers",
        rules: """
            - matches: [{path: {value: /set}}]
              filters:
              - type: RequestHeaderModifier
                requestHeaderModifier:
                  set: [{name: X-Header-Set, value: set-overwrites-values}]
                  add: [{name: X-Header-Add, value: add-appends-values}]
                  remove: [X-Header-Remove]
              - type: ResponseHeaderModifier
                responseHeaderModifier:
                  set: [{name: X-Header-Set, value: set-overwrites-values}]
                  add: [{name: X-Header-Add, value: header-add}]
                  remove: [X-Header-Remove]
              backendRefs: [{name: v1, port: 8080}]
            """)

    /// HTTPRouteRequestHeaderModifier and HTTPRouteResponseHeaderModifier.
    @Test(arguments: [
        (
            ["Some-Other-Header": "val", "X-Header-Set": "some-other-value", "X-Header-Remove": "val"],
            ["Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values", "X-Header-Add": "add-appends-values"]
        ),
        (
            ["x-header-add": "append-value", "X-Header-Remove": "val"],
            ["X-Header-Set": "set-overwrites-values", "x-header-add": "append-value,add-appends-values"]
        ),
    ])
    func requestHeaderModifier(headers: [String: String], expected: [String: String]) {
        let answer = ask(
            router(Self.headerModifiers), path: "/set", headers: headers,
            backendResponseHeaders: [
                HTTPField(name: "X-Header-Set", value: "original"), HTTPField(name: "X-Header-Remove", value: "gone"),
                HTTPField(name: "X-Header-Add", value: "original"),
            ])
        #expect(answer.requestHeaders == expected)
        #expect(
            answer.responseHeaders == ["X-Header-Set": "set-overwrites-values", "X-Header-Add": "original,header-add"])
    }

    /// Filters of a backendRef apply only when that backend is chosen; mirrors are recorded.
    @Test func backendFiltersAndMirrors() {
        let routes = router(
            route(
                "weights",
                rules: """
                    - filters:
                      - {type: RequestMirror, requestMirror: {backendRef: {name: v3, port: 8080}, percent: 25}}
                      backendRefs:
                      - name: v1
                        port: 8080
                        weight: 10
                        filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: infra-backend-v1}]}}]
                      - name: v2
                        port: 8080
                        weight: 10
                        filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: infra-backend-v2}]}}]
                    """))
        let answer = ask(routes, path: "/")
        #expect(answer.backend == "infra/v1:8080")
        #expect(answer.requestHeaders == ["Backend": "infra-backend-v1"])
        #expect(answer.backends.map(\.backend) == ["infra/v1:8080", "infra/v2:8080"])
        #expect(answer.mirrors.map(\.backend) == ["infra/v3:8080"])
        #expect(answer.mirrors.map(\.percent) == [25])
    }

    /// An ExtensionRef filter cannot be skipped: requests get a 500.
    @Test func unsupportedFilterAnswers500() {
        let routes = router(
            route(
                "extension",
                rules: """
                    - filters: [{type: ExtensionRef, extensionRef: {group: sluice.dev, kind: RateLimit, name: gentle}}]
                      backendRefs: [{name: v1, port: 8080}]
                    """))
        #expect(ask(routes, path: "/").status == 500)
        #expect(routes.status.httpRoutes[0].parents[0].conditions.last?.reason == "InvalidKind")
    }
}
