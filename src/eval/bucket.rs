//! Deterministic bucketing.

use sha2::{Digest, Sha256};

/// The rollout bucket of a user for a flag: the first four bytes of
/// `SHA-256(user_id ++ flag_key)` read as a big-endian integer, modulo 100.
///
/// This is the specification's formula exactly, the same as
/// `parseInt(sha256(userId + flagKey).substring(0, 8), 16) % 100` on UTF-8
/// strings: no separator, no salt. It hashes on the stack and allocates
/// nothing.
///
/// ```
/// // printf 'user_123new_search_ui' | sha256sum  ->  bd08f8f5...
/// // 0xbd08f8f5 % 100 == 3171481845 % 100 == 45
/// assert_eq!(killswitch::bucket("user_123", "new_search_ui"), 45);
/// ```
pub fn bucket(user_id: &str, flag_key: &str) -> u8 {
    let digest = Sha256::new()
        .chain_update(user_id.as_bytes())
        .chain_update(flag_key.as_bytes())
        .finalize();
    let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    // A value below 100 always fits.
    (head % 100) as u8
}

/// Both buckets of a user for a flag from one SHA-256 of
/// `user_id ++ flag_key`: the rollout bucket (bytes 0..4, big-endian,
/// modulo 100, exactly [`bucket`]) and the split bucket (bytes 4..8,
/// big-endian, modulo 10 000), which picks a variant of a weighted split.
/// The two read different bytes of the digest, so they are independent.
#[inline]
pub(crate) fn buckets(user_id: &str, flag_key: &str) -> (u8, u16) {
    let digest = Sha256::new()
        .chain_update(user_id.as_bytes())
        .chain_update(flag_key.as_bytes())
        .finalize();
    let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let next = u32::from_be_bytes([digest[4], digest[5], digest[6], digest[7]]);
    // Below 100 and below 10 000: both fit.
    ((head % 100) as u8, (next % 10_000) as u16)
}
