//! The real-name step's pluggable part: an official real-name service (for example a carrier's
//! check that the proven phone is registered to this name and ID number, or the national
//! identity platform) that may confirm a new resident without a visit to the village office.
//! Without one ([`NoVerifier`], the default) every new resident is confirmed in person, by a
//! clerk of their village who sees the ID card (`registry::flows::confirm_identity`).
//!
//! The verifier is asked once, right after an enrolment is committed, for every enrolment
//! alike; its answer is never shown to the caller (the resident sees their status on their
//! own page), so it cannot tell a caller anything about other records.

use domain::{PersonName, Phone, ResidentId};

/// What a real-name service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealNameAnswer {
    /// The service vouches that the holder of `phone` is the person with this name and number.
    Confirmed,
    /// It does not (a mismatch, or a number it does not know): the village office decides.
    NotConfirmed,
}

pub trait RealNameVerifier: Send + Sync + 'static {
    /// A short name recorded with each confirmation it gives (`verifier:<name>`), e.g. `carrier`.
    fn name(&self) -> &str;

    /// Ask the service. Called on a blocking thread; may take a network round trip. The error
    /// text is logged, so it must not contain the name, number or phone.
    fn verify(
        &self,
        name: &PersonName,
        resident_id: &ResidentId,
        phone: &Phone,
    ) -> Result<RealNameAnswer, String>;
}

/// Confirms nobody: every resident is confirmed in person at the village office.
#[derive(Debug, Default)]
pub struct NoVerifier;

impl RealNameVerifier for NoVerifier {
    fn name(&self) -> &str {
        "none"
    }

    fn verify(&self, _: &PersonName, _: &ResidentId, _: &Phone) -> Result<RealNameAnswer, String> {
        Ok(RealNameAnswer::NotConfirmed)
    }
}
