/// The kernel's `jhash()` (include/linux/jhash.h): Bob Jenkins' lookup3 over bytes, as `nft_jhash_eval` calls
/// it on the register bytes of a `jhash` expression.
///
/// The tracer must pick the same endpoint the kernel picks for a given flow, so this is a faithful port: the
/// state starts at `0xdeadbeef + length + initval`, full 12-byte blocks are read as little-endian words (the
/// kernel reads them with `__get_unaligned_cpu32`; Sluice's hosts are little-endian) and mixed, the tail is
/// added byte by byte, and an empty tail skips the final mix. It equals lookup3's `hashlittle()`.
public func jhash(_ key: [UInt8], initval: UInt32) -> UInt32 {
    var a = 0xdead_beef &+ UInt32(truncatingIfNeeded: key.count) &+ initval
    var b = a
    var c = a
    var offset = 0
    var length = key.count
    while length > 12 {
        a &+= littleEndianWord(key, at: offset)
        b &+= littleEndianWord(key, at: offset + 4)
        c &+= littleEndianWord(key, at: offset + 8)
        mix(&a, &b, &c)
        length -= 12
        offset += 12
    }
    guard length > 0 else { return c }
    // The kernel's fall-through switch: byte i of the tail lands in word i / 4 at bit 8 * (i % 4).
    var tail: [UInt32] = [0, 0, 0]
    for i in 0..<length {
        tail[i / 4] &+= UInt32(key[offset + i]) << (8 * (i % 4))
    }
    a &+= tail[0]
    b &+= tail[1]
    c &+= tail[2]
    final(&a, &b, &c)
    return c
}

/// `reciprocal_scale(jhash(...), modulus) + offset`: how `nft_jhash_eval` turns a hash into a slot, with a
/// multiply-shift rather than `%` (so the slot is not `hash % modulus`).
public func jhashSlot(_ key: [UInt8], modulus: UInt32, seed: UInt32, offset: UInt32) -> UInt32 {
    let hash = jhash(key, initval: seed)
    return UInt32(truncatingIfNeeded: (UInt64(hash) * UInt64(modulus)) >> 32) &+ offset
}

private func littleEndianWord(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
}

private func rotateLeft(_ word: UInt32, _ shift: UInt32) -> UInt32 {
    word << shift | word >> (32 - shift)
}

/// `__jhash_mix`.
private func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
    a &-= c
    a ^= rotateLeft(c, 4)
    c &+= b
    b &-= a
    b ^= rotateLeft(a, 6)
    a &+= c
    c &-= b
    c ^= rotateLeft(b, 8)
    b &+= a
    a &-= c
    a ^= rotateLeft(c, 16)
    c &+= b
    b &-= a
    b ^= rotateLeft(a, 19)
    a &+= c
    c &-= b
    c ^= rotateLeft(b, 4)
    b &+= a
}

/// `__jhash_final`.
private func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
    c ^= b
    c &-= rotateLeft(b, 14)
    a ^= c
    a &-= rotateLeft(c, 11)
    b ^= a
    b &-= rotateLeft(a, 25)
    c ^= b
    c &-= rotateLeft(b, 16)
    a ^= c
    a &-= rotateLeft(c, 4)
    b ^= a
    b &-= rotateLeft(a, 14)
    c ^= b
    c &-= rotateLeft(b, 24)
}
