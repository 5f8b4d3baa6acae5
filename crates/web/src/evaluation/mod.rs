//! Evaluation (公民道德评议; store: `evaluation`): the catalogue of standards, deeds reported,
//! nominated or submitted, the committee's votes, publicity and objections, appeals, the inbox.
//! Pages in [`pages`] (the admin's catalogue in [`standards_admin`]), the JSON API (with partners' CSV) in [`api`], what both share in
//! [`flows`]; evidence files (checked by their bytes, sealed, swept when unreferenced) in
//! [`evidence`].

pub mod api;
pub mod evidence;
pub(crate) mod flows;
pub(crate) mod pages;
pub(crate) mod standards_admin;

pub use api::ROUTES;
