import CNIPlugin
import LinkNetlink
import Testing

/// Results in every supported version, and prevResult round trips.
@Suite struct ResultTests {
    static let sample: CNIResult = {
        var result = CNIResult()
        result.interfaces = [
            .init(name: "cni0", mac: "02:00:00:00:00:01"),
            .init(name: "sl0123456789ab", mac: "02:00:00:00:00:02", mtu: 1500),
            .init(name: "eth0", mac: "02:00:00:00:00:03", mtu: 1500, sandbox: "/run/netns/pod"),
        ]
        result.ips = [
            .init(address: InetPrefix("10.244.1.5/24")!, gateway: InetAddress("10.244.1.1"), interface: 2),
            .init(address: InetPrefix("fd00:10:244:1::5/64")!, gateway: InetAddress("fd00:10:244:1::1"), interface: 2),
        ]
        var route = CNIResult.RouteEntry(destination: InetPrefix("0.0.0.0/0")!, gateway: InetAddress("10.244.1.1"))
        route.mtu = 1400
        result.routes = [route]
        result.dns = .object([("nameservers", .array([.string("10.96.0.10")]))])
        return result
    }()

    @Test(arguments: CNIVersion.supported)
    func resultHasTheSpecShapeOfItsVersion(version: String) throws {
        let document = try JSON.parse(Self.sample.document(version: version).text)
        #expect(document["cniVersion"] == .string(version))
        let ips = try #require(document["ips"].flatMap { if case .array(let a) = $0 { a } else { nil } })
        #expect((ips[0]["version"] != nil) == version.hasPrefix("0."))
        let interfaces = try #require(document["interfaces"].flatMap { if case .array(let a) = $0 { a } else { nil } })
        #expect((interfaces[1]["mtu"] != nil) == (version == "1.1.0"))
    }

    @Test(arguments: CNIVersion.supported)
    func previousResultsOfEveryVersionParseBack(version: String) throws {
        let document = Self.sample.document(version: version)
        let parsed = try CNIResult(parsing: document, path: "prevResult")
        #expect(parsed.ips == Self.sample.ips)
        #expect(parsed.interfaces.map(\.name) == ["cni0", "sl0123456789ab", "eth0"])
        #expect(parsed.dns == Self.sample.dns)
        #expect(parsed.document(version: version) == document)
    }

    @Test func malformedPreviousResultNamesTheField() {
        let bad = try! JSON.parse(#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}"#)
        #expect {
            try CNIResult(parsing: bad, path: "prevResult")
        } throws: { error in
            (error as? CNIError)?.message.contains("prevResult.ips[0].address") == true
        }
    }

    @Test func jsonRoundTripsEscapesAndNumbers() throws {
        let text = #"{"a":"line\nbreak \"q\" \u00e9 \ud83d\ude00","b":[1,-2.5,1e3,true,null],"c":{}}"#
        let value = try JSON.parse(text)
        #expect(value["a"] == .string("line\nbreak \"q\" é 😀"))
        #expect(try JSON.parse(value.text) == value)
        #expect(JSON.number(1500).text == "1500")
        for bad in ["{", #"{"a":}"#, "[1,]", "01", #""\x""#, "{} x", #"{"a" 1}"#] {
            #expect(throws: JSONParseError.self) { try JSON.parse(bad) }
        }
    }

    @Test func jsonStringsWithAndWithoutEscapes() throws {
        #expect(try JSON.parse(#""plain""#) == .string("plain"))
        #expect(try JSON.parse(#""""#) == .string(""))
        #expect(try JSON.parse(#""é \/ab\\""#) == .string("é /ab\\"))
        #expect(try JSON.parse(#""a\tb\u0041\u00e9c""#) == .string("a\tbAéc"))
        // Control characters are escaped on output, and raw ones are refused on input.
        let control = JSON.string("x\u{01}\u{1F}\"\\\r")
        #expect(control.text == #""x\u0001\u001f\"\\\r""#)
        #expect(try JSON.parse(control.text) == control)
        for bad in ["\"a\u{01}\"", "\"a\\q\"", "\"abc", "\"a\\", #""\u12""#] {
            #expect(throws: JSONParseError.self) { try JSON.parse(bad) }
        }
    }

    @Test func prefixesParseStrictly() {
        #expect(InetPrefix("10.244.1.5/24")?.description == "10.244.1.5/24")
        #expect(InetPrefix("fd00:10::/64")?.length == 64)
        #expect(InetPrefix("10.0.0.0/024")?.length == 24)
        #expect(InetPrefix("10.0.0.0/0")?.length == 0)
        for bad in [
            "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/+8", "10.0.0.0/8x", "x/8", "10.0.0/8",
        ] {
            #expect(InetPrefix(bad) == nil, "\(bad)")
        }
        #expect(MACAddress("0a:1B:c2:03:e4:ff")?.description == "0a:1b:c2:03:e4:ff")
    }
}
