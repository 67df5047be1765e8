/// An address prefix such as `10.96.0.0/12` or `fd00::/108` (Service CIDRs, pod CIDRs, ipBlocks,
/// loadBalancerSourceRanges).
///
/// The address is kept exactly as written, host bits included, because Kubernetes accepts
/// `10.0.0.1/24` in several fields; `network` and `isCanonical` let callers (and stricter validation)
/// tell the two apart.
public struct IPCIDR: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The address as written; use `network` for the prefix's first address.
    public let address: IPAddress
    public let prefixLength: Int

    /// Fails when the prefix length does not fit the address family.
    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.family.bitWidth).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `address/length`; the length is decimal without leading zeros.
    public init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"),
            let address = IPAddress(String(text[..<slash]))
        else { return nil }
        let lengthText = text[text.index(after: slash)...]
        guard (1...3).contains(lengthText.count),
            lengthText.allSatisfy({ ("0"..."9").contains($0) }),
            lengthText.count == 1 || lengthText.first != "0",
            let prefixLength = Int(lengthText)
        else { return nil }
        self.init(address: address, prefixLength: prefixLength)
    }

    public var family: AddressFamily { address.family }

    /// The first address of the prefix (host bits cleared).
    public var network: IPAddress { address.masked(toPrefixLength: prefixLength) }

    /// Whether the address was written without host bits, as `10.0.0.0/8` rather than `10.1.2.3/8`.
    public var isCanonical: Bool { address == network }

    /// The same prefix with host bits cleared.
    public var canonical: IPCIDR {
        IPCIDR(uncheckedNetwork: network, prefixLength: prefixLength)
    }

    /// Whether `address` lies inside the prefix; an address of the other family never does.
    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && address.masked(toPrefixLength: prefixLength) == network
    }

    /// Whether every address of `other` lies inside this prefix (a prefix contains itself).
    public func contains(_ other: IPCIDR) -> Bool {
        other.family == family && other.prefixLength >= prefixLength && contains(other.network)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private init(uncheckedNetwork: IPAddress, prefixLength: Int) {
        self.address = uncheckedNetwork
        self.prefixLength = prefixLength
    }
}
