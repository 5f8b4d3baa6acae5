//! City data (城市大数据): the rules of imports and open data that need no storage.
//!
//! * [`schema`]: a kind of file as a versioned schema (columns with Chinese header aliases,
//!   types, required, uniqueness, limits), how a file's header row maps onto it, and the schema
//!   as a Frictionless Table Schema.
//! * [`cell`]: a spreadsheet cell as it was read, checked against its column, with the Excel
//!   traps (an ID number stored as a number, serial dates, formulas) refused by their own codes;
//!   a [`Problem`] names the row, the column, the cell (`C17`) and masks personal values.
//! * [`rows`]: every row of a file checked at once (never stopping at the first error), with
//!   duplicate rows and values that must be unique in the file.
//! * [`kinds`]: the kinds of file the city takes (partner deeds first).
//! * [`disclosure`]: small-cell suppression for open data, primary and secondary, and the
//!   check that no suppressed cell can be recovered from the published ones ([`flow`]).

pub mod cell;
pub mod disclosure;
pub mod flow;
pub mod kinds;
pub mod rows;
pub mod schema;

pub use cell::{cell_ref, column_letters, Cell, Problem};
pub use schema::{Column, ColumnType, HeaderMap, Lookup, Owner, Schema};
