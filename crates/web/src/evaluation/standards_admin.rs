//! The admin's catalogue of point standards: every standard with its current version, and the
//! form that saves a new version (or a new standard). Editing starts from the version in force
//! (`?edit=<code>`), and a saved version is confirmed on the page (`?saved=<code>`).

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use domain::FieldError;
use minijinja::context;
use moralbank_store::evaluation::{NewStandard, Standard};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/console/standards", axum::routing::get(page).post(save))
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct StandardForm {
    csrf: String,
    code: String,
    name_zh: String,
    name_en: String,
    points_min: String,
    points_max: String,
    cap_points: String,
    cap_period: String,
    evidence_zh: String,
    evidence_en: String,
    awarder: String,
    active: String,
    /// Partner ids ticked as trusted (the form repeats `trusted`, so it is read from pairs).
    #[serde(skip_deserializing)]
    trusted: Vec<String>,
}

impl StandardForm {
    /// Read the form from its pairs: `trusted` may repeat, the other fields appear once.
    fn from_pairs(pairs: &[(String, String)]) -> StandardForm {
        let fields: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .filter(|(k, _)| k != "trusted")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let mut f: StandardForm =
            serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or_default();
        f.trusted = pairs
            .iter()
            .filter(|(k, _)| k == "trusted")
            .map(|(_, v)| v.clone())
            .take(moralbank_store::evaluation::TRUSTED_PARTNERS_MAX + 1)
            .collect();
        f
    }
}

impl StandardForm {
    /// The form filled with a standard's version in force, to edit from.
    fn of(s: &Standard) -> StandardForm {
        StandardForm {
            csrf: String::new(),
            code: s.code.clone(),
            name_zh: s.name_zh.clone(),
            name_en: s.name_en.clone(),
            points_min: s.points_min.to_string(),
            points_max: s.points_max.to_string(),
            cap_points: s.cap_points.map(|c| c.to_string()).unwrap_or_default(),
            cap_period: s.cap_period.clone(),
            evidence_zh: s.evidence_zh.clone(),
            evidence_en: s.evidence_en.clone(),
            awarder: s.awarder.clone(),
            active: if s.active { "yes" } else { "" }.into(),
            trusted: s.trusted_partners.clone(),
        }
    }
}

async fn standards_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &StandardForm,
    errors: &[FieldError],
    status: StatusCode,
    saved: Option<&Standard>,
) -> Page {
    require(&ctx.principal, Action::ManageStandards)?;
    let partners = state.store.accounts().list_partners().await?;
    let view = context! { standards => state.store.evaluation().standards().await?, partners, form, saved, errors => field_messages(state, ctx, errors) };
    Ok((status, render(state, ctx, "standards_admin.html", view)?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StandardsQuery {
    /// A standard's code: the form starts from its version in force.
    edit: String,
    /// A standard's code just saved: the page confirms it.
    saved: String,
}

async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<StandardsQuery>,
) -> PageResult {
    require(&ctx.principal, Action::ManageStandards)?;
    let standards = state.store.evaluation().standards().await?;
    let current = |code: &str| {
        standards
            .iter()
            .find(|s| s.code == code && !code.is_empty())
    };
    let form = current(&q.edit).map_or_else(
        || StandardForm {
            cap_period: "year".into(),
            awarder: "committee".into(),
            active: "yes".into(),
            ..Default::default()
        },
        StandardForm::of,
    );
    let saved = current(&q.saved);
    Ok(standards_page(&state, &ctx, &form, &[], StatusCode::OK, saved).await?)
}

fn int(field: &'static str, raw: &str) -> Result<i64, FieldError> {
    raw.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "invalid_format", "a whole number"))
}

async fn save(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = StandardForm::from_pairs(&pairs);
    let attempt = async {
        require(&ctx.principal, Action::ManageStandards)?;
        ctx.check_csrf(&f.csrf)?;
        let mut errs = domain::FieldErrors::default();
        let points_min = errs.take(int("points_min", &f.points_min));
        let points_max = errs.take(int("points_max", &f.points_max));
        let cap_points = if f.cap_points.trim().is_empty() {
            None
        } else {
            errs.take(int("cap_points", &f.cap_points))
        };
        errs.into_result()?;
        let new = NewStandard {
            code: f.code.trim().to_string(),
            name_zh: f.name_zh.clone(),
            name_en: f.name_en.clone(),
            points_min: points_min.unwrap_or(0),
            points_max: points_max.unwrap_or(0),
            cap_points,
            cap_period: f.cap_period.clone(),
            evidence_zh: f.evidence_zh.clone(),
            evidence_en: f.evidence_en.clone(),
            awarder: f.awarder.clone(),
            active: f.active == "yes",
            trusted_partners: f.trusted.clone(),
        };
        let by = format!(
            "staff:{}",
            ctx.principal.staff().ok_or(AppError::Unauthorized)?.id
        );
        state.store.evaluation().save_standard(&new, &by).await?;
        let code: String = new
            .code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Ok(Redirect::to(&format!("/console/standards?saved={code}")).into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        standards_page(&state, &ctx, &f, &errors, status, None).await
    })
    .await?)
}
