//! The registry's use cases, shared by its pages and its API: parsing an enrolment, enrolling in
//! two steps (a code proves the phone first), the real-name step (a clerk's confirmation in
//! person, a plugged-in real-name service), and the staff's scoped citizen searches and reads,
//! each written to the access log.

use crate::auth::{limit_key, Principal};
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::AppState;
use crate::RealNameAnswer;
use domain::{FieldError, FieldErrors, OtpCode, OtpPurpose, PersonName, Phone, ResidentId};
use moralbank_store::{
    Actor, CitizenQuery, CitizenSummary, Enrolled, HouseholdChoice, Identity, NewCitizen,
};
use serde::Deserialize;

/// Parse an enrolment from raw fields, collecting every field error at once.
pub(crate) fn parse_enrolment(
    name: &str,
    resident_id: &str,
    phone: &str,
    village_id: &str,
    household: &str,
    invite: &str,
    consent: &str,
) -> Result<NewCitizen, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = errors.take(PersonName::parse(name));
    let rid = errors.take(ResidentId::parse(resident_id));
    let phone = errors.take(Phone::parse(phone));
    let village = errors.take(match village_id.trim() {
        "" => Err(FieldError::new(
            "village_id",
            "village_missing",
            "choose your village or community",
        )),
        // Not even an id: no village has it, which is what the store says of unknown ids too.
        raw => domain::parse_id("village_id", raw).map_err(|_| {
            FieldError::new(
                "village_id",
                "unknown_village",
                "is not a village or community we know",
            )
        }),
    });
    let household = match household {
        "new" | "" => Some(HouseholdChoice::New),
        "join" => Some(HouseholdChoice::Join {
            invite_code: invite.chars().take(32).collect(),
        }),
        _ => {
            errors.push(FieldError::new(
                "household",
                "household_choice",
                "choose a new household or joining one",
            ));
            None
        }
    };
    let consent = errors.take(domain::ConsentVersion::parse_current(
        consent,
        domain::ENROLMENT_CONSENT_VERSION,
    ));
    match (name, rid, phone, village, household, consent) {
        (
            Some(name),
            Some(resident_id),
            Some(phone),
            Some(village_id),
            Some(household),
            Some(consent),
        ) if errors.is_empty() => Ok(NewCitizen {
            name,
            resident_id,
            phone,
            village_id,
            household,
            consent,
        }),
        _ => Err(errors),
    }
}

/// Enrolment, step 1: what the database can say without telling who is enrolled (the village
/// exists, the household invite is valid), then a code to the phone. The same answer, and the
/// same work, for any phone and any ID number: nothing here looks either up. Returns the code
/// for demo mode only.
pub(crate) async fn send_enrolment_code(
    state: &AppState,
    client: &str,
    new: &NewCitizen,
) -> Result<OtpCode, AppError> {
    state.limiter.check(&[limit_key("enrol-ip", client)])?;
    state.store.registry().check_enrolment(new).await?;
    crate::otp::send_code(state, client, &new.phone, OtpPurpose::Enrol).await
}

/// Enrolment, step 2: the code proves the phone, then the resident is enrolled, unconfirmed,
/// and the real-name service (if the city plugged one in) is asked about them. An ID number
/// another record carries is enrolled just the same (the village office resolves it when it
/// sees the ID card); only the phone's proven holder is told that the phone is enrolled already.
pub(crate) async fn enrol(
    state: &AppState,
    client: &str,
    new: &NewCitizen,
    code: &OtpCode,
) -> Result<Enrolled, AppError> {
    let result = async {
        state.limiter.check(&[limit_key("enrol-ip", client)])?;
        let proof = state
            .store
            .accounts()
            .verify_otp(&new.phone, code, OtpPurpose::Enrol)
            .await?;
        Ok(state.store.registry().enrol(new, &proof).await?)
    }
    .await;
    let enrolled = result.inspect_err(|e| {
        crate::otp::log_refused("enrolment refused", "phone", new.phone.as_str(), e);
    })?;
    tracing::info!(citizen = %enrolled.citizen_id, "resident enrolled");
    ask_real_name_service(state, &enrolled.citizen_id, new).await;
    Ok(enrolled)
}

/// Sign in the resident who has just enrolled: the enrolment's code proved their phone a moment
/// ago, so a second code (which the per-phone limits would hold back a minute) is not needed.
pub(crate) async fn session_for_new_resident(
    state: &AppState,
    citizen_id: &str,
) -> Result<(String, moralbank_store::Session), AppError> {
    let ttl_ms = i64::try_from(state.config.session_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(state
        .store
        .accounts()
        .create_session(moralbank_store::SubjectKind::Citizen, citizen_id, ttl_ms)
        .await?)
}

/// Ask the plugged-in real-name service about a new resident; its confirmation is recorded,
/// anything else leaves the record to the village office. Never fails the enrolment, and its
/// answer is not part of the enrolment's (the resident reads their status on their own page).
async fn ask_real_name_service(state: &AppState, citizen_id: &str, new: &NewCitizen) {
    let verifier = state.verifier.clone();
    let (name, rid, phone) = (new.name.clone(), new.resident_id.clone(), new.phone.clone());
    let answer = tokio::task::spawn_blocking(move || verifier.verify(&name, &rid, &phone)).await;
    let service = state.verifier.name();
    match answer {
        Ok(Ok(RealNameAnswer::Confirmed)) => {
            match state
                .store
                .registry()
                .confirm_identity_by_verifier(citizen_id, service)
                .await
            {
                Ok(true) => {
                    tracing::info!(citizen = %citizen_id, service, "identity confirmed by the real-name service");
                }
                Ok(false) => {
                    tracing::info!(citizen = %citizen_id, service, "real-name service confirmed a number confirmed elsewhere; left to the village office");
                }
                Err(e) => {
                    tracing::warn!(citizen = %citizen_id, error = %e, "recording a real-name confirmation failed")
                }
            }
        }
        Ok(Ok(RealNameAnswer::NotConfirmed)) => {}
        Ok(Err(e)) => {
            tracing::warn!(citizen = %citizen_id, service, error = %e, "real-name service failed; the village office confirms");
        }
        Err(_) => tracing::warn!(citizen = %citizen_id, service, "real-name service panicked"),
    }
}

/// A clerk of the resident's village office (the village's evaluator, or the admin) confirms
/// in person that the resident holds the ID card whose name and number they type in, having
/// seen it and compared its photo. Recorded on the record (who, when, `in_person`) and in the
/// resident's access log. Outside the caller's scope, like a missing resident: `404`.
pub(crate) async fn confirm_identity(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
    card: &IdCardSeen,
) -> Result<Identity, AppError> {
    require(principal, Action::ConfirmIdentity)?;
    let scope = authz::citizen_scope(principal).ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("citizen"))?;
    if !state.store.registry().citizen_in_scope(&id, &scope).await? {
        return Err(AppError::NotFound("citizen"));
    }
    let mut errors = FieldErrors::default();
    let name = errors.take(PersonName::parse(&card.name));
    let number = errors.take(ResidentId::parse(&card.resident_id));
    if !card.id_card_seen {
        errors.push(FieldError::new(
            "id_card_seen",
            "id_card_not_seen",
            "confirm only with the resident and their ID card in front of you",
        ));
    }
    let (Some(name), Some(number)) = (name, number) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let clerk = staff_actor(principal)?;
    let identity = state
        .store
        .registry()
        .confirm_identity_in_person(&id, &name, &number, &clerk)
        .await?;
    tracing::info!(citizen = %id, staff = %clerk.id, "identity confirmed in person");
    Ok(identity)
}

/// What the clerk typed from the ID card, and that they saw it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IdCardSeen {
    pub name: String,
    pub resident_id: String,
    pub id_card_seen: bool,
}

/// Results one search returns at most.
pub const SEARCH_RESULTS_MAX: i64 = 20;

#[derive(Deserialize, Default, serde::Serialize)]
pub struct SearchParams {
    #[serde(default)]
    pub resident_id: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub name: String,
}

pub(crate) fn parse_search(p: &SearchParams) -> Result<CitizenQuery, FieldErrors> {
    let mut errors = FieldErrors::default();
    let opt = |s: &str| {
        if s.trim().is_empty() {
            None
        } else {
            Some(s.to_string())
        }
    };
    let q = CitizenQuery {
        resident_id: opt(&p.resident_id).and_then(|s| errors.take(ResidentId::parse(&s))),
        phone: opt(&p.phone).and_then(|s| errors.take(Phone::parse(&s))),
        name: opt(&p.name).and_then(|s| errors.take(PersonName::parse(&s))),
        village_id: None,
    };
    errors.into_result().map(|_| q)
}

fn staff_actor(principal: &Principal) -> Result<Actor, AppError> {
    let s = principal.staff().ok_or(AppError::Unauthorized)?;
    Ok(Actor {
        kind: "staff",
        id: s.id.clone(),
        label: format!("{} ({})", s.display_name, s.role.as_str()),
    })
}

/// Find citizens inside the caller's scope; each one found gets a `search` entry in their
/// access log.
pub(crate) async fn search_citizens(
    state: &AppState,
    principal: &Principal,
    q: &CitizenQuery,
) -> Result<Vec<CitizenSummary>, AppError> {
    require(principal, Action::ReadCitizens)?;
    let scope = authz::citizen_scope(principal).ok_or(AppError::Forbidden)?;
    let found = state
        .store
        .registry()
        .search_citizens(q, &scope, SEARCH_RESULTS_MAX)
        .await?;
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    state
        .store
        .registry()
        .record_access(&ids, &staff_actor(principal)?, "search")
        .await?;
    Ok(found)
}

/// One citizen as staff see them: masked, with the full name for the admin only.
pub(crate) struct CitizenView {
    pub summary: CitizenSummary,
    pub full_name: Option<String>,
}

/// Read one citizen inside the caller's scope (outside it looks exactly like "no such
/// citizen") and leave a `view` entry in their access log.
pub(crate) async fn view_citizen(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<CitizenView, AppError> {
    require(principal, Action::ReadCitizens)?;
    let scope = authz::citizen_scope(principal).ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("citizen"))?;
    if !state.store.registry().citizen_in_scope(&id, &scope).await? {
        return Err(AppError::NotFound("citizen"));
    }
    let summary = state
        .store
        .registry()
        .citizen_summary(&id)
        .await?
        .ok_or(AppError::NotFound("citizen"))?;
    let full_name = match authz::sees_full_names(principal) {
        true => state
            .store
            .registry()
            .citizen(&id)
            .await?
            .map(|c| c.name.as_str().to_string()),
        false => None,
    };
    state
        .store
        .registry()
        .record_access(&[&id], &staff_actor(principal)?, "view")
        .await?;
    Ok(CitizenView { summary, full_name })
}

/// Everything held about a resident, for their export (the page's JSON download, its readable
/// page and `GET /api/v1/me/export`): the record, household, consents and access log (the
/// registry's part), and their points entries, deeds with every step, redemptions, green cards
/// and inbox. Format `moralbank-export-v2` (v1 had the registry's part only).
pub(crate) async fn full_export(state: &AppState, id: &str) -> Result<serde_json::Value, AppError> {
    let mut doc = state.store.registry().export_citizen(id).await?;
    // Every entry, page by page (newest first).
    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .store
            .ledger()
            .citizen_entries(id, before, crate::ledger::flows::ENTRIES_PAGE_MAX)
            .await?;
        let full = page.len() == crate::ledger::flows::ENTRIES_PAGE_MAX as usize;
        before = page.last().map(|e| e.index);
        entries.extend(page);
        if !full {
            break;
        }
    }
    let mut deeds = Vec::new();
    for d in state.store.evaluation().citizen_deeds(id, 10_000).await? {
        let events: Vec<_> = state
            .store
            .evaluation()
            .deed_detail(&d.id)
            .await?
            .map(|detail| detail.events)
            .unwrap_or_default()
            .into_iter()
            // Other residents stay unnamed, as on the deed's page: an objector or a nominator
            // is an act, not a person, in someone else's export.
            .map(|mut e| {
                if e.actor_kind == "citizen" && e.actor_id != id {
                    e.actor_id = String::new();
                }
                e
            })
            .collect();
        let mut deed = serde_json::to_value(&d).unwrap_or_default();
        if d.reporter_id != id && d.source != "partner" {
            deed["reporter_id"] = serde_json::Value::String(String::new());
        }
        // A deed they nominated someone else for: that person by masked name only.
        if d.citizen_id != id {
            deed["citizen_id"] = serde_json::Value::String(String::new());
            deed["household_id"] = serde_json::Value::String(String::new());
        }
        deeds.push(serde_json::json!({ "deed": deed, "events": events }));
    }
    let redemptions: Vec<_> = state
        .store
        .code()
        .citizen_redemptions(id, 100_000)
        .await?
        .into_iter()
        .map(|(at, benefit, partner, granted, reason)| {
            serde_json::json!({ "at": at, "benefit": benefit, "partner": partner, "granted": granted, "reason": reason })
        })
        .collect();
    if let Some(o) = doc.as_object_mut() {
        o.insert("format".into(), "moralbank-export-v2".into());
        o.insert(
            "points_entries".into(),
            serde_json::to_value(entries).unwrap_or_default(),
        );
        o.insert("deeds".into(), deeds.into());
        o.insert("redemptions".into(), redemptions.into());
        o.insert(
            "green_cards".into(),
            serde_json::to_value(state.store.code().citizen_green_cards(id).await?)
                .unwrap_or_default(),
        );
        o.insert("credit".into(), credit_export(state, id).await?);
        o.insert(
            "inbox".into(),
            serde_json::to_value(
                state
                    .store
                    .evaluation()
                    .inbox("citizen", id, 100_000)
                    .await?,
            )
            .unwrap_or_default(),
        );
    }
    Ok(doc)
}

/// The household's credit consents (other members named by nothing), the reports issued under
/// them (their signed text) and the banks' decisions.
async fn credit_export(state: &AppState, id: &str) -> Result<serde_json::Value, AppError> {
    let Some(me) = state.store.registry().citizen_summary(id).await? else {
        return Ok(serde_json::Value::Null);
    };
    let now = state.clock.now_ms();
    let credit = state.store.credit();
    let mut consents = Vec::new();
    for mut c in credit.household_consents(&me.household_id, now).await? {
        let report = credit.report_of_consent(&c.id).await?;
        let mine = c.authorised_by.iter().any(|a| a == id);
        let others = c.authorised_by.len() - usize::from(mine);
        c.authorised_by.clear();
        consents.push(serde_json::json!({
            "consent": c, "i_authorised": mine, "others_authorised": others,
            "report": report.map(|r| serde_json::json!({ "id": r.id, "issued_at": r.issued_at, "text": r.body })),
        }));
    }
    Ok(serde_json::json!({
        "consents": consents,
        "decisions": credit.household_decisions(&me.household_id).await?,
    }))
}

/// A staff member's read of one resident's record, in the resident's access log (`view`).
pub(crate) async fn record_view(
    state: &AppState,
    principal: &Principal,
    citizen_id: &str,
) -> Result<(), AppError> {
    state
        .store
        .registry()
        .record_access(&[citizen_id], &staff_actor(principal)?, "view")
        .await?;
    Ok(())
}
