//! Scenes and benefits: the public catalogue (what each tier and badge opens, with whom), and
//! the admin adding scenes and benefits.

use crate::auth::{ApiCaller, PageCtx};
use crate::authz::{require, Action};
use crate::error::{AppError, UnreadBody};
use crate::frame::{page, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use moralbank_store::code::benefits::NewBenefit;
use serde::Deserialize;
use serde_json::json;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/scenes"),
    ("post", "/scenes"),
    ("get", "/benefits"),
    ("post", "/benefits"),
];

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/scenes", get(scenes).post(scene_create))
        .route("/benefits", get(benefits).post(benefit_create))
}

pub fn page_router() -> Router<AppState> {
    Router::new().route("/benefits", get(catalogue))
}

async fn scenes(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "items": state.store.code().scenes().await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SceneBody {
    code: String,
    name_zh: String,
    name_en: String,
}

async fn scene_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageBenefits)?;
    let b: SceneBody = body.json().await?;
    let s = state
        .store
        .code()
        .create_scene(&b.code, &b.name_zh, &b.name_en)
        .await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

async fn benefits(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "items": state.store.code().benefits().await? })).into_response())
}

async fn benefit_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageBenefits)?;
    let b: NewBenefit = body.json().await?;
    let created = state.store.code().create_benefit(&b).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `/benefits`: by scene, what each benefit needs, for everyone to read.
async fn catalogue(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let scenes = state.store.code().scenes().await?;
    let all = state.store.code().benefits().await?;
    let by_scene: Vec<_> = scenes
        .iter()
        .map(|s| context! { scene => s, items => all.iter().filter(|b| b.scene.id == s.id).collect::<Vec<_>>() })
        .collect();
    Ok(page(
        &state,
        &ctx,
        "benefits.html",
        context! { by_scene },
        StatusCode::OK,
    )?)
}
