//! The office's side of `/console/market` (the broker, 科技红娘): figures of the report's
//! kind and the declines per reason and month; enterprises registered and verified with their
//! first login; the expert pool (loaded through city data's imports, searched here);
//! achievements; every demand (with pins on its page); introductions it answers for experts
//! who have not claimed a profile; events with their sessions, the door's list and check-in by
//! the ticket's QR; contracts and their registration numbers.

use super::{code_names, id_of, party};
use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::dispatch::{local_ms, Pairs};
use crate::error::{AppError, Path};
use crate::frame::{field_messages, or_redo, page, Form, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::market::{BANDS, DECLINE_REASONS, ENTERPRISE_KINDS, IP_KINDS, LICENSING};
use domain::FieldError;
use minijinja::context;
use moralbank_store::market::achievements::NewAchievement;
use moralbank_store::market::enterprises::NewEnterprise;
use moralbank_store::market::events::NewSession;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/market/enterprises", post(register))
        .route(
            "/console/market/enterprises/{id}/{status}",
            post(set_status),
        )
        .route("/console/market/achievements", post(add_achievement))
        .route("/console/market/events", post(create_event))
        .route("/console/market/sessions/{id}/door", get(door_page))
        .route("/console/market/checkin", post(check_in))
        .route("/console/market/experts", get(search_page))
        .route(
            "/console/market/contracts/{id}/register",
            post(register_contract),
        )
}

fn broker_id(ctx: &PageCtx) -> Result<String, AppError> {
    require(&ctx.principal, Action::RunMarket)?;
    Ok(ctx.principal.staff().ok_or(AppError::Forbidden)?.id.clone())
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct Find {
    #[serde(default)]
    q: String,
}

pub(crate) async fn office_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    office_view_q(state, ctx, form, errors, status, "").await
}

async fn office_view_q(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
    q: &str,
) -> Page {
    broker_id(ctx)?;
    let me = party(state, &ctx.principal).await?;
    let m = state.store.market();
    let mut towns: Vec<(String, String)> = state
        .store
        .registry()
        .villages()
        .await?
        .into_iter()
        .map(|(_, t)| (t.id, t.name_zh))
        .collect();
    towns.dedup();
    let towns: Vec<_> = towns
        .into_iter()
        .map(|(id, name)| context! { id, name })
        .collect();
    let view = context! {
        figures => m.figures().await?,
        enterprises => m.enterprises().await?,
        experts => m.find_experts(q, 20).await?, q,
        achievements => m.achievements().await?,
        demands => m.demands(&[], 200).await?,
        waiting => m.introductions_of(&me).await?,
        events => m.events().await?,
        contracts => m.contracts(None).await?,
        towns, kinds => ENTERPRISE_KINDS, bands => BANDS, ip_kinds => IP_KINDS, licensing => LICENSING, reasons => DECLINE_REASONS,
        industries => domain::market::codes::INDUSTRIES.iter().map(|c| context! { code => c.code, zh => c.zh, en => c.en }).collect::<Vec<_>>(),
        disciplines => domain::market::codes::DISCIPLINES.iter().map(|c| context! { code => c.code, zh => c.zh, en => c.en }).collect::<Vec<_>>(),
        codes => code_names(ctx), form, errors => field_messages(state, ctx, errors),
    };
    page(state, ctx, "market_office.html", view, status)
}

/// `/console/market?q=` searches the pool by number or name.
pub(crate) async fn office_search(state: &AppState, ctx: &PageCtx, q: &str) -> Page {
    office_view_q(state, ctx, &Pairs::default(), &[], StatusCode::OK, q).await
}

async fn register(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let by = broker_id(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let new = NewEnterprise {
            name: f.one("name"),
            credit_code: f.one("credit_code"),
            kind: f.one("kind"),
            industry: f.one("industry"),
            town_id: f.one("town_id"),
            contact_name: f.one("contact_name"),
            contact_phone: f.one("contact_phone"),
            username: f.one("username"),
            password: f.one("password"),
        };
        state
            .store
            .market()
            .register_enterprise(&new, &by, state.clock.now_ms())
            .await?;
        Ok(Redirect::to("/console/market?registered=1#enterprises").into_response())
    };
    // The password is never sent back into the form.
    let kept = Pairs(
        f.0.iter()
            .filter(|(k, _)| k != "password")
            .cloned()
            .collect(),
    );
    Ok(or_redo(attempt.await, async |errors, status| {
        office_view(&state, &ctx, &kept, &errors, status).await
    })
    .await?)
}

async fn set_status(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, status)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let by = broker_id(&ctx)?;
    let id = id_of("enterprise", &id)?;
    ctx.check_csrf(&Pairs(pairs).one("csrf"))?;
    state
        .store
        .market()
        .set_enterprise_status(&id, &status, &by, state.clock.now_ms())
        .await?;
    Ok(Redirect::to("/console/market#enterprises").into_response())
}

async fn add_achievement(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let by = broker_id(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let new = NewAchievement {
            title: f.one("title"),
            summary: f.one("summary"),
            keywords: f.one("keywords"),
            industry: f.one("industry"),
            discipline: f.one("discipline"),
            trl: f.one("trl"),
            ip_kind: f.one("ip_kind"),
            ip_number: f.one("ip_number"),
            licensing: f.one("licensing"),
            price_band: f.one("price_band"),
            owner_expert_code: f.one("owner_expert_code"),
            owner_partner_id: f.one("owner_partner_id"),
        };
        state
            .store
            .market()
            .add_achievement(&new, &by, state.clock.now_ms())
            .await?;
        state.market.changed(&state.store);
        Ok(Redirect::to("/console/market#achievements").into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        office_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

/// An event with up to three sessions (`date1`, `start1`, `end1`, `title1`, `capacity1`, …).
async fn create_event(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let by = broker_id(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let mut sessions = Vec::new();
        for n in 1..=3 {
            let date = f.one(&format!("date{n}"));
            if date.is_empty() && n > 1 {
                continue;
            }
            let starts_at = local_ms("starts_at", &date, &f.one(&format!("start{n}")))
                .map_err(|e| AppError::Invalid(e.into()))?;
            let ends_at = local_ms("ends_at", &date, &f.one(&format!("end{n}")))
                .map_err(|e| AppError::Invalid(e.into()))?;
            let capacity = f
                .one(&format!("capacity{n}"))
                .trim()
                .parse::<i64>()
                .map_err(|_| {
                    AppError::invalid("capacity", "out_of_range", "a whole number of seats")
                })?;
            sessions.push(NewSession {
                title: f.one(&format!("title{n}")),
                starts_at,
                ends_at,
                capacity,
            });
        }
        state
            .store
            .market()
            .create_event(
                &f.one("title"),
                &f.one("theme"),
                &f.one("venue"),
                &sessions,
                &by,
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to("/console/market#events").into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        office_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

async fn door_view(
    state: &AppState,
    ctx: &PageCtx,
    session: &str,
    last: Option<moralbank_store::market::events::Signup>,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    broker_id(ctx)?;
    let m = state.store.market();
    let list = m.session_list(session).await?;
    let event = m
        .event_of_session(session)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    let s = event.sessions.iter().find(|s| s.id == session).cloned();
    let view = context! { event, s, list, last, errors => field_messages(state, ctx, errors) };
    page(state, ctx, "market_door.html", view, status)
}

async fn door_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    broker_id(&ctx)?;
    let id = id_of("session", &id)?;
    Ok(door_view(&state, &ctx, &id, None, &[], StatusCode::OK).await?)
}

/// The ticket scanned (or typed) at the door.
async fn check_in(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let by = broker_id(&ctx)?;
    let session = id_of("session", &f.one("session_id"))?;
    let attempt = async {
        ctx.check_csrf(&f.one("csrf"))?;
        let s = state
            .store
            .market()
            .check_in(&f.one("ticket"), &by, state.clock.now_ms())
            .await?;
        door_view(&state, &ctx, &session, Some(s), &[], StatusCode::OK).await
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        door_view(&state, &ctx, &session, None, &errors, status).await
    })
    .await?)
}

async fn register_contract(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let by = broker_id(&ctx)?;
    let id = id_of("contract", &id)?;
    let attempt = async {
        ctx.check_csrf(&f.one("csrf"))?;
        state
            .store
            .market()
            .register_contract(&id, &f.one("registration_no"), &by, state.clock.now_ms())
            .await?;
        Ok(Redirect::to("/console/market#contracts").into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        office_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

pub(crate) async fn search_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(f): Query<Find>,
) -> PageResult {
    broker_id(&ctx)?;
    Ok(office_search(&state, &ctx, &f.q).await?)
}
