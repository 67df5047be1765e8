import Testing

@testable import KubeAPI

@Suite("Label selectors")
struct LabelSelectorTests {
    static let labels = ["app": "web", "tier": "frontend", "empty": ""]

    @Test(arguments: [
        (LabelSelector(), true),
        (LabelSelector(matchLabels: ["app": "web"]), true),
        (LabelSelector(matchLabels: ["app": "web", "tier": "backend"]), false),
        (LabelSelector(matchLabels: ["missing": ""]), false),
        (LabelSelector(matchLabels: ["empty": ""]), true),
        (LabelSelector(matchExpressions: [.init(key: "tier", operator: .in, values: ["frontend", "api"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "tier", operator: .in, values: ["api"])]), false),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .in, values: ["x"])]), false),
        (LabelSelector(matchExpressions: [.init(key: "tier", operator: .notIn, values: ["frontend"])]), false),
        (LabelSelector(matchExpressions: [.init(key: "tier", operator: .notIn, values: ["api"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .notIn, values: ["x"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]), true),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .exists)]), false),
        (LabelSelector(matchExpressions: [.init(key: "app", operator: .doesNotExist)]), false),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .doesNotExist)]), true),
        (LabelSelector(matchExpressions: [.init(key: "app", operator: .unrecognized("Gt"), values: ["1"])]), false),
        (
            LabelSelector(
                matchLabels: ["app": "web"], matchExpressions: [.init(key: "tier", operator: .exists)]), true
        ),
    ])
    func matchesWithKubernetesSemantics(selector: LabelSelector, expected: Bool) {
        #expect(selector.matches(Self.labels) == expected)
    }

    @Test func emptySelectorMatchesObjectsWithoutLabels() {
        #expect(LabelSelector().matches([:]))
        #expect(LabelSelector().isEmpty)
    }

    @Test(arguments: [
        ("", []),
        ("   ", []),
        ("a=b", [LabelSelectorRequirement(key: "a", operator: .in, values: ["b"])]),
        ("a==b", [LabelSelectorRequirement(key: "a", operator: .in, values: ["b"])]),
        ("a!=b", [LabelSelectorRequirement(key: "a", operator: .notIn, values: ["b"])]),
        ("a=", [LabelSelectorRequirement(key: "a", operator: .in, values: [""])]),
        ("a", [LabelSelectorRequirement(key: "a", operator: .exists)]),
        ("!a", [LabelSelectorRequirement(key: "a", operator: .doesNotExist)]),
        ("a in (y,x,x)", [LabelSelectorRequirement(key: "a", operator: .in, values: ["x", "y"])]),
        ("a notin (x)", [LabelSelectorRequirement(key: "a", operator: .notIn, values: ["x"])]),
        ("a in ()", [LabelSelectorRequirement(key: "a", operator: .in, values: [""])]),
        ("a in (x,)", [LabelSelectorRequirement(key: "a", operator: .in, values: ["", "x"])]),
        ("a in(x)", [LabelSelectorRequirement(key: "a", operator: .in, values: ["x"])]),
        (
            "a=b,c!=d,e in (f,g),f notin (x),h,!h",
            [
                LabelSelectorRequirement(key: "a", operator: .in, values: ["b"]),
                LabelSelectorRequirement(key: "c", operator: .notIn, values: ["d"]),
                LabelSelectorRequirement(key: "e", operator: .in, values: ["f", "g"]),
                LabelSelectorRequirement(key: "f", operator: .notIn, values: ["x"]),
                LabelSelectorRequirement(key: "h", operator: .exists),
                LabelSelectorRequirement(key: "h", operator: .doesNotExist),
            ]
        ),
        (
            "  app.kubernetes.io/name == web ,  tier  in  ( a , b )  , ! legacy ",
            [
                LabelSelectorRequirement(key: "app.kubernetes.io/name", operator: .in, values: ["web"]),
                LabelSelectorRequirement(key: "tier", operator: .in, values: ["a", "b"]),
                LabelSelectorRequirement(key: "legacy", operator: .doesNotExist),
            ]
        ),
    ])
    func parsesTheStringForm(text: String, expected: [LabelSelectorRequirement]) throws {
        #expect(try LabelSelector(parsing: text) == LabelSelector(matchExpressions: expected))
    }

    @Test(arguments: [
        ("a=b,", "column 5: expected a label key, found end of selector"),
        (",a", "column 1: expected a label key, found \",\""),
        ("a b", "column 3: expected \"=\", \"==\", \"!=\", \"in\", \"notin\", \",\" or end of selector, found \"b\""),
        ("a in x", "column 6: expected \"(\", found \"x\""),
        ("a in (x", "column 8: expected \",\" or \")\", found end of selector"),
        ("a in (x y)", "column 9: expected \",\" or \")\", found \"y\""),
        ("a notin (=)", "column 10: expected a label value, \",\" or \")\", found \"=\""),
        ("!a=b", "column 3: expected \",\" or end of selector, found \"=\""),
        ("!", "column 2: expected a label key, found end of selector"),
        ("a > 1", "column 3: expected \"=\", \"==\", \"!=\", \"in\", \"notin\", \",\" or end of selector, found \">\""),
        ("a=b=c", "column 4: expected \",\" or end of selector, found \"=\""),
        ("a=(b)", "column 3: expected a label value, found \"(\""),
        ("a=b)", "column 4: expected \",\" or end of selector, found \")\""),
        ("-a=b", "column 1: expected \(NameRule.labelKey.explanation), found \"-a\""),
        ("a/b/c", "column 1: expected \(NameRule.labelKey.explanation), found \"a/b/c\""),
        ("a=-b", "column 3: expected \(NameRule.labelValue.explanation), found \"-b\""),
        ("a in (ok,b_)", "column 10: expected \(NameRule.labelValue.explanation), found \"b_\""),
    ])
    func reportsParseErrorsWithColumnAndExpectation(text: String, expected: String) {
        #expect {
            try LabelSelector(parsing: text)
        } throws: { error in
            (error as? LabelSelectorParseError)?.description == expected
        }
    }

    @Test func parseErrorCarriesItsParts() {
        #expect(throws: LabelSelectorParseError(column: 6, expected: "\"(\"", found: "\"x\"")) {
            try LabelSelector(parsing: "a in x")
        }
    }

    @Test(arguments: [
        LabelSelector(matchLabels: ["app": "web", "a.b/c": "d"]),
        LabelSelector(matchExpressions: [
            .init(key: "tier", operator: .in, values: ["a", "b"]),
            .init(key: "env", operator: .notIn, values: ["prod"]),
            .init(key: "x", operator: .exists), .init(key: "y", operator: .doesNotExist),
        ]),
    ])
    func descriptionParsesBackToAnEquivalentSelector(selector: LabelSelector) throws {
        let reparsed = try LabelSelector(parsing: selector.description)
        for labels in [
            ["app": "web", "a.b/c": "d"], ["tier": "a", "x": "1"], ["tier": "b", "env": "prod", "x": ""], [:],
        ] {
            #expect(reparsed.matches(labels) == selector.matches(labels))
        }
    }

    @Test func describesItselfInStringForm() {
        let selector = LabelSelector(
            matchLabels: ["b": "2", "a": "1"],
            matchExpressions: [
                .init(key: "t", operator: .in, values: ["x", "y"]), .init(key: "z", operator: .doesNotExist),
            ])
        #expect(selector.description == "a=1,b=2,t in (x,y),!z")
    }

    @Test(arguments: [
        (
            LabelSelector(matchLabels: ["Bad Key": "v", "ok": "bad value"]),
            [
                "sel.matchLabels: \"Bad Key\" is not \(NameRule.labelKey.explanation)",
                "sel.matchLabels[ok]: \"bad value\" is not \(NameRule.labelValue.explanation)",
            ]
        ),
        (
            LabelSelector(matchExpressions: [.init(key: "a", operator: .in)]),
            ["sel.matchExpressions[0].values: must have at least one value for In"]
        ),
        (
            LabelSelector(matchExpressions: [.init(key: "a", operator: .exists, values: ["x"])]),
            ["sel.matchExpressions[0].values: must be empty for Exists"]
        ),
        (
            LabelSelector(matchExpressions: [.init(key: "", operator: .unrecognized("Gt"), values: ["1"])]),
            [
                "sel.matchExpressions[0].key: required",
                "sel.matchExpressions[0].operator: \"Gt\" is not one of In, NotIn, Exists, DoesNotExist",
            ]
        ),
        (
            LabelSelector(matchExpressions: [.init(key: "a", operator: .notIn, values: ["ok", "not ok"])]),
            ["sel.matchExpressions[0].values[1]: \"not ok\" is not \(NameRule.labelValue.explanation)"]
        ),
    ])
    func validatesKeysValuesAndOperators(selector: LabelSelector, expected: [String]) {
        #expect(selector.validate(at: "sel").map(\.description) == expected)
    }

    @Test(arguments: [
        (NameRule.labelKey, "app", true),
        (.labelKey, "app.kubernetes.io/name", true),
        (.labelKey, "A_b.c-D", true),
        (.labelKey, "kubernetes.io/", false),
        (.labelKey, "/name", false),
        (.labelKey, "Example.com/name", false),
        (.labelKey, String(repeating: "a", count: 63), true),
        (.labelKey, String(repeating: "a", count: 64), false),
        (.labelKey, String(repeating: "a", count: 253) + "/n", true),
        (.labelKey, String(repeating: "a", count: 254) + "/n", false),
        (.labelValue, "", true),
        (.labelValue, "v1.2_x-Y", true),
        (.labelValue, "-v", false),
        (.labelValue, String(repeating: "v", count: 64), false),
        (.dns1123Label, "web-1", true),
        (.dns1123Label, "1web", true),
        (.dns1123Label, "Web", false),
        (.dns1123Label, "web-", false),
        (.dns1123Label, "a.b", false),
        (.dns1035Label, "1web", false),
        (.dns1035Label, "web1", true),
        (.dns1123Subdomain, "a.b-c.d", true),
        (.dns1123Subdomain, "a..b", false),
        (.dns1123Subdomain, "", false),
        (.portName, "http", true),
        (.portName, "http-2", true),
        (.portName, "80", false),
        (.portName, "http--x", false),
        (.portName, "-http", false),
        (.portName, "HTTP", false),
        (.portName, "sixteen-chars-xx", false),
        (.wildcardHostname, "*.example.com", true),
        (.wildcardHostname, "a.*.example.com", false),
        (.domainPrefixedPath, "example.com/controller", true),
        (.domainPrefixedPath, "controller", false),
        (.domainPrefixedPath, "example.com/", false),
        (.httpHeaderName, "X-Request-ID", true),
        (.httpHeaderName, "X Request", false),
    ])
    func nameRules(rule: NameRule, value: String, accepted: Bool) {
        #expect(rule.accepts(value) == accepted)
    }
}
