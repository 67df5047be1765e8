import Testing

@testable import KubeAPI

@Suite("IP addresses and CIDRs")
struct IPAddressTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0", AddressFamily.ipv4),
        ("10.96.0.1", "10.96.0.1", .ipv4),
        ("255.255.255.255", "255.255.255.255", .ipv4),
        ("::", "::", .ipv6),
        ("::1", "::1", .ipv6),
        ("2001:DB8::1", "2001:db8::1", .ipv6),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", .ipv6),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", .ipv6),  // first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", .ipv6),  // a single zero group stays
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1", .ipv6),  // the longest run wins
        ("fe80::", "fe80::", .ipv6),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", .ipv6),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1", .ipv6),
        ("::ffff:a00:1", "::ffff:10.0.0.1", .ipv6),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221", .ipv6),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", .ipv6),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String, family: AddressFamily) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == canonical)
        #expect(address.family == family)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "010.1.1.1", "1.2.3.04", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
        "1.2.3.-4", "+1.2.3.4", "a.b.c.d", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "1::2:3:4:5:6:7:8", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "g::1", "fe80::1%eth0", "1.2.3.4::", "::1.2.3",
        "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
    ])
    func rejectsInvalidAddresses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func convertsToAndFromNetworkOrderBytes() throws {
        let v4 = try #require(IPAddress("10.1.2.3"))
        #expect(v4 == .v4(0x0A01_0203))
        #expect(v4.bytes == [10, 1, 2, 3])
        #expect(IPAddress(bytes: v4.bytes) == v4)
        let v6 = try #require(IPAddress("2001:db8::ff"))
        #expect(v6 == .v6(high: 0x2001_0db8_0000_0000, low: 0xff))
        #expect(v6.bytes == [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0xff])
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func sortsIPv4BeforeIPv6AndNumericallyWithinAFamily() throws {
        let texts = ["::1", "10.0.0.10", "10.0.0.9", "2001:db8::", "1.2.3.4", "::"]
        let sorted = try texts.map { try #require(IPAddress($0)) }.sorted().map(\.description)
        #expect(sorted == ["1.2.3.4", "10.0.0.9", "10.0.0.10", "::", "::1", "2001:db8::"])
    }

    @Test(arguments: [
        ("10.96.0.0/12", "10.96.0.0/12", true),
        ("10.96.0.1/12", "10.96.0.0/12", false),
        ("0.0.0.0/0", "0.0.0.0/0", true),
        ("192.0.2.7/32", "192.0.2.7/32", true),
        ("fd00::/8", "fd00::/8", true),
        ("2001:db8::1/64", "2001:db8::/64", false),
        ("2001:db8::1/128", "2001:db8::1/128", true),
        ("::/0", "::/0", true),
        ("2001:db8:1:2:3:4:5:6/65", "2001:db8:1:2::/65", false),
    ])
    func parsesCIDRs(text: String, network: String, isCanonical: Bool) throws {
        let cidr = try #require(IPCIDR(text))
        #expect(cidr.description == text)
        #expect(cidr.canonical.description == network)
        #expect(cidr.isCanonical == isCanonical)
    }

    @Test(arguments: [
        "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8",
        "010.0.0.0/8", "::/129", "/8", "10.0.0.0/ 8",
    ])
    func rejectsInvalidCIDRs(text: String) {
        #expect(IPCIDR(text) == nil)
    }

    @Test func containsAddressesAndPrefixesOfItsFamilyOnly() throws {
        let cidr = try #require(IPCIDR("10.96.0.0/12"))
        #expect(cidr.contains(try #require(IPAddress("10.96.0.1"))))
        #expect(cidr.contains(try #require(IPAddress("10.111.255.255"))))
        #expect(!cidr.contains(try #require(IPAddress("10.112.0.0"))))
        #expect(!cidr.contains(try #require(IPAddress("::ffff:10.96.0.1"))))
        #expect(cidr.contains(try #require(IPCIDR("10.100.0.0/16"))))
        #expect(cidr.contains(cidr))
        #expect(!cidr.contains(try #require(IPCIDR("10.0.0.0/8"))))

        let v6 = try #require(IPCIDR("fd00:10:96::/112"))
        #expect(v6.contains(try #require(IPAddress("fd00:10:96::ffff"))))
        #expect(!v6.contains(try #require(IPAddress("fd00:10:96::1:0"))))
        #expect(IPCIDR(address: .v4(0), prefixLength: 33) == nil)
        #expect(try #require(IPCIDR("::/0")).contains(try #require(IPAddress("ffff::1"))))
    }
}
