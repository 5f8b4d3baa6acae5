//! `moralbank bench …`: each benchmark prints one JSON line with its figures and the baseline it
//! measured in the same run (docs/BENCHMARKS.md says how each was taken): the seeder and the
//! home page under load (`seed`, `http`), the moral code (`code`), moral credit reports and loan books (`credit`), volunteer dispatch's matcher and fairness (`dispatch`), the technology supermarket's matching (`match`), the ledger and its proofs
//! (`ledger`, `proofs`), evaluation at city scale (`evaluation`), city data's large import and the staff dashboard
//! (`import`, `dashboard`), the pages' weight and first render in Chromium (`pages`), what witnessing costs (`witness`). What they load in bulk is the
//! store's `fixtures`.

pub mod code;
pub mod credit;
pub mod dashboard;
pub mod dispatch;
pub mod dispatch_store;
pub mod evaluation;
pub mod http;
pub mod import;
pub mod ledger;
pub mod market;
pub mod pages;
pub mod proofs;
pub mod seed;
pub mod tally;
pub mod witness;
