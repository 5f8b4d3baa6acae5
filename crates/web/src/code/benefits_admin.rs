//! The admin's page for the service scenes and their benefits (`/console/benefits`): the same
//! creation the API offers (`POST /api/v1/scenes`, `/api/v1/benefits`), on a page, with each
//! error at its field and what was typed kept. Only the fields of the chosen kind are read (a
//! quota benefit's quota and period, a points benefit's cost), so a field left filled in for
//! another kind never refuses the form.

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
use axum::routing::{get, post};
use axum::Router;
use domain::FieldError;
use minijinja::context;
use moralbank_store::code::benefits::NewBenefit;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/benefits", get(page).post(benefit_create))
        .route("/console/scenes", post(scene_create))
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct SceneForm {
    csrf: String,
    code: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct BenefitForm {
    csrf: String,
    scene: String,
    partner_id: String,
    name_zh: String,
    name_en: String,
    description_zh: String,
    description_en: String,
    min_tier: String,
    /// `green-card` when the benefit is for green-card holders only.
    badge: String,
    kind: String,
    quota: String,
    quota_period: String,
    points_cost: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Saved {
    saved: String,
}

async fn benefits_page(
    state: &AppState,
    ctx: &PageCtx,
    scene: &SceneForm,
    benefit: &BenefitForm,
    errors: &[FieldError],
    status: StatusCode,
    saved: &str,
) -> Page {
    require(&ctx.principal, Action::ManageBenefits)?;
    let scenes = state.store.code().scenes().await?;
    let all = state.store.code().benefits().await?;
    let by_scene: Vec<_> = scenes
        .iter()
        .map(|s| context! { scene => s, items => all.iter().filter(|b| b.scene.id == s.id).collect::<Vec<_>>() })
        .collect();
    let tiers = state.codes.as_ref().map_or(5, |c| c.tiers.len());
    let view = context! {
        by_scene, scenes, partners => state.store.accounts().list_partners().await?,
        tiers => (1..=tiers).collect::<Vec<_>>(), scene_form => scene, form => benefit,
        saved => match saved { "scene" | "benefit" => saved, _ => "" },
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "benefits_admin.html", view)?).into_response())
}

fn blank_benefit() -> BenefitForm {
    BenefitForm {
        min_tier: "1".into(),
        kind: "quota".into(),
        quota_period: "month".into(),
        ..BenefitForm::default()
    }
}

async fn page(State(state): State<AppState>, ctx: PageCtx, Query(q): Query<Saved>) -> PageResult {
    let (scene, benefit) = (SceneForm::default(), blank_benefit());
    Ok(benefits_page(
        &state,
        &ctx,
        &scene,
        &benefit,
        &[],
        StatusCode::OK,
        &q.saved,
    )
    .await?)
}

async fn scene_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<SceneForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageBenefits)?;
        ctx.check_csrf(&f.csrf)?;
        state
            .store
            .code()
            .create_scene(f.code.trim(), &f.name_zh, &f.name_en)
            .await?;
        Ok(Redirect::to("/console/benefits?saved=scene").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        benefits_page(&state, &ctx, &f, &blank_benefit(), &errors, status, "").await
    })
    .await?)
}

/// A whole number from a form field, or the field's error.
fn number(field: &'static str, raw: &str) -> Result<i64, FieldError> {
    raw.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "invalid_format", "a whole number"))
}

/// The benefit the form describes: only the chosen kind's own fields are read.
fn new_benefit(f: &BenefitForm) -> Result<NewBenefit, AppError> {
    let mut errs = domain::FieldErrors::default();
    let min_tier = errs.take(number("min_tier", &f.min_tier));
    let (quota, quota_period, points_cost) = match f.kind.as_str() {
        "quota" => (
            errs.take(number("quota", &f.quota)),
            Some(f.quota_period.clone()),
            None,
        ),
        "points" => (None, None, errs.take(number("points_cost", &f.points_cost))),
        _ => (None, None, None),
    };
    errs.into_result()?;
    Ok(NewBenefit {
        scene: f.scene.clone(),
        partner_id: f.partner_id.clone(),
        name_zh: f.name_zh.clone(),
        name_en: f.name_en.clone(),
        description_zh: f.description_zh.clone(),
        description_en: f.description_en.clone(),
        min_tier: min_tier.unwrap_or(0),
        badge: (f.badge == "green-card").then(|| "green-card".to_string()),
        kind: f.kind.clone(),
        quota,
        quota_period,
        points_cost,
    })
}

async fn benefit_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<BenefitForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageBenefits)?;
        ctx.check_csrf(&f.csrf)?;
        state.store.code().create_benefit(&new_benefit(&f)?).await?;
        Ok(Redirect::to("/console/benefits?saved=benefit").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        benefits_page(&state, &ctx, &SceneForm::default(), &f, &errors, status, "").await
    })
    .await?)
}
