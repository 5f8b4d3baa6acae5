//! The accounts' use cases, shared by their pages and their API: sign-in codes with their
//! limits, residents' and staff's sign-in, and parsing a new staff account.

use crate::auth::limit_key;
use crate::error::AppError;
use crate::AppState;
use domain::{FieldErrors, OtpCode, Password, Phone, Role, Username};
use moralbank_store::{NewStaff, Session, Staff, SubjectKind};

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
    if state
        .store
        .registry()
        .citizen_id_by_phone(phone)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let issued = state.store.accounts().issue_otp(phone).await?;
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
    state.store.accounts().verify_otp(phone, code).await?;
    // The resident may have withdrawn between sending and using the code.
    let cid = state
        .store
        .registry()
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
        .accounts()
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
    if password.chars().count() > domain::PASSWORD_CHARS_MAX {
        return Err(AppError::invalid(
            "password",
            "password_too_long",
            "must be at most 256 characters",
        ));
    }
    let Some(staff) = state
        .store
        .accounts()
        .staff_login(username, password)
        .await?
    else {
        return Ok(None);
    };
    tracing::info!(staff = %staff.id, role = staff.role.as_str(), "staff signed in");
    let (token, session) = state
        .store
        .accounts()
        .create_session(SubjectKind::Staff, &staff.id, session_ttl_ms(state))
        .await?;
    Ok(Some((token, session, staff)))
}

fn session_ttl_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.session_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX)
}
