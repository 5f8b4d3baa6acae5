//! The accounts' use cases, shared by their pages and their API: one-time codes with their
//! limits (for signing in and for enrolling), residents' and staff's sign-in with every refusal
//! logged without personal data, and parsing a new staff account.

use crate::auth::limit_key;
use crate::error::AppError;
use crate::otp::log_refused;
use crate::AppState;
use domain::{FieldErrors, OtpCode, OtpPurpose, Password, Phone, Role, Username};
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

/// Exchange a phone and its code for a resident session (token and session).
pub(crate) async fn sign_in_citizen(
    state: &AppState,
    client: &str,
    phone: &Phone,
    code: &OtpCode,
) -> Result<(String, Session), AppError> {
    let result = async {
        state
            .limiter
            .check(&crate::otp::phone_limits(client, phone))?;
        state
            .store
            .accounts()
            .verify_otp(phone, code, OtpPurpose::SignIn)
            .await?;
        // The code proved the phone: its holder may learn that it is not enrolled (or no
        // longer: the resident may have withdrawn since the code was sent).
        let cid = state
            .store
            .registry()
            .citizen_id_by_phone(phone)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "phone",
                    "phone_not_enrolled",
                    "this phone is not enrolled; enrol first",
                )
            })?;
        Ok(state
            .store
            .accounts()
            .create_session(SubjectKind::Citizen, &cid, session_ttl_ms(state))
            .await?)
    }
    .await;
    if let Err(e) = &result {
        log_refused("sign-in failed", "phone", phone.as_str(), e);
    }
    result
}

/// Check a staff password; `None` when the username or password is wrong.
pub(crate) async fn sign_in_staff(
    state: &AppState,
    client: &str,
    username: &str,
    password: &str,
) -> Result<Option<(String, Session, Staff)>, AppError> {
    if let Err(e) = state.limiter.check(&[
        limit_key("staff-ip", client),
        limit_key("staff-user", &username.to_ascii_lowercase()),
    ]) {
        log_refused(
            "sign-in failed",
            "staff",
            &username.to_ascii_lowercase(),
            &e,
        );
        return Err(e);
    }
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
        let refused = AppError::invalid("password", "login_failed", "wrong username or password");
        log_refused(
            "sign-in failed",
            "staff",
            &username.to_ascii_lowercase(),
            &refused,
        );
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
