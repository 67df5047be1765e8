import CNIPlugin
import Glibc
import LinkNetlink
import Testing

/// The allocator (pure) and the file store (a temporary directory, no root needed).
@Suite struct IPAMTests {
    func range(_ subnet: String, start: String? = nil, end: String? = nil) throws -> AddressRange {
        try AddressRange(
            subnet: InetPrefix(subnet)!, start: start.flatMap { InetAddress($0) }, end: end.flatMap { InetAddress($0) })
    }

    @Test func defaultsFollowHostLocal() throws {
        let v4 = try range("10.244.7.0/24")
        #expect(v4.start.description == "10.244.7.1")
        #expect(v4.end.description == "10.244.7.254")
        #expect(v4.gateway.description == "10.244.7.1")
        let v6 = try range("fd00:10:244:7::/120")
        #expect(v6.end.description == "fd00:10:244:7::ff")
    }

    @Test func allocationIsRoundRobinAndSkipsTheGateway() throws {
        let allocator = AddressAllocator(ranges: [try range("10.244.7.0/29")], setIndex: 0)
        var taken: Set<InetAddress> = []
        var last: InetAddress?
        var order: [String] = []
        for _ in 0..<5 {
            let (address, _) = try allocator.allocate(
                requested: nil, reserved: { taken.contains($0) }, lastReserved: last)
            taken.insert(address)
            last = address
            order.append(address.description)
        }
        #expect(order == ["10.244.7.2", "10.244.7.3", "10.244.7.4", "10.244.7.5", "10.244.7.6"])
        // Releasing .3 does not hand it out next: the search continues after the last one and wraps.
        taken.remove(InetAddress("10.244.7.3")!)
        #expect(
            try allocator.allocate(requested: nil, reserved: { taken.contains($0) }, lastReserved: last).address
                == InetAddress("10.244.7.3"))
        taken.insert(InetAddress("10.244.7.3")!)
        #expect {
            try allocator.allocate(requested: nil, reserved: { taken.contains($0) }, lastReserved: last)
        } throws: { ($0 as? CNIError)?.code == .rangeExhausted }
        #expect(!allocator.hasFreeAddress(reservedCount: taken.count, reserved: { taken.contains($0) }))
    }

    @Test func rangeSetsContinueIntoTheNextRange() throws {
        let allocator = AddressAllocator(
            ranges: [try range("10.244.8.0/24", start: "10.244.8.10", end: "10.244.8.11"), try range("10.244.9.0/24")],
            setIndex: 0)
        let last = InetAddress("10.244.8.11")
        let next = try allocator.allocate(requested: nil, reserved: { _ in false }, lastReserved: last)
        #expect(next.address.description == "10.244.9.2")
        #expect(next.range.gateway.description == "10.244.9.1")
    }

    @Test func requestedAddressesAreChecked() throws {
        let allocator = AddressAllocator(ranges: [try range("10.244.7.0/24")], setIndex: 0)
        let taken: Set<InetAddress> = [InetAddress("10.244.7.9")!]
        #expect(
            try allocator.allocate(
                requested: InetAddress("10.244.7.50"), reserved: { taken.contains($0) }, lastReserved: nil
            )
            .address.description == "10.244.7.50")
        for bad in ["10.244.7.9", "10.244.7.1", "10.244.8.5"] {
            #expect {
                try allocator.allocate(requested: InetAddress(bad), reserved: { taken.contains($0) }, lastReserved: nil)
            } throws: { ($0 as? CNIError)?.code == .addressUnavailable }
        }
    }

    @Test func storeRecordsAreHostLocalCompatibleAndAtomic() throws {
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let store = try AllocationStore(dataDirectory: directory, network: "net")
        let address = InetAddress("10.244.7.2")!
        let owner = AttachmentID(containerID: "c1", interfaceName: "eth0")
        #expect(try store.withLock { () throws(CNIError) in try store.reserve(address, for: owner) })
        // A second writer cannot take the same address.
        #expect(!(try store.reserve(address, for: AttachmentID(containerID: "c2", interfaceName: "eth0"))))
        #expect(try read("\(directory)/net/10.244.7.2") == "c1\r\neth0")
        try store.recordLastReserved(address, setIndex: 0)
        #expect(try store.lastReserved(setIndex: 0) == address)
        // A record written by old host-local versions (container ID only) still belongs to its container.
        try write("\(directory)/net/10.244.7.3", "c9")
        // A temporary file of a writer killed before linking is ignored, then removed by GC's sweep.
        try write("\(directory)/net/.sluice-tmp-999-10.244.7.4", "c3\r\neth0")
        let records = try store.reservations()
        #expect(Set(records.map(\.address.description)) == ["10.244.7.2", "10.244.7.3"])
        #expect(
            records.first { $0.address.description == "10.244.7.3" }!.belongs(
                to: .init(containerID: "c9", interfaceName: "net1")))
        try store.removeTemporaryFiles()
        #expect(access("\(directory)/net/.sluice-tmp-999-10.244.7.4", F_OK) != 0)
        try store.release(address)
        try store.release(address)
        #expect(try store.reservations().map(\.address.description) == ["10.244.7.3"])
    }

    @Test func scanFindsEveryAddressAndWhatOneAttachmentHolds() throws {
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let store = try AllocationStore(dataDirectory: directory, network: "net")
        let me = AttachmentID(containerID: "c1", interfaceName: "eth0")
        try write("\(directory)/net/10.244.7.2", "c1\r\neth0")
        try write("\(directory)/net/10.244.7.2.pod", "default/a\r\nc1")
        try write("\(directory)/net/fd00::2", " c1 \n eth0 \n")  // whitespace around either line
        try write("\(directory)/net/10.244.7.3", "c1")  // old host-local: any interface of c1
        try write("\(directory)/net/10.244.7.4", "c1\r\neth1")  // same container, another interface
        try write("\(directory)/net/10.244.7.5", "c10\r\neth0")  // a container ID c1 is a prefix of
        try write("\(directory)/net/10.244.7.6", "")
        try write("\(directory)/net/last_reserved_ip.0", "10.244.7.6")
        try write("\(directory)/net/.sluice-tmp-1-10.244.7.9", "c1\r\neth0")
        let (taken, held) = try store.withLock { () throws(CNIError) in try store.scan(for: me) }
        #expect(
            Set(taken.map(\.description))
                == ["10.244.7.2", "fd00::2", "10.244.7.3", "10.244.7.4", "10.244.7.5", "10.244.7.6"])
        #expect(Set(held.map(\.description)) == ["10.244.7.2", "fd00::2", "10.244.7.3"])
        // The same answer as the decoded records give.
        let decoded = try store.reservations().filter { $0.belongs(to: me) }.map(\.address)
        #expect(Set(decoded) == Set(held))
    }
}

func temporaryDirectory() throws -> String {
    var template = Array("/tmp/sluice-cni-test-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else {
        throw CNIError(.ioFailure, "mkdtemp failed")
    }
    return String(cString: path)
}

func removeTree(_ path: String) {
    guard let stream = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(stream) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) {
            String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." {
            removeTree(path + "/" + name)
        }
    }
    closedir(stream)
    rmdir(path)
}

func read(_ path: String) throws -> String {
    let file = open(path, O_RDONLY)
    guard file >= 0 else {
        throw CNIError(.ioFailure, "open \(path)")
    }
    defer { close(file) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = Glibc.read(file, &buffer, buffer.count)
    return String(decoding: buffer[..<max(0, count)], as: UTF8.self)
}

func write(_ path: String, _ text: String) throws {
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard file >= 0 else {
        throw CNIError(.ioFailure, "open \(path)")
    }
    defer { close(file) }
    _ = Array(text.utf8).withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
}
