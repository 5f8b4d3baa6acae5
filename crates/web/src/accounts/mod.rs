//! Accounts (store: `accounts`): residents' and staff's sign-in, the staff console's landing
//! page ([`landing`]), staff accounts, partners and their API keys. Pages in [`pages`], the JSON
//! API in [`api`], what both share in [`flows`].

pub(crate) mod api;
pub(crate) mod flows;
pub(crate) mod landing;
pub(crate) mod pages;
