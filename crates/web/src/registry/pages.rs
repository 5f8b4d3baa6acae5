//! The registry's pages: enrolment and the staff console's citizens and regions (the resident's
//! own pages are in [`super::home`]).

use super::flows::{self, SearchParams};
use crate::auth::{self, PageCtx};
use crate::authz::{self, require, Action};
use crate::error::Path;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, page, region_name, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::FieldError;
use minijinja::{context, Value};
use moralbank_store::NewRegion;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/enrol", get(enrol_form).post(enrol_submit))
        .route("/console/citizens", get(citizens).post(citizens_search))
        .route("/console/citizens/{id}", get(citizen))
        .route("/console/citizens/{id}/identity", post(citizen_identity))
        .route("/console/regions", get(regions).post(region_create))
}

// ---------- enrolment ----------
/// The enrolment form, in two steps on one page: the details (a code is sent to the phone),
/// then the code (the resident is enrolled and signed in). `step` is `code` on the second;
/// `edit` goes back to the details, `resend` sends a new code.
#[derive(Deserialize, Default, Serialize, Clone)]
#[serde(default)]
struct EnrolForm {
    csrf: String,
    name: String,
    resident_id: String,
    phone: String,
    village_id: String,
    household: String,
    household_invite: String,
    consent_version: String,
    step: String,
    #[serde(skip_serializing)]
    code: String,
    #[serde(skip_serializing)]
    edit: String,
    #[serde(skip_serializing)]
    resend: String,
}

/// One step of the enrolment form: `details` or `code` (with the code shown in demo mode).
struct EnrolStep<'a> {
    step: &'a str,
    demo_code: Option<String>,
}

async fn enrol_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &EnrolForm,
    errors: &[FieldError],
    status: StatusCode,
    at: EnrolStep<'_>,
) -> Page {
    let mut towns: Vec<(String, Vec<Value>)> = Vec::new();
    let mut village_name = String::new();
    for (village, town) in state.store.registry().villages().await? {
        if village.id == form.village_id {
            village_name = format!(
                "{} · {}",
                region_name(ctx, &town),
                region_name(ctx, &village)
            );
        }
        let item = context! { id => village.id, name => region_name(ctx, &village) };
        let town = region_name(ctx, &town);
        match towns.last_mut() {
            Some((t, items)) if *t == town => items.push(item),
            _ => towns.push((town, vec![item])),
        }
    }
    let towns: Vec<Value> = towns
        .into_iter()
        .map(|(t, v)| context! { name => t, villages => v })
        .collect();
    let view = context! {
        towns, form, village_name, step => at.step, demo_code => at.demo_code,
        errors => field_messages(state, ctx, errors), consent_version => domain::ENROLMENT_CONSENT_VERSION,
    };
    page(state, ctx, "enrol.html", view, status)
}

const DETAILS: EnrolStep<'static> = EnrolStep {
    step: "details",
    demo_code: None,
};

async fn enrol_form(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let form = EnrolForm {
        household: "new".into(),
        ..Default::default()
    };
    Ok(enrol_page(&state, &ctx, &form, &[], StatusCode::OK, DETAILS).await?)
}

async fn enrol_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<EnrolForm>,
) -> PageResult {
    let code_step = f.step == "code" && f.resend.is_empty();
    let form = EnrolForm {
        code: String::new(),
        edit: String::new(),
        resend: String::new(),
        ..f.clone()
    };
    let result: Page = async {
        ctx.check_csrf(&f.csrf)?;
        if !f.edit.is_empty() {
            return enrol_page(&state, &ctx, &form, &[], StatusCode::OK, DETAILS).await;
        }
        let new = flows::parse_enrolment(
            &f.name,
            &f.resident_id,
            &f.phone,
            &f.village_id,
            &f.household,
            &f.household_invite,
            &f.consent_version,
        )?;
        if !code_step {
            // The same page, and the same work, for any phone and any ID number.
            let sent = flows::send_enrolment_code(&state, &ctx.client, &new).await?;
            let at = EnrolStep {
                step: "code",
                demo_code: Some(sent)
                    .filter(|_| state.config.demo_mode)
                    .map(|c| c.as_str().to_string()),
            };
            let form = EnrolForm {
                step: "code".into(),
                ..form.clone()
            };
            return enrol_page(&state, &ctx, &form, &[], StatusCode::OK, at).await;
        }
        let code = domain::OtpCode::parse(&f.code)?;
        let enrolled = flows::enrol(&state, &ctx.client, &new, &code).await?;
        // The code has just proved the phone: the new resident is signed in at once.
        let (token, _) = flows::session_for_new_resident(&state, &enrolled.citizen_id).await?;
        let cookie = auth::session_cookie(
            token,
            state.config.cookie_secure,
            state.config.session_ttl_s,
        );
        let view = context! { phone_masked => new.phone.masked() };
        Ok((
            ctx.jar.clone().add(cookie),
            render(&state, &ctx, "enrolled.html", view)?,
        )
            .into_response())
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        // A wrong code keeps the code step; anything else goes back to the details.
        let on_code = code_step && errors.iter().all(|e| e.field == "code");
        let form = EnrolForm {
            step: if on_code { "code" } else { "details" }.into(),
            ..form.clone()
        };
        let at = EnrolStep {
            step: if on_code { "code" } else { "details" },
            demo_code: None,
        };
        enrol_page(&state, &ctx, &form, &errors, status, at).await
    })
    .await?)
}

// ---------- the console: citizens ----------
#[derive(Deserialize, Default)]
struct SearchForm {
    #[serde(default)]
    csrf: String,
    /// What the search picks a resident for (see [`Pick`]).
    #[serde(default)]
    pick: String,
    #[serde(flatten)]
    q: SearchParams,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PickQuery {
    pick: String,
}

/// A search that picks a resident for something, so that the admin (who sees masked data only)
/// never retypes an ID number: a green card, or a committee member's own resident record.
/// Honoured only for a caller who may do that thing.
fn pick(ctx: &PageCtx, raw: &str) -> Option<minijinja::Value> {
    if raw == "green-card" && authz::allowed(&ctx.principal, Action::ManageGreenCards) {
        return Some(context! { kind => "green-card", raw });
    }
    let staff = raw.strip_prefix("member:")?;
    domain::parse_id("pick", staff).ok()?;
    authz::allowed(&ctx.principal, Action::ManageStaff)
        .then(|| context! { kind => "member", staff, raw })
}

/// Without criteria: the most recent enrolments in the caller's scope (each read is logged).
async fn citizens(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<PickQuery>,
) -> PageResult {
    let pick = pick(&ctx, &q.pick);
    Ok(citizens_page(&state, &ctx, &SearchParams::default(), pick).await?)
}

/// Criteria travel in a POST body, never in the URL, so ID numbers and phones stay out of
/// browser history and proxy logs.
async fn citizens_search(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<SearchForm>,
) -> PageResult {
    require(&ctx.principal, Action::ReadCitizens)?;
    ctx.check_csrf(&f.csrf)?;
    let pick = pick(&ctx, &f.pick);
    Ok(citizens_page(&state, &ctx, &f.q, pick).await?)
}

async fn citizens_page(
    state: &AppState,
    ctx: &PageCtx,
    p: &SearchParams,
    pick: Option<minijinja::Value>,
) -> Page {
    require(&ctx.principal, Action::ReadCitizens)?;
    let searched = !(p.resident_id.is_empty() && p.phone.is_empty() && p.name.is_empty());
    let (results, errors) = match flows::parse_search(p) {
        Ok(q) => (
            flows::search_citizens(state, &ctx.principal, &q).await?,
            HashMap::new(),
        ),
        Err(e) => (vec![], field_messages(state, ctx, &e.0)),
    };
    let view = context! { q => p, results, errors, searched, pick };
    Ok(render(state, ctx, "citizens.html", view)?.into_response())
}

async fn citizen(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    Ok(citizen_page(
        &state,
        &ctx,
        &id,
        &IdentityForm::default(),
        &[],
        StatusCode::OK,
    )
    .await?)
}

/// What the clerk types from the ID card on a resident's page (the real-name step).
#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct IdentityForm {
    csrf: String,
    name: String,
    resident_id: String,
    /// A ticked box sends `yes`.
    id_card_seen: String,
}

async fn citizen_page(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    form: &IdentityForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let v = flows::view_citizen(state, &ctx.principal, id).await?;
    let members = state
        .store
        .registry()
        .household_members(&v.summary.household_id)
        .await?;
    // The admin also sees the citizen's ledger (a second access-log line: "ledger").
    let (entries, points) = if authz::allowed(&ctx.principal, Action::ReadCitizenLedger) {
        let entries =
            crate::ledger::flows::entries_for_staff(state, &ctx.principal, id, None, 50).await?;
        let points = state
            .store
            .ledger()
            .points(&v.summary.id, moralbank_store::now_ms())
            .await?;
        (Some(entries), Some(points))
    } else {
        (None, None)
    };
    // The real-name step, for the village office: how many other records carry the same ID
    // number (and how many of them are confirmed), never who they are.
    let confirm = if !v.summary.identity_confirmed
        && authz::allowed(&ctx.principal, Action::ConfirmIdentity)
    {
        let (others, confirmed) = state.store.registry().same_number_records(id).await?;
        Some(context! { others, confirmed })
    } else {
        None
    };
    // The village clerk asks for volunteer help for a resident of their village without a phone.
    let help_for = authz::allowed(&ctx.principal, Action::RequestHelpFor)
        && ctx.principal.staff().and_then(|s| s.region_id.as_deref())
            == Some(v.summary.village_id.as_str());
    let view = context! {
        c => v.summary, full_name => v.full_name, members, entries, points, confirm, form, help_for,
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "citizen.html", view)?).into_response())
}

/// The clerk confirms, with the resident and their ID card in front of them, that the record
/// is theirs: the name and number typed from the card must match it.
async fn citizen_identity(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<IdentityForm>,
) -> PageResult {
    let result: Page = async {
        require(&ctx.principal, Action::ConfirmIdentity)?;
        ctx.check_csrf(&f.csrf)?;
        let card = flows::IdCardSeen {
            name: f.name.clone(),
            resident_id: f.resident_id.clone(),
            id_card_seen: f.id_card_seen == "yes",
        };
        flows::confirm_identity(&state, &ctx.principal, &id, &card).await?;
        Ok(Redirect::to(&format!("/console/citizens/{id}")).into_response())
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        let form = IdentityForm {
            csrf: String::new(),
            ..f
        };
        citizen_page(&state, &ctx, &id, &form, &errors, status).await
    })
    .await?)
}

// ---------- the console: regions ----------
#[derive(Deserialize)]
struct RegionsQuery {
    town: Option<String>,
}

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct RegionForm {
    csrf: String,
    parent_id: String,
    code: String,
    name_zh: String,
    name_en: String,
}

async fn regions_page(
    state: &AppState,
    ctx: &PageCtx,
    town: Option<String>,
    form: RegionForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ViewRegions)?;
    let city = state.store.registry().city().await?;
    let towns = match &city {
        Some(c) => state.store.registry().region_children(&c.id).await?,
        None => vec![],
    };
    let selected = town.or_else(|| towns.first().map(|t| t.id.clone()));
    let villages = match &selected {
        Some(t) => state.store.registry().region_children(t).await?,
        None => vec![],
    };
    let view = context! {
        city, towns, villages, selected, form,
        can_edit => authz::allowed(&ctx.principal, Action::ManageRegions),
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "regions.html", view)?).into_response())
}

async fn regions(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<RegionsQuery>,
) -> PageResult {
    Ok(regions_page(
        &state,
        &ctx,
        q.town,
        RegionForm::default(),
        &[],
        StatusCode::OK,
    )
    .await?)
}

async fn region_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<RegionForm>,
) -> PageResult {
    let result: Page = async {
        require(&ctx.principal, Action::ManageRegions)?;
        ctx.check_csrf(&f.csrf)?;
        let parent_id = Some(f.parent_id.as_str())
            .filter(|p| !p.is_empty())
            .map(|p| domain::parse_id("parent_id", p))
            .transpose()?;
        let new = NewRegion {
            parent_id,
            code: f.code.clone(),
            name_zh: f.name_zh.clone(),
            name_en: f.name_en.clone(),
        };
        let r = state.store.registry().create_region(&new).await?;
        let town = if r.level == domain::RegionLevel::Village {
            r.parent_id.unwrap_or_default()
        } else {
            r.id
        };
        Ok(Redirect::to(&format!("/console/regions?town={town}")).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        let town = Some(f.parent_id.clone()).filter(|s| !s.is_empty());
        regions_page(&state, &ctx, town, f, &errors, status).await
    })
    .await;
    Ok(result?)
}
