//! Server-rendered templates (minijinja, embedded in the binary: no front-end build step).

use crate::auth::{PageCtx, Principal};
use crate::error::AppError;
use crate::i18n::Catalog;
use crate::AppState;
use axum::response::Html;
use minijinja::{context, Environment, State, Value};
use std::sync::Arc;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        pub const TEMPLATES: &[(&str, &str)] = &[$(($name, include_str!(concat!("../../templates/", $name)))),*];
    };
}

templates!(
    "base.html",
    "index.html",
    "enrol.html",
    "enrolled.html",
    "login.html",
    "me.html",
    "staff_login.html",
    "console.html",
    "citizens.html",
    "citizen.html",
    "regions.html",
    "staff.html",
    "partners.html",
    "error.html",
    "api_docs.html",
    "entries.html",
    "ledger_console.html",
    "log.html",
    "standards.html",
    "deed_new.html",
    "my_deeds.html",
    "inbox.html",
    "deed.html",
    "board.html",
    "queue.html",
    "standards_admin.html",
    "code.html",
    "code_card.html",
    "green_cards.html",
    "benefits.html",
    "scan.html",
    "imports.html",
    "import.html",
    "open_data.html",
    "statistics.html",
    "macros.html",
    "settings.html",
    "access.html",
    "export.html",
    "benefits_admin.html",
    "credit_me.html",
    "credit_report.html",
    "credit_bank.html",
    "credit_read.html",
    "credit_tables.html",
    "credit_figures.html",
    "help.html",
    "volunteer.html",
    "volunteer_certificate.html",
    "dispatch_console.html",
    "dispatch_proposal.html",
    "dispatch_task.html",
    "dispatch_site.html",
    "dispatch_for.html",
    "market.html",
    "market_enterprise.html",
    "market_demand_new.html",
    "market_demand.html",
    "market_intro.html",
    "market_office.html",
    "market_door.html",
    "expert.html",
    "expert_intro.html",
);

pub fn environment(catalog: Arc<Catalog>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .expect("embedded templates parse");
    }
    env.add_function("t", move |state: &State, key: &str| -> String {
        let lang = state
            .lookup("lang")
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| "zh".into());
        catalog.get(&lang, key)
    });
    env.add_filter("datetime", |ms: i64| -> String { format_ms(ms) });
    env.add_filter("grouped", |v: i64| -> String {
        crate::frame::chart::grouped(v)
    });
    env.add_filter("date", |ms: i64| -> String {
        format_ms(ms)
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    // The last day something is valid on, for an end given as the first moment it is not
    // (a card valid to 2027-12-31 ends at 2028-01-01 00:00).
    env.add_filter("last_day", |ms: i64| -> String {
        format_ms(ms - 1)
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    env
}

/// Unix milliseconds as China Standard Time (UTC+8), the city's clock.
pub fn format_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8));
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]"
    ))
    .unwrap_or_default()
}

/// Render `name` with the page's common context (language, CSRF token, who is signed in).
pub fn render(
    state: &AppState,
    ctx: &PageCtx,
    name: &str,
    page: Value,
) -> Result<Html<String>, AppError> {
    // `tag`: who is signed in, as a short digest (not their id), so that a form kept in the
    // browser when a session ended is given back only to the same person (`assets/forms.js`).
    let tag = |id: &str| {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(format!("moralbank-form-owner/{id}").as_bytes())[..8])
    };
    let who = match &ctx.principal {
        Principal::Anonymous | Principal::Partner(_) => context! { kind => "anonymous" },
        Principal::Citizen { id } => context! { kind => "citizen", tag => tag(id) },
        Principal::Staff(s) => {
            context! { kind => "staff", name => s.display_name, role => s.role.as_str(), tag => tag(&s.id) }
        }
    };
    let base = context! {
        lang => ctx.lang, csrf => ctx.csrf, who => who, demo => state.config.demo_mode, path => ctx.path,
    };
    let tmpl = state
        .templates
        .get_template(name)
        .map_err(|e| AppError::Internal(format!("template {name}: {e}")))?;
    tmpl.render(context! { ..page, ..base })
        .map(Html)
        .map_err(|e| AppError::Internal(format!("template {name}: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::TEMPLATES;

    /// The Content-Security-Policy (`crate::headers`) allows no inline script, style or event
    /// handler: a template that had one would break in the browser, so none may.
    #[test]
    fn no_template_has_inline_script_style_or_event_handlers() {
        for (name, src) in TEMPLATES {
            let lower = src.to_ascii_lowercase();
            for (i, _) in lower.match_indices("<script") {
                let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
                assert!(
                    tag.contains(" src=") || tag.contains("type=\"application/json\""),
                    "{name}: inline script {tag}"
                );
            }
            assert!(!lower.contains("<style"), "{name}: a <style> element");
            assert!(!lower.contains(" style="), "{name}: a style attribute");
            assert!(!lower.contains("javascript:"), "{name}: a javascript: URL");
            let handler = lower.match_indices(" on").find(|(i, _)| {
                let rest = &lower[i + 3..];
                let word: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
                !word.is_empty() && rest[word.len()..].starts_with('=')
            });
            assert!(handler.is_none(), "{name}: an inline event handler");
        }
    }
}
