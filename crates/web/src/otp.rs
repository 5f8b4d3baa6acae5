//! One-time codes on the web: their delivery (production plugs in an SMS gateway; development
//! and the demo use [`DevSender`], which hands the code to the page, demo mode only), sending
//! one for signing in or enrolling, and logging a refused attempt without personal data.
//!
//! Every well-formed phone that asks is sent a code, enrolled or not: the answer and the work
//! must not tell a caller whether a phone is enrolled. What the message says may differ by
//! `purpose` (a gateway picks its approved template by it); it reaches only the phone's holder.

use crate::auth::limit_key;
use crate::error::AppError;
use crate::AppState;
use domain::{OtpCode, OtpPurpose, Phone};

pub trait OtpSender: Send + Sync + 'static {
    /// Deliver `code` to `phone`. The error text is logged, so it must not contain either.
    fn send(&self, phone: &Phone, code: &OtpCode, purpose: OtpPurpose) -> Result<(), String>;
}

/// Sends nothing anywhere: it records that a code was issued (without the code or phone) and
/// relies on demo mode to show the code on the page.
#[derive(Debug, Default)]
pub struct DevSender;

impl OtpSender for DevSender {
    fn send(&self, _phone: &Phone, _code: &OtpCode, purpose: OtpPurpose) -> Result<(), String> {
        tracing::info!(target: "moralbank::dev_sender", purpose = purpose.as_str(), "one-time code issued (development sender: shown on the page in demo mode)");
        Ok(())
    }
}

/// The in-memory attempt limits of one phone from one client (the store's per-phone send
/// limits come on top).
pub(crate) fn phone_limits(client: &str, phone: &Phone) -> [String; 2] {
    [
        limit_key("login-ip", client),
        limit_key("login-phone", phone.as_str()),
    ]
}

/// Send a code for `purpose` to any well-formed phone: enrolled or not, the same limits count,
/// the same code record is written and the sender is called, so neither the answer nor its
/// timing tells the caller whether the phone is enrolled. (A sign-in code of a phone that is
/// not enrolled proves the phone, then answers `phone_not_enrolled`: to its holder only.) The code
/// comes back only so that demo mode can show it.
pub(crate) async fn send_code(
    state: &AppState,
    client: &str,
    phone: &Phone,
    purpose: OtpPurpose,
) -> Result<OtpCode, AppError> {
    let result = async {
        state.limiter.check(&phone_limits(client, phone))?;
        let issued = state.store.accounts().issue_otp(phone, purpose).await?;
        // A gateway's adapter may take seconds: off the request threads.
        let (sender, to, code) = (state.sender.clone(), phone.clone(), issued.code.clone());
        tokio::task::spawn_blocking(move || sender.send(&to, &code, purpose))
            .await
            .map_err(|e| AppError::Internal(format!("code sender: {e}")))?
            .map_err(|e| AppError::Internal(format!("code sender: {e}")))?;
        Ok(issued.code)
    }
    .await;
    if let Err(e) = &result {
        log_refused("code refused", "phone", phone.as_str(), e);
    }
    result
}

/// Log a refused sign-in (or code, or enrolment) without personal data: what was refused, the
/// reason (an error code), and a short tag that ties repeated attempts on one account together
/// in this process's log but cannot be turned back into the phone or username (a hash under a
/// key made at start and never stored). Internal errors are logged where they are rendered.
pub(crate) fn log_refused(
    what: &'static str,
    account_kind: &'static str,
    account: &str,
    e: &AppError,
) {
    let reason = match e {
        AppError::Invalid(errors) => errors.0.first().map_or("invalid", |f| f.code),
        AppError::Conflict(f) => f.code,
        other => other.slug(),
    };
    if !matches!(e, AppError::Internal(_)) {
        tracing::info!(target: "moralbank::auth", account = account_kind, reason, tag = %log_tag(account), "{what}");
    }
}

fn log_tag(value: &str) -> String {
    use sha2::Digest;
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
        k
    });
    let digest = sha2::Sha256::new()
        .chain_update(key)
        .chain_update(value.as_bytes())
        .finalize();
    hex::encode(&digest[..4])
}
