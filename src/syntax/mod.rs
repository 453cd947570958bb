//! Text -> [`Expr`]: the guard (length, nesting, quotes), then a
//! hand-written recursive-descent parser that builds the AST with spans.

pub mod ast;
mod guard;
pub(crate) mod ops;
mod parser;
mod print;
pub(crate) mod structured;

use crate::error::Error;
use crate::limits::Limits;
use ast::Expr;

pub(crate) use print::{write_path, write_string};

/// Parses rule text into an AST, within `limits`.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Expr, Error> {
    guard::check(text, limits)
        .and_then(|()| parser::parse(text))
        .map_err(|e| e.with_source(text))
}
