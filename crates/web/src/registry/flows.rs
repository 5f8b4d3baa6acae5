//! The registry's use cases, shared by its pages and its API: parsing an enrolment, enrolling,
//! and the staff's scoped citizen searches and reads, each written to the access log.

use crate::auth::{limit_key, Principal};
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::AppState;
use domain::{FieldError, FieldErrors, PersonName, Phone, ResidentId};
use moralbank_store::{Actor, CitizenQuery, CitizenSummary, Enrolled, HouseholdChoice, NewCitizen};
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

/// Enrol, within the per-client enrolment rate limit.
pub(crate) async fn enrol(
    state: &AppState,
    client: &str,
    new: &NewCitizen,
) -> Result<Enrolled, AppError> {
    state.limiter.check(&[limit_key("enrol-ip", client)])?;
    let enrolled = state.store.registry().enrol(new).await?;
    tracing::info!(citizen = %enrolled.citizen_id, "resident enrolled");
    Ok(enrolled)
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
