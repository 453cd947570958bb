//! A set of compiled flags, found by key.

use super::decision::{Decision, Reason};
use super::flag::Flag;
use super::schedule::Now;
use crate::value::{key_eq, word_at, Context};
use std::sync::Arc;
use std::time::SystemTime;

/// An immutable set of compiled flags: `Send + Sync`, meant to be built
/// once, shared (for example in an `Arc`) and swapped whole on reload.
///
/// ```
/// use killswitch::{Context, FlagSet, Reason};
/// let flags = FlagSet::from_json(r#"{
///     "flag_key": "new_search_ui",
///     "enabled": true,
///     "kill_switch": false,
///     "rollout_percentage": 20,
///     "targeting_rules": {
///         "allow_list": ["email endsWith \"@internal.com\""],
///         "deny_list": [{"attribute": "segment", "operator": "equals", "value": "legacy"}]
///     }
/// }"#)?;
/// let staff = Context::new().with("user_id", "u1").with("email", "ana@internal.com");
/// assert_eq!(flags.evaluate("new_search_ui", &staff).reason, Reason::AllowRule(0));
///
/// let legacy = Context::new().with("user_id", "u2").with("segment", "legacy");
/// assert_eq!(flags.evaluate("new_search_ui", &legacy).reason, Reason::DenyRule(0));
///
/// let user = Context::new().with("user_id", "user_123");
/// let decision = flags.evaluate("new_search_ui", &user);
/// assert_eq!(decision.bucket, Some(45));
/// assert!(!decision.enabled); // 45 is not below 20
/// # Ok::<(), killswitch::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct FlagSet {
    flags: Box<[Arc<Flag>]>,
    index: KeyIndex,
    /// The config's own `id`, when it gives one.
    id: Option<Box<str>>,
}

impl FlagSet {
    pub(crate) fn new(flags: Vec<Arc<Flag>>) -> FlagSet {
        let index = KeyIndex::new(&flags);
        FlagSet {
            flags: flags.into_boxed_slice(),
            index,
            id: None,
        }
    }

    /// The set with the config's `id`.
    pub(crate) fn with_id(mut self, id: Option<Box<str>>) -> FlagSet {
        self.id = id;
        self
    }

    /// The config's `id` (a top-level string field), when it has one.
    ///
    /// ```
    /// let flags = killswitch::FlagSet::from_json(r#"{"id": "checkout", "flags": []}"#)?;
    /// assert_eq!(flags.id(), Some("checkout"));
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The flag with this key.
    pub fn get(&self, key: &str) -> Option<&Flag> {
        self.index.find(&self.flags, key)
    }

    /// Evaluates the flag with this key; an unknown key is off, with
    /// [`Reason::UnknownFlag`].
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Decision {
        match self.get(key) {
            Some(flag) => flag.evaluate(ctx),
            None => Decision::new(false, Reason::UnknownFlag),
        }
    }

    /// Evaluates the flag with this key as at time `now` (see
    /// [`Flag::evaluate_at`]).
    pub fn evaluate_at(&self, key: &str, ctx: &Context<'_>, now: SystemTime) -> Decision {
        match self.get(key) {
            Some(flag) => flag.evaluate_at(ctx, now),
            None => Decision::new(false, Reason::UnknownFlag),
        }
    }

    /// Evaluates every flag for one context, in file order, appending
    /// `(flag, decision)` to `out` (which is not cleared first): what a
    /// bulk endpoint or a client-side bootstrap needs. The system clock is
    /// read at most once, so every scheduled flag sees the same time.
    ///
    /// Reusing `out` across calls (clear it, keep its capacity) makes this
    /// allocation-free: evaluation itself never allocates.
    ///
    /// ```
    /// use killswitch::{Context, FlagSet, Reason};
    /// let flags = FlagSet::from_json(r#"[
    ///     {"flag_key": "a", "enabled": true, "rollout_percentage": 100},
    ///     {"flag_key": "b", "enabled": false}
    /// ]"#)?;
    /// let user = Context::for_user("user_123");
    /// let mut out = Vec::with_capacity(flags.len());
    /// flags.evaluate_all_into(&user, &mut out);
    /// let summary: Vec<(&str, bool)> = out.iter().map(|(f, d)| (f.key(), d.enabled)).collect();
    /// assert_eq!(summary, [("a", true), ("b", false)]);
    /// assert_eq!(out[1].1.reason, Reason::Disabled);
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn evaluate_all_into<'f>(&'f self, ctx: &Context<'_>, out: &mut Vec<(&'f Flag, Decision)>) {
        self.evaluate_all_with(ctx, &Now::system(), out);
    }

    /// Evaluates every flag as at time `now` (see
    /// [`FlagSet::evaluate_all_into`] and [`Flag::evaluate_at`]).
    ///
    /// ```
    /// use killswitch::{Context, FlagSet};
    /// use std::time::UNIX_EPOCH;
    /// let flags = FlagSet::from_json(r#"{"flag_key": "a", "enabled": true, "rollout_percentage": 100}"#)?;
    /// let mut out = Vec::new();
    /// flags.evaluate_all_at_into(&Context::for_user("u1"), UNIX_EPOCH, &mut out);
    /// assert!(out[0].1.enabled);
    /// # Ok::<(), killswitch::ConfigError>(())
    /// ```
    pub fn evaluate_all_at_into<'f>(
        &'f self,
        ctx: &Context<'_>,
        now: SystemTime,
        out: &mut Vec<(&'f Flag, Decision)>,
    ) {
        self.evaluate_all_with(ctx, &Now::at(now), out);
    }

    fn evaluate_all_with<'f>(
        &'f self,
        ctx: &Context<'_>,
        now: &Now,
        out: &mut Vec<(&'f Flag, Decision)>,
    ) {
        out.reserve(self.flags.len());
        out.extend(
            self.flags
                .iter()
                .map(|flag| (&**flag, flag.decide(ctx, now))),
        );
    }

    /// The flags, in file order.
    pub fn flags(&self) -> &[Arc<Flag>] {
        &self.flags
    }

    /// How many flags there are.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

/// An open-addressing index from flag key to position, probed linearly.
///
/// Flag keys come from trusted config, so hash flooding is not a concern;
/// the hash is FxHash's multiply-rotate over 8-byte words, and keys are
/// compared with the same inline comparison as attribute names. This is
/// cheaper than `HashMap<Box<str>, usize>` with SipHash on the hot path.
///
/// A slot carries the key's hash and where its bytes are in one arena of
/// all keys, so a lookup touches the slot and the key's bytes (two cache
/// lines, both in compact arrays) and not the flag itself, and a probe
/// past another key costs one comparison of hashes: among 100,000 flags
/// the lookup stays a few memory reads (`lookup/*` in the benches).
#[derive(Debug, Default)]
struct KeyIndex {
    /// The length is a power of two at least twice the number of flags,
    /// so a probe always reaches a free slot.
    slots: Box<[Slot]>,
    /// Every key, one after the other.
    keys: Box<str>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The key's hash (its low bits chose the slot).
    hash: u32,
    /// The flag's position in the list; `EMPTY` marks a free slot.
    index: u32,
    /// The key's bytes in the arena.
    start: u32,
    len: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Slot = Slot {
    hash: 0,
    index: EMPTY,
    start: 0,
    len: 0,
};

impl KeyIndex {
    fn new(flags: &[Arc<Flag>]) -> KeyIndex {
        let size = (flags.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![FREE; size].into_boxed_slice();
        let mut keys = String::with_capacity(flags.iter().map(|f| f.key.len()).sum());
        let mask = size - 1;
        for (i, flag) in flags.iter().enumerate() {
            let hash = hash_key(flag.key.as_bytes());
            let mut at = hash as usize & mask;
            while slots[at].index != EMPTY {
                at = (at + 1) & mask;
            }
            // Config files hold far fewer than 2^32 flags and bytes of keys
            // (`Limits` bounds the file).
            slots[at] = Slot {
                hash,
                index: u32::try_from(i).unwrap_or(EMPTY),
                start: u32::try_from(keys.len()).unwrap_or(u32::MAX),
                len: u32::try_from(flag.key.len()).unwrap_or(u32::MAX),
            };
            keys.push_str(&flag.key);
        }
        KeyIndex {
            slots,
            keys: keys.into_boxed_str(),
        }
    }

    /// The slot holding `key`, and how many slots the search visited.
    #[inline]
    fn slot(&self, key: &str) -> (Option<&Slot>, usize) {
        let mask = self.slots.len().wrapping_sub(1);
        let hash = hash_key(key.as_bytes());
        let mut at = hash as usize & mask;
        let mut visited = 1;
        while let Some(slot) = self.slots.get(at) {
            if slot.index == EMPTY {
                break;
            }
            if slot.hash == hash && slot.len as usize == key.len() {
                let start = slot.start as usize;
                let stored = self.keys.as_bytes().get(start..start + key.len());
                if stored.is_some_and(|s| key_eq(s, key.as_bytes())) {
                    return (Some(slot), visited);
                }
            }
            at = (at + 1) & mask;
            visited += 1;
        }
        (None, visited)
    }

    /// How many slots a lookup of `key` visits (for tests of the hash).
    #[cfg(test)]
    fn probes(&self, key: &str) -> usize {
        self.slot(key).1
    }

    #[inline]
    fn find<'f>(&self, flags: &'f [Arc<Flag>], key: &str) -> Option<&'f Flag> {
        let slot = self.slot(key).0?;
        flags.get(slot.index as usize).map(|f| &**f)
    }
}

/// Hashes every byte of the key: FxHash's multiply-rotate over 8-byte
/// words, the last word overlapping the one before it (so a key of up to 16
/// bytes costs two words), then the length. Real key sets share long
/// prefixes and suffixes (`checkout_00042_enabled`), so no byte may be
/// skipped: hashing only the ends made such keys collide and turned
/// lookups into scans of thousands of slots.
fn hash_key(bytes: &[u8]) -> u32 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(SEED);
    let n = bytes.len();
    let mut h = mix(0, n as u64);
    if n < 8 {
        let mut w = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            w |= u64::from(*b) << (8 * i);
        }
        h = mix(h, w);
    } else {
        let mut at = 0;
        while at + 8 < n {
            h = mix(h, word_at(bytes, at));
            at += 8;
        }
        h = mix(h, word_at(bytes, n - 8));
    }
    // The high bits are the best mixed.
    (h >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::rule::Rule;

    #[test]
    fn compiled_values_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FlagSet>();
        assert_send_sync::<Rule>();
        assert_send_sync::<Decision>();
    }

    /// A set of enabled flags with these keys.
    fn enabled_flags(keys: &[String]) -> FlagSet {
        let json: Vec<String> = keys
            .iter()
            .map(|k| format!(r#"{{"flag_key": "{k}", "enabled": true}}"#))
            .collect();
        FlagSet::from_json(&format!("[{}]", json.join(","))).unwrap()
    }

    #[test]
    fn key_index_finds_every_key_and_only_those() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("feature_{i}_with_a_long_common_suffix"))
            .collect();
        let set = enabled_flags(&keys);
        for k in &keys {
            assert_eq!(set.get(k).map(Flag::key), Some(k.as_str()));
        }
        assert!(set.get("feature_300_with_a_long_common_suffix").is_none());
        assert!(set.get("").is_none());
        assert!(FlagSet::default().get("x").is_none());
    }

    /// Keys of one shape, differing only in the middle, as companies name
    /// them: every lookup stays a few probes (hashing only a key's ends
    /// made each of these a scan of thousands of slots).
    #[test]
    fn keys_that_differ_only_in_the_middle_do_not_collide() {
        let keys: Vec<String> = (0..5_000)
            .map(|i| format!("checkout_{i:05}_enabled"))
            .collect();
        let set = enabled_flags(&keys);
        let longest = keys.iter().map(|k| set.index.probes(k)).max().unwrap();
        assert!(longest <= 32, "a lookup visited {longest} slots");
        let missing = set.index.probes("checkout_99999_enabled");
        assert!(missing <= 32, "a miss visited {missing} slots");
        for k in &keys {
            assert_eq!(set.get(k).map(Flag::key), Some(k.as_str()));
        }
    }
}
