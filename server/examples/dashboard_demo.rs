//! The dashboard over an in-memory versioned source ([`MemoryVersions`]):
//! every action is a new validated, attributed version, as with the
//! database source, but nothing outlives the process. For trying the
//! dashboard, its browser tests and its screenshots.
//!
//! ```text
//! cargo run -p killswitch-server --example dashboard_demo -- flags.json \
//!     --listen 127.0.0.1:8016 --admin-token-file admin.tokens [--read-token-file read.tokens]
//! ```

use killswitch::store::Store;
use killswitch_server::dashboard::{Dashboard, MemoryVersions};
use killswitch_server::{Server, Tokens};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut listen = "127.0.0.1:8016".to_string();
    let mut admin = None;
    let mut read = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--admin-token-file" => {
                admin = Some(args.next().ok_or("--admin-token-file needs a path")?)
            }
            "--read-token-file" => {
                read = Some(args.next().ok_or("--read-token-file needs a path")?)
            }
            _ if file.is_none() => file = Some(arg),
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    let file = file.ok_or("usage: dashboard_demo FLAGS.json [--listen ADDR] [--admin-token-file PATH] [--read-token-file PATH]")?;
    let text = std::fs::read_to_string(&file)?;
    let versions = MemoryVersions::new(&text, "demo").map_err(|e| e.to_string())?;
    let store = Store::builder(versions.source())
        .poll_interval(Duration::from_millis(500))
        .start()?;
    let mut dashboard = Dashboard::new().versions(versions);
    if let Some(path) = admin {
        dashboard = dashboard.admin_tokens(Tokens::from_file(path)?);
    }
    if let Some(path) = read {
        dashboard = dashboard.read_tokens(Tokens::from_file(path)?);
    }
    Server::new(Arc::new(store))
        .dashboard(dashboard)
        .run(listen.parse()?, |addr| {
            eprintln!(
                "serve: listening on http://{addr} (dashboard at /dashboard, in-memory versions)"
            );
        })?;
    Ok(())
}
