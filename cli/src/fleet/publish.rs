//! `killswitch publish`: check a config file exactly as `check` does,
//! then store it as a new version; print its number.

use super::{author, fail, registry};
use crate::check::{report, CheckArgs};
use crate::output::{read_input, USAGE};
use clap::Args;
use killswitch::{Format, Limits};

#[derive(Args)]
pub(crate) struct PublishArgs {
    /// The config file (JSON, YAML or TOML, by its extension).
    #[arg(value_name = "CONFIG")]
    file: String,
    /// The database: postgres://USER@HOST/DB (the password from the URL
    /// or PGPASSWORD; the other PG* variables complete the URL).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Why (kept with the version).
    #[arg(long, value_name = "TEXT", default_value = "")]
    message: String,
    /// Who (default: the operating-system user).
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
    /// Compare-and-set: publish only if version N is the newest.
    #[arg(long, value_name = "N")]
    expect_version: Option<u64>,
}

pub(crate) fn run(args: &PublishArgs) -> u8 {
    let (code, out) = report(&CheckArgs::plain(&args.file));
    if code != 0 {
        eprint!("{out}");
        eprintln!("error: `{}` was not published", args.file);
        return code;
    }
    if out.contains("warning") {
        eprint!("{out}");
    }
    let text = match read_input(&args.file, Limits::default().max_config_bytes) {
        Ok(text) => text,
        Err(msg) => {
            eprintln!("error: {msg}");
            return USAGE;
        }
    };
    let registry = match registry(&args.to) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let who = author(args.author.as_deref());
    let format = Format::from_path(&args.file);
    match registry.publish(&text, format, &who, &args.message, args.expect_version) {
        Ok(version) => {
            println!("{version}");
            0
        }
        Err(e) => fail(&e),
    }
}
