//! `killswitch rollback`: publish an old version's config again, as a new
//! version; print its number.

use super::{author, fail, registry};
use clap::Args;

#[derive(Args)]
pub(crate) struct RollbackArgs {
    /// The version to go back to.
    #[arg(value_name = "VERSION")]
    version: u64,
    /// The database (postgres://...).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Why (default: "rollback to version N").
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
    /// Who (default: the operating-system user).
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
    /// Compare-and-set: write only if version N is the newest.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub(crate) fn run(args: &RollbackArgs) -> u8 {
    let registry = match registry(&args.to) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let who = author(args.author.as_deref());
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| format!("rollback to version {}", args.version));
    match registry.rollback(args.version, &who, &message, args.expect_version) {
        Ok(version) => {
            println!("{version}");
            0
        }
        Err(e) => fail(&e),
    }
}
