//! The `more` cursor: an opaque, URL-safe token holding the query and where the last page ended.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lrs_store::{Micros, Position};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the next page starts. Encoded as base64url JSON so it survives any proxy or client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The original query parameters (so `more` alone reproduces the query, format included).
    #[serde(rename = "p")]
    pub params: Vec<(String, String)>,
    /// The last position returned.
    #[serde(rename = "s")]
    pub after_stored: Micros,
    #[serde(rename = "i")]
    pub after_id: Uuid,
    /// Nothing stored after this instant is returned: the Consistent-Through of the first page,
    /// which keeps every page of one query stable while new statements arrive.
    #[serde(rename = "c")]
    pub cap: Micros,
}

/// A `more` token that is not one of ours.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the `more` cursor is malformed")]
pub struct CursorError;

impl Cursor {
    pub fn after(&self) -> Position {
        Position {
            stored: self.after_stored,
            id: self.after_id,
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a cursor always serializes");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The cursor a token holds. Tokens come back from clients, so the JSON passes the LRS's
    /// nesting limit before it is parsed, like every JSON a request brings.
    pub fn decode(token: &str) -> Result<Cursor, CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| CursorError)?;
        lrs_schema::check_json_depth(&bytes, "?more").map_err(|_| CursorError)?;
        serde_json::from_slice(&bytes).map_err(|_| CursorError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cursor_round_trips_through_its_token(
            params in proptest::collection::vec(("[a-z_]{1,12}", ".{0,40}"), 0..6),
            stored in any::<i64>(),
            id in any::<u128>(),
            cap in any::<i64>(),
        ) {
            let cursor = Cursor { params, after_stored: stored, after_id: Uuid::from_u128(id), cap };
            let token = cursor.encode();
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(Cursor::decode(&token).unwrap(), cursor);
        }
    }

    #[test]
    fn a_foreign_token_is_rejected() {
        assert_eq!(Cursor::decode("not a cursor!"), Err(CursorError));
        assert_eq!(Cursor::decode("e30"), Err(CursorError));
        let deep = format!("{{\"p\":{}{}}}", "[".repeat(5_000), "]".repeat(5_000));
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode(deep)),
            Err(CursorError)
        );
    }
}
