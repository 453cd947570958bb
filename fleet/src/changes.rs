//! Which flags a version changed, for the history.

use killswitch::{Flag, FlagSet};

/// The keys of the flags of `now` that are new or defined differently
/// than in `before`, then those `before` had and `now` lacks.
pub(crate) fn changed_flags(before: Option<&FlagSet>, now: &FlagSet) -> Vec<String> {
    let mut out = Vec::new();
    for flag in now.flags() {
        let same = before
            .and_then(|b| b.get(flag.key()))
            .is_some_and(|old| definition(old) == definition(flag));
        if !same {
            out.push(flag.key().to_string());
        }
    }
    if let Some(before) = before {
        for flag in before.flags() {
            if now.get(flag.key()).is_none() {
                out.push(flag.key().to_string());
            }
        }
    }
    out
}

/// What a flag decides from, as comparable text: its switches, rollout,
/// rules (their text, and the segments they use), prerequisites and
/// variants.
fn definition(flag: &Flag) -> String {
    let rules = |rules: &[killswitch::Rule]| -> Vec<(String, Vec<(String, String)>)> {
        rules
            .iter()
            .map(|r| {
                let segments = r
                    .segments()
                    .into_iter()
                    .map(|(name, expr)| (name.to_string(), expr.to_string()))
                    .collect();
                (r.source().to_string(), segments)
            })
            .collect()
    };
    let prerequisites: Vec<String> = flag.prerequisites().iter().map(|p| definition(p)).collect();
    format!(
        "{:?}",
        (
            flag.enabled(),
            flag.kill_switch(),
            flag.rollout_percentage(),
            flag.bucket_by(),
            flag.has_schedule(),
            flag.percentage_at(std::time::SystemTime::now()),
            rules(flag.allow_rules()),
            rules(flag.deny_rules()),
            prerequisites,
            flag.variants(),
            (flag.off_variant(), flag.on_variant(), flag.split()),
        )
    )
}
