//! Pseudonymised research extracts over HTTP (issue 14 §4): `GET /api/v1/extracts?tenant=…&
//! project=…&since=…&until=…[&time=…][&k=…][&suppress=true][&include=response]` answers a zip of
//! the files `lrs extract` writes. Only prefecture principals (`lrs credentials create
//! --all-tenants`, scope `aggregates`) may ask; the pseudonym key is the configured project's
//! (`[[extract.projects]]`), never the request's. One extract runs at a time per process
//! (others wait their turn); it runs on the blocking pool, written to a temporary directory
//! (`extract.work_dir`) that is removed once the answer is sent.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use lrs_auth::Access;
use lrs_query::extract::{
    ExtractError, ExtractRequest, ExtractSources, OUTPUT_FILES, PseudonymKey, TimeGrain,
    run_extract,
};
use tokio::io::AsyncReadExt;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;
use crate::routes::params::query_pairs;

const EXTRACT_RULE: &str = "LRS extracts: the parameters are tenant, project, since and until (required, dates YYYY-MM-DD), time (hour, day or week), k (≥ 1), suppress (true or false) and include (response), each at most once except include";

/// An extract is asked with GET only (a HEAD would run it all to answer nothing).
pub const METHODS: &[Method] = &[Method::GET];

/// Bytes of the zip sent per chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// The research-extract service of a process: where extracts read, the configured projects
/// and their key files, and the turn every extract waits for.
pub struct ResearchExtracts {
    sources: ExtractSources,
    projects: HashMap<String, PathBuf>,
    work_dir: Option<PathBuf>,
    turn: tokio::sync::Mutex<()>,
}

impl ResearchExtracts {
    /// `projects`: (name, key file); each key file is read now, so a server never starts with
    /// a project it could not serve.
    pub fn new(
        sources: ExtractSources,
        projects: Vec<(String, PathBuf)>,
        work_dir: Option<PathBuf>,
    ) -> Result<ResearchExtracts, ExtractError> {
        for (name, key_file) in &projects {
            PseudonymKey::from_file(key_file)
                .map_err(|e| ExtractError::Key(format!("extract project {name}: {e}")))?;
        }
        Ok(ResearchExtracts {
            sources,
            projects: projects.into_iter().collect(),
            work_dir,
            turn: tokio::sync::Mutex::new(()),
        })
    }
}

/// `GET /api/v1/extracts`: the zip (`statements.parquet`, `statements.csv`, `k_anonymity.csv`,
/// `manifest.json`).
pub async fn extract(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::ReadAggregates)?;
    if !auth.0.prefecture {
        return Err(ApiError::new(
            ApiErrorKind::Forbidden,
            "research extracts are for prefecture principals (lrs credentials create --all-tenants)",
        ));
    }
    let extracts = state.extracts.clone().ok_or_else(|| {
        ApiError::not_found("this instance serves no research extracts ([[extract.projects]])")
    })?;
    let (project, request) = parse(&query_pairs(&req)?)?;
    let key_file = extracts.projects.get(&project).cloned().ok_or_else(|| {
        ApiError::bad_request(
            EXTRACT_RULE,
            "?project",
            format!("no extract project is named {project:?}"),
        )
    })?;
    let _turn = extracts.turn.lock().await;
    let work = match &extracts.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| ApiError::internal("extract work directory", &e))?;
    let out = work.path().join("extract");
    let sources = extracts.sources.clone();
    let runtime = tokio::runtime::Handle::current();
    let filename = format!(
        "extract-{}-{}-{}.zip",
        request.tenant, request.since, request.until
    );
    let zip_path = work.path().join("extract.zip");
    let zipped = zip_path.clone();
    // The extract writes files and flattens rows: the blocking pool's work, not a worker's.
    let done = tokio::task::spawn_blocking(move || {
        let key = PseudonymKey::from_file(&key_file)?;
        runtime.block_on(run_extract(&sources, &request, &key, &out, &mut |_| {}))?;
        zip_files(&out, &zipped)
    })
    .await
    .map_err(|e| ApiError::internal("extract task", &e))?;
    done?;
    let file = tokio::fs::File::open(&zip_path)
        .await
        .map_err(|e| ApiError::internal("extract zip", &e))?;
    let body = futures::stream::unfold(Some((file, work)), |held| async move {
        let (mut file, work) = held?;
        let mut chunk = vec![0u8; CHUNK_BYTES];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), Some((file, work))))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The project and the request of the query parameters.
fn parse(params: &[(String, String)]) -> Result<(String, ExtractRequest), ApiError> {
    let invalid = |name: &str, message: String| {
        ApiError::bad_request(EXTRACT_RULE, &format!("?{name}"), message)
    };
    let mut single: HashMap<&str, &str> = HashMap::new();
    let mut include = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "include" => include.push(value.as_str()),
            "tenant" | "project" | "since" | "until" | "time" | "k" | "suppress" => {
                if single.insert(name, value).is_some() {
                    return Err(invalid(name, format!("{name} is given more than once")));
                }
            }
            _ => return Err(invalid(name, format!("unknown parameter {name:?}"))),
        }
    }
    let required = |name: &str| {
        single
            .get(name)
            .copied()
            .ok_or_else(|| invalid(name, format!("{name} is required")))
    };
    let project = required("project")?.to_owned();
    let tenant = required("tenant")?;
    lrs_auth::validate_tenant(tenant).map_err(|e| invalid("tenant", e.to_string()))?;
    let as_invalid = |name: &'static str| move |e: ExtractError| invalid(name, e.to_string());
    let mut request = ExtractRequest::new(tenant, required("since")?, required("until")?)
        .map_err(as_invalid("since"))?;
    if let Some(time) = single.get("time") {
        request.time = TimeGrain::parse(time).map_err(as_invalid("time"))?;
    }
    if let Some(k) = single.get("k") {
        let k = k
            .parse()
            .map_err(|_| invalid("k", format!("k {k:?} is not a number")))?;
        request = request.with_k(k).map_err(as_invalid("k"))?;
    }
    request.suppress = match single.get("suppress").copied() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(invalid(
                "suppress",
                format!("suppress {other:?} is neither true nor false"),
            ));
        }
    };
    for what in include {
        request.include(what).map_err(as_invalid("include"))?;
    }
    Ok((project, request))
}

/// Zips the extract's files (deflated) into `zip_path`.
fn zip_files(dir: &Path, zip_path: &Path) -> Result<(), ExtractError> {
    let failed = |e: &dyn std::fmt::Display| ExtractError::Output(format!("extract zip: {e}"));
    let file = std::fs::File::create(zip_path).map_err(|e| failed(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for name in OUTPUT_FILES {
        zip.start_file(name, options).map_err(|e| failed(&e))?;
        let mut source = std::fs::File::open(dir.join(name)).map_err(|e| failed(&e))?;
        std::io::copy(&mut source, &mut zip).map_err(|e| failed(&e))?;
    }
    let mut out = zip.finish().map_err(|e| failed(&e))?;
    out.flush().map_err(|e| failed(&e))?;
    Ok(())
}
