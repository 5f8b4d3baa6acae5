//! City data (城市大数据): imports of partner records, all or nothing, with a problem per bad
//! cell ([`imports`]); the open-data tables with small cells suppressed ([`open`]); the staff dashboard's roll-ups
//! ([`stats`]). The rules
//! that need no storage (schemas, cell checks, disclosure control) are `domain::citydata`'s.
//! Rows become records through their own room's rules (a deed through `evaluation`), inside
//! the import's transaction; the open-data tables read other rooms' tables only to count.

pub mod imports;
pub mod open;
pub mod stats;

pub use imports::{Counts, Import, ImportOwner, Mode, RowResult, Upload, RESULTS_KEPT};

crate::facet!(CityData, citydata, "City data's part of the store (`store.citydata()`): imports of partner files and the open-data tables.");
