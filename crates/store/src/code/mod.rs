//! What the moral code opens: service scenes and their benefits ([`benefits`]), moral green
//! cards ([`green_cards`]), and redemptions by partners' scanners ([`redemptions`]).

pub mod benefits;
pub mod green_cards;
pub mod redemptions;

crate::facet!(Code, code, "The moral code's part of the store (`store.code()`): scenes, benefits, green cards, issued codes and redemptions.");
