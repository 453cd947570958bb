//! `killswitch kill` and `unkill`: a new version equal to the newest with
//! one flag's kill switch flipped; print its number. A flag already in
//! that state gets no new version: the newest number is printed, and a
//! note says nothing was written.

use super::{author, fail, registry};
use crate::output::escape;
use clap::Args;
use killswitch_fleet::Written;

#[derive(Args)]
pub(crate) struct KillArgs {
    /// The flag key.
    #[arg(value_name = "FLAG")]
    flag: String,
    /// The database (postgres://...).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Why: the incident record (required).
    #[arg(long, value_name = "TEXT")]
    message: String,
    /// Who (default: the operating-system user).
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
    /// Compare-and-set: write only if version N is the newest.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

/// Sets the kill switch of the flag to `killed`.
pub(crate) fn run(args: &KillArgs, killed: bool) -> u8 {
    if args.message.trim().is_empty() {
        eprintln!("error: --message must say why (it is the incident record)");
        return crate::output::USAGE;
    }
    let registry = match registry(&args.to) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let who = author(args.author.as_deref());
    match registry.set_kill(&args.flag, killed, &who, &args.message, args.expect_version) {
        Ok(Written::Published(version)) => {
            println!("{version}");
            0
        }
        Ok(written) => {
            let state = if killed { "killed" } else { "not killed" };
            eprintln!(
                "note: flag `{}` is already {state} in version {}, the newest: nothing was written",
                escape(&args.flag),
                written.version()
            );
            println!("{}", written.version());
            0
        }
        Err(e) => fail(&e),
    }
}
