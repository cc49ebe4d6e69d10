//! ptb-report: the results store (run directories, read by [`store`], indexed in SQLite by [`index`],
//! imported from the original by [`import`]), the aggregation of [`aggregate`], the leaderboard tables
//! of [`table`], the charts of [`plot`], and the HTML report and live server of [`html`] and [`serve`].

pub mod aggregate;
pub mod error;
pub mod html;
pub mod import;
pub mod index;
pub mod plot;
pub mod serve;
pub mod store;
pub mod table;

pub use aggregate::{AggregateConfig, Leaderboard, Selection, derive_weights, leaderboard};
pub use error::ReportError;
pub use index::{Index, index_path, load_runs};
pub use store::{RunRecord, scan};
