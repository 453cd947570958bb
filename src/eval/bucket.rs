//! Deterministic bucketing.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message that fits one 64-byte block with its padding (the
/// `0x80` byte and the 8-byte length).
const ONE_BLOCK: usize = 55;

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
    let (head, _) = digest_words(user_id.as_bytes(), flag_key.as_bytes());
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
    let (head, next) = digest_words(user_id.as_bytes(), flag_key.as_bytes());
    // Below 100 and below 10 000: both fit.
    ((head % 100) as u8, (next % 10_000) as u16)
}

/// The first two 4-byte words of `SHA-256(a ++ b)`, big-endian: bytes
/// 0..4 and 4..8 of the digest.
///
/// Almost every `user_id ++ flag_key` fits one block (55 bytes): then the
/// block is padded in place and compressed once, which skips the
/// streaming hasher's buffering (about 100 instructions of the ~3,600 a
/// bucket costs; `floor/sha256` in the benches is the streaming hasher).
#[inline]
fn digest_words(a: &[u8], b: &[u8]) -> (u32, u32) {
    let n = a.len() + b.len();
    if n > ONE_BLOCK {
        let digest = Sha256::new().chain_update(a).chain_update(b).finalize();
        return (
            u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
            u32::from_be_bytes([digest[4], digest[5], digest[6], digest[7]]),
        );
    }
    // The block is built where `compress256` reads it, not copied there.
    let mut blocks = [GenericArray::from([0u8; 64])];
    let block = blocks[0].as_mut_slice();
    block[..a.len()].copy_from_slice(a);
    block[a.len()..n].copy_from_slice(b);
    block[n] = 0x80;
    // The message length in bits, big-endian, in the last eight bytes.
    block[56..].copy_from_slice(&(n as u64 * 8).to_be_bytes());
    let mut state = H0;
    sha2::compress256(&mut state, &blocks);
    (state[0], state[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-block path agrees with the streaming hasher on every split
    /// of every length up to two blocks, across the 55/56-byte boundary.
    #[test]
    fn one_block_agrees_with_the_streaming_hasher() {
        let bytes: Vec<u8> = (0..130u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for n in 0..bytes.len() {
            for cut in [0, n / 3, n / 2, n] {
                let (a, b) = bytes[..n].split_at(cut);
                let digest = Sha256::new().chain_update(a).chain_update(b).finalize();
                let want = (
                    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
                    u32::from_be_bytes([digest[4], digest[5], digest[6], digest[7]]),
                );
                assert_eq!(digest_words(a, b), want, "n={n} cut={cut}");
            }
        }
    }
}

/// The last rollout hashes, remembered: for evaluating several versions
/// of one flag (and its prerequisites) for one context with
/// [`Flag::evaluate_with_memo`](crate::Flag::evaluate_with_memo), which
/// then hashes each user and flag key once. It holds the last
/// [`BucketMemo::ENTRIES`] hashes; once warm it allocates only when a
/// longer key than any before arrives.
#[derive(Debug, Default, Clone)]
pub struct BucketMemo {
    entries: [(String, String, (u8, u16)); BucketMemo::ENTRIES],
    /// How many entries are in use, up to `ENTRIES`.
    used: usize,
    /// The entry the next miss replaces.
    next: usize,
}

impl BucketMemo {
    /// How many hashes a memo remembers: a flag and a few prerequisites.
    pub const ENTRIES: usize = 4;

    /// An empty memo.
    pub fn new() -> BucketMemo {
        BucketMemo::default()
    }

    /// The buckets of `key ++ flag`: remembered when one of the last
    /// calls had the same strings, else hashed and remembered.
    #[inline]
    pub(crate) fn buckets(&mut self, key: &str, flag: &str) -> (u8, u16) {
        let used = self.used.min(Self::ENTRIES);
        if let Some((_, _, b)) = self.entries[..used]
            .iter()
            .find(|(k, f, _)| k == key && f == flag)
        {
            return *b;
        }
        let b = buckets(key, flag);
        let slot = self.next % Self::ENTRIES;
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.0.clear();
            entry.0.push_str(key);
            entry.1.clear();
            entry.1.push_str(flag);
            entry.2 = b;
        }
        self.next = (slot + 1) % Self::ENTRIES;
        self.used = (self.used + 1).min(Self::ENTRIES);
        b
    }
}
