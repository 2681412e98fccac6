//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sightline: preserve, fingerprint and verify social-media evidence.
#[derive(Debug, Parser)]
#[command(name = "sightline", version, about, long_about = None)]
pub struct Cli {
    /// Data directory of the embedded store [default: the platform data dir, e.g. ~/.local/share/sightline]
    #[arg(long, global = true, env = "SIGHTLINE_DATA", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preserve images and videos from files, folders (recursive), http(s) URLs and post manifests; known bytes become new sightings
    Ingest(IngestArgs),
    /// Run a batch job file (pipelines/NAME.toml): its sources, limits and tags; a re-run skips what is done
    Run(RunArgs),
    /// List evidence items
    Ls(LsArgs),
    /// Show one evidence item with all its sightings (ID: sha-256 or a unique prefix of it)
    Show(ShowArgs),
    /// Verify the store: blobs re-hash to their address, records and blobs match, the audit trail is unbroken
    Check(JsonArg),
    /// Rebuild the catalog from the journal (after damage to the catalog files)
    Rebuild(JsonArg),
    /// Print the audit trail, oldest first
    History(JsonArg),
    /// Fingerprint files without storing them: SHA-256, PDQ (+ dihedral), aHash, dHash, pHash, blockhash
    Fingerprint(FingerprintArgs),
    /// Find stored near-duplicates of a file or of a stored item
    Similar(SimilarArgs),
    /// List clusters of near-duplicates, each with its likely original (earliest seen)
    Clusters(JsonArg),
    /// Fingerprint stored images that have no fingerprints yet and recompute every cluster
    Reindex(JsonArg),
    /// What files say about themselves (EXIF, XMP, PNG text, video container, C2PA) with analyst flags; nothing is stored
    Metadata(MetadataArgs),
    /// Write a stored video's keyframes (one per shot, plus first and last), thumbnails and contact sheet to a folder, making them if the video has none
    Keyframes(KeyframesArgs),
    /// The incident registry: import, list, show, export, add, edit; proposals from evidence that fits no incident
    Incidents(IncidentsArgs),
    /// Ranked candidate incidents for evidence items, each score explained, with flags (recycled footage, no post time)
    Candidates(CandidatesArgs),
    /// Record an analyst's decision that an item does or does not show an incident
    Decide(DecideArgs),
    /// Place names: find them in a text, or import a GeoNames dump for places beyond the built-in table
    Gazetteer(GazetteerArgs),
}

#[derive(Debug, Args)]
pub struct IncidentsArgs {
    #[command(subcommand)]
    pub command: IncidentsCommand,
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Import incidents from ACLED-column CSV or GeoJSON; bad rows are reported by row and the rest imports; existing ids are updated
    Import {
        #[arg(required = true, value_name = "FILE.csv|FILE.geojson")]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List incidents
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Show one incident and the items whose best candidate it is
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the registry as ACLED-column CSV (default) or GeoJSON
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write here instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Add an incident
    Add(IncidentFields),
    /// Change fields of an incident (only the ones given)
    Edit(IncidentFields),
    /// Clusters of evidence that fit no incident but are dense in time and place
    Proposals {
        #[arg(long)]
        json: bool,
    },
    /// Create an incident from a proposal
    Accept {
        /// The proposal's id (from `incidents proposals`)
        proposal: String,
        /// The new incident's event_id_cnty
        #[arg(long)]
        id: String,
        #[arg(long, env = "SIGHTLINE_ANALYST")]
        analyst: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Geojson,
    Json,
}

/// An incident's fields on the command line (ACLED column names).
#[derive(Debug, Args)]
pub struct IncidentFields {
    /// event_id_cnty
    pub id: String,
    /// YYYY-MM-DD, or ACLED's "26 August 2021"
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long)]
    pub latitude: Option<f64>,
    #[arg(long)]
    pub longitude: Option<f64>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub admin1: Option<String>,
    #[arg(long)]
    pub admin2: Option<String>,
    #[arg(long)]
    pub event_type: Option<String>,
    #[arg(long)]
    pub sub_event_type: Option<String>,
    #[arg(long)]
    pub actor1: Option<String>,
    /// 1 day, 2 week, 3 month
    #[arg(long)]
    pub time_precision: Option<u8>,
    /// 1 exact, 2 near, 3 region
    #[arg(long)]
    pub geo_precision: Option<u8>,
    #[arg(long)]
    pub notes: Option<String>,
    #[arg(long)]
    pub fatalities: Option<u32>,
    /// Semicolon-separated
    #[arg(long)]
    pub tags: Option<String>,
    #[arg(long, env = "SIGHTLINE_ANALYST")]
    pub analyst: Option<String>,
}

#[derive(Debug, Args)]
pub struct CandidatesArgs {
    /// Item id (sha-256 or a unique prefix); omit with --all
    #[arg(required_unless_present = "all")]
    pub id: Option<String>,
    /// Every item
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
    /// Recompute before printing (otherwise stored assessments are used, and computed where missing)
    #[arg(long)]
    pub refresh: bool,
    /// One JSON object per item per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Item id (sha-256 or a unique prefix)
    pub item: String,
    /// The incident's event_id_cnty
    pub incident: String,
    #[arg(long, value_enum)]
    pub verdict: Verdict,
    #[arg(long, default_value = "")]
    pub note: String,
    #[arg(long, env = "SIGHTLINE_ANALYST")]
    pub analyst: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verdict {
    Confirm,
    Reject,
    NeedsMoreInfo,
}

#[derive(Debug, Args)]
pub struct GazetteerArgs {
    #[command(subcommand)]
    pub command: GazetteerCommand,
}

#[derive(Debug, Subcommand)]
pub enum GazetteerCommand {
    /// The places a text names (as the scorer reads captions)
    Find {
        text: String,
        #[arg(long)]
        json: bool,
    },
    /// Add places from a GeoNames dump (AF.txt, cities1000.txt, allCountries.txt) to this data dir's gazetteer
    Import {
        #[arg(value_name = "GEONAMES.txt")]
        file: PathBuf,
        /// Smallest population of a town to keep (capitals, districts and neighbourhoods are kept whatever their size)
        #[arg(long, default_value_t = 5000)]
        min_population: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct KeyframesArgs {
    /// Item id: the sha-256, or a unique prefix of it (at least 4 hex characters)
    pub id: String,
    /// Folder to write the JPEGs and a JSON description into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// One JSON object per written file
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// Files, and folders to read recursively
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Do not decode the embedded thumbnail and the image to compare them by PDQ
    #[arg(long)]
    pub no_thumbnail_check: bool,
    /// PEM file of root certificates whose C2PA signers count as trusted
    #[arg(long, env = "SIGHTLINE_C2PA_TRUST", value_name = "PEM")]
    pub c2pa_trust: Option<PathBuf>,
    /// One JSON object per file, one per line
    #[arg(long)]
    pub json: bool,
    /// When the post carrying the file was published (RFC 3339): flags a capture time far from it
    #[arg(long)]
    pub posted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Capture time further than this many hours from --posted-at is flagged [default: 48]
    #[arg(long)]
    pub max_post_gap_hours: Option<i64>,
}

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// A file to look for, or the id (sha-256 or unique prefix) of a stored item
    pub target: String,
    /// Largest PDQ Hamming distance (of 256 bits) that counts as a match
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub max_distance: u32,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files and folders to ingest, and http(s) URLs to fetch
    #[arg(value_name = "PATH|URL", required_unless_present = "manifest")]
    pub paths: Vec<PathBuf>,
    /// A JSON Lines post manifest: {"id","url","platform","author","caption","posted_at","lang","media":[{"path"}|{"url"}]} per line (repeatable)
    #[arg(long, value_name = "FILE.jsonl")]
    pub manifest: Vec<PathBuf>,
    /// Address range the fetcher may connect to despite the SSRF guard, e.g. 10.0.0.0/8 (repeatable)
    #[arg(long, value_name = "CIDR")]
    pub allow: Vec<String>,
    /// Downloads in flight at once
    #[arg(long, default_value_t = 8)]
    pub fetch_concurrency: usize,
    #[command(flatten)]
    pub common: JobArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file
    #[arg(value_name = "PIPELINE.toml")]
    pub pipeline: PathBuf,
    /// Set a pipeline variable, used as ${NAME} in the file (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Check the pipeline and print the plan; fetch nothing
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub common: JobArgs,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// Options every collection job takes.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Print a JSON summary instead of the human one (and no progress bar)
    #[arg(long)]
    pub json: bool,
    /// Operator responsible for this collection [default: $USER]
    #[arg(long, env = "SIGHTLINE_COLLECTOR")]
    pub collector: Option<String>,
    /// Job id recorded on every sighting [default: the pipeline's name; for ingest, ingest-<UTC time>-<pid>]
    #[arg(long)]
    pub job_id: Option<String>,
    /// Parallel preserve workers [default: cores, at most 4]
    #[arg(long)]
    pub workers: Option<usize>,
    /// Refuse files larger than this many bytes
    #[arg(long, default_value_t = 8 << 30)]
    pub max_file_size: u64,
    /// Refuse images whose header claims more pixels than this
    #[arg(long, default_value_t = 268_435_456)]
    pub max_pixels: u64,
    /// PEM file of root certificates whose C2PA signers count as trusted
    #[arg(long, env = "SIGHTLINE_C2PA_TRUST", value_name = "PEM")]
    pub c2pa_trust: Option<PathBuf>,
    /// Do not make keyframes, thumbnails and contact sheets for new videos
    #[arg(long)]
    pub no_keyframes: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Item id: the sha-256, or a unique prefix of it (at least 4 hex characters)
    pub id: String,
    #[arg(long)]
    pub json: bool,
}
