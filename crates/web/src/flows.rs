//! The use cases that pages and the API share: parsing a submission into domain values, the
//! sign-in flows with their rate limits, and reading citizens within the caller's scope with
//! the access-log entry every such read leaves. Handlers only translate between these and
//! HTML or JSON.

use crate::auth::{limit_key, Principal};
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::AppState;
use domain::{
    FieldError, FieldErrors, OtpCode, Password, PersonName, Phone, ResidentId, Role, Username,
};
use moralbank_store::{
    Actor, CitizenQuery, CitizenSummary, Enrolled, HouseholdChoice, NewCitizen, NewStaff, Session,
    Staff, SubjectKind,
};
use serde::Deserialize;

/// Results one search returns at most.
pub const SEARCH_RESULTS_MAX: i64 = 20;

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

fn staff_actor(principal: &Principal) -> Result<Actor, AppError> {
    let s = principal.staff().ok_or(AppError::Unauthorized)?;
    Ok(Actor {
        kind: "staff",
        id: s.id.clone(),
        label: format!("{} ({})", s.display_name, s.role.as_str()),
    })
}

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

pub(crate) fn parse_new_staff(
    username: &str,
    display: &str,
    password: &str,
    role: &str,
    region: &str,
    partner: &str,
) -> Result<NewStaff, FieldErrors> {
    let mut errors = FieldErrors::default();
    let opt_id = |field: &'static str, s: &str, errors: &mut FieldErrors| {
        if s.trim().is_empty() {
            None
        } else {
            errors.take(domain::parse_id(field, s))
        }
    };
    let username = errors.take(Username::parse(username));
    let password = errors.take(Password::parse(password));
    let role = errors.take(Role::parse(role));
    let region_id = opt_id("region_id", region, &mut errors);
    let partner_id = opt_id("partner_id", partner, &mut errors);
    match (username, password, role) {
        (Some(username), Some(password), Some(role)) if errors.is_empty() => Ok(NewStaff {
            username,
            display_name: display.to_string(),
            password,
            role,
            region_id,
            partner_id,
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
    let enrolled = state.store.enrol(new).await?;
    tracing::info!(citizen = %enrolled.citizen_id, "resident enrolled");
    Ok(enrolled)
}

fn sign_in_limits(client: &str, phone: &Phone) -> [String; 2] {
    [
        limit_key("login-ip", client),
        limit_key("login-phone", phone.as_str()),
    ]
}

/// Send a sign-in code if the phone is enrolled. The caller answers the same either way; the
/// code comes back only so that demo mode can show it.
pub(crate) async fn request_code(
    state: &AppState,
    client: &str,
    phone: &Phone,
) -> Result<Option<OtpCode>, AppError> {
    state.limiter.check(&sign_in_limits(client, phone))?;
    if state.store.citizen_id_by_phone(phone).await?.is_none() {
        return Ok(None);
    }
    let issued = state.store.issue_otp(phone).await?;
    state
        .sender
        .send(phone, &issued.code)
        .map_err(|e| AppError::Internal(format!("code sender: {e}")))?;
    Ok(Some(issued.code))
}

/// Exchange a phone and its code for a resident session (token and session).
pub(crate) async fn sign_in_citizen(
    state: &AppState,
    client: &str,
    phone: &Phone,
    code: &OtpCode,
) -> Result<(String, Session), AppError> {
    state.limiter.check(&sign_in_limits(client, phone))?;
    state.store.verify_otp(phone, code).await?;
    // The resident may have withdrawn between sending and using the code.
    let cid = state
        .store
        .citizen_id_by_phone(phone)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "code",
                "otp_expired",
                "no valid code for this phone; request a new one",
            )
        })?;
    Ok(state
        .store
        .create_session(SubjectKind::Citizen, &cid, session_ttl_ms(state))
        .await?)
}

/// Check a staff password; `None` when the username or password is wrong.
pub(crate) async fn sign_in_staff(
    state: &AppState,
    client: &str,
    username: &str,
    password: &str,
) -> Result<Option<(String, Session, Staff)>, AppError> {
    state.limiter.check(&[
        limit_key("staff-ip", client),
        limit_key("staff-user", &username.to_ascii_lowercase()),
    ])?;
    if password.len() > domain::PASSWORD_BYTES_MAX {
        return Err(AppError::invalid(
            "password",
            "password_too_long",
            "must be at most 256 bytes",
        ));
    }
    let Some(staff) = state.store.staff_login(username, password).await? else {
        return Ok(None);
    };
    tracing::info!(staff = %staff.id, role = staff.role.as_str(), "staff signed in");
    let (token, session) = state
        .store
        .create_session(SubjectKind::Staff, &staff.id, session_ttl_ms(state))
        .await?;
    Ok(Some((token, session, staff)))
}

fn session_ttl_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.session_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX)
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
        .search_citizens(q, &scope, SEARCH_RESULTS_MAX)
        .await?;
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    state
        .store
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
    if !state.store.citizen_in_scope(&id, &scope).await? {
        return Err(AppError::NotFound("citizen"));
    }
    let summary = state
        .store
        .citizen_summary(&id)
        .await?
        .ok_or(AppError::NotFound("citizen"))?;
    let full_name = match authz::sees_full_names(principal) {
        true => state
            .store
            .citizen(&id)
            .await?
            .map(|c| c.name.as_str().to_string()),
        false => None,
    };
    state
        .store
        .record_access(&[&id], &staff_actor(principal)?, "view")
        .await?;
    Ok(CitizenView { summary, full_name })
}
