//! Delivery of one-time sign-in codes. Production plugs in an SMS gateway; development and the
//! demo use [`DevSender`], which hands the code to the page (demo mode only) instead.

use domain::{OtpCode, Phone};

pub trait OtpSender: Send + Sync + 'static {
    /// Deliver `code` to `phone`. The error text is logged, so it must not contain either.
    fn send(&self, phone: &Phone, code: &OtpCode) -> Result<(), String>;
}

/// Sends nothing anywhere: it records that a code was issued (without the code or phone) and
/// relies on demo mode to show the code on the sign-in page.
#[derive(Debug, Default)]
pub struct DevSender;

impl OtpSender for DevSender {
    fn send(&self, _phone: &Phone, _code: &OtpCode) -> Result<(), String> {
        tracing::info!(target: "moralbank::dev_sender", "one-time code issued (development sender: shown on the page in demo mode)");
        Ok(())
    }
}
