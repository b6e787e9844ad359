//! What Portcullis says about itself: its one version number and where its workspace lives.
//!
//! The version is the workspace's `[workspace.package] version`, read at compile time, so the CLI's
//! `--version`, the app's About box, the packages, evidence manifests and exported reports all name
//! the same number; this module exists so there is one constant to use for it.

use serde::{Deserialize, Serialize};

/// The version of this build (`[workspace.package] version` in the top-level `Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The About box's facts, from the desktop shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// [`VERSION`] of the shell that answered.
    pub version: String,
    /// The workspace directory the app serves (`PORTCULLIS_WORKSPACE` or the platform default).
    pub workspace: String,
    /// Set when that workspace is a demo: every page then says so.
    #[serde(default)]
    pub demo: Option<DemoInfo>,
}

/// How big a demo organisation is (`portcullis demo --size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemoSize {
    /// A few dozen principals per backend.
    Small,
    /// Six times as many.
    Large,
}

impl DemoSize {
    pub fn as_str(self) -> &'static str {
        match self {
            DemoSize::Small => "small",
            DemoSize::Large => "large",
        }
    }

    pub fn parse(s: &str) -> Option<DemoSize> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Some(DemoSize::Small),
            "large" => Some(DemoSize::Large),
            _ => None,
        }
    }
}

/// What makes a workspace a demo: written into it (`demo.json`) before anything else, so every
/// face of Portcullis that opens it can say that its data is generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoInfo {
    pub seed: u64,
    pub size: DemoSize,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// [`VERSION`] that generated it.
    pub portcullis_version: String,
    /// The demo's backends (their names start with `demo-`).
    pub backends: Vec<String>,
}

impl DemoInfo {
    /// The one-line label shown wherever demo data shows.
    pub fn label(&self) -> String {
        format!(
            "Demo data: a generated organisation (seed {}, {}), not a real deployment",
            self.seed,
            self.size.as_str()
        )
    }
}
