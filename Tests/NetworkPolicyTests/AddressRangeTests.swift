import KubeAPI
import NetworkPolicy
import Testing

/// ipBlocks become disjoint address ranges: the CIDR minus its `except` holes, in both families.
struct AddressRangeTests {
    static func text(_ cidr: String, except: [String]) -> [String] {
        AddressRange.ranges(of: IPCIDR(cidr)!, except: except.compactMap(IPCIDR.init)).map(\.description)
    }

    @Test func exceptCutsHolesAnywhereInTheBlock() {
        #expect(Self.text("10.0.0.0/8", except: []) == ["10.0.0.0/8"])
        #expect(Self.text("10.0.0.0/8", except: ["10.1.0.0/16"]) == ["10.0.0.0/16", "10.2.0.0-10.255.255.255"])
        #expect(Self.text("10.0.0.0/24", except: ["10.0.0.0/25"]) == ["10.0.0.128/25"])
        #expect(Self.text("10.0.0.0/24", except: ["10.0.0.128/25", "10.0.0.0/25"]) == [])
        #expect(
            Self.text("10.0.0.0/24", except: ["10.0.0.16/28", "10.0.0.8/29", "10.0.0.200/32"])
                == ["10.0.0.0/29", "10.0.0.32-10.0.0.199", "10.0.0.201-10.0.0.255"])
    }

    @Test func theWholeFamilyAndIPv6() {
        #expect(AddressRange.all(.ipv4).description == "0.0.0.0/0")
        #expect(AddressRange.all(.ipv6).description == "::/0")
        #expect(Self.text("::/0", except: ["::/1"]) == ["8000::/1"])
        #expect(Self.text("fd00::/64", except: ["fd00::/65"]) == ["fd00::8000:0:0:0/65"])
        #expect(Self.text("10.1.2.3/16", except: []) == ["10.1.0.0/16"], "host bits are ignored")
    }
}
