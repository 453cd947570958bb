//! "Did you mean ...?" suggestions.

/// The candidate closest to `word`, if any is close enough to be a likely
/// typo: same letters ignoring case and `_`/`-`, or a small edit distance.
pub(crate) fn closest<'c, I>(word: &str, candidates: I) -> Option<&'c str>
where
    I: IntoIterator<Item = &'c str>,
{
    let squashed = squash(word);
    let mut best: Option<(usize, &'c str)> = None;
    for candidate in candidates {
        if squash(candidate) == squashed {
            return Some(candidate);
        }
        let distance = edit_distance(&word.to_lowercase(), &candidate.to_lowercase());
        let allowed = (candidate.chars().count().max(word.chars().count()) / 3).max(1);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn squash(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance over characters; the inputs are short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let cost = usize::from(ca != *cb);
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + cost);
            diagonal = above;
        }
    }
    row[b.len()]
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
    }
}
