//! The technology supermarket (科技超市): enterprises' demands, the expert pool, achievements,
//! introductions with double opt-in, matchmaking events and contracts.

pub mod codes;
mod rules;
pub mod search;

pub use rules::*;
