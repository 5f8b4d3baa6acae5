//! The registry (store: `registry`): enrolment, the resident's own record, access log, export
//! and withdrawal; the staff console's citizens and regions. Pages in [`pages`] (the
//! resident's own in [`home`]), the JSON API in [`api`], what both share in [`flows`].

pub(crate) mod api;
pub(crate) mod flows;
pub(crate) mod home;
pub(crate) mod pages;
