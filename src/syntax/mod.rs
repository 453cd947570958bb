//! Text -> [`Expr`]: the guard, the pest grammar, and the lowering of pest's
//! parse tree into the owned AST. pest types never leave this module.

pub mod ast;
mod guard;
mod lower;
pub(crate) mod ops;
mod print;
pub(crate) mod structured;

use crate::error::Error;
use crate::limits::Limits;
use ast::Expr;

/// The pest parser generated from `grammar/targeting.pest`.
mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/targeting.pest"]
    pub(super) struct TargetingParser;
}

pub(crate) use print::{write_path, write_string};

/// Parses rule text into an AST, within `limits`.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Expr, Error> {
    guard::check(text, limits)
        .and_then(|()| lower::parse(text))
        .map_err(|e| e.with_source(text))
}
