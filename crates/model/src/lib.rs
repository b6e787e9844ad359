//! The vocabulary every part of Portcullis speaks.
//!
//! This crate compiles for `wasm32-unknown-unknown` as well as natively, so it holds only plain data
//! (serde DTOs, ids, error codes, progress events) and no IO: the Yew UI deserialises exactly the
//! types the engine serialises, and nothing that crosses IPC can carry a secret because no type here
//! has a field for one.

pub mod access;
pub mod app;
pub mod audit;
pub mod backend;
pub mod error;
pub mod id_string;
pub mod inventory;
pub mod journal;
pub mod overview;
pub mod progress;
pub mod review;
pub mod revocation;
pub mod ui_review;

pub use access::*;
pub use app::*;
pub use audit::*;
pub use backend::*;
pub use error::*;
pub use inventory::*;
pub use journal::*;
pub use overview::*;
pub use progress::*;
pub use review::*;
pub use revocation::*;
pub use ui_review::*;
