//! "Did you mean ...?" suggestions: [`closest`] finds the likely intended
//! name, [`did_you_mean`] writes the hint, the one way every message says it.

/// How a suggested name is written in a hint: a config name in double
/// quotes as the file writes it (`"flags"`), a name of the rule language
/// in backticks (`` `endsWith` ``), or a segment reference (`` `@beta` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    Config,
    Rule,
    Segment,
}

/// The hint for a name that was meant to be `guess`.
pub(crate) fn did_you_mean(guess: &str, quote: Quote) -> String {
    match quote {
        Quote::Config => format!("did you mean \"{guess}\"?"),
        Quote::Rule => format!("did you mean `{guess}`?"),
        Quote::Segment => format!("did you mean `@{guess}`?"),
    }
}

/// The candidate closest to `word`, if any is close enough to be a likely
/// typo: same letters ignoring case and `_`/`-`, or a small edit distance
/// (a third of the longer name's length, a swap of two neighbours counting
/// as one edit). The one "did you mean" of the engine and of the tools
/// built on it.
///
/// ```
/// let keys = ["new_search_ui", "checkout_v2"];
/// assert_eq!(killswitch::closest("new_serch_ui", keys), Some("new_search_ui"));
/// assert_eq!(killswitch::closest("Checkout-V2", keys), Some("checkout_v2"));
/// assert_eq!(killswitch::closest("dark_mode", keys), None);
/// ```
pub fn closest<'c, I>(word: &str, candidates: I) -> Option<&'c str>
where
    I: IntoIterator<Item = &'c str>,
{
    let squashed = squash(word);
    let lower = word.to_lowercase();
    let word_len = word.chars().count();
    let mut best: Option<(usize, &'c str)> = None;
    for candidate in candidates {
        if squash(candidate) == squashed {
            return Some(candidate);
        }
        let candidate_len = candidate.chars().count();
        let allowed = (candidate_len.max(word_len) / 3).max(1);
        // The distance is at least the difference in length, and costs
        // the product of the lengths: long names (hostile ones) get only
        // the comparison above.
        if candidate_len.abs_diff(word_len) > allowed
            || candidate_len.max(word_len) > MAX_EDITED_LEN
        {
            continue;
        }
        let distance = edit_distance(&lower, &candidate.to_lowercase());
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// The longest name (in characters) compared by edit distance.
const MAX_EDITED_LEN: usize = 64;

fn squash(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Edit distance over characters, counting a swap of two neighbours as
/// one edit (optimal string alignment), since `emial` for `email` is one
/// slip of the fingers. The inputs are short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_case_and_separator_typos() {
        let names = ["endsWith", "startsWith", "equals"];
        assert_eq!(closest("endswith", names), Some("endsWith"));
        assert_eq!(closest("ends_with", names), Some("endsWith"));
        assert_eq!(closest("endWith", names), Some("endsWith"));
        assert_eq!(closest("banana", names), None);
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(edit_distance("emial", "email"), 1);
    }
}
