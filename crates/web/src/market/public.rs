//! The public shelf (`/market`): open demands by their public summaries, the achievements on
//! offer and the coming matchmaking events, for anyone; contacts and confidential details are
//! never here.

use super::code_names;
use crate::auth::PageCtx;
use crate::frame::{page, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use domain::market::DemandStatus;
use minijinja::context;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/market", get(shelf))
}

async fn shelf(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let m = state.store.market();
    let view = context! {
        demands => m.demands(&[DemandStatus::Open, DemandStatus::Matched], 200).await?,
        achievements => m.achievements().await?,
        events => m.events().await?,
        figures => m.figures().await?,
        codes => code_names(&ctx),
        now => state.clock.now_ms(),
    };
    Ok(page(&state, &ctx, "market.html", view, StatusCode::OK)?)
}
