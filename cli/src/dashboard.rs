//! `killswitch serve --dashboard`: the dashboard's tokens.

use killswitch_server::dashboard::Dashboard;
use killswitch_server::Tokens;
use std::net::SocketAddr;

/// The dashboard's tokens, from their files or the environment (never
/// printed). Open reads are refused off loopback.
pub(crate) fn settings(
    listen: SocketAddr,
    read_file: Option<&str>,
    admin_file: Option<&str>,
) -> Result<Dashboard, String> {
    let read = tokens_from(read_file, "KILLSWITCH_DASHBOARD_TOKEN")?;
    let admin = tokens_from(admin_file, "KILLSWITCH_ADMIN_TOKEN")?;
    if read.is_none() && !listen.ip().is_loopback() {
        return Err(format!(
            "the dashboard on {listen} (not a loopback address) needs --dashboard-token-file \
             (or KILLSWITCH_DASHBOARD_TOKEN): its pages would be open to the network"
        ));
    }
    let mut dashboard = Dashboard::new();
    if let Some(read) = read {
        dashboard = dashboard.read_tokens(read);
    }
    if let Some(admin) = admin {
        dashboard = dashboard.admin_tokens(admin);
    }
    Ok(dashboard)
}

/// Tokens from a file, else from an environment variable (one token).
fn tokens_from(file: Option<&str>, var: &str) -> Result<Option<Tokens>, String> {
    if let Some(path) = file {
        return Tokens::from_file(path)
            .map(Some)
            .map_err(|e| format!("cannot read the token file `{path}`: {e}"));
    }
    match std::env::var(var) {
        Ok(token) if !token.trim().is_empty() => Ok(Some(Tokens::new([token.trim()]))),
        _ => Ok(None),
    }
}
