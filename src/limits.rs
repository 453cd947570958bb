//! Every bound on what input may cost, in one place.

/// Bounds on rule input, so that hostile rules fail fast with a clear
/// error instead of exhausting time or stack.
///
/// ```
/// use killswitch::{ErrorKind, Limits, Rule};
/// let mut limits = Limits::default();
/// limits.max_nesting_depth = 2;
/// let err = Rule::parse_with("((a == 1) or (b and (c)))", &limits).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TooDeep);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest rule text accepted, in bytes (default 256 KiB). A rule
    /// in the structured form is held to the same bound through its
    /// canonical text (as [`Rule::source`](crate::Rule::source) prints it).
    pub max_rule_len: usize,
    /// How deeply parentheses and brackets may nest (default 32).
    pub max_nesting_depth: usize,
    /// The largest compiled size of one `matches` regex, in bytes
    /// (default 1 MiB).
    pub max_regex_size: usize,
    /// The largest config file read, in bytes (default 64 MiB). A larger
    /// file is refused before it is parsed (and read no further than one
    /// byte past the limit), with an error giving its size and this limit;
    /// so is anything that is not a regular file (`/dev/zero`, a FIFO, a
    /// directory). It applies to [`FlagSet::load_with`](crate::FlagSet::load_with)
    /// and to a file source in a store built with these limits.
    pub max_config_bytes: usize,
    /// The largest compiled size of all the `matches` regexes of one
    /// config file (or one rule compiled alone) together, in bytes
    /// (default 16 MiB). Exceeding it is a load error at the first pattern
    /// past the budget.
    pub max_total_regex_size: usize,
    /// The longest string, in bytes, a `matches` regex is run against
    /// (default 4 KiB). A longer attribute value does not match (the test
    /// is false, so `not (x matches "...")` is true), which bounds the cost
    /// of one evaluation whatever the context holds.
    pub max_regex_input_len: usize,
    /// The most tests one evaluation of a flag may run, all its rules
    /// counted in full with the segments they use, and its prerequisites'
    /// tests with them (default 100,000). Exceeding it is a load error at
    /// the rule (or the `requires` entry) that goes past it.
    pub max_tests_per_flag: usize,
    /// The most tests the rules of all the flags of one config file may
    /// run together, each flag's own rules counted once (default
    /// 1,000,000): segments used by many flags count once per use.
    /// Exceeding it is a load error at the rule that goes past it.
    pub max_tests_per_file: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rule_len: 256 * 1024,
            max_nesting_depth: 32,
            max_regex_size: 1024 * 1024,
            max_config_bytes: 64 * 1024 * 1024,
            max_total_regex_size: 16 * 1024 * 1024,
            max_regex_input_len: 4 * 1024,
            max_tests_per_flag: 100_000,
            max_tests_per_file: 1_000_000,
        }
    }
}
