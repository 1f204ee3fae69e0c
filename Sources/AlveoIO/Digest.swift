import COpenSSL

/// Cryptographic digests from libcrypto (the one C library that has them here).
package enum Digest {
    /// HMAC-SHA-256 of `message` under `key` (32 bytes).
    package static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                out.withUnsafeMutableBufferPointer { outBytes in
                    HMAC(EVP_sha256(), keyBytes.baseAddress, Int32(clamping: keyBytes.count),
                         messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                         outBytes.baseAddress, &length)
                }
            }
        }
        return out
    }
}
