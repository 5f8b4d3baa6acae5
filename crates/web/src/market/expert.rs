//! The expert's own page (`/expert`), for a resident: a profile of the pool under their phone
//! number to claim (with the expert consent), the profile to keep current, introductions to
//! accept or decline with a reason (contacts and the demand's detail once accepted, each
//! showing logged), and free consultations to village cooperatives, which earn points once the
//! cooperative confirms.

use super::{code_names, id_of, label};
use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::dispatch::Pairs;
use crate::error::{AppError, Path};
use crate::frame::{field_messages, or_redo, page, Form, Page, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::market::{IntroStep, DECLINE_REASONS, EXPERT_CONSENT_VERSION};
use domain::FieldError;
use minijinja::context;
use moralbank_store::market::experts::ProfileEdit;
use moralbank_store::market::Party;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/expert", get(expert_page))
        .route("/expert/{step}", post(expert_step))
        .route("/expert/introductions/{id}", get(intro_page))
        .route("/expert/introductions/{id}/{step}", post(intro_step))
}

fn me(ctx: &PageCtx) -> Result<Party, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    match &ctx.principal {
        crate::auth::Principal::Citizen { id } => Ok(Party::Expert {
            citizen_id: id.clone(),
        }),
        _ => Err(AppError::Forbidden),
    }
}

async fn expert_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let me = me(ctx)?;
    let Party::Expert { citizen_id } = &me else {
        return Err(AppError::Forbidden);
    };
    let m = state.store.market();
    let profile = m.expert_of(citizen_id).await?;
    let view = context! {
        profile, claimable => if profile.is_none() { m.claimable(citizen_id).await? } else { Vec::new() },
        introductions => m.introductions_of(&me).await?,
        consultations => m.consultations_of(&me).await?,
        cooperatives => m.cooperatives().await?,
        consent_version => EXPERT_CONSENT_VERSION, codes => code_names(ctx),
        today => domain::time::day_of(state.clock.now_ms()),
        form, errors => field_messages(state, ctx, errors),
    };
    page(state, ctx, "expert.html", view, status)
}

async fn expert_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(expert_view(&state, &ctx, &Pairs::default(), &[], StatusCode::OK).await?)
}

/// `claim` a profile, edit the `profile`, record a `consultation`.
async fn expert_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(step): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let me = me(&ctx)?;
        let Party::Expert { citizen_id } = &me else {
            return Err(AppError::Forbidden);
        };
        ctx.check_csrf(&f.one("csrf"))?;
        let m = state.store.market();
        let now = state.clock.now_ms();
        match step.as_str() {
            "claim" => {
                let id = domain::parse_id("expert_id", &f.one("expert_id"))
                    .map_err(|e| AppError::Invalid(e.into()))?;
                let consent = if f.one("consent") == "yes" {
                    EXPERT_CONSENT_VERSION.to_string()
                } else {
                    String::new()
                };
                m.claim_expert(citizen_id, &id, &consent, now).await?;
            }
            "profile" => {
                let edit = ProfileEdit {
                    title: f.one("title"),
                    institution: f.one("institution"),
                    keywords: f.one("keywords"),
                    summary: f.one("summary"),
                    availability: f.one("availability"),
                };
                m.edit_profile(citizen_id, &edit, now).await?;
                state.market.changed(&state.store);
            }
            "consultation" => {
                m.record_consultation(
                    citizen_id,
                    &f.one("cooperative_id"),
                    &f.one("day"),
                    &f.one("hours"),
                    &f.one("topic"),
                    now,
                )
                .await?;
            }
            _ => return Err(AppError::NotFound("step")),
        }
        Ok(Redirect::to(&format!("/expert?done={step}")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        expert_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

async fn intro_view(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let me = me(ctx)?;
    let m = state.store.market();
    let (i, _) = m.introduction_for(id, &me).await?;
    let now = state.clock.now_ms();
    let contacts = if i.status.reveals_contacts() {
        Some(m.contacts(id, &me, &label(&me), now).await?)
    } else {
        None
    };
    let (demand, detail) = m.demand_for(&i.demand_id, &me).await?;
    let view = context! { i, contacts, demand, detail, reasons => DECLINE_REASONS, codes => code_names(ctx), errors => field_messages(state, ctx, errors) };
    page(state, ctx, "expert_intro.html", view, status)
}

async fn intro_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    me(&ctx)?;
    let id = id_of("introduction", &id)?;
    Ok(intro_view(&state, &ctx, &id, &[], StatusCode::OK).await?)
}

async fn intro_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, step)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    me(&ctx)?;
    let id = id_of("introduction", &id)?;
    let f = Pairs(pairs);
    let attempt = async {
        let me = me(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let step = match step.as_str() {
            "accept" => IntroStep::Accept,
            "decline" => IntroStep::Decline,
            _ => return Err(AppError::NotFound("step")),
        };
        let reason = f.one("reason");
        state
            .store
            .market()
            .answer(&id, &me, step, Some(reason.as_str()), state.clock.now_ms())
            .await?;
        Ok(Redirect::to(&format!("/expert/introductions/{id}")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        intro_view(&state, &ctx, &id, &errors, status).await
    })
    .await?)
}
