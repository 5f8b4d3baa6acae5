//! The moral code and what it opens (store: `code`): the issuer's keys, the resident's code
//! page and printable card, redemption over the API ([`issue`]); the partner's scanner page
//! ([`scanner`]); scenes and benefits ([`benefits`], the admin's page in [`benefits_admin`]); green cards ([`green_cards`]).

pub mod benefits;
pub(crate) mod benefits_admin;
pub mod green_cards;
pub(crate) mod issue;
pub(crate) mod scanner;

pub use crate::CodeIssuer;
pub use issue::ROUTES;
