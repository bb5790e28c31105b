//! "Did you mean": the nearest allowed name to a misspelt one.

/// The candidate closest to `given` (Jaro-Winkler similarity of at least 0.8,
/// or a Damerau-Levenshtein distance of at most 2 for short names), if any.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != given)
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, c)| {
            *score >= 0.8 || strsim::damerau_levenshtein(given, c) <= 2.min(c.len() / 2)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_near_names_and_nothing_for_far_ones() {
        let names = ["rate", "keys", "zipf", "timeout"];
        assert_eq!(did_you_mean("rat", names), Some("rate"));
        assert_eq!(did_you_mean("timout", names), Some("timeout"));
        assert_eq!(did_you_mean("banana", names), None);
    }
}
