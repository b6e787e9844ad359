//! Offline input: `kubectl get … -o json|yaml` output saved to files (single objects, `List`
//! kinds, typed lists such as `RoleList`, multi-document YAML), read into the same inventory the
//! live API gives.
//!
//! `.json` files are read as one JSON document; anything else as YAML (which also accepts JSON),
//! split on `---`. Empty documents are skipped, objects of kinds Portcullis does not use (Pods,
//! Status, audit Policies…) are passed over, and a document without `kind` is an error naming the
//! file and document, because a snippet that is not an object would otherwise vanish unnoticed.
//! A namespaced object printed without `metadata.namespace` (a manifest rather than `kubectl get`
//! output) is taken to be in `default`, as `kubectl apply` would place it by default.

use portcullis_model::Inventory;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::inventory::build_inventory;
use super::objects::Objects;
use crate::ConnectorError;

/// Files larger than this are refused rather than read whole.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Parses a file's text into its documents. Errors name the document and the line and column.
pub fn parse_documents(text: &str, json: bool) -> Result<Vec<Value>, String> {
    if json {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        return Ok(vec![v]);
    }
    let mut docs = Vec::new();
    for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(doc).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {} column {})", l.line(), l.column()))
                .unwrap_or_default();
            format!("YAML document {}{at}: {e}", i + 1)
        })?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["json", "yaml", "yml"].contains(&e.to_ascii_lowercase().as_str()))
}

/// The files named, with each directory replaced by its `.json`/`.yaml`/`.yml` files (sorted,
/// not recursive).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ConnectorError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| {
                ConnectorError::InvalidConfig(format!("cannot read directory {}: {e}", p.display()))
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_manifest(f))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads and sorts the objects of every file.
pub fn objects_from_files(paths: &[PathBuf]) -> Result<Objects, ConnectorError> {
    let mut objects = Objects::default();
    for path in expand_paths(paths)? {
        let shown = path.display().to_string();
        let size = std::fs::metadata(&path)
            .map_err(|e| ConnectorError::InvalidConfig(format!("cannot read {shown}: {e}")))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(ConnectorError::InvalidConfig(format!(
                "{shown} is larger than {} MiB",
                MAX_FILE_BYTES >> 20
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| ConnectorError::InvalidConfig(format!("cannot read {shown}: {e}")))?;
        let malformed = |what: String, detail: String| ConnectorError::Malformed {
            target: format!("file {shown}"),
            what,
            detail,
        };
        let text = String::from_utf8(bytes)
            .map_err(|e| malformed("text".into(), format!("not UTF-8: {e}")))?;
        let docs = parse_documents(&text, is_json(&path))
            .map_err(|e| malformed("Kubernetes objects".into(), e))?;
        for (i, doc) in docs.into_iter().enumerate() {
            objects
                .add(doc, &format!("document {}", i + 1))
                .map_err(|e| malformed(e.at, e.reason))?;
        }
    }
    Ok(objects)
}

/// The inventory of `kubectl` output files (and directories of them).
pub fn inventory_from_files(paths: &[PathBuf]) -> Result<Inventory, ConnectorError> {
    Ok(build_inventory(&objects_from_files(paths)?))
}
