//! Incidents and candidate attachment: which attack does this evidence
//! show?
//!
//! The main type is [`Assessor`]: built from the incident registry and a
//! [`Gazetteer`], it scores an item's [`Evidence`] (its posts, its
//! near-duplicates' posts, its file's GPS and camera clock, analysts'
//! decisions) against every incident and returns an
//! [`sightline_core::Assessment`]: candidates with a probability, a band and
//! one line of explanation per factor, and flags such as recycled footage.
//! [`refresh_all`] and [`refresh_items`] do that for items in the catalog and
//! store the results; [`propose`] turns evidence that fits no incident into
//! new-incident proposals.
//!
//! [`registry`] reads and writes ACLED-compatible CSV and GeoJSON; the
//! [`gazetteer`] finds place names in captions in any script.
//!
//! This crate knows the catalog only through `sightline_store::Catalog`.

pub mod dates;
mod error;
pub mod gazetteer;
pub mod keywords;
mod refresh;
pub mod registry;
mod score;
pub mod text;

pub use error::IncidentError;
pub use gazetteer::{Gazetteer, Place, PlaceKind};
pub use refresh::{Proposal, Refreshed, propose, refresh_all, refresh_items};
pub use score::{Assessor, Evidence, Features, PlaceRef, Post};
