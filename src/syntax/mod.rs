//! Text -> [`Expr`]: the guard (length, nesting, quotes), then the parser
//! that `pest_derive` generates from `grammar/targeting.pest`, then the
//! lowering of pest's pairs into the AST with spans. pest types never leave
//! this module.

pub mod ast;
mod guard;
mod lower;
pub(crate) mod ops;
mod print;
pub(crate) mod structured;

use crate::error::Error;
use crate::limits::Limits;
use ast::Expr;

/// The parser generated from `grammar/targeting.pest`: a change there is a
/// change of the language, and a mistake there breaks the build.
mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/targeting.pest"]
    pub(super) struct TargetingParser;
}

pub(crate) use print::{write_path, write_string};

/// Parses rule text into an AST, within `limits`; the first mistake.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Expr, Error> {
    parse_all(text, limits).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses rule text into an AST, within `limits`; every mistake, left to
/// right (never an empty list).
pub(crate) fn parse_all(text: &str, limits: &Limits) -> Result<Expr, Vec<Error>> {
    guard::check(text, limits)
        .map_err(|e| vec![e])
        .and_then(|()| lower::parse(text))
        .map_err(|errors| errors.into_iter().map(|e| e.with_source(text)).collect())
}
