import NFTables
import Testing

/// `jhash` is the kernel's lookup3 port, so the tracer picks the endpoint the kernel picks.
struct TraceJhashTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var key: [UInt8]
        var seed: UInt32
        var hash: UInt32
        var testDescription: String { name }
    }

    static let fourScore = Array("Four score and seven years ago".utf8)

    /// The first four are the published lookup3 `hashlittle()` self-test values; the others were computed with
    /// the C text of include/linux/jhash.h (covering each tail length class and the 12-byte block loop).
    static let vectors: [Vector] = [
        Vector(name: "empty key", key: [], seed: 0, hash: 0xdead_beef),
        Vector(name: "empty key, seed deadbeef", key: [], seed: 0xdead_beef, hash: 0xbd5b_7dde),
        Vector(name: "30 bytes, seed 0", key: fourScore, seed: 0, hash: 0x1777_0551),
        Vector(name: "30 bytes, seed 1", key: fourScore, seed: 1, hash: 0xcd62_8161),
        Vector(name: "ipv4 address", key: [10, 0, 0, 1], seed: 1, hash: 0x5760_78bd),
        Vector(name: "12 bytes: one block, final mix", key: Array(1...12), seed: 7, hash: 0x6268_adb9),
        Vector(name: "13 bytes: mix then a 1-byte tail", key: Array(1...13), seed: 7, hash: 0x7f2a_0b31),
        Vector(name: "24 bytes: a mixed block then a full tail", key: Array(0..<24), seed: 0, hash: 0x9c0a_dd53),
    ]

    @Test(arguments: vectors) func matchesKnownHashes(_ vector: Vector) {
        #expect(jhash(vector.key, initval: vector.seed) == vector.hash)
    }

    /// Slots computed with the kernel's `reciprocal_scale(hash, modulus) + offset`.
    @Test func slotIsReciprocalScalePlusOffset() {
        #expect(jhashSlot([10, 0, 0, 1], modulus: 4, seed: 1, offset: 0) == 1)
        #expect(jhashSlot([10, 0, 0, 1], modulus: 4, seed: 1, offset: 100) == 101)
        #expect(jhashSlot([10, 0, 0, 13], modulus: 4, seed: 1, offset: 0) == 3)
        // `ipv4_addr . inet_service` as the registers hold it: the port zero-padded to 32 bits.
        #expect(jhashSlot([10, 0, 0, 1, 0x1f, 0x90, 0, 0], modulus: 3, seed: 0x1234, offset: 0) == 0)
    }

    /// The slot comes from the hash's high bits (multiply-shift), not its remainder.
    @Test func slotUsesHighBitsNotRemainder() {
        let hash = jhash([10, 0, 0, 13], initval: 1)
        #expect(jhashSlot([10, 0, 0, 13], modulus: 4, seed: 1, offset: 0) == hash >> 30)
        #expect(jhashSlot([10, 0, 0, 13], modulus: 3, seed: 1, offset: 0) == UInt32((UInt64(hash) * 3) >> 32))
    }
}
