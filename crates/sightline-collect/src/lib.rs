//! Collection: where evidence comes from and how it is fetched, with no
//! knowledge of the store.
//!
//! - [`http::Fetcher`] is the only HTTP client in Sightline. Every request,
//!   and every hop of every redirect, passes the SSRF [`guard::Guard`] after
//!   DNS resolution; bodies stream into a caller's sink under a byte cap and
//!   timeouts; transient failures are retried with backoff.
//! - [`sources`] turns a manifest, a Telegram Desktop export, a Mastodon
//!   timeline or an RSS/Atom feed into [`Post`]s: the post around the media
//!   (URL, platform, author, caption, post time) and where its media are.
//! - [`plan`] reads a batch job file (`pipelines/*.toml`) into a checked
//!   [`plan::Plan`] before anything runs.
//!
//! The ingest crate runs plans: it fetches each post's media with the
//! fetcher and preserves them.

pub mod guard;
pub mod http;
pub mod plan;
mod post;
pub mod sources;
#[doc(hidden)]
pub mod testing;

pub use post::{MediaRef, Post, SourceError};
