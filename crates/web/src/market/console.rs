//! The enterprise's console (`/console/market`): its demands (publish, see matches with why,
//! ask for introductions, close), its introductions (contacts once accepted, each showing
//! logged; the contract that followed), the office's events (sign up, the wait list, the
//! ticket's QR for the door, reminders), and — for a cooperative — free consultations to
//! confirm. The office's broker reaches the same demand and introduction pages
//! ([`super::office`] has the rest).

use super::{code_names, id_of, label, matches, party};
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
use domain::market::search::Kind;
use domain::market::{DemandForm, IntroStep, BANDS, CONTRACT_TYPES, DECLINE_REASONS};
use domain::FieldError;
use minijinja::context;
use moralbank_store::market::introductions::Ask;
use moralbank_store::market::Party;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/market", get(console_page))
        .route("/console/market/demands/new", get(new_page).post(publish))
        .route("/console/market/demands/{id}", get(demand_page))
        .route("/console/market/demands/{id}/ask", post(ask))
        .route("/console/market/demands/{id}/{step}", post(demand_step))
        .route("/console/market/introductions/{id}", get(intro_page))
        .route(
            "/console/market/introductions/{id}/{step}",
            post(intro_step),
        )
        .route("/console/market/sessions/{id}/{step}", post(session_step))
        .route(
            "/console/market/consultations/{id}/{step}",
            post(consultation_step),
        )
}

/// The caller as an enterprise's operator, or `Forbidden`.
async fn enterprise(state: &AppState, ctx: &PageCtx) -> Result<Party, AppError> {
    require(&ctx.principal, Action::UseMarket)?;
    match party(state, &ctx.principal).await? {
        p @ Party::Enterprise { .. } => Ok(p),
        _ => Err(AppError::Forbidden),
    }
}

/// An enterprise's operator or the office's broker.
async fn enterprise_or_office(state: &AppState, ctx: &PageCtx) -> Result<Party, AppError> {
    require(&ctx.principal, Action::UseMarket)?;
    match party(state, &ctx.principal).await? {
        p @ (Party::Enterprise { .. } | Party::Broker { .. }) => Ok(p),
        _ => Err(AppError::Forbidden),
    }
}

async fn console_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::UseMarket)?;
    if let Party::Broker { .. } = party(&state, &ctx.principal).await? {
        return Ok(super::office::office_view(
            &state,
            &ctx,
            &Pairs::default(),
            &[],
            StatusCode::OK,
        )
        .await?);
    }
    let me = enterprise(&state, &ctx).await?;
    let Party::Enterprise { partner_id, .. } = &me else {
        return Err(AppError::Forbidden.into());
    };
    let m = state.store.market();
    let signups = m.signups_of(partner_id).await?;
    // Each seated place's ticket as a QR, shown at the door.
    let qr: std::collections::BTreeMap<String, String> = signups
        .iter()
        .filter(|s| s.status == "signed")
        .filter_map(|s| {
            let text = format!("MBT1:{}", s.ticket);
            moralbank_code::CodeQr::new(&text)
                .ok()
                .map(|q| (text, q.to_svg(4)))
        })
        .collect();
    let view = context! {
        enterprise => m.enterprise(partner_id).await?,
        demands => m.demands_of(partner_id).await?,
        introductions => m.introductions_of(&me).await?,
        signups, qr,
        events => m.events().await?,
        consultations => m.consultations_of(&me).await?,
        contracts => m.contracts(Some(partner_id)).await?,
        now => state.clock.now_ms(),
        codes => code_names(&ctx),
    };
    Ok(page(
        &state,
        &ctx,
        "market_enterprise.html",
        view,
        StatusCode::OK,
    )?)
}

async fn new_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let me = enterprise(state, ctx).await?;
    let Party::Enterprise { partner_id, .. } = &me else {
        return Err(AppError::Forbidden);
    };
    let view = context! {
        enterprise => state.store.market().enterprise(partner_id).await?,
        industries => domain::market::codes::INDUSTRIES.iter().map(|c| context! { code => c.code, zh => c.zh, en => c.en }).collect::<Vec<_>>(),
        bands => BANDS, form, errors => field_messages(state, ctx, errors),
        form_token => moralbank_store::vault::random_token(),
    };
    page(state, ctx, "market_demand_new.html", view, status)
}

async fn new_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(new_view(&state, &ctx, &Pairs::default(), &[], StatusCode::OK).await?)
}

/// Publish a demand; the form's one-time token makes a second sending the same demand.
async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let me = enterprise(&state, &ctx).await?;
        ctx.check_csrf(&f.one("csrf"))?;
        let now = state.clock.now_ms();
        let form = DemandForm::parse(
            &f.one("title"),
            &f.one("summary"),
            &f.one("detail"),
            (&f.one("industry"), &f.one("budget"), &f.one("deadline")),
            domain::time::cst_day(now),
        )
        .map_err(AppError::Invalid)?;
        let token = f.one("form_token");
        let token = (!token.is_empty() && token.len() <= 64).then_some(token);
        let d = state
            .store
            .market()
            .publish_demand(&me, &form, token.as_deref(), now)
            .await?;
        Ok(Redirect::to(&format!("/console/market/demands/{}", d.id)).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        new_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

pub(crate) async fn demand_view(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let me = enterprise_or_office(state, ctx).await?;
    let m = state.store.market();
    let (d, detail) = m.demand_for(id, &me).await?;
    let mine =
        matches!(&me, Party::Enterprise { partner_id, .. } if *partner_id == d.enterprise_id);
    if !mine && !matches!(me, Party::Broker { .. }) {
        return Err(AppError::NotFound("demand"));
    }
    let experts = matches(state, &d, Kind::Expert).await?;
    let achievements = matches(state, &d, Kind::Achievement).await?;
    let people = m
        .experts_by_ids(&experts.iter().map(|x| x.id.clone()).collect::<Vec<_>>())
        .await?;
    let works = m
        .achievements_by_ids(
            &achievements
                .iter()
                .map(|x| x.id.clone())
                .collect::<Vec<_>>(),
        )
        .await?;
    let intros = m.introductions_for_demand(&d.id).await?;
    let asked: Vec<String> = intros
        .iter()
        .map(|i| format!("{}:{}", i.target_kind, i.target_id))
        .collect();
    let pins: Vec<String> = m
        .pins(&d.id)
        .await?
        .into_iter()
        .map(|p| format!("{}:{}", p.target_kind, p.target_id))
        .collect();
    let expert_rows: Vec<_> = experts
        .iter()
        .filter_map(|x| {
            people
                .iter()
                .find(|p| p.id == x.id)
                .map(|p| context! { m => x, p })
        })
        .collect();
    let work_rows: Vec<_> = achievements
        .iter()
        .filter_map(|x| {
            works
                .iter()
                .find(|a| a.id == x.id)
                .map(|a| context! { m => x, a })
        })
        .collect();
    let view = context! {
        d, detail, mine, office => matches!(me, Party::Broker { .. }), experts => expert_rows, achievements => work_rows,
        introductions => intros, asked, pins, events => m.events().await?, codes => code_names(ctx),
        history => if mine || matches!(me, Party::Broker { .. }) { m.history(&d.id).await? } else { Vec::new() },
        form, errors => field_messages(state, ctx, errors),
    };
    page(state, ctx, "market_demand.html", view, status)
}

async fn demand_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    enterprise_or_office(&state, &ctx).await?;
    let id = id_of("demand", &id)?;
    Ok(demand_view(&state, &ctx, &id, &Pairs::default(), &[], StatusCode::OK).await?)
}

/// The enterprise asks for an introduction to one of its demand's matches.
async fn ask(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let me = enterprise(&state, &ctx).await?;
    let id = id_of("demand", &id)?;
    let f = Pairs(pairs);
    let attempt = async {
        ctx.check_csrf(&f.one("csrf"))?;
        let parse = |field: &'static str, raw: &str| {
            domain::parse_id(field, raw).map_err(|e| AppError::Invalid(e.into()))
        };
        let event = f.one("event_id");
        let ask = Ask {
            demand_id: id.clone(),
            target_kind: f.one("target_kind"),
            target_id: parse("target_id", &f.one("target_id"))?,
            message: f.one("message"),
            event_id: if event.is_empty() {
                None
            } else {
                Some(parse("event_id", &event)?)
            },
        };
        let i = state
            .store
            .market()
            .ask(&me, &ask, state.clock.now_ms())
            .await?;
        Ok(Redirect::to(&format!(
            "/console/market/demands/{id}?asked={}#introductions",
            i.id
        ))
        .into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        demand_view(&state, &ctx, &id, &f, &errors, status).await
    })
    .await?)
}

/// `close` (the enterprise or the office), and the office's `pin` / `unpin` of a match.
async fn demand_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, step)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let me = enterprise_or_office(&state, &ctx).await?;
    let id = id_of("demand", &id)?;
    let f = Pairs(pairs);
    let attempt = async {
        ctx.check_csrf(&f.one("csrf"))?;
        let m = state.store.market();
        let now = state.clock.now_ms();
        match (step.as_str(), &me) {
            ("close", _) => {
                m.close_demand(&id, &me, now).await?;
                Ok(Redirect::to(&format!("/console/market/demands/{id}")).into_response())
            }
            ("pin" | "unpin", Party::Broker { staff_id, .. }) => {
                require(&ctx.principal, Action::RunMarket)?;
                let target = domain::parse_id("target_id", &f.one("target_id"))
                    .map_err(|e| AppError::Invalid(e.into()))?;
                m.pin(
                    &id,
                    &f.one("target_kind"),
                    &target,
                    step == "pin",
                    staff_id,
                    now,
                )
                .await?;
                Ok(Redirect::to(&format!("/console/market/demands/{id}#matches")).into_response())
            }
            ("pin" | "unpin", _) => Err(AppError::Forbidden),
            _ => Err(AppError::NotFound("step")),
        }
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        demand_view(&state, &ctx, &id, &f, &errors, status).await
    })
    .await?)
}

pub(crate) async fn intro_view(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let me = enterprise_or_office(state, ctx).await?;
    let m = state.store.market();
    let (i, side) = m.introduction_for(id, &me).await?;
    let now = state.clock.now_ms();
    // Contacts only once accepted; this showing is logged before it is rendered.
    let contacts = if i.status.reveals_contacts() {
        Some(m.contacts(id, &me, &label(&me), now).await?)
    } else {
        None
    };
    let (demand, detail) = m.demand_for(&i.demand_id, &me).await?;
    let view = context! {
        i, side => side.map(|s| format!("{s:?}").to_lowercase()), contacts, demand, detail,
        office => matches!(me, Party::Broker { .. }), reasons => DECLINE_REASONS, contract_types => CONTRACT_TYPES,
        bands => &BANDS[..5], contract => m.contract_of_introduction(id).await?,
        reveals => if matches!(me, Party::Broker { .. }) { m.reveals(id).await? } else { Vec::new() },
        errors => field_messages(state, ctx, errors), today => domain::time::day_of(now),
    };
    page(state, ctx, "market_intro.html", view, status)
}

async fn intro_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    enterprise_or_office(&state, &ctx).await?;
    let id = id_of("introduction", &id)?;
    Ok(intro_view(&state, &ctx, &id, &[], StatusCode::OK).await?)
}

/// `accept`, `decline` (with a reason), `withdraw`, or `contract` (record the contract).
async fn intro_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, step)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    enterprise_or_office(&state, &ctx).await?;
    let id = id_of("introduction", &id)?;
    let f = Pairs(pairs);
    let attempt = async {
        let me = enterprise_or_office(&state, &ctx).await?;
        ctx.check_csrf(&f.one("csrf"))?;
        let m = state.store.market();
        let now = state.clock.now_ms();
        let step = match step.as_str() {
            "accept" => IntroStep::Accept,
            "decline" => IntroStep::Decline,
            "withdraw" => IntroStep::Withdraw,
            "contract" => {
                m.record_contract(
                    &me,
                    &id,
                    &f.one("kind"),
                    &f.one("amount_band"),
                    &f.one("signed_on"),
                    now,
                )
                .await?;
                return Ok(
                    Redirect::to(&format!("/console/market/introductions/{id}#contract"))
                        .into_response(),
                );
            }
            _ => return Err(AppError::NotFound("step")),
        };
        let reason = f.one("reason");
        m.answer(&id, &me, step, Some(reason.as_str()), now).await?;
        Ok(Redirect::to(&format!("/console/market/introductions/{id}")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        intro_view(&state, &ctx, &id, &errors, status).await
    })
    .await?)
}

/// `signup` or `cancel` a session's place.
async fn session_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, step)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let me = enterprise(&state, &ctx).await?;
    let id = id_of("session", &id)?;
    let f = Pairs(pairs);
    ctx.check_csrf(&f.one("csrf"))?;
    let m = state.store.market();
    let now = state.clock.now_ms();
    match step.as_str() {
        "signup" => {
            m.sign_up(&me, &id, now).await?;
        }
        "cancel" => m.cancel_signup(&me, &id, now).await?,
        _ => return Err(AppError::NotFound("step").into()),
    }
    Ok(Redirect::to("/console/market#events").into_response())
}

/// A cooperative confirms (`confirm`) or refuses (`refuse`) a free consultation.
async fn consultation_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, step)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let me = enterprise(&state, &ctx).await?;
    let id = id_of("consultation", &id)?;
    let f = Pairs(pairs);
    ctx.check_csrf(&f.one("csrf"))?;
    let confirm = match step.as_str() {
        "confirm" => true,
        "refuse" => false,
        _ => return Err(AppError::NotFound("step").into()),
    };
    state
        .store
        .market()
        .decide_consultation(&id, &me, confirm, &state.rules, state.clock.now_ms())
        .await?;
    Ok(Redirect::to("/console/market#consultations").into_response())
}
