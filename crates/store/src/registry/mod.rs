//! The registry: the region tree (city → town → village), households, citizens with their sealed
//! personal data and consents, household invites, export and withdrawal, and the access log that
//! tells a resident every read of their record.

pub(crate) mod access;
pub(crate) mod citizens;
mod enrolment;
pub mod identity;
mod regions;

pub use access::{AccessEntry, Actor};
pub use citizens::{
    Citizen, CitizenQuery, CitizenSummary, Consent, Enrolled, HouseholdChoice, HouseholdMember,
    NewCitizen, Scope,
};
pub use enrolment::PhoneProof;
pub use identity::Identity;
pub use regions::{NewRegion, Region};

crate::facet!(Registry, registry, "The registry's part of the store (`store.registry()`): regions, households, citizens, consents, export, withdrawal and the access log.");
