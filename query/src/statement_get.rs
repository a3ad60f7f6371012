//! A whole `GET /statements`: from the request's parameters to the answer's bytes.
//!
//! [`StatementQueryService::get`] waits for the reader's acknowledged writes, reads
//! Consistent-Through, caps a new query, plans and pages it (or looks up one id), builds the
//! `more` URL, renders the statements in the asked format and, for `attachments=true`, fetches
//! the attachment data. The HTTP handler only parses the request and writes the answer out.

use bytes::Bytes;
use lrs_schema::{StatementQuery, ValidationError, XapiVersion};
use lrs_store::{Micros, StatementReader, StoredStatement};

use crate::cursor::Cursor;
use crate::render;
use crate::service::{QueryError, ReadScope, StatementQueryService};

const MORE_ALONE_RULE: &str = "LRS: a `more` URL is used as given, without other parameters";
const MORE_OURS_RULE: &str = "LRS: `more` must be a URL this LRS returned";

/// One statement GET, as the HTTP layer parsed it.
#[derive(Debug, Clone)]
pub struct StatementRequest {
    pub tenant: String,
    pub scope: ReadScope,
    pub version: XapiVersion,
    /// The query string's parameters, in order (a `more` token stands alone).
    pub params: Vec<(String, String)>,
    /// The parsed `Accept-Language` list, best first (for `format=canonical`).
    pub languages: Vec<String>,
    /// Who asks, as a writer: the GET waits for their own acknowledged statements only.
    pub writer: Option<lrs_progress::Writer>,
}

/// What a statement GET answers.
#[derive(Debug, Clone)]
pub struct StatementAnswer {
    /// `X-Experience-API-Consistent-Through`.
    pub consistent_through: Micros,
    /// `Last-Modified`: the newest `stored` returned (Consistent-Through for an empty page).
    pub last_modified: Micros,
    /// The statement, or the `{"statements": […], "more": "…"}` result.
    pub json: Vec<u8>,
    /// `attachments=true`: the data to send after `json` in a `multipart/mixed` answer.
    pub attachments: Option<Vec<AttachmentPart>>,
}

/// The data of one attachment the returned statements reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPart {
    /// The part's Content-Type.
    pub content_type: String,
    /// The `sha2` as the statement spells it (the part's X-Experience-API-Hash).
    pub sha2: String,
    pub body: Bytes,
}

impl<R: StatementReader + ?Sized> StatementQueryService<R> {
    /// Answers one statement GET (see the module documentation).
    ///
    /// xAPI 1.0.3 Communication §2.1.3: `statementId` / `voidedStatementId` return one statement
    /// (404 when there is none the reader may see); otherwise a filtered page with `more`.
    pub async fn get(&self, request: &StatementRequest) -> Result<StatementAnswer, QueryError> {
        let (params, cursor) = query_or_cursor(&request.params)?;
        let query = StatementQuery::from_params(&params, request.version)?;
        let tenant = request.tenant.as_str();
        self.visibility()
            .wait_for_own_writes(request.writer, self.config().read_your_writes_wait)
            .await;
        let consistent_through = self.visibility().consistent_through();
        let (json, last_modified, statements) =
            match query.statement_id.or(query.voided_statement_id) {
                Some(id) => {
                    let voided = query.voided_statement_id.is_some();
                    let statement = self
                        .timed(
                            "get_statement",
                            self.get_statement(tenant, id, voided, &request.scope),
                        )
                        .await?
                        .ok_or_else(|| QueryError::NotFound(format!("no statement {id}")))?;
                    let statements = vec![statement];
                    let json = self
                        .render(tenant, &statements, query.format, &request.languages)
                        .await?
                        .pop()
                        .unwrap_or_default();
                    (json, statements[0].stored, statements)
                }
                None => {
                    let cap = self.visibility().query_cap(consistent_through);
                    let page = self
                        .timed(
                            "query_statements",
                            self.query(
                                tenant,
                                &query,
                                &params,
                                &request.scope,
                                cap,
                                cursor.as_ref(),
                            ),
                        )
                        .await?;
                    let more = page
                        .more
                        .map(|c| format!("{}?more={}", self.config().statements_path, c.encode()))
                        .unwrap_or_default();
                    let rendered = self
                        .render(tenant, &page.statements, query.format, &request.languages)
                        .await?;
                    let newest = page.statements.iter().map(|s| s.stored).max();
                    (
                        render::statement_result(&rendered, &more),
                        newest.unwrap_or(consistent_through),
                        page.statements,
                    )
                }
            };
        let attachments = if query.attachments {
            Some(self.attachment_parts(tenant, &statements).await?)
        } else {
            None
        };
        Ok(StatementAnswer {
            consistent_through,
            last_modified,
            json,
            attachments,
        })
    }

    /// xAPI 1.0.3 Communication §2.1.3 (`attachments=true`) and §1.5.2.s3.b1: one part per
    /// distinct attachment hash the statements reference and the LRS holds data for
    /// (`fileUrl`-only attachments have none).
    async fn attachment_parts(
        &self,
        tenant: &str,
        statements: &[StoredStatement],
    ) -> Result<Vec<AttachmentPart>, QueryError> {
        let refs = render::referenced_attachments(statements);
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<String> = refs.iter().map(|r| r.sha2.to_ascii_lowercase()).collect();
        let bodies = self.attachments().get_attachments(tenant, &hashes).await?;
        Ok(refs
            .into_iter()
            .zip(bodies)
            .filter_map(|(attachment, body)| {
                let body = body?;
                // The statement's contentType names the part; one unfit for a header line (it is
                // any JSON string) gives way to the type the data was stored with.
                let content_type = [attachment.content_type.as_str(), body.content_type.as_str()]
                    .into_iter()
                    .find(|t| !t.is_empty() && !t.chars().any(char::is_control))
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                Some(AttachmentPart {
                    content_type,
                    sha2: attachment.sha2,
                    body: body.body,
                })
            })
            .collect())
    }
}

/// A query string's parameters, in order.
type Params = Vec<(String, String)>;

/// The query's parameters, or those remembered by a `more` cursor.
fn query_or_cursor(params: &[(String, String)]) -> Result<(Params, Option<Cursor>), QueryError> {
    let Some((_, token)) = params.iter().find(|(k, _)| k == "more") else {
        return Ok((params.to_vec(), None));
    };
    if params.len() > 1 {
        return Err(ValidationError::at_str(
            MORE_ALONE_RULE,
            "?more",
            "`more` cannot be combined with other parameters",
        )
        .into());
    }
    let cursor = Cursor::decode(token)
        .map_err(|e| ValidationError::at_str(MORE_OURS_RULE, "?more", e.to_string()))?;
    Ok((cursor.params.clone(), Some(cursor)))
}
