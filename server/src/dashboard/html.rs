//! The pages, rendered on the server. Every piece of config or request
//! content goes through [`esc`]: flag keys, rule text, variant values and
//! messages are hostile input. No inline script or style: the page's
//! Content-Security-Policy allows only the embedded assets.

use super::session::Role;
use super::versions::VersionInfo;
use super::view::{rfc3339, FlagChange, FlagDetail, FlagSummary, State, Step, Tried};
use std::fmt::Write as _;

/// Text made safe for HTML content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time for people: `2026-11-29 11:02:03 UTC`.
fn human(t: std::time::SystemTime) -> String {
    human_text(&rfc3339(t))
}

/// An RFC 3339 UTC time (as `rfc3339` writes it) for people.
fn human_text(rfc3339: &str) -> String {
    rfc3339.replacen('T', " ", 1).replacen('Z', " UTC", 1)
}

/// A flag key (or any text) as one URL path segment.
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The link to a flag's page.
pub(crate) fn flag_href(key: &str) -> String {
    format!("/dashboard/flags/{}", path_segment(key))
}

/// What every page's header shows.
pub(crate) struct PageCtx {
    /// The version writes are made against (the source's, else the store's).
    pub(crate) version: u64,
    /// The store's own version counter, which the live updates follow.
    pub(crate) serving: u64,
    pub(crate) published: Option<VersionInfo>,
    pub(crate) loaded_at: String,
    pub(crate) source: String,
    pub(crate) healthy: bool,
    pub(crate) source_error: Option<String>,
    pub(crate) role: Role,
    pub(crate) name: Option<String>,
    pub(crate) logged_in: bool,
    pub(crate) can_login: bool,
    pub(crate) csrf: Option<String>,
    /// Why actions are unavailable, or `None` when this caller may act.
    pub(crate) read_only: Option<String>,
}

/// How the page follows new versions: `replace` its content, or `warn`
/// (a form being filled in is kept, with a notice that it is stale).
#[derive(Clone, Copy)]
pub(crate) enum Live {
    Replace,
    Warn,
}

pub(crate) fn page(ctx: &PageCtx, title: &str, nav: &str, live: Live, main: &str) -> String {
    let mut out = String::with_capacity(main.len() + 4096);
    let live = match live {
        Live::Replace => "replace",
        Live::Warn => "warn",
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · killswitch</title>\n\
         <link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css\">\n<link rel=\"icon\" href=\"/dashboard/assets/favicon.svg\">\n\
         <script src=\"/dashboard/assets/dashboard.js\" defer></script>\n\
         </head>\n<body data-version=\"{}\" data-serving=\"{}\" data-live=\"{live}\">\n\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\n",
        ctx.version,
        ctx.serving,
        title = esc(title),
    );
    out.push_str("<header class=\"top\">\n<div class=\"brand\"><img class=\"logo\" src=\"/dashboard/assets/favicon.svg\" alt=\"\" width=\"22\" height=\"22\"> killswitch</div>\n<nav aria-label=\"Main\"><ul>");
    for (href, label, id) in [
        ("/dashboard", "Flags", "flags"),
        ("/dashboard/history", "History", "history"),
    ] {
        let current = if id == nav {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(out, "<li><a href=\"{href}\"{current}>{label}</a></li>");
    }
    out.push_str("</ul></nav>\n<div class=\"who\">");
    let role = match (ctx.role, ctx.read_only.is_some()) {
        (Role::Admin, false) => "<span class=\"badge admin\">Admin</span>",
        (Role::Admin, true) => "<span class=\"badge\">Admin (read-only source)</span>",
        (Role::Read, _) => "<span class=\"badge\">Read-only</span>",
    };
    out.push_str(role);
    if let Some(name) = &ctx.name {
        let _ = write!(out, " <span class=\"name\">{}</span>", esc(name));
    }
    if ctx.logged_in {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/dashboard/logout\" class=\"inline\">{}<button type=\"submit\" class=\"link\">Log out</button></form>",
            csrf_field(ctx)
        );
    } else if ctx.can_login {
        out.push_str(" <a href=\"/dashboard/login\">Log in</a>");
    }
    out.push_str("</div>\n</header>\n");
    // The version bar: what serves, who published it, and the source's health.
    out.push_str("<section class=\"versionbar\" aria-label=\"Config version\">");
    let _ = write!(
        out,
        "<span class=\"version\" id=\"config-version\">Version <strong>{}</strong></span>",
        ctx.version
    );
    match &ctx.published {
        Some(p) => {
            let _ = write!(
                out,
                "<span>published by <strong>{}</strong> at <time datetime=\"{at}\">{}</time></span><span class=\"message\">“{}”</span>",
                esc(&p.author),
                human(p.published_at),
                esc(&p.message),
                at = rfc3339(p.published_at)
            );
        }
        None => {
            let _ = write!(
                out,
                "<span>loaded at <time datetime=\"{at}\">{}</time></span>",
                esc(&human_text(&ctx.loaded_at)),
                at = esc(&ctx.loaded_at)
            );
        }
    }
    let _ = write!(
        out,
        "<span class=\"source\">source <code>{}</code></span>",
        esc(&ctx.source)
    );
    if ctx.healthy {
        out.push_str("<span class=\"health ok\" id=\"source-health\" role=\"status\">● Source healthy</span>");
    } else {
        let _ = write!(
            out,
            "<span class=\"health bad\" id=\"source-health\" role=\"status\" title=\"{e}\">● Source failing: {e}</span>",
            e = esc(ctx.source_error.as_deref().unwrap_or("unknown error"))
        );
    }
    out.push_str(
        "</section>\n<div id=\"live-notice\" class=\"notice warn\" role=\"alert\" hidden></div>\n",
    );
    let _ = write!(out, "<main id=\"main\" tabindex=\"-1\">\n{main}\n</main>\n");
    out.push_str("<footer>killswitch dashboard · JSON at <a href=\"/api/v1/flags\"><code>/api/v1/flags</code></a></footer>\n</body>\n</html>\n");
    out
}

fn csrf_field(ctx: &PageCtx) -> String {
    match &ctx.csrf {
        Some(token) => format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(token)
        ),
        None => String::new(),
    }
}

fn pill(state: State) -> String {
    format!(
        "<span class=\"pill {}\">{}</span>",
        state.as_str(),
        state.label()
    )
}

/// The rollout as it serves: a killed or disabled flag is off for
/// everyone, whatever its `rollout_percentage` (shown apart, where the
/// page lists the flag's fields), so it gets no percentage bar.
fn rollout_now(state: State, percentage: Option<u8>) -> String {
    match state {
        State::Killed => {
            "<span class=\"muted inactive\">off for everyone: killed</span>".to_string()
        }
        State::Disabled => {
            "<span class=\"muted inactive\">off for everyone: disabled</span>".to_string()
        }
        _ => meter(percentage),
    }
}

fn meter(percentage: Option<u8>) -> String {
    match percentage {
        None => "<span class=\"muted\">no rollout</span>".to_string(),
        Some(p) => format!(
            "<span class=\"meter\" role=\"img\" aria-label=\"{p} percent\"><span class=\"fill w{p}\"></span></span> <span class=\"pct\">{p} %</span>"
        ),
    }
}

fn step_text(step: &Step) -> String {
    if step.start == step.end {
        format!("{} % at {}", step.to_percentage, human_text(&step.start))
    } else {
        format!(
            "{} % → {} % from {} to {}",
            step.from_percentage,
            step.to_percentage,
            human_text(&step.start),
            human_text(&step.end)
        )
    }
}

fn variants_text(flag: &FlagSummary) -> String {
    if flag.variants.is_empty() {
        return "<span class=\"muted\">boolean</span>".to_string();
    }
    let parts: Vec<String> = flag
        .variants
        .iter()
        .map(|v| {
            let share = match (v.split_percent, v.on, v.off) {
                (Some(p), _, _) => format!(" {p} %"),
                (None, true, _) => " (on)".to_string(),
                (None, false, true) => " (off)".to_string(),
                _ => String::new(),
            };
            format!("<code>{}</code>{}", esc(&v.name), esc(&share))
        })
        .collect();
    parts.join(", ")
}

fn key_list(keys: &[String]) -> String {
    if keys.is_empty() {
        return "<span class=\"muted\">none</span>".to_string();
    }
    let links: Vec<String> = keys
        .iter()
        .map(|k| format!("<a href=\"{}\"><code>{}</code></a>", flag_href(k), esc(k)))
        .collect();
    links.join(", ")
}

/// The flag list.
pub(crate) fn flag_list(
    flags: &[FlagSummary],
    query: &str,
    state: &str,
    flash: Option<&str>,
) -> String {
    let mut out = String::new();
    if let Some(flash) = flash {
        let _ = write!(
            out,
            "<div class=\"notice ok\" role=\"status\">{}</div>",
            esc(flash)
        );
    }
    let counts = |s: State| flags.iter().filter(|f| f.state == s).count();
    let _ = write!(
        out,
        "<div class=\"titlebar\"><h1>Flags <span class=\"count\">{}</span></h1>\
         <p class=\"tally\"><span class=\"pill killed\">{} killed</span> <span class=\"pill disabled\">{} disabled</span> \
         <span class=\"pill rolling_out\">{} rolling out</span> <span class=\"pill on\">{} on</span> <span class=\"pill off\">{} off</span></p></div>",
        flags.len(),
        counts(State::Killed),
        counts(State::Disabled),
        counts(State::RollingOut),
        counts(State::On),
        counts(State::Off)
    );
    let _ = write!(
        out,
        "<form class=\"filters\" method=\"get\" action=\"/dashboard\" role=\"search\">\
         <label for=\"filter\">Filter by key</label>\
         <input type=\"search\" id=\"filter\" name=\"q\" value=\"{}\" placeholder=\"e.g. checkout\" autocomplete=\"off\">\
         <label for=\"state\">State</label><select id=\"state\" name=\"state\">",
        esc(query)
    );
    for (value, label) in [
        ("", "All states"),
        ("killed", "Killed"),
        ("disabled", "Disabled"),
        ("rolling_out", "Rolling out"),
        ("on", "On for everyone"),
        ("off", "Off"),
    ] {
        let selected = if value == state { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    out.push_str("</select><button type=\"submit\">Apply</button></form>\n");
    let needle = query.to_lowercase();
    let shown: Vec<&FlagSummary> = flags
        .iter()
        .filter(|f| needle.is_empty() || f.key.to_lowercase().contains(&needle))
        .filter(|f| state.is_empty() || f.state.as_str() == state)
        .collect();
    let _ = write!(
        out,
        "<p class=\"muted\" id=\"shown\" aria-live=\"polite\">Showing {} of {} flags</p>",
        shown.len(),
        flags.len()
    );
    out.push_str("<table class=\"flags\" id=\"flag-table\"><caption class=\"sr\">Flags and their state</caption><thead><tr>\
        <th scope=\"col\">Key</th><th scope=\"col\">State</th><th scope=\"col\">Rollout</th>\
        <th scope=\"col\">Schedule</th><th scope=\"col\">Variants</th><th scope=\"col\">Dependencies</th></tr></thead><tbody>\n");
    for f in flags {
        let hidden = if shown.iter().any(|s| std::ptr::eq(*s, f)) {
            ""
        } else {
            " hidden"
        };
        let schedule = match (f.schedule_len, f.schedule_step, &f.next_step) {
            (0, _, _) => "<span class=\"muted\">—</span>".to_string(),
            (n, step, next) => {
                let now = match step {
                    Some(i) => format!("step {} of {n}", i + 1),
                    None => format!("before step 1 of {n}"),
                };
                let next = match next {
                    Some(s) => format!(
                        "<br><span class=\"muted\">next: {}</span>",
                        esc(&step_text(s))
                    ),
                    None => String::new(),
                };
                format!("{now}{next}")
            }
        };
        let deps = match (f.requires.is_empty(), f.required_by.is_empty()) {
            (true, true) => "<span class=\"muted\">—</span>".to_string(),
            _ => {
                let mut d = String::new();
                if !f.requires.is_empty() {
                    let _ = write!(d, "requires {}", key_list(&f.requires));
                }
                if !f.required_by.is_empty() {
                    if !d.is_empty() {
                        d.push_str("<br>");
                    }
                    let _ = write!(d, "required by {}", f.required_by.len());
                }
                d
            }
        };
        let _ = write!(
            out,
            "<tr data-key=\"{key}\" data-state=\"{state}\"{hidden}><th scope=\"row\"><a href=\"{href}\"><code>{key}</code></a></th>\
             <td>{pill}</td><td class=\"nowrap\">{meter}</td><td>{schedule}</td><td>{variants}</td><td>{deps}</td></tr>",
            key = esc(&f.key),
            state = f.state.as_str(),
            href = flag_href(&f.key),
            pill = pill(f.state),
            meter = rollout_now(f.state, f.percentage),
            variants = variants_text(f),
        );
        out.push('\n');
    }
    out.push_str("</tbody></table>\n");
    if flags.is_empty() {
        out.push_str("<p class=\"empty\">No flags in this version.</p>");
    }
    out
}

/// The result of trying a user, for the flag page.
pub(crate) struct TryResult<'a> {
    pub(crate) context: &'a str,
    pub(crate) outcome: Result<Tried, String>,
}

/// A flag's page.
pub(crate) fn flag_page(
    ctx: &PageCtx,
    flag: &FlagDetail,
    tried: Option<&TryResult<'_>>,
    flash: Option<&str>,
) -> String {
    let f = &flag.summary;
    let key = esc(&f.key);
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"crumbs\"><a href=\"/dashboard\">Flags</a> / <code>{key}</code></p>"
    );
    if let Some(flash) = flash {
        let _ = write!(
            out,
            "<div class=\"notice ok\" role=\"status\">{}</div>",
            esc(flash)
        );
    }
    let _ = write!(
        out,
        "<div class=\"titlebar\"><h1><code>{key}</code></h1>{}</div><p class=\"lead\" id=\"flag-summary\">{}</p>",
        pill(f.state),
        esc(&f.summary)
    );
    out.push_str("<div class=\"grid\">\n<div class=\"col\">\n");
    // Facts.
    let _ = write!(
        out,
        "<section aria-labelledby=\"facts\"><h2 id=\"facts\">Overview</h2><dl class=\"facts\">\
         <dt>Kill switch</dt><dd>{}</dd><dt>Enabled</dt><dd>{}</dd>\
         <dt>Rollout now</dt><dd>{}</dd><dt>rollout_percentage</dt><dd>{}</dd><dt>Buckets by</dt><dd><code>{}</code></dd>\
         <dt>Variants</dt><dd>{}</dd></dl></section>",
        if f.kill_switch { "<strong class=\"danger-text\">on (killed)</strong>" } else { "off" },
        if f.enabled { "yes" } else { "no" },
        rollout_now(f.state, f.percentage),
        flag.rollout_percentage.map_or("none".to_string(), |p| format!("{p} %")),
        esc(&flag.bucket_by),
        variants_text(f),
    );
    // Rules.
    out.push_str("<section aria-labelledby=\"rules\"><h2 id=\"rules\">Rules</h2>");
    for (title, rules, class) in [
        ("Allow list (turns on)", &flag.allow_list, "allow"),
        ("Deny list (turns off)", &flag.deny_list, "deny"),
    ] {
        let _ = write!(out, "<h3>{title}</h3>");
        if rules.is_empty() {
            out.push_str("<p class=\"muted\">none</p>");
            continue;
        }
        let _ = write!(out, "<ol class=\"rules {class}\" start=\"0\">");
        for rule in rules {
            let pin = rule
                .variant
                .as_ref()
                .map(|v| {
                    format!(
                        " <span class=\"muted\">→ variant <code>{}</code></span>",
                        esc(v)
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li><code class=\"rule\">{}</code>{pin}</li>",
                esc(&rule.text)
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("<h3>Segments used</h3>");
    if flag.segments.is_empty() {
        out.push_str("<p class=\"muted\">none</p>");
    } else {
        out.push_str("<dl class=\"segments\">");
        for (name, def) in &flag.segments {
            let _ = write!(
                out,
                "<dt><code>@{}</code></dt><dd><code class=\"rule\">{}</code></dd>",
                esc(name),
                esc(def)
            );
        }
        out.push_str("</dl>");
    }
    out.push_str("</section>");
    // Dependencies.
    let _ = write!(
        out,
        "<section aria-labelledby=\"deps\"><h2 id=\"deps\">Prerequisites</h2><dl class=\"facts\">\
         <dt>Requires</dt><dd>{}</dd><dt>Required by</dt><dd>{}</dd><dt>Turned off by a kill</dt><dd>{}</dd></dl></section>",
        key_list(&f.requires),
        key_list(&f.required_by),
        key_list(&f.blast_radius)
    );
    // Schedule.
    out.push_str("<section aria-labelledby=\"schedule\"><h2 id=\"schedule\">Schedule</h2>");
    if flag.schedule.is_empty() {
        out.push_str("<p class=\"muted\">No rollout schedule.</p>");
    } else {
        out.push_str("<ol class=\"timeline\">");
        for step in &flag.schedule {
            let class = if step.current {
                "current"
            } else if step.upcoming {
                "upcoming"
            } else {
                "past"
            };
            let label = if step.current {
                " <span class=\"pill rolling_out\">now</span>"
            } else if step.upcoming {
                ""
            } else {
                " <span class=\"muted\">(done)</span>"
            };
            let _ = write!(
                out,
                "<li class=\"{class}\"><span class=\"dot\" aria-hidden=\"true\"></span><span class=\"bar\"><span class=\"fill w{p}\"></span></span> {}{label}</li>",
                esc(&step_text(step)),
                p = step.to_percentage
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>\n</div>\n<div class=\"col\">\n");
    // Actions.
    out.push_str(&actions(ctx, flag));
    // Try a user.
    let context_text = tried.map_or("{\n  \"user_id\": \"user-1\"\n}", |t| t.context);
    let _ = write!(
        out,
        "<section aria-labelledby=\"try\" class=\"card\"><h2 id=\"try\">Try a user</h2>\
         <form method=\"post\" action=\"{href}/try\" id=\"try-form\">\
         <div class=\"builder\" id=\"builder\" hidden><p class=\"muted\">Build a context (or edit the JSON below):</p>\
         <div id=\"builder-rows\"></div><button type=\"button\" class=\"secondary\" id=\"add-attr\">Add attribute</button></div>\
         <label for=\"context\">Context (JSON)</label>\
         <textarea id=\"context\" name=\"context\" rows=\"6\" spellcheck=\"false\">{}</textarea>\
         <button type=\"submit\">Evaluate</button></form>",
        esc(context_text),
        href = flag_href(&f.key),
    );
    if let Some(t) = tried {
        match &t.outcome {
            Ok(tried) => {
                let d = &tried.decision;
                let line = serde_json::to_string(d).unwrap_or_default();
                let verdict = if d.enabled { "ON" } else { "OFF" };
                let class = if d.enabled { "on" } else { "killed" };
                let _ = write!(
                    out,
                    "<div class=\"result\" id=\"try-result\" role=\"status\" tabindex=\"-1\">\
                     <p class=\"verdict\"><span class=\"pill {class}\" id=\"try-verdict\">{verdict}</span> \
                     reason <code id=\"try-reason\">{}</code>, variant <code id=\"try-variant\">{}</code></p>\
                     <h3>Decision</h3><pre id=\"try-decision\">{}</pre>\
                     <h3>Explanation</h3><pre id=\"try-explain\" class=\"trace\">{}</pre></div>",
                    esc(d.reason),
                    esc(&d.variant),
                    esc(&line),
                    esc(&tried.explanation_text)
                );
            }
            Err(e) => {
                let _ = write!(
                    out,
                    "<div class=\"result notice bad\" id=\"try-result\" role=\"alert\">{}</div>",
                    esc(e)
                );
            }
        }
    }
    out.push_str("</section>\n</div>\n</div>\n");
    out
}

fn actions(ctx: &PageCtx, flag: &FlagDetail) -> String {
    let f = &flag.summary;
    let href = flag_href(&f.key);
    let mut out = String::from(
        "<section aria-labelledby=\"actions\" class=\"card\"><h2 id=\"actions\">Actions</h2>",
    );
    if let Some(why) = &ctx.read_only {
        let _ = write!(
            out,
            "<p class=\"muted\" id=\"read-only-reason\">{}</p>\
             <p><button type=\"button\" class=\"danger\" disabled>Kill…</button> \
             <button type=\"button\" disabled>Change rollout</button></p></section>",
            esc(why)
        );
        return out;
    }
    if f.kill_switch {
        let _ = write!(
            out,
            "<p><a class=\"button\" href=\"{href}/unkill\" id=\"unkill-link\">Un-kill…</a> \
             <span class=\"muted\">turns the kill switch off; the flag's rules and rollout decide again</span></p>"
        );
    } else {
        let _ = write!(
            out,
            "<p><a class=\"button danger\" href=\"{href}/kill\" id=\"kill-link\">Kill…</a> \
             <span class=\"muted\">off for everyone{}</span></p>",
            if f.blast_radius.is_empty() {
                String::new()
            } else {
                format!(", and {} dependent flag(s)", f.blast_radius.len())
            }
        );
    }
    let scheduled = if flag.schedule.is_empty() {
        ""
    } else {
        "<p class=\"muted\">This flag follows a schedule: the percentage below applies only before its first step.</p>"
    };
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{href}/rollout\" class=\"rollout\">{csrf}\
         <input type=\"hidden\" name=\"expect_version\" value=\"{v}\">\
         <h3>Change rollout</h3>{scheduled}\
         <label for=\"percentage\">rollout_percentage</label>\
         <input type=\"number\" id=\"percentage\" name=\"percentage\" min=\"0\" max=\"100\" required value=\"{p}\">\
         <label for=\"rollout-message\">Message (required)</label>\
         <input type=\"text\" id=\"rollout-message\" name=\"message\" required maxlength=\"500\" placeholder=\"why\">\
         <button type=\"submit\">Publish rollout</button></form></section>",
        csrf = csrf_field(ctx),
        v = ctx.version,
        p = flag.rollout_percentage.unwrap_or(0),
    );
    out
}

/// The confirmation of a kill or un-kill, stating the blast radius.
pub(crate) fn confirm_kill(ctx: &PageCtx, flag: &FlagSummary, kill: bool) -> String {
    let key = esc(&flag.key);
    let href = flag_href(&flag.key);
    let (verb, action, class) = if kill {
        ("Kill", "kill", "danger")
    } else {
        ("Un-kill", "unkill", "")
    };
    let mut out = format!(
        "<p class=\"crumbs\"><a href=\"/dashboard\">Flags</a> / <a href=\"{href}\"><code>{key}</code></a> / {verb}</p>\
         <h1>{verb} <code>{key}</code>?</h1>"
    );
    let radius = flag.blast_radius.len();
    if kill {
        let _ = write!(
            out,
            "<div class=\"notice bad\" id=\"blast-radius\"><p><strong>{key}</strong> will be off for everyone.</p>\
             <p>{} flag(s) depend on it and will be off too{}</p></div>",
            radius,
            if radius == 0 {
                ".".to_string()
            } else {
                format!(": {}", key_list(&flag.blast_radius))
            }
        );
    } else {
        let _ = write!(
            out,
            "<div class=\"notice warn\" id=\"blast-radius\"><p><strong>{key}</strong> will be decided by its rules and rollout again ({}).</p>\
             <p>{} flag(s) depend on it.</p></div>",
            if flag.enabled { "enabled" } else { "still disabled" },
            radius
        );
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{href}/{action}\" class=\"confirm\">{csrf}\
         <input type=\"hidden\" name=\"expect_version\" value=\"{v}\">\
         <p class=\"muted\">Acting on version {v}. If another version is published first, this is refused.</p>\
         <label for=\"message\">Message (required): why, and the incident or ticket</label>\
         <textarea id=\"message\" name=\"message\" rows=\"3\" required maxlength=\"500\"></textarea>\
         <p><button type=\"submit\" class=\"{class}\" id=\"confirm-button\">{verb} {key}</button> <a href=\"{href}\">Cancel</a></p></form>",
        csrf = csrf_field(ctx),
        v = ctx.version,
    );
    out
}

/// The history of versions.
pub(crate) fn history(
    ctx: &PageCtx,
    versions: Option<&[VersionInfo]>,
    flash: Option<&str>,
) -> String {
    let mut out = String::from("<h1>History</h1>");
    if let Some(flash) = flash {
        let _ = write!(
            out,
            "<div class=\"notice ok\" role=\"status\">{}</div>",
            esc(flash)
        );
    }
    let Some(versions) = versions else {
        let _ = write!(
            out,
            "<p class=\"muted\">This replica serves a plain file: there is no history here (version {} is the {}th load since start). Use the versioned database source for history and rollback.</p>",
            ctx.serving, ctx.serving
        );
        return out;
    };
    out.push_str("<table class=\"history\"><caption class=\"sr\">Published versions, newest first</caption><thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Published</th><th scope=\"col\">By</th><th scope=\"col\">Message</th><th scope=\"col\">Flags changed</th><th scope=\"col\"><span class=\"sr\">Actions</span></th></tr></thead><tbody>");
    for v in versions {
        let action = if v.version == ctx.version {
            "<span class=\"pill on\">current</span>".to_string()
        } else if ctx.read_only.is_none() {
            format!(
                "<a class=\"button small\" href=\"/dashboard/history/{n}/rollback\">Roll back to {n}…</a>",
                n = v.version
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td><time datetime=\"{at}\">{}</time></td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            v.version,
            human(v.published_at),
            esc(&v.author),
            esc(&v.message),
            changed_list(&v.changed),
            at = rfc3339(v.published_at)
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The flags a version changed, a few by name.
fn changed_list(keys: &[String]) -> String {
    const SHOWN: usize = 4;
    if keys.is_empty() {
        return "<span class=\"muted\">—</span>".to_string();
    }
    let mut out = keys
        .iter()
        .take(SHOWN)
        .map(|k| format!("<code>{}</code>", esc(k)))
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        let _ = write!(out, " and {} more", keys.len() - SHOWN);
    }
    out
}

/// The confirmation of a rollback, with what changes.
pub(crate) fn confirm_rollback(ctx: &PageCtx, to: &VersionInfo, changes: &[FlagChange]) -> String {
    let mut out = format!(
        "<p class=\"crumbs\"><a href=\"/dashboard/history\">History</a> / Roll back</p>\
         <h1>Roll back to version {}?</h1>\
         <p class=\"lead\">Version {} was published by <strong>{}</strong> at {}: “{}”. Rolling back publishes its config again as a new version.</p>",
        to.version,
        to.version,
        esc(&to.author),
        human(to.published_at),
        esc(&to.message)
    );
    let _ = write!(out, "<h2>What changes from version {}</h2>", ctx.version);
    if changes.is_empty() {
        out.push_str(
            "<p id=\"changes\">No flag changes: the two versions define the same flags.</p>",
        );
    } else {
        out.push_str("<ul class=\"changes\" id=\"changes\">");
        for c in changes {
            let _ = write!(
                out,
                "<li><code>{}</code> <span class=\"pill {}\">{}</span>",
                esc(&c.key),
                match c.change {
                    "added" => "on",
                    "removed" => "killed",
                    _ => "rolling_out",
                },
                c.change
            );
            if !c.fields.is_empty() {
                out.push_str("<ul>");
                for field in &c.fields {
                    let _ = write!(out, "<li><code>{}</code></li>", esc(field));
                }
                out.push_str("</ul>");
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/dashboard/history/{n}/rollback\" class=\"confirm\">{csrf}\
         <input type=\"hidden\" name=\"expect_version\" value=\"{v}\">\
         <label for=\"message\">Message (required)</label>\
         <textarea id=\"message\" name=\"message\" rows=\"3\" required maxlength=\"500\"></textarea>\
         <p><button type=\"submit\" class=\"danger\" id=\"confirm-button\">Roll back to version {n}</button> <a href=\"/dashboard/history\">Cancel</a></p></form>",
        n = to.version,
        csrf = csrf_field(ctx),
        v = ctx.version
    );
    out
}

/// A refused action or request.
pub(crate) fn refused(title: &str, message: &str, details: Option<&str>, back: &str) -> String {
    let mut out = format!(
        "<h1>{}</h1><div class=\"notice bad\" role=\"alert\" id=\"refusal\"><p>{}</p>",
        esc(title),
        esc(message)
    );
    if let Some(d) = details {
        let _ = write!(out, "<pre class=\"diagnostics\">{}</pre>", esc(d));
    }
    let _ = write!(out, "</div><p><a href=\"{}\">Back</a></p>", esc(back));
    out
}

/// The login page (a page of its own: no header data is shown before
/// logging in).
pub(crate) fn login(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div class=\"notice bad\" role=\"alert\">{}</div>", esc(e)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Log in · killswitch</title>\n<link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css\">\n<link rel=\"icon\" href=\"/dashboard/assets/favicon.svg\">\n</head>\n\
         <body class=\"login\"><main id=\"main\"><div class=\"card narrow\"><h1><img class=\"logo\" src=\"/dashboard/assets/favicon.svg\" alt=\"\" width=\"22\" height=\"22\"> killswitch</h1>{error}\
         <form method=\"post\" action=\"/dashboard/login\">\
         <label for=\"name\">Your name (recorded with every change you make)</label>\
         <input type=\"text\" id=\"name\" name=\"name\" required maxlength=\"100\" autocomplete=\"name\">\
         <label for=\"token\">Access token</label>\
         <input type=\"password\" id=\"token\" name=\"token\" required autocomplete=\"current-password\">\
         <button type=\"submit\">Log in</button></form>\
         <p class=\"muted\">A read token shows the flags; an admin token also lets you act.</p></div></main></body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(path_segment("a b/<c>é"), "a%20b%2F%3Cc%3E%C3%A9");
        assert_eq!(flag_href("new_ui-2.x"), "/dashboard/flags/new_ui-2.x");
    }
}
